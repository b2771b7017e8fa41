#!/usr/bin/env python3
"""The daemon as a program: command line, config checking, the socket file
(second daemon, stale file, parent directory, mode), signals with work in
flight, and mtrprobectl against a real daemon."""

import json
import os
import signal
import socket
import stat
import subprocess
import time

import harness as H
from harness import assert_error, assert_probe


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def base_config(d):
    hosts = write(os.path.join(d, "hosts"), "")
    return "hosts_file = %s\ndns_servers = 127.0.0.1:%d\n" % (
        hosts, H.free_port())


# ------------------------------------------------------------------ CLI

def test_version_flag():
    rc, out, err = H.run_daemon(["-V"])
    assert rc == 0, (rc, out, err)
    assert H.project_version() in out, "version not on stdout: %r %r" % (
        out, err)


def test_version_flag_exact():
    rc, out, err = H.run_daemon(["-V"])
    assert out.strip() == "mtrprobed %s (protocol 1)" % H.project_version(), \
        repr(out)


def test_check_prints_ok():
    d = H.tmpdir("cfgok")
    cfg = write(os.path.join(d, "c.conf"), base_config(d))
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert rc == 0 and "configuration OK" in out + err, (rc, out, err)
    # options are checked too
    # mtrprobed(8): a bad option argument is a command-line error, 2
    rc, out, err = H.run_daemon(["-n", "-c", cfg, "-w", "129"])
    assert rc == 2 and err.strip(), (rc, out, err)
    rc, out, err = H.run_daemon(["-n", "-c", cfg, "-w", "0"])
    assert rc == 2 and err.strip(), (rc, out, err)
    rc, out, err = H.run_daemon(["-n", "-c", cfg, "-s", "/" + "x" * 120])
    assert rc == 1 and err.strip(), (rc, out, err)


def test_help_flag():
    rc, out, err = H.run_daemon(["-h"])
    assert rc == 0, (rc, out, err)
    text = out.lower()
    assert "usage" in text, out
    for opt in ["-c", "-s", "-w", "-d", "-n", "-V", "-h"]:
        assert opt in out, "usage does not mention %s: %r" % (opt, out)


def test_bad_option():
    """mtrprobed(8) EXIT STATUS 2: a command-line error."""
    for args in (["-Z"], ["-w"], ["-w", "abc", "-n"], ["extra-argument"],
                 ["-c"], ["-s"]):
        rc, out, err = H.run_daemon(args)
        assert rc == 2, "%r: exit %r, want 2 (%r)" % (args, rc, err)
        assert err.strip(), "no message for %r" % args


def test_check_good_config():
    d = H.tmpdir("cfg")
    full = base_config(d) + """
# every key, with a comment after some
socket = %s/x.sock      # where
socket_mode = 0640
workers = 3
mtr_packet = /usr/bin/mtr-packet
max_request_bytes = 65536
max_inflight_per_client = 1000
max_queued = 100000
max_connections = 4096
max_burst = 64
tcp_max_inflight = 512
dns_cache_ttl = 300
dns_expire_interval = 0.5
dns_negative_ttl = 5
dns_cache_size = 10000
dns_servers = 127.0.0.1:5353, [::1]:5353
shutdown_timeout = 5
log_level = debug

   key_with_spaces_around_is_not_here = 1
""" % d
    # the last line is an unknown key: check the good part first
    good = full.rsplit("\n", 2)[0] + "\n"
    cfg = write(os.path.join(d, "good.conf"), good)
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert rc == 0, "good config rejected: rc=%d %s" % (rc, err)
    assert not os.path.exists(os.path.join(d, "x.sock")), \
        "-n created the socket"
    # an empty file is a valid config too
    cfg = write(os.path.join(d, "empty.conf"), "")
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert rc == 0, (rc, err)
    cfg = write(os.path.join(d, "comments.conf"),
                "# only\n\n   # comments\n\t\n")
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert rc == 0, (rc, err)
    # max_burst's range (docs/man/mtrprobed.conf.5)
    cfg = write(os.path.join(d, "burst.conf"), "max_burst = 1000\n")
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert rc == 0, (rc, err)
    cfg = write(os.path.join(d, "burst0.conf"), "max_burst = 0\n")
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert rc == 1 and ("%s:1:" % cfg) in err and "max_burst" in err, \
        (rc, err)


