#!/usr/bin/env python3
"""Monitors from the monitors directory and the metrics endpoint: `-n`
checking the definitions, ping monitors running on a stand-in mtr-packet
with known answers and on the real one, the exposition over TCP and a
Unix socket, the HTTP limits, and reload keeping unchanged monitors'
counters."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time

import harness as H


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def daemon_config(d, extra=""):
    hosts = write(os.path.join(d, "hosts"), "")
    return write(os.path.join(d, "c.conf"),
                 "hosts_file = %s\ndns_servers = 127.0.0.1:%d\n%s"
                 % (hosts, H.free_port(), extra))


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix stream socket."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def http_get(conn, path="/metrics", method="GET"):
    conn.request(method, path)
    r = conn.getresponse()
    body = r.read().decode("utf-8")
    ctype = r.getheader("Content-Type")
    conn.close()
    return r.status, ctype, body


def scrape(port):
    status, ctype, body = http_get(
        http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    assert status == 200, (status, body)
    assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
    return body


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """The samples of an exposition: {(name, frozenset(labels)): value}.
    Also checks the format's rules: HELP and TYPE once per family, before
    its samples, every family's samples together."""
    samples, families, done = {}, {}, set()
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in families and name not in done, line
            families[name] = None
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert families.get(name, "x") is None, line
            families[name] = typ
            if current:
                done.add(current)
            current = name
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        base = re.sub(r"_(bucket|sum|count)$", "", name) \
            if families.get(current) == "histogram" else name
        assert base == current, "sample %r outside its family %r" % (
            line, current)
        key = (name, frozenset(LABEL.findall(labels)))
        assert key not in samples, "duplicate sample %r" % line
        samples[key] = float(value)
    return samples, families


def value(samples, name, **labels):
    """The sample of name whose labels include labels."""
    want = set(labels.items())
    found = [v for (n, ls), v in samples.items()
             if n == name and want <= set(ls)]
    assert len(found) == 1, "%s %r: %d samples" % (name, labels, len(found))
    return found[0]


# ---------------------------------------------------------------- checking

def test_check_counts_monitors():
    d = H.tmpdir("moncheck")
    cfg = daemon_config(d)
    os.mkdir(os.path.join(d, "monitors.d"))
    write(os.path.join(d, "monitors.d", "a.conf"),
          "[lo]\ntarget = 127.0.0.1\n\n[lo6]\ntarget = ::1\nip_version = 6\n")
    write(os.path.join(d, "monitors.d", "b.conf"),
          "[db]\ntarget = 127.0.0.3\ncount = 3\n")
    write(os.path.join(d, "monitors.d", "notes.txt"), "[x]\nbad line\n")
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert (rc, out) == (0, "configuration OK: 3 monitors in %s/monitors.d\n"
                         % d), (rc, out, err)
    # monitors_dir in the config file replaces the default
    other = os.path.join(d, "elsewhere")
    os.mkdir(other)
    cfg2 = daemon_config(d, "monitors_dir = %s\n" % other)
    rc, out, err = H.run_daemon(["-n", "-c", cfg2])
    assert (rc, out) == (0, "configuration OK: 0 monitors in %s\n" % other), \
        (rc, out, err)


