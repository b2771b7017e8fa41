#!/usr/bin/env python3
"""The daemon under systemd, without systemd as init: socket activation
(systemd-socket-activate), the sd_notify protocol (READY, STATUS, WATCHDOG,
RELOADING, STOPPING) read from a datagram socket the test binds, SIGHUP
reloads under load and with a broken file, the worker count changed live,
journal-style log prefixes, and the unit files checked by systemd-analyze.

Prerequisites (exit 77 when missing): root, /usr/bin/mtr-packet,
systemd-socket-activate (for the activation test) and systemd-analyze (for
the unit test).  Probes go only to 127.0.0.1 and ::1; every Daemon config
carries a hosts_file and a loopback dns_servers (harness.py).
"""

import collections
import errno
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import threading
import time

import harness as H
from harness import assert_probe

SSA = "systemd-socket-activate"
ANALYZE = "systemd-analyze"
STATUS_RE = re.compile(r"STATUS=(\d+) probes/s, (\d+) in flight, "
                       r"(\d+) queued, (\d+)/(\d+) workers alive, "
                       r"(\d+) clients")
ONE_SOCKET_MSG = ("mtrprobed: error: socket activation: expected exactly one "
                  "listening Unix stream socket")

# ---------------------------------------------------------------- helpers

def workers_of(s):
    """(configured, alive, restarts) of a stats answer."""
    w = s["workers"]
    return (w["configured"], w["alive"], w["restarts"])


Msg = collections.namedtuple("Msg", "t pid text extra")


class NotifySocket:
    """A bound AF_UNIX/SOCK_DGRAM socket collecting sd_notify datagrams with
    the sender's pid (SO_PASSCRED) and the arrival time.  on_message(text),
    when given, runs in the receiving thread as soon as a datagram arrives;
    its result is kept as Msg.extra."""

    def __init__(self, d, on_message=None):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.05)
        self.on_message = on_message
        self.msgs = []
        self.cond = threading.Condition()
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        csize = socket.CMSG_SPACE(struct.calcsize("iII"))
        while not self._stop:
            try:
                data, anc, _, _ = self.sock.recvmsg(65536, csize)
            except socket.timeout:
                continue
            except OSError:
                return
            t = time.monotonic()
            pid = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            text = data.decode("utf-8", "replace")
            extra = None
            if self.on_message:
                try:
                    extra = self.on_message(text)
                except Exception as e:  # reported through Msg.extra
                    extra = e
            with self.cond:
                self.msgs.append(Msg(t, pid, text, extra))
                self.cond.notify_all()

    def snapshot(self):
        with self.cond:
            return list(self.msgs)

    def wait_for(self, pred, timeout, start=0, what="a notify message"):
        """Index of the first message at or after start matching pred."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.msgs)):
                    if pred(self.msgs[i]):
                        return i
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        "no %s within %.1fs; got: %r" % (
                            what, timeout,
                            [m.text for m in self.msgs[start:]][-20:]))
                self.cond.wait(remaining)

    def close(self):
        self._stop = True
        self.thread.join(5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def not_watchdog(m):
    return m.text != "WATCHDOG=1"


class SdDaemon(H.Daemon):
    """harness.Daemon whose command line can be replaced or wrapped."""

    def __init__(self, tag, wrap=None, **kw):
        super().__init__(tag, **kw)
        self.wrap = wrap

    def command(self):
        cmd = super().command()
        return self.wrap(self, cmd) if self.wrap else cmd


def with_watchdog_pid(dmn, cmd):
    """sh sets WATCHDOG_PID to its own pid, then execs the daemon (same
    pid): what systemd does for the main process."""
    return ["/bin/sh", "-c",
            'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"] + cmd


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def proc_children(pid):
    """Child pids of pid (every thread's children file, else pgrep -P)."""
    out = set()
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.update(int(x) for x in f.read().split())
        return out
    except FileNotFoundError:
        if not os.path.isdir("/proc/%d" % pid):
            return out
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                       timeout=10)
    return {int(x) for x in r.stdout.split()}


def proc_comm_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None, None
    return s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()[0]