def test_check_bad_config():
    d = H.tmpdir("badcfg")
    head = "# a comment\n\nworkers = 2\n"   # lines 1-3; the error on line 4
    cases = [
        ("nosuchkey = 1", "nosuchkey"),
        ("workers = abc", "workers"),
        ("workers = 0", "workers"),
        ("workers = 2.5", "workers"),
        ("socket_mode = 999", "socket_mode"),
        ("socket_mode = rw", "socket_mode"),
        ("log_level = loud", "log_level"),
        ("max_request_bytes = -1", "max_request_bytes"),
        ("max_inflight_per_client = 0", "max_inflight_per_client"),
        ("dns_servers = not-an-address", "dns_servers"),
        ("dns_cache_ttl = soon", "dns_cache_ttl"),
        ("shutdown_timeout = -1", "shutdown_timeout"),
        ("just some words", None),
        ("= 5", None),
    ]
    for i, (line, key) in enumerate(cases):
        cfg = write(os.path.join(d, "bad%d.conf" % i),
                    head + line + "\nworkers = 1\n")
        rc, out, err = H.run_daemon(["-n", "-c", cfg])
        assert rc == 1, "%r: exit %r, want 1" % (line, rc)
        want = "%s:4:" % cfg
        assert want in err, "stderr for %r lacks %r: %r" % (line, want, err)
        if key:
            assert key in err, "stderr for %r lacks the key: %r" % (line, err)
    # a missing config file
    rc, out, err = H.run_daemon(["-n", "-c", os.path.join(d, "nope.conf")])
    assert rc == 1 and "nope.conf" in err, (rc, err)
    # the daemon does not start on a bad config either (without -n)
    cfg = write(os.path.join(d, "bad-start.conf"), "bogus = 1\n")
    rc, out, err = H.run_daemon(["-c", cfg, "-s",
                                 os.path.join(d, "s.sock")])
    assert rc == 1 and ("%s:1:" % cfg) in err, (rc, err)
    assert not os.path.exists(os.path.join(d, "s.sock"))


# ------------------------------------------------------------- socket

def test_second_daemon_refused():
    with H.Daemon("first", workers=1) as d1:
        d = H.tmpdir("second")
        cfg = write(os.path.join(d, "c.conf"), base_config(d))
        rc, out, err = H.run_daemon(["-c", cfg, "-s", d1.socket, "-w", "1"],
                                    env={"MTR_PACKET": H.REAL_MTR_PACKET},
                                    timeout=20)
        assert rc == 1, "second daemon on a live socket: exit %r" % rc
        assert err.strip(), "no message from the second daemon"
        assert os.path.exists(d1.socket), "second daemon removed the socket"
        r = d1.request({"op": "probe", "id": 1, "host": "127.0.0.1",
                        "timeout": 2})
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        s = d1.stats()
        assert s["clients"]["total"] >= 1


