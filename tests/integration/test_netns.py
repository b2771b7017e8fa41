#!/usr/bin/env python3
"""Real mtr-packet over a routed path built from network namespaces (a
three-hop topology: host, two routers, destination), with the daemon running inside the
source namespace so that nothing can leave the machine:

    ns h  (198.51.100.2/30, 2001:db8:1::2/64)   default via r1
    ns r1 (198.51.100.1/30 | 198.51.100.5/30)    forwarding, blackholes
    ns r2 (198.51.100.6/30 | 198.51.100.9/30)    forwarding
    ns d  (198.51.100.10/30, 2001:db8:3::2/64)  default via r2

Asserts ttl-expired from each router (IPv4 and IPv6, ICMP/UDP/TCP), reply
from the target, no-reply through a blackhole with a fractional timeout,
and no-route (without a worker crash) for an `unreachable` route."""

import time

import harness as H
from harness import assert_error, assert_probe, probe

D = None


class Topology(H.Topology):
    """h - r1 - r2 - d, with unreachable routes in h and blackholes in r1;
    every namespace deleted on exit."""

    def __init__(self):
        super().__init__("mtrpt")

    def build_extra(self):
        self.ip("h", "route", "add", "unreachable", "192.0.2.0/24")
        self.ip("h", "-6", "route", "add", "unreachable", "2001:db8:bad::/48")
        self.ip("r1", "route", "add", "blackhole", "203.0.113.0/24")
        self.ip("r1", "-6", "route", "add", "blackhole", "2001:db8:dead::/48")


def test_ttl_expired_ipv4():
    with D.client() as c:
        for proto in ("icmp", "udp", "tcp"):
            extra = {"protocol": proto}
            if proto != "icmp":
                extra["port"] = 33434 if proto == "udp" else 9
            r = probe(c, "%s1" % proto, host="198.51.100.10", ttl=1,
                      timeout=2, **extra)
            assert_probe(r, "ttl-expired", "198.51.100.10", 4,
                         responder="198.51.100.1", rid="%s1" % proto)
            assert r["mpls"] == [], r
            r = probe(c, "%s2" % proto, host="198.51.100.10", ttl=2,
                      timeout=2, **extra)
            assert_probe(r, "ttl-expired", "198.51.100.10", 4,
                         responder="198.51.100.6", rid="%s2" % proto)
            r = probe(c, "%s3" % proto, host="198.51.100.10", ttl=3,
                      timeout=2, **extra)
            assert_probe(r, "reply", "198.51.100.10", 4, rid="%s3" % proto)
        r = probe(c, "name", host="dest.test", ttl=1, timeout=2)
        assert_probe(r, "ttl-expired", "198.51.100.10", 4,
                     responder="198.51.100.1", rid="name")


def test_ttl_expired_ipv6():
    with D.client() as c:
        for proto in ("icmp", "udp", "tcp"):
            extra = {"protocol": proto}
            if proto != "icmp":
                extra["port"] = 33434 if proto == "udp" else 9
            r = probe(c, "%s1" % proto, host="2001:db8:3::2", ttl=1,
                      timeout=2, **extra)
            assert_probe(r, "ttl-expired", "2001:db8:3::2", 6,
                         responder="2001:db8:1::1", rid="%s1" % proto)
            r = probe(c, "%s2" % proto, host="2001:db8:3::2", ttl=2,
                      timeout=2, **extra)
            assert_probe(r, "ttl-expired", "2001:db8:3::2", 6,
                         responder="2001:db8:2::2", rid="%s2" % proto)
            r = probe(c, "%s3" % proto, host="2001:db8:3::2", ttl=3,
                      timeout=2, **extra)
            assert_probe(r, "reply", "2001:db8:3::2", 6, rid="%s3" % proto)
        r = probe(c, "name6", host="dest.test", ip_version=6, ttl=2,
                  timeout=2)
        assert_probe(r, "ttl-expired", "2001:db8:3::2", 6,
                     responder="2001:db8:2::2", rid="name6")


def test_many_ttl_expired_at_once():
    """200 probes with TTLs 1-4 pipelined: each answered by the right hop."""
    n = 200
    want = {1: ("ttl-expired", "198.51.100.1"),
            2: ("ttl-expired", "198.51.100.6"),
            3: ("reply", "198.51.100.10"), 4: ("reply", "198.51.100.10")}
    with D.client(timeout=20) as c:
        for i in range(n):
            c.send({"op": "probe", "id": i, "host": "198.51.100.10",
                    "ttl": 1 + i % 4, "timeout": 3})
        resp = c.collect(n, 15)
        c.assert_nothing_more(0.2)
    assert sorted(r["id"] for r in resp) == list(range(n))
    for r in resp:
        result, responder = want[1 + r["id"] % 4]
        assert_probe(r, result, "198.51.100.10", 4, responder=responder,
                     rid=r["id"])