def test_check_example_file():
    """The shipped example monitors file is valid as it is."""
    d = H.tmpdir("monexample")
    cfg = daemon_config(d)
    os.mkdir(os.path.join(d, "monitors.d"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    shutil.copy(os.path.join(root, "config", "monitors.d.example.conf"),
                os.path.join(d, "monitors.d", "local.conf"))
    rc, out, err = H.run_daemon(["-n", "-c", cfg])
    assert (rc, out) == (0, "configuration OK: 3 monitors in %s/monitors.d\n"
                         % d), (rc, out, err)


def test_check_refuses_metrics_on_the_daemon_socket():
    d = H.tmpdir("monsock")
    sock = os.path.join(d, "s.sock")
    cfg = daemon_config(d, "metrics_listen = %s\n" % sock)
    rc, out, err = H.run_daemon(["-n", "-c", cfg, "-s", sock])
    assert rc == 1 and ("metrics_listen: %s is the daemon's own socket"
                        % sock) in err, (rc, out, err)


def test_check_refuses_bad_definitions():
    d = H.tmpdir("monbad")
    cfg = daemon_config(d)
    mdir = os.path.join(d, "monitors.d")
    os.mkdir(mdir)
    cases = [
        ("[lo]\ntarget = 127.0.0.1\ncount = 0\n",
         "a.conf:3: count: must be an integer from 1 to 100"),
        ("target = 127.0.0.1\n",
         "a.conf:1: key outside a [monitor] section"),
        ("[lo]\nkind = ping\n", "a.conf:1: [lo]: missing target"),
        ("[lo]\ntarget = 127.0.0.1\nlabel.monitor = x\n",
         "a.conf:3: label.monitor: reserved label name"),
        ("[tr]\ntarget = 127.0.0.1\nkind = trace\nip_version = both\n",
         "[tr]: a trace monitor traces one family: ip_version any, 4 or 6"),
        ("[tr]\ntarget = 127.0.0.1\nkind = trace\nperiod = 2\ntimeout = 2\n",
         "[tr]: a trace monitor's timeout must be less than its period"),
        ("[all]\ntarget = localhost\naddresses = all\n",
         "[all]: addresses = all is not supported by this version"),
        # labels the daemon's own series carry: a duplicate would make
        # Prometheus refuse the whole scrape
        ("[lo]\ntarget = 127.0.0.1\nlabel.result = x\n",
         "a.conf:3: label.result: reserved label name"),
        ("[lo]\ntarget = 127.0.0.1\nlabel.responder = x\n",
         "a.conf:3: label.responder: reserved label name"),
    ]
    for text, want in cases:
        write(os.path.join(mdir, "a.conf"), text)
        rc, out, err = H.run_daemon(["-n", "-c", cfg])
        assert rc == 1 and out == "", (text, rc, out, err)
        assert want in err, "want %r in %r" % (want, err)


# ---------------------------------------------------------------- running

def fake_daemon(tag, monitors, extra=None, fake=None):
    """A daemon on the stand-in mtr-packet with monitors (file text) and
    metrics on a loopback TCP port and a Unix socket."""
    fake = fake or H.FakeMtrPacket(tag=tag + "fake")
    port = H.free_port()
    d = H.Daemon(tag, workers=1, mtr_packet=fake.path, config=dict({
        "metrics_listen": None, "monitor_history": 10}, **(extra or {})))
    mdir = os.path.join(d.dir, "monitors.d")
    os.mkdir(mdir)
    write(os.path.join(mdir, "m.conf"), monitors)
    d.metrics_sock = os.path.join(d.dir, "metrics.sock")
    d.config["metrics_listen"] = "127.0.0.1:%d, %s" % (port, d.metrics_sock)
    d.port = port
    d.mdir = mdir
    return d


MONITORS = """
[lo]
target = 127.0.0.1
count = 2
interval = 0.1
period = 1
timeout = 0.5
label.team = net

[silent]
target = 127.0.0.8
count = 1
interval = 0.2
period = 1
timeout = 0.3

[path]
kind = trace
target = 127.0.0.1
max_ttl = 3
period = 1
timeout = 0.5
"""


def test_ping_monitors_metrics():
    with fake_daemon("monrun", MONITORS) as d:
        time.sleep(3.5)
        samples, families = parse(scrape(d.port))
        # the families and their types
        for name, typ in [
                ("mtrprobed_monitor_rtt_seconds", "histogram"),
                ("mtrprobed_monitor_probes_sent_total", "counter"),
                ("mtrprobed_monitor_probes_received_total", "counter"),
                ("mtrprobed_monitor_probe_results_total", "counter"),
                ("mtrprobed_monitor_up", "gauge"),
                ("mtrprobed_monitor_cycles_total", "counter"),
                ("mtrprobed_probes_total", "counter"),
                ("mtrprobed_build_info", "gauge"),
                ("mtrprobed_workers", "gauge")]:
            assert families.get(name) == typ, (name, families.get(name))
        assert value(samples, "mtrprobed_build_info",
                     version=H.project_version()) == 1
        assert value(samples, "mtrprobed_monitors") == 3
        lo = dict(monitor="lo", target="127.0.0.1", address="127.0.0.1",
                  ip_version="4", protocol="icmp", team="net")
        sent = value(samples, "mtrprobed_monitor_probes_sent_total", **lo)
        # 3.5 s of 1 s cycles of 2 probes: 3 or 4 cycles have started
        cycles = value(samples, "mtrprobed_monitor_cycles_total",
                       monitor="lo")
        assert cycles in (3, 4), cycles
        assert sent in (2 * cycles - 1, 2 * cycles), (sent, cycles)
        assert value(samples, "mtrprobed_monitor_probes_received_total",
                     **lo) == sent
        assert value(samples, "mtrprobed_monitor_probe_results_total",
                     result="reply", **lo) == sent
        assert value(samples, "mtrprobed_monitor_probe_results_total",
                     result="no-reply", **lo) == 0
        assert value(samples, "mtrprobed_monitor_up", **lo) == 1
        # every answer took 0.1 ms: above 50 us, at most 200 us
        rtt = "mtrprobed_monitor_rtt_seconds"
        assert value(samples, rtt + "_bucket", le="5e-05", **lo) == 0
        assert value(samples, rtt + "_bucket", le="0.0002", **lo) == sent
        assert value(samples, rtt + "_bucket", le="+Inf", **lo) == sent
        assert value(samples, rtt + "_count", **lo) == sent
        assert abs(value(samples, rtt + "_sum", **lo) - sent * 0.0001) < 1e-9
        # the silent host (the stand-in answers no-reply only after the
        # whole second it was given): each probe ended no-reply at its
        # 0.3 s deadline
        si = dict(monitor="silent", target="127.0.0.8", address="127.0.0.8")
        s_sent = value(samples, "mtrprobed_monitor_probes_sent_total", **si)
        assert s_sent >= 2, s_sent
        assert value(samples, "mtrprobed_monitor_probe_results_total",
                     result="no-reply", **si) == s_sent
        assert value(samples, "mtrprobed_monitor_probes_received_total",
                     **si) == 0
        assert value(samples, "mtrprobed_monitor_up", **si) == 0
        assert value(samples, rtt + "_count", **si) == 0
        # counters only grow
        time.sleep(1.2)
        later, _ = parse(scrape(d.port))
        assert value(later, "mtrprobed_monitor_probes_sent_total",
                     **lo) >= sent + 2


def test_metrics_over_unix_socket_and_http_limits():
    with fake_daemon("monhttp", MONITORS) as d:
        st = os.stat(d.metrics_sock)
        assert oct(st.st_mode & 0o777) == "0o660", oct(st.st_mode)
        status, ctype, body = http_get(UnixHTTPConnection(d.metrics_sock))
        assert status == 200 and "mtrprobed_monitors 3\n" in body, body
        status, _, body = http_get(
            http.client.HTTPConnection("127.0.0.1", d.port), "/")
        assert (status, body) == (404, "mtrprobed serves only /metrics here\n")
        # HEAD: the headers, no body (a body would desynchronise keep-alive)
        for path, want in (("/metrics", 200), ("/", 404)):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /nothing HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            reply = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
            s.close()
            # the HEAD answer, then at once the answer to the GET
            head, rest = reply.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 %d " % want), head
            assert rest.startswith(b"HTTP/1.1 404 "), rest[:80]
        status, _, _ = http_get(
            http.client.HTTPConnection("127.0.0.1", d.port), "/metrics",
            method="POST")
        assert status == 501, status   # evhttp's answer to a method not allowed
        # request headers: 7 KB served, over 8 KiB refused (evhttp: 400)
        for size, want in ((7000, b"HTTP/1.1 200 OK\r\n"),
                           (9000, b"HTTP/1.1 400 Bad Request\r\n")):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                      b"a" * size + b"\r\nConnection: close\r\n\r\n")
            reply = s.recv(4096)
            s.close()
            assert reply.startswith(want), (size, reply[:80])
        assert "mtrprobed_monitors 3\n" in scrape(d.port)
    # the socket file goes with the daemon
    assert not os.path.exists(d.metrics_sock)


def test_metrics_socket_of_a_live_server_is_left_alone():
    other = H.tmpdir("monlive")
    path = os.path.join(other, "m.sock")
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(path)
    live.listen(1)
    d = fake_daemon("monlivesock", MONITORS)
    d.config["metrics_listen"] = path
    d.expect_exit = 1
    try:
        d.start()
        raise AssertionError("daemon served over a live socket")
    except H.DaemonExited:
        pass
    finally:
        d.stop()
    assert ("metrics_listen: something already serves %s" % path) \
        in d.stderr(), d.stderr()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    live.close()


def test_metrics_port_taken_is_fatal():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    d = fake_daemon("monbusy", MONITORS)
    d.config["metrics_listen"] = "127.0.0.1:%d" % port
    d.expect_exit = 1
    try:
        d.start()
        raise AssertionError("daemon served with its metrics port taken")
    except H.DaemonExited:
        pass
    finally:
        busy.close()
        d.stop()
    assert ("metrics_listen: cannot listen on 127.0.0.1:%d" % port) \
        in d.stderr(), d.stderr()


def test_reload_keeps_unchanged_monitors():
    with fake_daemon("monreload", MONITORS) as d:
        time.sleep(2.2)
        before, _ = parse(scrape(d.port))
        lo_sent = value(before, "mtrprobed_monitor_probes_sent_total",
                        monitor="lo")
        assert lo_sent >= 2
        # silent changes (count 1 -> 2), lo stays, new one added
        write(os.path.join(d.mdir, "m.conf"), MONITORS.replace(
            "count = 1", "count = 2") + "\n[new]\ntarget = 127.0.0.1\n"
            "period = 1\ncount = 1\n")
        d.signal(signal.SIGHUP)
        H.wait_until(lambda: "monitors: 4 running" in d.stderr(), 5,
                     what="reload")
        after, _ = parse(scrape(d.port))
        assert value(after, "mtrprobed_monitors") == 4
        assert value(after, "mtrprobed_monitor_probes_sent_total",
                     monitor="lo") >= lo_sent
        # the changed one started again: its counters began at 0
        assert value(after, "mtrprobed_monitor_cycles_total",
                     monitor="silent") <= 1
        # a broken definition: refused, the running set stays
        write(os.path.join(d.mdir, "m.conf"), "[x]\ncount = 2\n")
        d.signal(signal.SIGHUP)
        H.wait_until(lambda: "reload refused" in d.stderr(), 5,
                     what="refusal")
        assert "m.conf:1: [x]: missing target" in d.stderr(), d.stderr()
        kept, _ = parse(scrape(d.port))
        assert value(kept, "mtrprobed_monitors") == 4
        assert value(kept, "mtrprobed_monitor_probes_sent_total",
                     monitor="lo") >= value(
                         after, "mtrprobed_monitor_probes_sent_total",
                         monitor="lo")


def test_real_mtr_packet_monitor():
    """The real mtr-packet: replies from loopback, RTTs in the histogram."""
    H.require_root()
    port = H.free_port()
    d = H.Daemon("monreal", workers=1, config={
        "metrics_listen": "127.0.0.1:%d" % port})
    mdir = os.path.join(d.dir, "monitors.d")
    os.mkdir(mdir)
    write(os.path.join(mdir, "m.conf"),
          "[lo]\ntarget = 127.0.0.1\ncount = 3\ninterval = 0.05\n"
          "period = 1\ntimeout = 1\n")
    with d:
        time.sleep(2.5)
        samples, _ = parse(scrape(port))
        lo = dict(monitor="lo", address="127.0.0.1")
        sent = value(samples, "mtrprobed_monitor_probes_sent_total", **lo)
        assert sent >= 6, sent
        assert value(samples, "mtrprobed_monitor_probes_received_total",
                     **lo) == sent
        assert value(samples, "mtrprobed_monitor_rtt_seconds_count",
                     **lo) == sent
        total = value(samples, "mtrprobed_monitor_rtt_seconds_sum", **lo)
        assert 0 < total < sent * 0.01, total   # loopback: under 10 ms each
        assert value(samples, "mtrprobed_probes_total",
                     result="reply") >= sent


def test_real_mtr_packet_trace_monitor():
    """A trace of loopback: one hop, the target itself, at TTL 1."""
    port = H.free_port()
    d = H.Daemon("montrace", workers=1, config={
        "metrics_listen": "127.0.0.1:%d" % port})
    mdir = os.path.join(d.dir, "monitors.d")
    os.mkdir(mdir)
    write(os.path.join(mdir, "m.conf"),
          "[lo]\nkind = trace\ntarget = 127.0.0.1\nmax_ttl = 5\n"
          "period = 1\ntimeout = 0.5\nlabel.site = lab\n")
    with d:
        time.sleep(2.5)
        samples, families = parse(scrape(port))
    lab = dict(monitor="lo", site="lab")
    cycles = value(samples, "mtrprobed_monitor_cycles_total", monitor="lo")
    assert cycles in (2, 3), cycles
    # the first cycle probes TTLs 1-5; all reach the target, only TTL 1
    # is a hop; later cycles probe TTLs 1-2
    assert value(samples, "mtrprobed_trace_hops", **lab) == 1
    # FNV-1a 64 of "127.0.0.1", shifted right by 11
    assert value(samples, "mtrprobed_trace_path_id", **lab) == \
        6007043502676770
    assert value(samples, "mtrprobed_trace_path_changes_total", **lab) == 0
    assert value(samples, "mtrprobed_trace_hop_info", ttl="1",
                 responder="127.0.0.1", **lab) == 1
    ended = value(samples, "mtrprobed_trace_hop_probes_sent_total",
                  ttl="1", **lab)
    assert ended in (cycles - 1, cycles), (ended, cycles)
    assert value(samples, "mtrprobed_trace_hop_probes_received_total",
                 ttl="1", **lab) == ended
    assert value(samples, "mtrprobed_trace_hop_rtt_seconds_count", ttl="1",
                 **lab) == ended
    # no series for TTLs above the target
    assert not [k for k in samples if k[0].startswith("mtrprobed_trace_hop")
                and ("ttl", "2") in k[1]], "series for TTL 2"
    # no ping series for a trace monitor
    assert not [k for k in samples
                if k[0] == "mtrprobed_monitor_probes_sent_total"]
    assert families["mtrprobed_trace_hop_rtt_seconds"] == "histogram"


def test_promtool_accepts_the_exposition():
    promtool = shutil.which("promtool")
    if not promtool:
        H.skip("promtool not installed (Debian package prometheus; "
               "tests/deps.sh installs it)")
    with fake_daemon("monprom", MONITORS) as d:
        time.sleep(1.5)
        text = scrape(d.port)
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)



