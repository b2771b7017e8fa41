#!/usr/bin/env python3
"""The trace operation over a real routed path built from network
namespaces (host, two routers, destination), with the daemon running
inside the source namespace so that no probe can leave the machine:

    ns h  (198.51.100.2/30, 2001:db8:1::2/64)   default via r1
    ns r1 (198.51.100.1/30 | 198.51.100.5/30)    forwarding, no ICMP ratelimit
    ns r2 (198.51.100.6/30 | 198.51.100.9/30)    forwarding, no ICMP ratelimit
    ns d  (198.51.100.10/30, 2001:db8:3::2/64)  default via r2
    (IPv6: 2001:db8:1::/64 h-r1, 2001:db8:2::/64 r1-r2, 2001:db8:3::/64 r2-d)

Asserts the exact hop lists and per-hop counters of ICMP, UDP and TCP
traces (IPv4 and IPv6), a target that ignores echo requests (hops past the
routers lost, reached false), streamed hop events, mtr(8) run through
mtrprobe-packet against mtr with the real mtr-packet (and mtrprobectl
report against both), 50 simultaneous clients, and the argument errors.

Needs root, ip(8), Debian mtr-tiny (mtr-packet and mtr)."""

import os
import pwd
import re
import shutil
import subprocess
import time

import harness as H
from harness import assert_error

D = None          # the daemon (in namespace h)
TOPO = None       # the Topology

MTR = "/usr/bin/mtr"

R1 = {4: "198.51.100.1", 6: "2001:db8:1::1"}
R2 = {4: "198.51.100.6", 6: "2001:db8:2::2"}
DST = {4: "198.51.100.10", 6: "2001:db8:3::2"}
PATH = {v: [R1[v], R2[v], DST[v]] for v in (4, 6)}

HOP_FIELDS = {"ttl", "responders", "sent", "received", "loss_pct",
              "last_ms", "avg_ms", "best_ms", "worst_ms", "stdev_ms",
              "jitter_ms", "mpls"}
TIME_FIELDS = ("last_ms", "avg_ms", "best_ms", "worst_ms", "stdev_ms",
               "jitter_ms")
TRACE_FIELDS = {"id", "address", "ip_version", "reached", "hops"}
LISTEN_PORT = 8080


# --------------------------------------------------------------------------
# the topology

class Topology(H.Topology):
    """h - r1 - r2 - d (harness.Topology), warmed up; every namespace deleted
    on exit, even on failure."""

    def __init__(self):
        super().__init__("mtrtr")

    def build_extra(self):
        self._warm_up()

    def _warm_up(self):
        """Resolve the neighbours along both paths before the tests time
        anything: on fresh veths the kernel loses the first IPv6 neighbour
        solicitation and retransmits it only after 1 s, so the first IPv6
        probe through new namespaces takes about 1000 ms."""
        data = ("1 send-probe ip-6 2001:db8:3::2 timeout 3\n"
                "2 send-probe ip-4 198.51.100.10 timeout 3\n")
        r = subprocess.run(self.exec_cmd("h", H.REAL_MTR_PACKET),
                           input=data.encode(), capture_output=True,
                           timeout=10)
        out = r.stdout.decode(errors="replace")
        H.log("warm-up through the topology:\n" + out)
        words = sorted(line.split()[:2] for line in out.splitlines())
        if words != [["1", "reply"], ["2", "reply"]]:
            raise AssertionError("the topology does not route: mtr-packet "
                                 "in h answered %r (stderr %r)" % (
                                     out, r.stderr.decode(errors="replace")))

    def icmp_rate_limited(self):
        """{namespace: ICMP errors the kernel suppressed by rate limit}
        in the routers and the target (nonzero: lost answers are the
        kernel's doing, not the daemon's)."""
        out = {}
        for ns in ("r1", "r2", "d"):
            r = subprocess.run(self.exec_cmd(ns, "cat", "/proc/net/snmp",
                                             "/proc/net/snmp6"),
                               capture_output=True, timeout=10)
            lines = r.stdout.decode(errors="replace").splitlines()
            n = 0
            icmp = [l.split() for l in lines if l.startswith("Icmp:")]
            if len(icmp) >= 2:
                for k, v in zip(icmp[0], icmp[1]):
                    if k.startswith("OutRateLimit"):
                        n += int(v)
            for l in lines:
                w = l.split()
                if len(w) == 2 and w[0].startswith("Icmp6OutRateLimit"):
                    n += int(w[1])
            out[ns] = n
        return out


# --------------------------------------------------------------------------
# assertions

def is_num(x):
    return isinstance(x, float) and x == x and x >= 0