def test_tcp_udp_answers_never_mismatched():
    """TCP and UDP probes are matched by ports only, and every mtr-packet
    starts at the same sequence: answers would be attributed to the wrong
    probe if two workers sent them at once.  Mixed at once: probes into a
    blackhole (must be no-reply), probes with TTL 1 (ttl-expired from r1)
    and TTL 3 (reply from d), for TCP and for UDP, IPv4 and IPv6."""
    reqs = []
    want = {}
    k = 0
    for proto, port in (("tcp", 80), ("udp", 33434)):
        for ipv, dst, hole, r1 in ((4, "198.51.100.10", "203.0.113.7",
                                    "198.51.100.1"),
                                   (6, "2001:db8:3::2", "2001:db8:dead::7",
                                    "2001:db8:1::1")):
            for i in range(40):
                kind = i % 3
                host = hole if kind == 0 else dst
                req = {"op": "probe", "id": k, "host": host,
                       "protocol": proto, "port": port,
                       "ttl": 1 if kind == 1 else 64, "timeout": 1.5}
                reqs.append(req)
                want[k] = (("no-reply", hole, None) if kind == 0 else
                           ("ttl-expired", dst, r1) if kind == 1 else
                           ("reply", dst, dst))
                want[k] = want[k] + (ipv,)
                k += 1
    with D.client(timeout=20) as c:
        for r in reqs:
            c.send(r)
        resp = c.collect(len(reqs), 15)
        c.assert_nothing_more(0.2)
    assert sorted(r["id"] for r in resp) == list(range(len(reqs)))
    bad = []
    for r in resp:
        result, address, responder, ipv = want[r["id"]]
        if r.get("result") != result or r.get("responder") != responder:
            bad.append((reqs[r["id"]], r))
            continue
        assert_probe(r, result, address, ipv, responder=responder,
                     rid=r["id"])
    assert not bad, "%d answers attributed wrongly, e.g. %r" % (len(bad),
                                                               bad[:3])


def test_blackhole_no_reply():
    with D.client() as c:
        for rid, host, ipv in [("b4", "203.0.113.5", 4),
                               ("b6", "2001:db8:dead::1", 6)]:
            t0 = time.monotonic()
            r = probe(c, rid, host=host, timeout=0.5)
            el = time.monotonic() - t0
            assert_probe(r, "no-reply", host, ipv, rid=rid)
            assert 0.45 <= el <= 1.5, "timeout 0.5 answered after %.2fs" % el
        t0 = time.monotonic()
        r = probe(c, "b1", host="203.0.113.5", protocol="udp", timeout=1)
        assert_probe(r, "no-reply", "203.0.113.5", 4, rid="b1")
        assert time.monotonic() - t0 <= 2.0


def test_unreachable_route():
    """mtr-packet crashes on an `unreachable` route when it is not given the
    source address; the daemon always gives it, so: no-route, no crash."""
    s0 = D.stats()
    with D.client() as c:
        for rid, host, ipv in [("u4", "192.0.2.1", 4),
                               ("u6", "2001:db8:bad::1", 6)]:
            r = probe(c, rid, host=host, timeout=2)
            assert set(r) == H.PROBE_FIELDS, r
            assert r == {"id": rid, "success": False, "result": "no-route",
                         "time_ms": None, "responder": None, "mpls": [],
                         "address": host, "ip_version": ipv}, r
        r = probe(c, "ok", host="198.51.100.10", timeout=2)
        assert_probe(r, "reply", "198.51.100.10", 4, rid="ok")
    s = D.stats()
    assert s["workers"]["restarts"] == s0["workers"]["restarts"], \
        "a worker died: %r" % s["workers"]


def main():
    H.require_real_mtr_packet()
    global D
    tests = H.collect_tests(globals())
    with Topology() as topo:
        hosts = "198.51.100.10 dest.test\n2001:db8:3::2 dest.test\n"
        with H.Daemon("netns", workers=2, netns=topo.ns["h"],
                      hosts=hosts) as d:
            D = d
            failed = H.run_tests(tests)
            assert d.alive(), "daemon died during the test"
    H.finish(failed, len(tests))


if __name__ == "__main__":
    main()