# ------------------------------------------------------- over the socket

def sock_daemon(tag, extra=None, **kw):
    port = H.free_port()
    d = H.Daemon(tag, workers=1, config=dict({
        "metrics_listen": "127.0.0.1:%d" % port}, **(extra or {})), **kw)
    d.port = port
    return d


def add(d, rid, **monitor):
    return d.request({"op": "monitor_add", "id": rid, "monitor": monitor})


def test_socket_add_list_show_remove():
    with sock_daemon("monsock") as d:
        r = add(d, 1, name="lo", target="127.0.0.1", count=2, interval=0.1,
                period=1, timeout=0.5, labels={"team": "net"})
        assert r["id"] == 1 and r["owner"] == 0, r
        m = r["monitor"]
        # the whole definition, defaults included
        assert m == {"name": "lo", "target": "127.0.0.1", "kind": "ping",
                     "ip_version": "any", "addresses": "first",
                     "protocol": "icmp", "port": 0, "count": 2,
                     "interval": 0.1, "first_ttl": 1, "max_ttl": 30,
                     "period": 1.0, "timeout": 0.5, "size": -1, "tos": 0,
                     "ttl": 255, "loss_threshold": 10.0,
                     "labels": {"team": "net"}}, m
        time.sleep(2.3)
        r = d.request({"op": "monitor_list", "id": 2})
        assert [x["name"] for x in r["monitors"]] == ["lo"], r
        item = r["monitors"][0]
        assert (item["kind"], item["target"], item["owner"]) == \
            ("ping", "127.0.0.1", 0), item
        assert item["cycles"] >= 2 and item["window"]["loss_pct"] == 0, item
        r = d.request({"op": "monitor_show", "id": 3, "name": "lo"})
        st = r["streams"]
        assert len(st) == 1 and st[0]["address"] == "127.0.0.1", r
        w = st[0]["window"]
        assert w["sent"] == st[0]["sent"] and w["received"] == w["sent"], w
        assert 0 < w["min_ms"] <= w["median_ms"] <= w["p90_ms"] <= \
            w["p99_ms"] <= w["max_ms"] < 10, w
        assert r["monitor"]["labels"] == {"team": "net"}
        samples, _ = parse(scrape(d.port))
        assert value(samples, "mtrprobed_monitor_probes_sent_total",
                     monitor="lo", team="net") >= 4
        # errors
        r = add(d, 4, name="lo", target="127.0.0.1")
        H.assert_error(r, "invalid-argument", rid=4)
        assert r["error"]["message"] == "monitor.name: a monitor 'lo' exists"
        r = add(d, 5, name="x", target="127.0.0.1", count="5")
        assert r["error"]["message"] == "monitor.count: must be an integer", r
        r = add(d, 6, name="x", target="127.0.0.1", count=0)
        assert r["error"]["message"] == \
            "monitor.count: must be an integer from 1 to 100", r
        r = add(d, 7, name="x", target="127.0.0.1", colour="red")
        assert r["error"]["message"] == "monitor.colour: unknown field", r
        r = add(d, 8, target="127.0.0.1")
        assert r["error"]["message"] == "monitor.name: required", r
        r = add(d, 9, name="x")
        assert r["error"]["message"] == "monitor: [x]: missing target", r
        r = add(d, 10, name="x", target="127.0.0.1", labels={"result": "x"})
        assert r["error"]["message"] == \
            "monitor.label.result: reserved label name", r
        r = add(d, 15, name="x", target="127.0.0.1", count=5, period=1)
        assert r["error"]["message"] == ("monitor: (count - 1) * interval "
                                         "(4 s) must be less than period "
                                         "(1 s)"), r
        r = d.request({"op": "monitor_add", "id": 11})
        assert r["error"]["message"] == "monitor: required", r
        r = d.request({"op": "monitor_show", "id": 12, "name": "nope"})
        assert r["error"] == {"code": "invalid-argument",
                              "message": "name: no monitor 'nope'"}, r
        # remove
        r = d.request({"op": "monitor_remove", "id": 13, "name": "lo"})
        assert r == {"id": 13, "removed": "lo"}, r
        r = d.request({"op": "monitor_list", "id": 14})
        assert r["monitors"] == [], r
        samples, _ = parse(scrape(d.port))
        assert value(samples, "mtrprobed_monitors") == 0