def test_stale_socket_removed():
    d = H.tmpdir("stale")
    path = os.path.join(d, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()                     # the file stays, nobody listens
    assert os.path.exists(path) and not H.socket_accepts(path)
    with H.Daemon("stale", workers=1, socket_path=path) as dmn:
        r = dmn.request({"op": "version", "id": 1})
        assert r["id"] == 1 and r["protocol"] == 1, r
    assert not os.path.exists(path), "socket left behind after exit"


def test_parent_directory_created():
    d = H.tmpdir("parent")
    path = os.path.join(d, "a", "b", "mtrprobed.sock")
    with H.Daemon("parent", workers=1, socket_path=path) as dmn:
        assert os.path.isdir(os.path.join(d, "a", "b"))
        r = dmn.request({"op": "version", "id": 1})
        assert r["protocol"] == 1, r


def test_socket_mode():
    for mode, want in [(None, 0o660), ("0600", 0o600), ("0666", 0o666),
                       ("660", 0o660)]:
        cfg = {"socket_mode": mode} if mode else {}
        with H.Daemon("mode", workers=1, config=cfg) as dmn:
            st = os.stat(dmn.socket)
            assert stat.S_ISSOCK(st.st_mode), st
            got = stat.S_IMODE(st.st_mode)
            assert got == want, "socket_mode %r: mode %o, want %o" % (
                mode, got, want)


def test_socket_from_config():
    d = H.tmpdir("cfgsock")
    path = os.path.join(d, "from-config.sock")
    dmn = H.Daemon("cfgsock", workers=1, config={"socket": path})
    # no -s: the config's socket key must be used
    orig = dmn.command

    def command():
        cmd = orig()
        i = cmd.index("-s")
        del cmd[i:i + 2]
        return cmd
    dmn.command = command
    dmn.socket = path
    with dmn:
        r = dmn.request({"op": "version", "id": 1})
        assert r["protocol"] == 1, r
    assert not os.path.exists(path)


def test_not_a_socket_left_alone():
    """A file that is not a socket at the path: refuse, leave it alone."""
    d = H.tmpdir("notsock")
    path = write(os.path.join(d, "file.sock"), "precious\n")
    cfg = write(os.path.join(d, "c.conf"), base_config(d))
    rc, out, err = H.run_daemon(["-c", cfg, "-s", path, "-w", "1"],
                                env={"MTR_PACKET": H.REAL_MTR_PACKET})
    assert rc == 1, "over a regular file: exit %r" % rc
    assert path in err, err
    with open(path) as f:
        assert f.read() == "precious\n", "the file was touched"


def test_socket_path_too_long():
    d = H.tmpdir("longpath")
    path = os.path.join(d, "x" * (120 - len(d)), "s.sock")
    cfg = write(os.path.join(d, "c.conf"), base_config(d))
    rc, out, err = H.run_daemon(["-c", cfg, "-s", path, "-w", "1"],
                                env={"MTR_PACKET": H.REAL_MTR_PACKET})
    assert rc == 1 and err.strip(), (rc, err)


def test_options_override_config():
    """-w and -s win over the config's workers and socket."""
    d = H.tmpdir("override")
    other = os.path.join(d, "config.sock")
    with H.Daemon("override", workers=1,
                  config={"workers": 3, "socket": other}) as dmn:
        r = dmn.request({"op": "version", "id": 1})
        assert r["workers"] == 1, r
        assert not os.path.exists(other), "config socket used despite -s"
        s = dmn.stats()
        assert s["workers"]["configured"] == 1, s["workers"]


def test_logging():
    """Log lines are "mtrprobed: LEVEL: message"; -d adds debug lines."""
    import re
    with H.Daemon("log", workers=1, args=["-d"], log_level="error") as dmn:
        dmn.request({"op": "version", "id": 1})
    text = dmn.stderr()
    assert "mtrprobed: debug: " in text, "-d gave no debug lines: %r" % text
    for line in text.splitlines():
        assert re.match(r"mtrprobed: (error|warning|info|debug): \S", line), \
            "badly formed log line %r" % line
    with H.Daemon("log2", workers=1, log_level="warning") as dmn:
        dmn.request({"op": "version", "id": 1})
    text = dmn.stderr()
    assert "info:" not in text and "debug:" not in text, \
        "log_level = warning still logs info: %r" % text


def test_workers_killed_at_exit():
    fake = H.FakeMtrPacket(tag="reap")
    dmn = H.Daemon("reap", workers=3, mtr_packet=fake.path)
    with dmn:
        dmn.request({"op": "probe", "id": 1, "host": "127.0.0.1",
                     "timeout": 2})
        pids = []
        for n in os.listdir(fake.state):
            if n.startswith("instance-"):
                with open(os.path.join(fake.state, n)) as f:
                    pids.append(int(f.read()))
        assert len(pids) == 3, pids
    for pid in pids:
        H.wait_until(lambda: not _pid_alive(pid), 3, 0.05,
                     "worker %d to be gone after the daemon exited" % pid)


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_no_capability_message():
    """A worker without CAP_NET_RAW: exit 1, and the message says so."""
    import shutil
    if not shutil.which("setpriv"):
        H.skip("setpriv (util-linux) is missing")
    d = H.tmpdir("nocap")
    os.chmod(d, 0o755)
    copy = os.path.join(d, "mtr-packet")      # a copy has no file capability
    shutil.copy(H.REAL_MTR_PACKET, copy)
    os.chmod(copy, 0o755)
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
           "--inh-caps=-all", "--bounding-set=-all", "env",
           "MTR_PACKET=" + copy, H.mtrprobed_path(), "-s",
           os.path.join(d, "s.sock"), "-w", "1"]
    p = subprocess.run(cmd, capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0 and "cannot run" in err and \
            "Permission denied" in err and "Failure to open" not in err:
        H.skip("the build tree is not executable by nobody: %s" % err)
    assert p.returncode == 1, (p.returncode, err)
    assert "CAP_NET_RAW" in err, err


def test_handshake_timeout():
    """A worker that never answers check-support is killed after 5 s; with
    no worker the daemon exits 1."""
    fake = H.FakeMtrPacket("--mute", tag="mute")
    d = H.tmpdir("mute")
    cfg = write(os.path.join(d, "c.conf"), base_config(d))
    t0 = time.monotonic()
    rc, out, err = H.run_daemon(["-c", cfg, "-s", os.path.join(d, "s.sock"),
                                 "-w", "1"], env={"MTR_PACKET": fake.path},
                                timeout=30)
    el = time.monotonic() - t0
    assert rc == 1 and err.strip(), (rc, err)
    assert 4.5 <= el <= 15, "gave up after %.1fs" % el


# ------------------------------------------------------------ signals

def test_sigterm_with_work_in_flight():
    """SIGTERM while 20 probes are in flight (answered after 1.5 s by the
    stand-in): they all get their reply, a new request on the open
    connection gets shutting-down, new connections are refused, exit 0,
    socket removed."""
    fake = H.FakeMtrPacket(tag="term")
    dmn = H.Daemon("term", workers=2, mtr_packet=fake.path,
                   config={"shutdown_timeout": 5})
    with dmn:
        c = dmn.client(timeout=10)
        try:
            c.send_raw(b"".join(H.probe_lines(20, "t", host="127.0.0.12",
                                              timeout=5)))
            H.wait_until(lambda: dmn.stats()["probes"]["in_flight"] == 20,
                         5, 0.05, "20 probes in flight")
            t0 = time.monotonic()
            dmn.signal(signal.SIGTERM)
            time.sleep(0.2)
            assert not H.socket_accepts(dmn.socket), \
                "still accepting connections after SIGTERM"
            # the connection is still open (20 answers are due on it): a
            # request sent now must be answered too, with shutting-down
            c.send({"op": "probe", "id": "late", "host": "127.0.0.1",
                    "timeout": 1})
            # version, stats and check_support during shutdown (PROTOCOL.md)
            c.send({"op": "version", "id": "v-late"})
            c.send({"op": "stats", "id": "s-late"})
            c.send({"op": "check_support", "id": "cs-late",
                    "feature": "udp"})
            lines = c.recv_lines_until_closed(10)
            rc = dmn.wait(10)
            el = time.monotonic() - t0
        finally:
            c.close()
        resp = [H.parse_response(l) for l in lines]
        by = {r.get("id"): r for r in resp}
        assert by.get("v-late", {}).get("protocol") == 1, by.get("v-late")
        assert "error" not in by.get("s-late", {"error": 1}), by.get("s-late")
        H.check_stats_shape(by["s-late"])
        assert_error(by.get("cs-late", {}), "shutting-down", rid="cs-late")
        probes = [r for r in resp if r.get("id") not in
                  ("late", "v-late", "s-late", "cs-late")]
        assert sorted(r["id"] for r in probes) == \
            sorted("t%d" % i for i in range(20)), \
            "in-flight probes not all answered: %r" % resp
        for r in probes:
            assert_probe(r, "reply", "127.0.0.12", 4, rid=r["id"])
        assert rc == 0, "exit code %r after SIGTERM" % rc
        assert el < 5, "exit took %.2fs" % el
        late = [r for r in resp if r.get("id") == "late"]
        assert len(late) == 1, \
            "a request sent on an open connection during shutdown got " \
            "%d answers (want one shutting-down)" % len(late)
        assert_error(late[0], "shutting-down", rid="late")
        assert not os.path.exists(dmn.socket), "socket not removed"


def test_sigterm_hung_probes_bounded():
    """In-flight probes that never finish: the daemon exits 0 after
    shutdown_timeout, and every request got one answer before EOF."""
    fake = H.FakeMtrPacket(tag="term2")
    dmn = H.Daemon("term2", workers=1, mtr_packet=fake.path,
                   config={"shutdown_timeout": 1})
    with dmn:
        c = dmn.client(timeout=10)
        try:
            c.send_raw(b"".join(H.probe_lines(10, "h", host="127.0.0.2",
                                              timeout=30)))
            H.wait_until(lambda: dmn.stats()["probes"]["in_flight"] == 10,
                         5, 0.05, "10 probes in flight")
            t0 = time.monotonic()
            dmn.signal(signal.SIGTERM)
            rc = dmn.wait(6)
            el = time.monotonic() - t0
            assert rc == 0, rc
            assert 0.9 <= el <= 3.0, "exit after %.2fs (shutdown_timeout 1)" \
                % el
            lines = c.recv_lines_until_closed(3)
            resp = [H.parse_response(l) for l in lines]
            assert sorted(r["id"] for r in resp) == \
                sorted("h%d" % i for i in range(10)), resp
            # still out when shutdown_timeout ran out: shutting-down
            for r in resp:
                assert_error(r, "shutting-down", rid=r["id"])
        finally:
            c.close()
        assert not os.path.exists(dmn.socket)


def test_sigterm_real_burst():
    """SIGTERM right after 3000 pipelined real probes: every request gets
    exactly one answer (reply, or shutting-down for queued ones)."""
    n = 3000
    dmn = H.Daemon("term3", workers=2)
    with dmn:
        c = dmn.client(timeout=10)
        try:
            sender = c.send_many_threaded(H.probe_lines(
                n, "", host="127.0.0.1", timeout=5))
            sender.join(10)
            dmn.signal(signal.SIGTERM)
            lines = c.recv_lines_until_closed(15)
            rc = dmn.wait(10)
            assert rc == 0, rc
        finally:
            c.close()
    resp = [H.parse_response(l) for l in lines]
    ids = [r["id"] for r in resp]
    kinds = {}
    for r in resp:
        k = r["error"]["code"] if "error" in r else r["result"]
        kinds[k] = kinds.get(k, 0) + 1
    H.log("after SIGTERM:", kinds, "of", len(resp))
    # every line was written before SIGTERM, and connections are still read
    # during shutdown: each gets exactly one answer
    assert len(set(ids)) == len(ids), "duplicate answers"
    assert set(kinds) <= {"reply", "shutting-down"}, kinds
    assert sorted(ids, key=int) == [str(i) for i in range(n)], \
        "%d of %d requests answered" % (len(set(ids)), n)


def test_second_signal_ignored():
    """A second SIGTERM during the drain changes nothing: in-flight probes
    still get their answers and the exit code is 0."""
    fake = H.FakeMtrPacket(tag="term4")
    dmn = H.Daemon("term4", workers=1, mtr_packet=fake.path,
                   config={"shutdown_timeout": 5})
    with dmn:
        c = dmn.client(timeout=10)
        try:
            c.send_raw(b"".join(H.probe_lines(5, "s", host="127.0.0.12",
                                              timeout=5)))
            H.wait_until(lambda: dmn.stats()["probes"]["in_flight"] == 5,
                         5, 0.05, "5 probes in flight")
            dmn.signal(signal.SIGTERM)
            time.sleep(0.3)
            dmn.signal(signal.SIGTERM)
            dmn.signal(signal.SIGINT)
            lines = c.recv_lines_until_closed(10)
            assert dmn.wait(10) == 0
        finally:
            c.close()
    resp = [H.parse_response(l) for l in lines]
    assert sorted(r["id"] for r in resp) == ["s%d" % i for i in range(5)]
    for r in resp:
        assert_probe(r, "reply", "127.0.0.12", 4, rid=r["id"])


def test_sigint():
    dmn = H.Daemon("int", workers=1)
    with dmn:
        r = dmn.request({"op": "version", "id": 1})
        assert r["protocol"] == 1
        dmn.signal(signal.SIGINT)
        assert dmn.wait(10) == 0
    assert not os.path.exists(dmn.socket)


# --------------------------------------------------------- mtrprobectl

def ctl(args, sock=None, stdin=None, timeout=20, env=None):
    cmd = [H.mtrprobectl_path()]
    if sock:
        cmd += ["-s", sock]
    cmd += list(args)
    e = dict(os.environ)
    e.pop("MTRPROBED_SOCKET", None)
    e.update(env or {})
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout,
                       env=e)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def test_mtrprobectl():
    hosts = "127.0.0.1 myhost.test\n"
    with H.Daemon("ctl", workers=1, hosts=hosts) as d:
        s = d.socket
        rc, out, err = ctl(["probe", "127.0.0.1"], s)
        assert rc == 0, (rc, out, err)
        assert "reply" in out and "127.0.0.1" in out, out

        rc, out, err = ctl(["probe", "--count", "3", "--interval", "0.1",
                            "myhost.test"], s)
        assert rc == 0, (rc, out, err)
        assert out.count("reply from 127.0.0.1") == 3, out
        assert "3 sent, 3 received" in out, out

        rc, out, err = ctl(["--json", "probe", "::1"], s)
        assert rc == 0, (rc, out, err)
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        assert len(lines) == 1, out
        assert lines[0]["result"] == "reply" and lines[0]["address"] == "::1"
        assert set(lines[0]) == H.PROBE_FIELDS, lines[0]

        rc, out, err = ctl(["probe", "-6", "127.0.0.1"], s)
        assert rc == 4, "error response must exit 4: %r" % ((rc, out, err),)
        assert "host-resolve-error" in err + out, (out, err)

        rc, out, err = ctl(["version"], s)
        assert rc == 0 and H.project_version() in out and "0.95" in out, \
            (rc, out, err)
        rc, out, err = ctl(["--json", "version"], s)
        v = json.loads(out.strip().splitlines()[0])
        assert v["protocol"] == 1 and v["mtr_packet"] == "0.95", v

        rc, out, err = ctl(["stats"], s)
        assert rc == 0 and "uptime" in out, (rc, out, err)
        rc, out, err = ctl(["--json", "stats"], s)
        assert rc == 0, (rc, err)
        H.check_stats_shape(json.loads(out.strip().splitlines()[0]))

        rc, out, err = ctl(["check-support", "udp"], s)
        assert rc == 0 and "udp" in out and "supported" in out, (rc, out)
        rc, out, err = ctl(["check-support", "frobnicate"], s)
        assert rc == 1, (rc, out, err)

        rc, out, err = ctl(["clear-dns-cache"], s)
        assert rc == 0 and "cleared" in out, (rc, out, err)

        # socket from the environment
        rc, out, err = ctl(["version"], env={"MTRPROBED_SOCKET": s})
        assert rc == 0, (rc, out, err)

        # raw: NDJSON in, every response line out
        reqs = [{"op": "version", "id": 1},
                {"op": "probe", "id": 2, "host": "127.0.0.1", "timeout": 2},
                {"op": "probe", "id": 3, "host": "127.0.0.1", "ttl": 300},
                {"op": "check_support", "id": 4, "feature": "icmp"}]
        data = ("\n".join(json.dumps(r) for r in reqs) + "\nnot json\n")
        rc, out, err = ctl(["raw"], s, stdin=data.encode())
        # mtrprobectl(1): raw exits 4 when any response was an error
        assert rc == 4, (rc, out, err)
        resp = [json.loads(l) for l in out.splitlines() if l.strip()]
        assert len(resp) == 5, out
        by = {r["id"]: r for r in resp if r["id"] is not None}
        assert by[1]["protocol"] == 1, by
        assert_probe(by[2], "reply", "127.0.0.1", 4, rid=2)
        assert_error(by[3], "invalid-argument", "ttl", 3)
        assert by[4] == {"id": 4, "feature": "icmp", "supported": True,
                         "value": "ok"}, by
        nulls = [r for r in resp if r["id"] is None]
        assert len(nulls) == 1, resp
        assert_error(nulls[0], "bad-request", rid=None)

        # raw with only good requests exits 0
        good = "".join(json.dumps({"op": "probe", "id": i,
                                   "host": "127.0.0.1", "timeout": 2}) + "\n"
                       for i in range(50))
        rc, out, err = ctl(["raw"], s, stdin=good.encode())
        assert rc == 0, (rc, out, err)
        resp = [json.loads(l) for l in out.splitlines() if l.strip()]
        assert sorted(r["id"] for r in resp) == list(range(50)), out
        for r in resp:
            assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])

        # usage errors
        for args in [[], ["frobnicate"], ["probe"], ["probe", "--ttl", "x",
                                                      "127.0.0.1"],
                     ["check-support"], ["--no-such-option", "version"]]:
            rc, out, err = ctl(args, s)
            assert rc == 2, "args %r: exit %d, want 2 (%r)" % (args, rc, err)
            assert err.strip(), args

        rc, out, err = ctl(["--help"])
        assert rc == 0 and "Usage" in out, (rc, out, err)

    # no daemon at that path
    d = H.tmpdir("ctl-none")
    rc, out, err = ctl(["version"], os.path.join(d, "nothing.sock"))
    assert rc == 3, (rc, out, err)
    assert err.strip()
    rc, out, err = ctl(["probe", "127.0.0.1"], os.path.join(d, "none.sock"))
    assert rc == 3, (rc, out, err)