def worker_pids(pid):
    """The live (non-zombie) mtr-packet children of pid."""
    out = set()
    for c in proc_children(pid):
        comm, state = proc_comm_state(c)
        if comm == "mtr-packet" and state != "Z":
            out.add(c)
    return out


_seen_workers = set()


def kill_leftover_workers():
    """SIGKILL the mtr-packet processes this test saw that still run (the
    daemon puts each worker in its own process group, so harness's killpg
    does not reach them if the daemon itself had to be killed)."""
    for pid in sorted(_seen_workers):
        comm, state = proc_comm_state(pid)
        if comm == "mtr-packet" and state != "Z":
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    _seen_workers.clear()


def probe_round(c, n, prefix, host="127.0.0.1", timeout=20):
    """n pipelined probes on client c; every answer must be a reply."""
    c.send_raw(b"".join(H.probe_lines(n, prefix, host=host, timeout=5)))
    got = c.collect(n, timeout)
    family = 6 if ":" in host else 4
    for r in got:
        assert_probe(r, "reply", host, family, check_id=False)
    ids = sorted(r["id"] for r in got)
    assert ids == sorted("%s%d" % (prefix, i) for i in range(n)), ids
    return got


def stats_retry(dmn, timeout=5):
    """stats on a new connection, retried while the daemon still counts
    connections just closed against max_connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = dmn.stats()
            if "error" not in s:
                return s
            last = s
        except (ConnectionError, OSError, AssertionError) as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError("stats failed for %ss: %r" % (timeout, last))
        time.sleep(0.05)


def open_accepted(dmn, timeout=5):
    """A client the daemon accepted (it answered version), retrying while
    recently closed connections still count against max_connections."""
    deadline = time.monotonic() + timeout
    while True:
        c = dmn.client()
        try:
            r = c.request({"op": "version", "id": "acc"}, timeout=5)
            if "error" not in r:
                return c
            last = r
        except (ConnectionError, OSError, AssertionError) as e:
            last = e
        c.close()
        if time.monotonic() > deadline:
            raise AssertionError("no connection accepted for %ss: %r"
                                 % (timeout, last))
        time.sleep(0.05)


def assert_refused_overloaded(dmn):
    """A new connection gets exactly one overloaded line, then EOF."""
    with dmn.client() as c:
        lines = c.recv_lines_until_closed(5)
        assert c.eof, "refused connection was not closed: %r" % lines
    assert len(lines) == 1, "want one line then EOF, got %r" % lines
    r = H.parse_response(lines[0])
    assert r == {"id": None, "error": {
        "code": "overloaded",
        "message": "connection: max_connections reached"}}, r


def log_lines(dmn):
    return dmn.stderr().splitlines()


def wait_log(dmn, pred, timeout, what):
    return H.wait_until(lambda: [ln for ln in log_lines(dmn) if pred(ln)],
                        timeout, 0.05, what)


def need(prog):
    path = shutil.which(prog)
    if not path:
        H.skip("%s is missing (Debian package systemd)" % prog)
    return path


# ------------------------------------------------------ socket activation

def activated(dmn, notify_path=None):
    """Command wrapper: systemd-socket-activate listens on dmn.socket and
    execs the daemon (same pid) at the first connection; the daemon gets
    no -s, only -c, and the environment -E passes."""
    def wrap(d, cmd):
        out = [need(SSA), "-l", d.socket, "-E", "MTR_PACKET"]
        if notify_path:
            out += ["-E", "NOTIFY_SOCKET=" + notify_path]
        return out + [H.mtrprobed_path(), "-c", d.config_path]
    dmn.wrap = wrap
    return dmn


def run_activation_refused(tag, ssa_args, trigger):
    """systemd-socket-activate SSA_ARGS mtrprobed: trigger(dir) makes it
    exec the daemon; returns (exit code, stderr text)."""
    d = H.tmpdir(tag)
    conf = write(os.path.join(d, "c.conf"),
                 "hosts_file = %s\ndns_servers = 127.0.0.1:%d\n"
                 % (write(os.path.join(d, "hosts"), ""), H.free_port()))
    errpath = os.path.join(d, "stderr.log")
    env = dict(os.environ, MTR_PACKET=H.REAL_MTR_PACKET)
    args = [a.replace("DIR", d) for a in ssa_args]
    cmd = [need(SSA)] + args + ["-E", "MTR_PACKET", H.mtrprobed_path(),
                                "-c", conf]
    H.log("starting:", " ".join(cmd))
    with open(errpath, "wb") as ef:
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                             stdout=ef, stderr=ef, start_new_session=True)
    try:
        trigger(d)
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError("activated daemon did not exit: %s"
                                 % open(errpath).read())
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
    with open(errpath, errors="replace") as f:
        return rc, f.read()


def test_socket_activation():
    d = H.tmpdir("sa-notify")
    dmn = SdDaemon("sa", config={"workers": 2})
    # must be left alone: the daemon serves the socket it was given
    configured = os.path.join(dmn.dir, "configured.sock")
    dmn.config["socket"] = configured
    with NotifySocket(d) as ns:
        activated(dmn, ns.path)
        with dmn:
            pid = dmn.proc.pid
            with dmn.client() as c:
                r = c.request({"op": "probe", "id": 1, "host": "127.0.0.1",
                               "timeout": 5}, timeout=15)
                assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
                r = c.request({"op": "probe", "id": 2, "host": "::1",
                               "timeout": 5}, timeout=15)
                assert_probe(r, "reply", "::1", 6, rid=2)
            lines = log_lines(dmn)
            want = "mtrprobed: info: listening on %s (socket from systemd)" \
                % dmn.socket
            assert want in lines, "no %r in stderr:\n%s" % (
                want, "\n".join(lines))
            assert not os.path.exists(configured), \
                "the configured socket was created although one was passed"
            # systemd's notify protocol works under activation too, from
            # the main pid (NotifyAccess=main)
            i = ns.wait_for(lambda m: m.text.startswith("READY=1\n"), 10,
                            what="READY=1")
            assert ns.msgs[i].pid == pid, (ns.msgs[i], pid)
            # the listening socket is not leaked into the workers
            try:
                lfd = os.readlink("/proc/%d/fd/3" % pid)
            except OSError:
                lfd = None
            assert lfd and lfd.startswith("socket:"), \
                "fd 3 of the daemon is %r, not the passed socket" % lfd
            with open("/proc/%d/fdinfo/3" % pid) as f:
                flags = int(re.search(r"(?m)^flags:\s*([0-7]+)$",
                                      f.read()).group(1), 8)
            assert flags & os.O_CLOEXEC, \
                "the passed socket is not close-on-exec: flags %o" % flags
            workers = worker_pids(pid)
            _seen_workers.update(workers)
            assert len(workers) == 2, workers
            leaks = []
            for w in workers:
                for fd in os.listdir("/proc/%d/fd" % w):
                    try:
                        if os.readlink("/proc/%d/fd/%s" % (w, fd)) == lfd:
                            leaks.append((w, int(fd)))
                    except OSError:
                        pass
            assert not leaks, (
                "mtr-packet workers hold the listening socket %s passed by "
                "systemd (pid, fd): %r" % (lfd, leaks))
            rc = dmn.stop()
        assert rc == 0, rc
        assert os.path.lexists(dmn.socket), \
            "the daemon removed the socket file systemd created: %s" \
            % dmn.socket
        st = os.lstat(dmn.socket)
        assert stat.S_ISSOCK(st.st_mode), \
            "the socket from systemd was replaced: mode %o" % st.st_mode
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(2)
            e = s.connect_ex(dmn.socket)
        finally:
            s.close()
        assert e == errno.ECONNREFUSED, \
            "connect after exit: %s" % errno.errorcode.get(e, e)
        i = ns.wait_for(lambda m: m.text.startswith("STOPPING=1"), 5,
                        what="STOPPING=1")
        assert ns.msgs[i].text == "STOPPING=1\nSTATUS=stopping", \
            ns.msgs[i].text
    kill_leftover_workers()


def test_socket_activation_refused():
    """Two sockets, or a datagram socket: exit 1 with a clear message."""
    def connect_first(d):
        p = os.path.join(d, "a.sock")
        H.wait_until(lambda: os.path.exists(p), 10, 0.02, p)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(p)
        s.close()

    rc, err = run_activation_refused(
        "sa2", ["-l", "DIR/a.sock", "-l", "DIR/b.sock"], connect_first)
    assert rc == 1, "two sockets: exit %r, want 1; stderr:\n%s" % (rc, err)
    assert ONE_SOCKET_MSG in err.splitlines(), \
        "two sockets: no %r in:\n%s" % (ONE_SOCKET_MSG, err)
    assert "ready" not in err, err

    def send_datagram(d):
        p = os.path.join(d, "a.sock")
        H.wait_until(lambda: os.path.exists(p), 10, 0.02, p)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"x", p)
        s.close()

    rc, err = run_activation_refused("sa3", ["-d", "-l", "DIR/a.sock"],
                                     send_datagram)
    assert rc == 1, "datagram socket: exit %r, want 1; stderr:\n%s" % (
        rc, err)
    assert ONE_SOCKET_MSG in err.splitlines(), \
        "datagram socket: no %r in:\n%s" % (ONE_SOCKET_MSG, err)


# ------------------------------------------------------------------ notify

def test_notify():
    d = H.tmpdir("notify")
    dmn = SdDaemon("nt", config={"workers": 2}, wrap=with_watchdog_pid)

    def on_message(text):
        # READY=1 must mean "connect works now": try at once
        if text.startswith("READY=1"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                return s.connect_ex(dmn.socket)
            finally:
                s.close()
        return None

    with NotifySocket(d, on_message) as ns:
        dmn.env.update(NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="400000")
        with dmn:
            pid = dmn.proc.pid
            i = ns.wait_for(lambda m: m.text.startswith("READY=1"), 10,
                            what="READY=1")
            ready = ns.msgs[i]
            assert ready.extra == 0, (
                "connect at the time READY=1 arrived failed: %s"
                % errno.errorcode.get(ready.extra, ready.extra))
            assert ready.text == ("READY=1\nSTATUS=0 probes/s, 0 in flight, "
                                  "0 queued, 2/16 workers alive, 0 clients"), \
                repr(ready.text)
            before = [m.text for m in ns.snapshot()[:i]]
            assert set(before) <= {"WATCHDOG=1"}, \
                "sent before READY=1: %r" % before
            with dmn.client() as c:
                probe_round(c, 50, "n")
                # the watchdog: every 0.2 s (half of 0.4 s)
                t0 = time.monotonic()
                time.sleep(1.5)
                pings = [m for m in ns.snapshot()
                         if m.text == "WATCHDOG=1" and t0 <= m.t <= t0 + 1.5]
                H.log("WATCHDOG=1 in 1.5 s: %d" % len(pings))
                assert 5 <= len(pings) <= 10, \
                    "%d WATCHDOG=1 in 1.5 s with WATCHDOG_USEC=400000" \
                    % len(pings)
                # the periodic STATUS (every 5 s), with the open client
                j = ns.wait_for(lambda m: m.text.startswith("STATUS="),
                                8, i + 1, "a periodic STATUS=")
                st = ns.msgs[j]
                H.log("periodic: %r" % st.text)
                m = STATUS_RE.fullmatch(st.text)
                assert m, "STATUS line format: %r" % st.text
                rate = int(m.group(1))
                # 50 probes completed in the first 5 s window
                assert 8 <= rate <= 10, st.text
                assert m.groups()[1:] == ("0", "0", "2", "16", "1"), st.text
                assert 4.0 <= st.t - ready.t <= 6.5, st.t - ready.t
            # every message so far came from the daemon itself
            pids = {m.pid for m in ns.snapshot()}
            assert pids == {pid}, "senders %r, daemon %d" % (pids, pid)
            assert sum(m.text.startswith("READY=1") for m in ns.snapshot()) \
                == 1, [m.text for m in ns.snapshot() if not_watchdog(m)]
            n = len(ns.snapshot())
            dmn.stop()
            k = ns.wait_for(not_watchdog, 5, n, "STOPPING=1")
            assert ns.msgs[k].text == "STOPPING=1\nSTATUS=stopping", \
                ns.msgs[k].text
            time.sleep(0.1)
            later = [m.text for m in ns.snapshot()[k + 1:] if not_watchdog(m)]
            assert not later, "sent after STOPPING=1: %r" % later
    kill_leftover_workers()


def test_watchdog_pid_mismatch():
    """WATCHDOG_PID names another process: READY=1 but no WATCHDOG=1."""
    d = H.tmpdir("wdpid")
    with NotifySocket(d) as ns:
        dmn = SdDaemon("wdpid", workers=1, env={
            "NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000",
            "WATCHDOG_PID": "1"})
        with dmn:
            ns.wait_for(lambda m: m.text.startswith("READY=1"), 10,
                        what="READY=1")
            time.sleep(1.2)
            pings = [m for m in ns.snapshot() if m.text == "WATCHDOG=1"]
            assert not pings, "%d WATCHDOG=1 with WATCHDOG_PID=1" % len(pings)


def test_notify_unset_sends_nothing():
    d = H.tmpdir("nonotify")
    with NotifySocket(d) as ns:
        dmn = SdDaemon("nonotify", workers=1,
                       env={"WATCHDOG_USEC": "400000"})
        with dmn:
            with dmn.client() as c:
                probe_round(c, 10, "u")
            dmn.signal(signal.SIGHUP)
            wait_log(dmn, lambda ln: "configuration reloaded" in ln, 5,
                     "the reload")
            time.sleep(1.2)
            dmn.stop()
        time.sleep(0.2)
        got = ns.snapshot()
        assert not got, "sent without NOTIFY_SOCKET: %r" % [
            m.text for m in got]
        bad = [ln for ln in log_lines(dmn) if not
               ln.startswith("mtrprobed: info: ")]
        assert not bad, bad


# ------------------------------------------------------------------ reload

def test_reload_under_load():
    d = H.tmpdir("reload-ns")
    with NotifySocket(d) as ns:
        dmn = SdDaemon("reload", config={
            "workers": 2, "max_queued": 100000, "max_connections": 4096},
            env={"NOTIFY_SOCKET": ns.path})
        with dmn:
            pid = dmn.proc.pid
            ns.wait_for(lambda m: m.text.startswith("READY=1"), 10,
                        what="READY=1")
            s = dmn.stats()
            assert workers_of(s) == (2, 2, 0), s
            rounds = []        # (start, end, answers)
            errors = []
            stop = threading.Event()

            def load():
                try:
                    with dmn.client(timeout=20) as c:
                        k = 0
                        while not stop.is_set():
                            t = time.monotonic()
                            got = probe_round(c, 50, "L%d-" % k)
                            rounds.append((t, time.monotonic(), len(got)))
                            k += 1
                except BaseException as e:
                    errors.append(e)

            th = threading.Thread(target=load, daemon=True)
            t_start = time.monotonic()
            th.start()
            try:
                time.sleep(1.0)
                dmn.config.update(workers=3, max_queued=5000,
                                  max_connections=3)
                dmn.write_config()
                n = len(ns.snapshot())
                t_hup = time.monotonic()
                dmn.signal(signal.SIGHUP)
                i = ns.wait_for(not_watchdog, 5, n, "RELOADING=1")
                now_us = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
                m = re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=(\d+)\n"
                                 r"STATUS=reloading the configuration",
                                 ns.msgs[i].text)
                assert m, repr(ns.msgs[i].text)
                assert now_us - 5e6 < int(m.group(1)) <= now_us, \
                    (m.group(1), now_us)
                j = ns.wait_for(not_watchdog, 5, i + 1, "READY=1 after reload")
                assert ns.msgs[j].text.startswith("READY=1\n") and \
                    STATUS_RE.fullmatch(ns.msgs[j].text[8:]), ns.msgs[j].text
                t_ready = time.monotonic()
                time.sleep(max(0, t_start + 3.0 - time.monotonic()))
            finally:
                stop.set()
            th.join(60)
            assert not th.is_alive(), "load client stuck"
            assert not errors, "load client: %r" % errors
            total = sum(r[2] for r in rounds)
            before = [r for r in rounds if r[1] < t_hup]
            after = [r for r in rounds if r[0] > t_ready]
            H.log("load: %d rounds, %d probes (%d rounds before SIGHUP, "
                  "%d after READY)" % (len(rounds), total, len(before),
                                       len(after)))
            assert before and after, "load did not span the reload"
            assert {m.pid for m in ns.snapshot()} == {pid}
            lines = log_lines(dmn)
            assert "mtrprobed: info: workers: min 2 -> 3, max 16 -> 16, " \
                "idle timeout 30 -> 30 s" in lines, lines
            assert "mtrprobed: info: configuration reloaded from %s" \
                % dmn.config_path in lines, lines
            H.wait_until(lambda: workers_of(stats_retry(dmn)) == (3, 3, 0),
                         5, 0.1, "3 workers alive")
            s = stats_retry(dmn)
            assert s["errors"] == {k: 0 for k in H.ERROR_CODES}, s["errors"]
            assert s["probes"]["results"]["reply"] == total, (s, total)
            # max_connections = 3 applies now
            check_max_connections(dmn, 3)

            # a broken file: refused, logged with FILE:LINE, nothing changes
            write(dmn.config_path,
                  "# broken on purpose\nworkers = 0\nmax_connections = 50\n"
                  "hosts_file = %s\ndns_servers = %s\n"
                  % (dmn.config["hosts_file"], dmn.config["dns_servers"]))
            n = len(ns.snapshot())
            dmn.signal(signal.SIGHUP)
            want = ("mtrprobed: error: reload refused, keeping the running "
                    "configuration: %s:2: workers: must be an integer from 1 "
                    "to 128" % dmn.config_path)
            wait_log(dmn, lambda ln: "%s:2:" % dmn.config_path in ln, 5,
                     "the refused reload to be logged")
            assert want in log_lines(dmn), log_lines(dmn)[-5:]
            i = ns.wait_for(not_watchdog, 5, n, "RELOADING=1")
            assert ns.msgs[i].text.startswith("RELOADING=1\n"), \
                ns.msgs[i].text
            j = ns.wait_for(not_watchdog, 5, i + 1, "READY=1 after refusal")
            assert ns.msgs[j].text.startswith("READY=1\n"), ns.msgs[j].text
            time.sleep(0.3)
            s2 = stats_retry(dmn)
            assert workers_of(s2) == (3, 3, 0), s2["workers"]
            check_max_connections(dmn, 3)
            with dmn.client() as c:
                probe_round(c, 20, "after")
            lines = log_lines(dmn)
            assert lines.count("mtrprobed: info: configuration reloaded "
                               "from %s" % dmn.config_path) == 1, lines
    kill_leftover_workers()


def check_max_connections(dmn, n):
    """n connections are served, the next one is refused."""
    conns = []
    try:
        for _ in range(n):
            conns.append(open_accepted(dmn))
        assert_refused_overloaded(dmn)
        for c in conns:
            r = c.request({"op": "version", "id": "still"}, timeout=5)
            assert r.get("daemon") == H.project_version(), r
    finally:
        for c in conns:
            c.close()


def test_workers_resize():
    """A reload that raises min_workers (the older key: workers) starts the
    missing workers at once and keeps the running ones; one that lowers it
    lets the extra ones stop once idle for worker_idle_timeout, logged as
    retired; every state serves probes."""
    dmn = SdDaemon("resize", config={"workers": 2,
                                     "worker_idle_timeout": 0.5})
    try:
        with dmn:
            pid = dmn.proc.pid
            prev = H.wait_until(lambda: len(worker_pids(pid)) == 2 and
                                worker_pids(pid), 5, 0.05, "2 workers")
            _seen_workers.update(prev)
            old = 2
            for n in (3, 1, 2):
                dmn.config["workers"] = n
                dmn.write_config()
                dmn.signal(signal.SIGHUP)
                line = ("mtrprobed: info: workers: min %d -> %d, max 16 -> 16, "
                        "idle timeout 0.5 -> 0.5 s" % (old, n))
                wait_log(dmn, lambda ln: ln == line, 5, line)
                H.wait_until(lambda: workers_of(dmn.stats()) == (n, n, 0),
                             5, 0.05, "stats to show %d workers" % n)
                now = H.wait_until(lambda: len(worker_pids(pid)) == n and
                                   worker_pids(pid), 5, 0.05,
                                   "%d mtr-packet children" % n)
                _seen_workers.update(now)
                H.log("workers %d -> %d: pids %s -> %s"
                      % (old, n, sorted(prev), sorted(now)))
                if n > old:
                    assert prev < now, "growing replaced workers: %s -> %s" \
                        % (sorted(prev), sorted(now))
                else:
                    assert now < prev, "shrinking replaced workers: %s -> " \
                        "%s" % (sorted(prev), sorted(now))
                r = dmn.request({"op": "version", "id": "v"})
                assert r["workers"] == n, r
                with dmn.client() as c:
                    probe_round(c, 30, "w%d-" % n)
                    probe_round(c, 10, "w6%d-" % n, host="::1")
                prev, old = now, n
            retired = [ln for ln in log_lines(dmn) if " retired" in ln]
            assert len(retired) == 2, retired
            bad = [ln for ln in log_lines(dmn)
                   if not ln.startswith("mtrprobed: info: ")]
            assert not bad, bad
    finally:
        kill_leftover_workers()


# ----------------------------------------------------------------- logging

def log_case(tag, journal):
    """Run a daemon doing the same things in each case; journal: None (no
    $JOURNAL_STREAM), "match" (stderr's dev:ino) or "other" (wrong ino).
    Returns (stderr lines, config path, socket path)."""
    dmn = H.Daemon(tag, workers=1, config={"max_connections": 1},
                   log_level="debug")
    # harness opens stderr_path with "wb": same inode, so dev:ino known now
    open(dmn.stderr_path, "wb").close()
    st = os.stat(dmn.stderr_path)
    if journal == "match":
        dmn.env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    elif journal == "other":
        dmn.env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + 1)
    with dmn:
        with open_accepted(dmn):
            assert_refused_overloaded(dmn)
            write(dmn.config_path, "# broken\nworkers = 0\n")
            dmn.signal(signal.SIGHUP)
            wait_log(dmn, lambda ln: "%s:2:" % dmn.config_path in ln, 5,
                     "the refused reload")
    return log_lines(dmn), dmn.config_path, dmn.socket


def test_journal_prefixes():
    me = os.getpid()
    for journal in ("match", None, "other"):
        lines, conf, sock = log_case("log-%s" % journal, journal)
        H.log("JOURNAL_STREAM %s: %d lines" % (journal, len(lines)))
        if journal == "match":
            pre = {"error": "<3>", "warning": "<4>", "info": "<6>",
                   "debug": "<7>"}
            form = re.compile(r"<[3467]>\S.*")
        else:
            pre = {k: "mtrprobed: %s: " % k for k in
                   ("error", "warning", "info", "debug")}
            form = re.compile(r"mtrprobed: (error|warning|info|debug): \S.*")
        for ln in lines:
            assert form.fullmatch(ln), \
                "JOURNAL_STREAM %s: badly formed %r" % (journal, ln)
        want = [
            pre["info"] + "listening on %s" % sock,
            pre["warning"] + "refusing a connection from uid 0 (pid %d): "
            "max_connections (1) reached" % me,
            pre["error"] + "reload refused, keeping the running "
            "configuration: %s:2: workers: must be an integer from 1 to 128"
            % conf,
            pre["info"] + "stopping: 0 probes still out at the workers",
            pre["info"] + "stopped",
        ]
        for w in want:
            assert w in lines, "JOURNAL_STREAM %s: no %r in:\n%s" % (
                journal, w, "\n".join(lines))
        assert any(ln.startswith(pre["info"] + "mtrprobed %s ready: 1 of 1 "
                                 "workers running " % H.project_version())
                   for ln in lines), lines
        assert any(ln.startswith(pre["debug"]) for ln in lines), lines


# -------------------------------------------------------------- unit files

def build_dir():
    exe = os.path.realpath(H.mtrprobed_path())
    return os.path.dirname(os.path.dirname(exe))


def unit_copies(exec_path):
    """The built service and the source socket unit in a temp dir, the
    service's ExecStart binary replaced by exec_path."""
    src = os.path.join(build_dir(), "systemd", "mtrprobed.service")
    root = os.path.dirname(os.path.dirname(os.path.abspath(H.TESTS_DIR)))
    sock_src = os.path.join(root, "systemd", "mtrprobed.socket")
    assert os.path.isfile(src), "built unit missing: %s" % src
    assert os.path.isfile(sock_src), sock_src
    d = H.tmpdir("units")
    with open(src) as f:
        text = f.read()
    assert not re.search(r"@[A-Z_]+@", text), \
        "unsubstituted @VAR@ in the built unit:\n%s" % text
    new, k = re.subn(r"(?m)^ExecStart=(\S+)", "ExecStart=" + exec_path, text)
    assert k == 1, "ExecStart lines: %d" % k
    svc = write(os.path.join(d, "mtrprobed.service"), new)
    shutil.copy(sock_src, os.path.join(d, "mtrprobed.socket"))
    return d, svc, os.path.join(d, "mtrprobed.socket"), text


def analyze(args, timeout=120):
    r = subprocess.run([need(ANALYZE)] + args, capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


def test_units_verify():
    need(ANALYZE)
    exe = os.path.realpath(H.mtrprobed_path())
    d, svc, sock, orig = unit_copies(exe)
    # what the unit promises matches what the daemon does (tested above)
    keys = dict(re.findall(r"(?m)^(Type|ExecReload|WatchdogSec|NotifyAccess|"
                           r"Requires)=(.*)$", orig))
    assert keys.get("Type") in ("notify", "notify-reload"), keys
    assert keys.get("NotifyAccess") in (None, "main"), keys
    assert "WatchdogSec" in keys and "ExecReload" in keys, keys
    assert re.search(r"(?m)^ExecStart=\S+/mtrprobed -c \S+/mtrprobed/"
                     r"mtrprobed\.conf$", orig), orig
    rc, out, err = analyze(["verify", "--man=no", svc, sock])
    H.log("systemd-analyze verify: rc=%d %s%s" % (rc, out, err))
    assert rc == 0, "verify failed (%d):\n%s%s" % (rc, out, err)
    ours = [ln for ln in (out + err).splitlines()
            if d in ln or "mtrprobed." in ln]
    assert not ours, "verify warned about the units:\n%s" % "\n".join(ours)
    # the check is real: a missing executable fails it
    _, svc2, sock2, _ = unit_copies(os.path.join(d, "no-such-mtrprobed"))
    rc, out, err = analyze(["verify", "--man=no", svc2, sock2])
    assert rc != 0 and "no-such-mtrprobed" in out + err, (rc, out, err)


def test_units_security():
    need(ANALYZE)
    _, svc, _, _ = unit_copies(os.path.realpath(H.mtrprobed_path()))
    rc, out, err = analyze(["security", "--offline=yes", svc])
    if rc != 0 and "offline" in err and ("unrecognized" in err or
                                         "Unknown" in err):
        H.skip("systemd-analyze security has no --offline (systemd < 250)")
    m = re.search(r"Overall exposure level for mtrprobed\.service: "
                  r"(\d+(?:\.\d+)?)", out + err)
    assert m, "no exposure level (rc %d):\n%s%s" % (rc, out, err)
    level = float(m.group(1))
    H.log("systemd-analyze security: exposure %.1f" % level)
    assert level <= 2.0, "exposure %.1f > 2.0:\n%s" % (level, out)


def main():
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
              "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM"):
        os.environ.pop(k, None)
    H.require_real_mtr_packet()
    try:
        H.main(H.collect_tests(globals()))
    finally:
        kill_leftover_workers()


if __name__ == "__main__":
    main()