def test_socket_monitors_survive_restart_and_kill():
    d = sock_daemon("monpersist")
    with d:
        add(d, 1, name="a", target="127.0.0.1", period=5)
        r = add(d, 2, name="b", kind="trace", target="127.0.0.1", max_ttl=3,
                period=5, timeout=1, labels={"site": "lab"})
        assert "error" not in r, r
        add(d, 3, name="c", target="127.0.0.1", period=5)
        d.request({"op": "monitor_remove", "id": 4, "name": "c"})
        before = d.request({"op": "monitor_list", "id": 5})["monitors"]
    assert [m["name"] for m in before] == ["a", "b"]
    state = os.path.join(d.dir, "state", "monitors", "0.conf")
    assert open(state).read().startswith("[a]\n"), open(state).read()
    # a clean stop, then a kill -9: every monitor comes back each time
    for how in ("restart", "kill"):
        d2 = sock_daemon("monpersist2")
        d2.config["state_dir"] = os.path.join(d.dir, "state")
        with d2:
            r = d2.request({"op": "monitor_show", "id": 1, "name": "b"})
            assert r["monitor"]["kind"] == "trace" and \
                r["monitor"]["labels"] == {"site": "lab"} and \
                r["owner"] == 0, r
            names = [m["name"] for m in
                     d2.request({"op": "monitor_list", "id": 2})["monitors"]]
            assert names == ["a", "b"], names
            if how == "kill":
                add(d2, 3, name="d", target="127.0.0.1", period=5)
                d2.expect_exit = -signal.SIGKILL
                d2.kill()
        if how == "kill":
            d3 = sock_daemon("monpersist3")
            d3.config["state_dir"] = os.path.join(d.dir, "state")
            with d3:
                names = [m["name"] for m in
                         d3.request({"op": "monitor_list", "id": 1})["monitors"]]
                assert names == ["a", "b", "d"], names