def test_mtrprobectl_output():
    """mtrprobectl(1)'s text output and exit status, with the stand-in's
    exactly known answers."""
    fake = H.FakeMtrPacket(tag="ctlfake")
    with H.Daemon("ctlfake", workers=1, mtr_packet=fake.path) as d:
        s = d.socket
        rc, out, err = ctl(["probe", "127.0.0.1"], s)
        assert rc == 0, (rc, out, err)
        assert out.splitlines()[0] == "reply from 127.0.0.1: time=0.100 ms", \
            out
        rc, out, err = ctl(["probe", "127.0.0.5"], s)
        assert rc == 1, (rc, out, err)
        assert out.splitlines()[0] == (
            "ttl-expired from 127.0.0.1: time=1.234 ms "
            "[mpls label=100 tc=0 s=1 ttl=255] "
            "[mpls label=200 tc=3 s=0 ttl=64]"), out
        rc, out, err = ctl(["probe", "--timeout", "0.3", "127.0.0.2"], s)
        assert rc == 1, (rc, out, err)
        assert out.splitlines()[0] == "no-reply", out
        rc, out, err = ctl(["probe", "--count", "3", "--interval", "0.1",
                            "127.0.0.1"], s)
        assert rc == 0, (rc, out, err)
        lines = out.splitlines()
        assert lines[:3] == ["reply from 127.0.0.1: time=0.100 ms"] * 3, out
        assert ("3 sent, 3 received, 0% loss, rtt min/avg/max/stdev = "
                "0.100/0.100/0.100/0.000 ms") in out, out
        # an error answer: --json prints it on stdout, also reports it on
        # stderr, exit 4
        rc, out, err = ctl(["--json", "probe", "--ttl", "7", "-4", "::1"], s)
        assert rc == 4, (rc, out, err)
        r = H.parse_response(out.strip().splitlines()[0].encode())
        assert_error(r, "host-resolve-error", check_id=False)
        assert err.strip(), "error not reported on stderr"


def main():
    H.require_real_mtr_packet()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