def check_answered_hop(h, ttl, responder, count):
    """Hop ttl answered `count` times out of `count` by responder alone."""
    assert isinstance(h, dict) and set(h) == HOP_FIELDS, \
        "hop fields differ: %r in %r" % (sorted(set(h) ^ HOP_FIELDS), h)
    assert h["ttl"] == ttl and type(h["ttl"]) is int, (ttl, h)
    assert h["responders"] == [{"address": responder, "count": count}], \
        "hop %d: responders %r, expected [%s x%d]" % (
            ttl, h["responders"], responder, count)
    assert h["sent"] == count and type(h["sent"]) is int, (count, h)
    assert h["received"] == count and type(h["received"]) is int, (count, h)
    assert h["loss_pct"] == 0.0 and isinstance(h["loss_pct"], float), h
    for k in TIME_FIELDS:
        assert is_num(h[k]), "hop %d: %s = %r" % (ttl, k, h[k])
    assert h["best_ms"] <= h["avg_ms"] <= h["worst_ms"], h
    assert h["best_ms"] <= h["last_ms"] <= h["worst_ms"], h
    if count == 1:
        assert h["stdev_ms"] == 0.0 and h["jitter_ms"] == 0.0, h
    assert h["mpls"] == [], h


def check_silent_hop(h, ttl, count):
    """Hop ttl sent `count` probes and nobody answered any."""
    assert isinstance(h, dict) and set(h) == HOP_FIELDS, \
        "hop fields differ: %r in %r" % (sorted(set(h) ^ HOP_FIELDS), h)
    assert h["ttl"] == ttl, (ttl, h)
    assert h["responders"] == [], h
    assert h["sent"] == count and h["received"] == 0, h
    assert h["loss_pct"] == 100.0 and isinstance(h["loss_pct"], float), h
    for k in TIME_FIELDS:
        assert h[k] is None, "hop %d: %s = %r, expected null" % (ttl, k, h[k])
    assert h["mpls"] == [], h


def check_trace(r, rid, ipv, count, path=None):
    """A reached trace to DST[ipv] whose hops are exactly path."""
    assert "error" not in r, "trace failed: %r" % r
    assert set(r) == TRACE_FIELDS, "trace fields differ: %r in %r" % (
        sorted(set(r) ^ TRACE_FIELDS), r)
    assert r["id"] == rid and type(r["id"]) is type(rid), (rid, r)
    assert r["address"] == DST[ipv], r
    assert r["ip_version"] == ipv and type(r["ip_version"]) is int, r
    assert r["reached"] is True, r
    path = path or PATH[ipv]
    got = [[x["address"] for x in h["responders"]] for h in r["hops"]]
    assert len(r["hops"]) == len(path), \
        "%d hops %r, expected %r (no hop past the target)" % (
            len(r["hops"]), got, path)
    for i, (h, addr) in enumerate(zip(r["hops"], path)):
        check_answered_hop(h, i + 1, addr, count)


def trace(c, rid, wait=20, **fields):
    """One trace request on c; its answer (fields may include the
    request's own "timeout")."""
    req = {"op": "trace", "id": rid}
    req.update(fields)
    return c.request(req, timeout=wait)


# --------------------------------------------------------------------------
# 1. ICMP

def test_icmp_trace():
    with D.client(timeout=20) as c:
        for ipv in (4, 6):
            rid = "icmp%d" % ipv
            t0 = time.monotonic()
            r = trace(c, rid, host=DST[ipv], count=3, interval=0.1)
            H.log("%s: %.2fs %r" % (rid, time.monotonic() - t0, r))
            check_trace(r, rid, ipv, 3)
            c.assert_nothing_more(0.2)
        # ip_version with a literal of that family, integer ids
        r = trace(c, 61, host=DST[6], ip_version=6, count=1, interval=0)
        check_trace(r, 61, 6, 1)


# --------------------------------------------------------------------------
# 2. a target that ignores echo requests