def test_socket_monitors_belong_to_their_user():
    """Another user: sees the files' monitors and its own, may not remove
    others', and is held to uid_max_monitors and uid_monitor_max_pps."""
    import pwd
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        H.skip("no user 'nobody' to connect as")
    d = sock_daemon("monuser", extra={"uid_max_monitors": 2,
                                      "uid_monitor_max_pps": 3,
                                      "socket_mode": "0666"})
    os.chmod(d.dir, 0o755)
    with d:
        add(d, 1, name="roots", target="127.0.0.1", period=5)

        def as_nobody(reqs):
            code = ("import json, socket, sys\n"
                    "s = socket.socket(socket.AF_UNIX)\n"
                    "s.connect(sys.argv[1])\n"
                    "f = s.makefile('rwb')\n"
                    "for line in sys.stdin:\n"
                    "    f.write(line.encode()); f.flush()\n"
                    "    sys.stdout.write(f.readline().decode())\n")
            p = subprocess.run(["python3", "-c", code, d.socket],
                               input="".join(json.dumps(r) + "\n"
                                             for r in reqs).encode(),
                               capture_output=True, timeout=30,
                               user=nobody.pw_uid, group=nobody.pw_gid)
            assert p.returncode == 0, p.stderr
            return [json.loads(l) for l in p.stdout.decode().splitlines()]

        out = as_nobody([
            {"op": "monitor_add", "id": 1, "monitor": {
                "name": "n1", "target": "127.0.0.1", "count": 1, "period": 1}},
            {"op": "monitor_add", "id": 2, "monitor": {
                "name": "n2", "target": "127.0.0.1", "count": 5,
                "interval": 0.1, "period": 1}},
            {"op": "monitor_add", "id": 3, "monitor": {
                "name": "n2", "target": "127.0.0.1", "count": 1, "period": 1}},
            {"op": "monitor_add", "id": 4, "monitor": {
                "name": "n3", "target": "127.0.0.1", "count": 1, "period": 5}},
            {"op": "monitor_list", "id": 5},
            {"op": "monitor_remove", "id": 6, "name": "roots"},
            {"op": "monitor_show", "id": 7, "name": "roots"},
        ])
        assert out[0]["owner"] == nobody.pw_uid, out[0]
        assert out[1]["error"] == {
            "code": "overloaded",
            "message": "monitor: this user's monitors would schedule 6 "
                       "probes/s, over uid_monitor_max_pps (3)"}, out[1]
        assert out[2]["owner"] == nobody.pw_uid, out[2]
        assert out[3]["error"] == {
            "code": "overloaded",
            "message": "monitor: uid_max_monitors (2) reached"}, out[3]
        assert [m["name"] for m in out[4]["monitors"]] == ["n1", "n2"], out[4]
        assert out[5]["error"] == {"code": "invalid-argument",
                                   "message": "name: no monitor 'roots'"}
        assert out[6]["error"]["code"] == "invalid-argument", out[6]
        # root sees everything, and the user's file holds the user's own
        names = [m["name"] for m in
                 d.request({"op": "monitor_list", "id": 9})["monitors"]]
        assert names == ["roots", "n1", "n2"], names
        text = open(os.path.join(d.dir, "state", "monitors",
                                 "%d.conf" % nobody.pw_uid)).read()
        assert [l for l in text.splitlines() if l.startswith("[")] == \
            ["[n1]", "[n2]"], text


def test_file_monitor_not_removable_and_name_conflicts():
    d = fake_daemon("monconf", MONITORS)
    with d:
        r = d.request({"op": "monitor_remove", "id": 1, "name": "lo"})
        assert r["error"] == {
            "code": "permission-denied",
            "message": "name: monitor 'lo' is defined in the monitors "
                       "directory; remove it there"}, r
        r = add(d, 2, name="lo", target="127.0.0.1")
        assert r["error"]["message"] == "monitor.name: a monitor 'lo' exists"
        r = add(d, 3, name="sock1", target="127.0.0.1", period=5)
        assert "error" not in r, r
        # a file defining the socket monitor's name: the reload is refused
        write(os.path.join(d.mdir, "m.conf"),
              MONITORS + "\n[sock1]\ntarget = 127.0.0.1\n")
        d.signal(signal.SIGHUP)
        H.wait_until(lambda: "reload refused" in d.stderr(), 5,
                     what="refusal")
        assert ("monitor 'sock1' is already defined over the socket by "
                "uid 0") in d.stderr(), d.stderr()


def ctl(sock, *args):
    p = subprocess.run([H.mtrprobectl_path(), "-s", sock] + list(args),
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_mtrprobectl_monitor():
    """mtrprobectl monitor add, list, show, rm on the stand-in mtr-packet
    (every answer 0.100 ms)."""
    fake = H.FakeMtrPacket(tag="ctlmonfake")
    with H.Daemon("ctlmon", workers=1, mtr_packet=fake.path) as d:
        s = d.socket
        assert ctl(s, "monitor", "add", "-c", "2", "-i", "0.2", "--period",
                   "1", "--timeout", "0.5", "--label", "team=net", "lo",
                   "127.0.0.1") == (0, "monitor lo added\n", "")
        assert ctl(s, "monitor", "add", "--kind", "trace", "--max-ttl", "3",
                   "--period", "1", "--timeout", "0.5", "path",
                   "127.0.0.1") == (0, "monitor path added\n", "")
        time.sleep(2.6)
        rc, out, err = ctl(s, "monitor", "show", "lo")
        assert rc == 0, (rc, out, err)
        lines = out.splitlines()
        cycles = int(re.search(r"; (\d+) cycles, 0 late$", lines[0]).group(1))
        assert cycles in (2, 3), out
        assert lines[0] == ("lo: ping 127.0.0.1 every 1 s, 2 probes 0.2 s "
                            "apart (uid 0); %d cycles, 0 late" % cycles), out
        sent = int(re.match(r"  127.0.0.1: (\d+) sent", lines[1]).group(1))
        assert lines[1] == ("  127.0.0.1: %d sent, %d received, 0.0%% loss, "
                            "median 0.100 ms, p90 0.100 ms, p99 0.100 ms, "
                            "jitter 0.000 ms (window of %d probes)"
                            % (sent, sent, sent)), out
        rc, out, err = ctl(s, "monitor", "show", "path")
        lines = out.splitlines()
        assert lines[1] == "  path of 1 hops, changed 0 times", out
        assert re.match(r"    1\. 127\.0\.0\.1 +\d+ +\d+ +0\.0 +0\.100$",
                        lines[3]), out
        rc, out, err = ctl(s, "monitor", "list")
        lines = out.splitlines()
        assert lines[0].split() == ["NAME", "KIND", "TARGET", "OWNER",
                                    "PERIOD", "CYCLES", "LOSS%", "MEDIAN",
                                    "ms"], out
        assert lines[1].split()[:5] == ["lo", "ping", "127.0.0.1", "0", "1"]
        assert lines[1].split()[6:] == ["0.0", "0.100"], out
        assert lines[2].split()[:5] == ["path", "trace", "127.0.0.1", "0",
                                        "1"]
        assert lines[2].split()[6:] == ["-", "-"], out
        rc, out, err = ctl(s, "monitor", "add", "-c", "0", "x", "127.0.0.1")
        assert (rc, out) == (4, ""), (rc, out, err)
        assert err == ("mtrprobectl: invalid-argument: monitor.count: must "
                       "be an integer from 1 to 100\n"), err
        rc, out, err = ctl(s, "monitor", "add", "x")
        assert rc == 2 and "NAME and TARGET expected" in err, (rc, err)
        assert ctl(s, "monitor", "rm", "lo") == (0, "monitor lo removed\n", "")
        rc, out, err = ctl(s, "monitor", "rm", "lo")
        assert (rc, err) == (4, "mtrprobectl: invalid-argument: name: no "
                                "monitor 'lo'\n"), (rc, err)
        rc, out, err = ctl(s, "--json", "monitor", "list")
        r = json.loads(out)
        assert [m["name"] for m in r["monitors"]] == ["path"], out


def test_scrapes_at_once_are_bounded():
    """Clients that ask for /metrics and never read hold at most 8 scrapes
    (each one chunk of text); the 9th gets 503 and the daemon serves on."""
    many = "".join("[m%d]\ntarget = 127.0.0.8\ncount = 1\nperiod = 60\n"
                   "timeout = 0.5\n\n" % i for i in range(3000))
    with fake_daemon("monscrapes", many) as d:
        idle = []
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.append(s)
        time.sleep(1)
        status, _, body = http_get(
            http.client.HTTPConnection("127.0.0.1", d.port, timeout=10))
        assert status == 503, (status, body[:200])
        r = d.request({"op": "version", "id": 1})
        assert r["id"] == 1 and "error" not in r, r
        for s in idle:
            s.close()
        H.wait_until(lambda: http_get(http.client.HTTPConnection(
            "127.0.0.1", d.port, timeout=10))[0] == 200, 10,
            what="scrapes freed")
        assert "mtrprobed_monitors 3000\n" in scrape(d.port)
        # the daemon stops with scrapes under way: it exits 0 (and under
        # the sanitizers with nothing leaked)
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.append(s)
        time.sleep(0.5)
    for s in idle:
        s.close()


def next_event(c, what, timeout=15):
    """The next event named what on client c (others are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.recv(timeout=max(0.1, deadline - time.monotonic()))
        if r.get("event") == what:
            return r
    raise AssertionError("no %s event within %ss" % (what, timeout))


def test_events_loss_and_reachability():
    """A loopback target in a namespace of its own stops answering echo
    requests, then answers again: loss-high and unreachable, then
    recovered and loss-normal, to a subscriber; another subscriber that
    follows another monitor gets none of them."""
    with H.Netns("monev") as ns:
        d = H.Daemon("monev", workers=1, netns=ns.name,
                     config={"monitor_history": 3})
        with d, d.client() as c, d.client() as other:
            r = c.request({"op": "monitor_events", "id": "ev"})
            assert r == {"id": "ev", "following": True, "name": ""}, r
            r = other.request({"op": "monitor_events", "id": 7, "name": "x"})
            assert r == {"id": 7, "following": True, "name": "x"}, r
            r = c.request({"op": "monitor_events", "id": 2})
            assert r["error"] == {
                "code": "invalid-argument",
                "message": "op: this connection already follows the "
                           "monitors' events"}, r
            assert "error" not in add(d, 3, name="lo", target="127.0.0.1",
                                      count=2, interval=0.1, period=1,
                                      timeout=0.3, loss_threshold=20)
            follower = subprocess.Popen(
                [H.mtrprobectl_path(), "-s", d.socket, "monitor", "events",
                 "lo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(1.5)
            ns.sysctl("net.ipv4.icmp_echo_ignore_all", 1)
            ev = next_event(c, "loss-high")
            assert ev["id"] == "ev" and ev["monitor"] == "lo", ev
            assert ev["address"] == "127.0.0.1" and ev["threshold_pct"] == 20
            assert ev["loss_pct"] > 20 and isinstance(ev["time"], float), ev
            ev = next_event(c, "unreachable")
            assert (ev["monitor"], ev["address"]) == ("lo", "127.0.0.1"), ev
            # mtrprobectl monitor events printed both, and stops on SIGINT
            time.sleep(0.3)
            follower.send_signal(signal.SIGINT)
            out, err = follower.communicate(timeout=10)
            assert follower.returncode == 0, (follower.returncode, err)
            lines = out.decode().splitlines()
            stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
            assert len(lines) == 2, lines
            assert re.match(stamp + r"lo loss-high address=127\.0\.0\.1 "
                            r"loss_pct=[0-9.]+ threshold_pct=20\.0 "
                            r"window=\d+$", lines[0]), lines
            assert re.match(stamp + r"lo unreachable address=127\.0\.0\.1$",
                            lines[1]), lines
            ns.sysctl("net.ipv4.icmp_echo_ignore_all", 0)
            ev = next_event(c, "recovered")
            assert (ev["monitor"], ev["address"]) == ("lo", "127.0.0.1"), ev
            # the window (3 cycles) forgets the lost ones as they leave it
            ev = next_event(c, "loss-normal")
            assert ev["loss_pct"] <= 20 and ev["window"] == 6, ev
            d.request({"op": "monitor_remove", "id": 4, "name": "lo"})
            other.assert_nothing_more(wait=0.5)


def test_user_monitor_held_to_the_users_rate():
    """A user's monitor probes as that user: uid_max_pps = 2 lets about 2
    of its 10 probes a second out; the rest wait and end overloaded at
    their timeout, counted under "other", neither sent nor lost."""
    import pwd
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        H.skip("no user 'nobody' to connect as")
    fake = H.FakeMtrPacket(tag="monratefake")
    port = H.free_port()
    d = H.Daemon("monrate", workers=1, mtr_packet=fake.path, config={
        "uid_max_pps": 2, "socket_mode": "0666",
        "metrics_listen": "127.0.0.1:%d" % port})
    os.chmod(d.dir, 0o755)
    with d:
        code = ("import json, socket, sys\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "s.connect(sys.argv[1])\n"
                "s.sendall(sys.stdin.read().encode())\n"
                "sys.stdout.write(s.makefile().readline())\n")
        req = {"op": "monitor_add", "id": 1, "monitor": {
            "name": "busy", "target": "127.0.0.1", "count": 10,
            "interval": 0.01, "period": 1, "timeout": 0.5}}
        p = subprocess.run(["python3", "-c", code, d.socket],
                           input=(json.dumps(req) + "\n").encode(),
                           capture_output=True, timeout=30,
                           user=nobody.pw_uid, group=nobody.pw_gid)
        assert json.loads(p.stdout)["owner"] == nobody.pw_uid, p
        time.sleep(4.2)
        samples, _ = parse(scrape(port))
        cycles = value(samples, "mtrprobed_monitor_cycles_total",
                       monitor="busy")
        sent = value(samples, "mtrprobed_monitor_probes_sent_total",
                     monitor="busy")
        other = value(samples, "mtrprobed_monitor_probe_results_total",
                      monitor="busy", result="other")
        # 2 probes/s (and a burst of one): far below the 10 a cycle asks
        H.log("cycles %d sent %d other %d" % (cycles, sent, other))
        assert 4 <= cycles <= 5, cycles
        assert 2 <= sent <= 2 * cycles + 2, (sent, cycles)
        assert other >= 10 * (cycles - 1) - sent - 10, (other, sent, cycles)
        # a probe let out just before its deadline may end no-reply there
        reply = value(samples, "mtrprobed_monitor_probe_results_total",
                      monitor="busy", result="reply")
        no_reply = value(samples, "mtrprobed_monitor_probe_results_total",
                         monitor="busy", result="no-reply")
        assert reply + no_reply == sent and reply >= 2, (reply, no_reply)


def test_scrape_pieces_never_repeat_a_family():
    """Whatever the size of the text, each family's HELP and TYPE come once:
    monitors added one by one, a scrape after each (the pieces of 256 KiB
    end at every place in turn)."""
    with sock_daemon("monpieces") as d:
        for i in range(230):
            r = add(d, i, name="m%03d" % i, target="127.0.0.8",
                    kind="trace" if i % 2 else "ping", period=3600,
                    max_ttl=4)
            assert "error" not in r, r
            if i >= 60:
                parse(scrape(d.port))   # asserts the format's rules


def test_remove_that_cannot_be_kept_changes_nothing():
    """When the state file cannot be rewritten, monitor_remove fails and
    the monitor runs on (the file still holds it, as the answer says)."""
    with sock_daemon("monkeepfail") as d:
        assert "error" not in add(d, 1, name="a", target="127.0.0.1",
                                  period=60)
        mdir = os.path.join(d.dir, "state", "monitors")
        os.chmod(mdir, 0o500)   # the daemon runs as root: make it a file
        os.chmod(mdir, 0o700)
        shutil.rmtree(mdir)
        write(mdir, "not a directory\n")
        r = d.request({"op": "monitor_remove", "id": 2, "name": "a"})
        assert r["error"]["code"] == "process-error", r
        assert r["error"]["message"].startswith(
            "monitor: cannot keep it in state_dir: "), r
        names = [m["name"] for m in
                 d.request({"op": "monitor_list", "id": 3})["monitors"]]
        assert names == ["a"], names


def test_state_monitors_refused_are_kept_aside():
    """A saved monitor that cannot start again (its name taken by the
    monitors directory since) is logged and kept in UID.refused, not lost
    when the user's file is next rewritten."""
    d = sock_daemon("monrefused")
    with d:
        assert "error" not in add(d, 1, name="lo", target="127.0.0.1",
                                  period=60)
        assert "error" not in add(d, 2, name="other", target="127.0.0.1",
                                  period=60)
    state = os.path.join(d.dir, "state")
    d2 = sock_daemon("monrefused2")
    d2.config["state_dir"] = state
    os.mkdir(os.path.join(d2.dir, "monitors.d"))
    write(os.path.join(d2.dir, "monitors.d", "m.conf"),
          "[lo]\ntarget = 127.0.0.2\nperiod = 60\n")
    with d2:
        assert ("state: monitor lo of uid 0 not started: monitor.name: a "
                "monitor 'lo' exists") in d2.stderr(), d2.stderr()
        refused = open(os.path.join(state, "monitors", "0.refused")).read()
        assert refused.startswith("[lo]\ntarget = 127.0.0.1\n"), refused
        # the user's next change rewrites 0.conf without it; 0.refused stays
        d2.request({"op": "monitor_remove", "id": 1, "name": "other"})
        assert not os.path.exists(os.path.join(state, "monitors", "0.conf"))
        assert os.path.exists(os.path.join(state, "monitors", "0.refused"))


def main():
    H.require_root()
    H.require_real_mtr_packet()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