def test_target_ignores_echo():
    keys = {4: "net.ipv4.icmp_echo_ignore_all",
            6: "net.ipv6.icmp.echo_ignore_all"}
    for ipv in (4, 6):
        TOPO.sysctl("d", keys[ipv], 1)
        try:
            with D.client(timeout=20) as c:
                rid = "silent%d" % ipv
                t0 = time.monotonic()
                r = trace(c, rid, host=DST[ipv], max_ttl=6, count=2,
                          timeout=0.5, interval=0.1)
                el = time.monotonic() - t0
                H.log("%s: %.2fs %r" % (rid, el, r))
                assert "error" not in r, r
                assert set(r) == TRACE_FIELDS, r
                assert r["id"] == rid, r
                assert r["address"] == DST[ipv] and r["ip_version"] == ipv, r
                assert r["reached"] is False, r
                assert [h["ttl"] for h in r["hops"]] == [1, 2, 3, 4, 5, 6], \
                    "hops %r" % [h.get("ttl") for h in r["hops"]]
                check_answered_hop(r["hops"][0], 1, R1[ipv], 2)
                check_answered_hop(r["hops"][1], 2, R2[ipv], 2)
                for i in range(2, 6):
                    check_silent_hop(r["hops"][i], i + 1, 2)
                # two rounds of 0.5 s timeouts: well under 2 * (0.5 + 1) s
                assert el < 4.0, "took %.2fs" % el
                c.assert_nothing_more(0.2)
        finally:
            TOPO.sysctl("d", keys[ipv], 0)
    # restored: the target answers again
    with D.client(timeout=20) as c:
        r = trace(c, "again", host=DST[4], count=1, interval=0)
        check_trace(r, "again", 4, 1)


# --------------------------------------------------------------------------
# 3. UDP and TCP

class Listener:
    """A TCP listener on [::]:port (and 0.0.0.0) inside namespace d."""

    CODE = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(512)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
"""

    def __init__(self, port):
        self.port = port
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            TOPO.exec_cmd("d", "python3", "-c", self.CODE, str(self.port)),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        line = self.proc.stdout.readline()
        if line.strip() != b"listening":
            self.__exit__()
            raise AssertionError("listener in d did not start: %r %r"
                                 % (line, self.proc.stderr.read()))
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.proc.stderr.close()
        return False


def test_udp_tcp_trace():
    with Listener(LISTEN_PORT), D.client(timeout=20) as c:
        cases = [("udp", {"protocol": "udp"}),
                 ("tcp80", {"protocol": "tcp", "port": 80}),
                 ("tcplisten", {"protocol": "tcp", "port": LISTEN_PORT})]
        for name, fields in cases:
            for ipv in (4, 6):
                rid = "%s-%d" % (name, ipv)
                r = trace(c, rid, host=DST[ipv], count=2, interval=0.1,
                          **fields)
                H.log("%s: %r" % (rid, r))
                check_trace(r, rid, ipv, 2)
        c.assert_nothing_more(0.2)


# --------------------------------------------------------------------------
# 4. streamed hop events

def test_stream_events():
    # several times: with two workers the TTLs of a round are answered in
    # a different order from one trace to the next
    for rid, ipv in [("stream%d-%d" % (ipv, k), ipv)
                     for ipv in (4, 6) for k in range(4)]:
        with D.client(timeout=20) as c:
            c.send({"op": "trace", "id": rid, "host": DST[ipv], "count": 2,
                    "interval": 0.1, "stream": True})
            events = []
            deadline = time.monotonic() + 15
            while True:
                r = c.recv(max(0.1, deadline - time.monotonic()))
                if "event" not in r:
                    final = r
                    break
                events.append(r)
            # nothing after the final answer
            c.assert_nothing_more(0.3)
        H.log("%s: %d events, final %r" % (rid, len(events), final))
        check_trace(final, rid, ipv, 2)
        for ev in events:
            assert set(ev) == HOP_FIELDS | {"id", "event"}, \
                "event fields differ: %r in %r" % (
                    sorted(set(ev) ^ (HOP_FIELDS | {"id", "event"})), ev)
            assert ev["event"] == "hop", ev
            assert ev["id"] == rid, ev
            assert "error" not in ev, ev
        ttls = [ev["ttl"] for ev in events]
        bad = [ev for ev in events if ev["ttl"] not in (1, 2, 3)]
        assert not bad, "%s: event TTLs %r: events for hops past the " \
            "target (TTL 3), which the final answer leaves out: %r" % (
                rid, ttls, bad)
        assert len(events) >= 6, "only %d events: %r" % (len(events), ttls)
        for ttl in (1, 2, 3):
            mine = [ev for ev in events if ev["ttl"] == ttl]
            assert len(mine) >= 2, "ttl %d: %d events, expected one per " \
                "round" % (ttl, len(mine))
            # received grows to 2 through the events
            assert [ev["received"] for ev in mine][-1] == 2, mine
            last = dict(mine[-1])
            del last["id"], last["event"]
            assert last == final["hops"][ttl - 1], \
                "ttl %d: last event %r != final hop %r" % (
                    ttl, last, final["hops"][ttl - 1])


# --------------------------------------------------------------------------
# 5. mtr through mtrprobe-packet

def packet_path():
    """mtrprobe-packet from $MTRPROBE_PACKET, else next to mtrprobectl."""
    path = os.environ.get("MTRPROBE_PACKET")
    if not path:
        path = os.path.join(os.path.dirname(
            os.path.abspath(H.mtrprobectl_path())), "mtrprobe-packet")
    return path


REPORT_LINE = re.compile(
    r"\s*(\d+)\.\|--\s+(\S+)\s+([\d.]+)%\s+(\d+)\s")


def report_hops(report):
    """(hop, host, loss, snt) of each hop line of an mtr -r report."""
    out = []
    for line in report.splitlines():
        m = REPORT_LINE.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3),
                        int(m.group(4))))
    return out


def run_in_h(cmd, timeout=40):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/",
           "LANG": "C"}
    t0 = time.monotonic()
    r = subprocess.run(TOPO.exec_cmd("h", *cmd), env=env, cwd="/",
                       capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def shq(s):
    return "'" + s.replace("'", "'\\''") + "'"


def test_mtr_through_daemon():
    if not os.access(MTR, os.X_OK):
        H.skip("%s is missing: install Debian package mtr-tiny" % MTR)
    src = packet_path()
    if not os.access(src, os.X_OK):
        H.skip("mtrprobe-packet NOT FOUND at %r (set $MTRPROBE_PACKET or "
               "build it next to mtrprobectl): the mtr-through-the-daemon "
               "subtest did NOT run" % src)
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        H.skip("there is no user 'nobody' to run mtr unprivileged")
    # a copy nobody can reach (the build tree may not be)
    bindir = H.tmpdir("trace-pkt")
    os.chmod(bindir, 0o755)
    exe = os.path.join(bindir, "mtrprobe-packet")
    shutil.copy(src, exe)
    os.chmod(exe, 0o755)

    variants = [("icmp4", [], 4), ("icmp6", [], 6), ("udp4", ["-u"], 4),
                ("tcp4", ["-T", "-P", "80"], 4)]
    failures = []
    for name, extra, ipv in variants:
        # -G 0.5: wait 0.5 s, not 5 s, for late answers after the last
        # round (answers here take well under 1 ms)
        args = ["-r", "-n", "-c", "3", "-G", "0.5"] + extra + [DST[ipv]]
        # plain mtr with the real mtr-packet, as root (which may use a
        # shorter interval: nobody may not)
        rc1, plain, err1, el1 = run_in_h([MTR, "-i", "0.2"] + args)
        # as nobody, through mtrprobe-packet and the daemon (one at a time:
        # two mtr-packets starting at the same sequence would take each
        # other's UDP/TCP answers)
        inner = "MTR_PACKET=%s MTRPROBED_SOCKET=%s exec %s %s" % (
            shq(exe), shq(D.socket), MTR, " ".join(shq(a) for a in args))
        s0 = D.stats()
        rc2, via, err2, el2 = run_in_h(["su", "nobody", "-s", "/bin/sh",
                                        "-c", inner])
        # it went through the daemon (not some mtr-packet found on PATH):
        # at least 3 rounds of 3 hops
        started = D.stats()["probes"]["started"] - s0["probes"]["started"]
        if started < 9:
            failures.append("%s: mtr via mtrprobe-packet started %d probes "
                            "in the daemon, expected at least 9"
                            % (name, started))
        H.log("mtr %s (%.1fs):\n%s%s--- as nobody via mtrprobe-packet "
              "(%.1fs):\n%s%s" % (" ".join(args), el1, plain, err1, el2, via,
                                  err2))
        hp, hv = report_hops(plain), report_hops(via)
        want = [(i + 1, a, "0.0", 3) for i, a in enumerate(PATH[ipv])]
        if rc1 != 0 or hp != want:
            failures.append("%s: plain mtr rc %d, hops %r, expected %r; %s"
                            % (name, rc1, hp, want, err1.strip()))
        if rc2 != 0 or hv != want or err2.strip():
            failures.append("%s: mtr via mtrprobe-packet rc %d, hops %r, "
                            "expected %r (plain mtr: %r); stderr %r"
                            % (name, rc2, hv, want, hp, err2.strip()))
        if [h[1] for h in hp] != [h[1] for h in hv]:
            failures.append("%s: hop lists differ: plain %r, via %r"
                            % (name, hp, hv))

    # mtrprobectl report lists the hops mtr lists
    for ipv in (4, 6):
        cmd = [H.mtrprobectl_path(), "-s", D.socket, "report", "-c", "3",
               "-i", "0.2", DST[ipv]]
        r = subprocess.run(cmd, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        out = r.stdout.decode("utf-8", "replace")
        H.log("%s:\n%s%s" % (" ".join(cmd), out,
                             r.stderr.decode("utf-8", "replace")))
        want = [(i + 1, a, "0.0", 3) for i, a in enumerate(PATH[ipv])]
        if r.returncode != 0 or report_hops(out) != want:
            failures.append("mtrprobectl report %s: rc %d, hops %r, "
                            "expected %r" % (DST[ipv], r.returncode,
                                             report_hops(out), want))
    assert not failures, "\n".join(failures) + \
        "\n---- daemon log (tail) ----\n" + D.stderr()[-2000:]


# --------------------------------------------------------------------------
# 6. many clients at once

def test_fifty_clients():
    n = 50
    clients = []
    try:
        for i in range(n):
            clients.append(D.client(timeout=30))
        ipvs = [6 if i % 5 == 4 else 4 for i in range(n)]
        t0 = time.monotonic()
        for i, c in enumerate(clients):
            c.send({"op": "trace", "id": i, "host": DST[ipvs[i]],
                    "count": 2, "interval": 0.2})
        bad = []
        for i, c in enumerate(clients):
            r = c.recv_id(i, timeout=max(1, 30 - (time.monotonic() - t0)))
            try:
                check_trace(r, i, ipvs[i], 2)
            except AssertionError as e:
                bad.append("client %d: %s" % (i, e))
        H.log("%d traces in %.2fs" % (n, time.monotonic() - t0))
        assert not bad, "%d of %d traces wrong:\n%s\n(ICMP errors the " \
            "kernel rate-limited so far: %r)" % (
                len(bad), n, "\n".join(bad[:5]), TOPO.icmp_rate_limited())
        for c in clients:
            c.assert_nothing_more(0.01)
    finally:
        for c in clients:
            c.close()


# --------------------------------------------------------------------------
# 7. bad requests

def test_bad_requests():
    dst = DST[4]
    cases = [
        ("ttl", {"ttl": 3}, ("ttl:",)),
        ("order", {"first_ttl": 5, "max_ttl": 3}, ("first_ttl", "max_ttl")),
        ("order-default", {"first_ttl": 31}, ("first_ttl", "max_ttl")),
        ("count0", {"count": 0}, ("count",)),
        ("count-big", {"count": 1001}, ("count",)),
        ("count-float", {"count": 2.0}, ("count",)),
        ("first0", {"first_ttl": 0}, ("first_ttl",)),
        ("max256", {"max_ttl": 256}, ("max_ttl",)),
        ("interval-neg", {"interval": -1}, ("interval",)),
        ("stream-str", {"stream": "yes"}, ("stream",)),
        ("timeout0", {"timeout": 0}, ("timeout",)),
        ("feature", {"feature": "udp"}, ("feature",)),
    ]
    with D.client() as c:
        for rid, extra, fields in cases:
            req = {"op": "trace", "id": rid, "host": dst}
            req.update(extra)
            r = c.request(req, timeout=5)
            H.log("%r -> %r" % (extra, r))
            assert_error(r, "invalid-argument", rid=rid)
            msg = r["error"]["message"]
            assert msg.startswith(fields), \
                "%s: message %r does not start with %s" % (
                    rid, msg, " or ".join(fields))
        # the missing host
        r = c.request({"op": "trace", "id": "nohost"}, timeout=5)
        assert_error(r, "invalid-argument", "host", rid="nohost")
        c.assert_nothing_more(0.3)
        # the connection still works
        r = trace(c, "ok", host=dst, count=1, interval=0)
        check_trace(r, "ok", 4, 1)


def main():
    H.require_real_mtr_packet()
    global D, TOPO
    tests = H.collect_tests(globals())
    failed = []
    with Topology() as topo:
        TOPO = topo
        # socket_mode 0666 and a 0755 directory: user nobody may connect
        with H.Daemon("trace", workers=2, netns=topo.ns["h"],
                      config={"socket_mode": "0666"}) as d:
            os.chmod(d.dir, 0o755)
            D = d
            s0 = d.stats()
            failed = H.run_tests(tests)
            H.log("ICMP errors the kernel rate-limited: %r"
                  % topo.icmp_rate_limited())
            assert d.alive(), "daemon died during the test"
            s = d.stats()
            assert s["workers"]["restarts"] == s0["workers"]["restarts"], \
                "a worker died during the test: %r" % s["workers"]
            assert s.get("traces", 0) == 0, \
                "traces still running after the test: %r" % s["traces"]
    H.finish(failed, len(tests))


if __name__ == "__main__":
    main()
