#!/usr/bin/env python3
"""The daemon with the real mtr-packet: probes over ICMP, UDP and TCP to
127.0.0.1 and ::1, options, check_support, version, stats, clear_dns_cache,
names from a hosts_file, wrong-family literals, and fractional timeouts
(inside a network namespace whose loopback ignores pings)."""

import socket
import time

import harness as H
from harness import assert_error, assert_probe, probe

HOSTS = """# test hosts file
127.0.0.1 myhost.test
::1 myhost6.test
127.0.0.1 localhost
::1 localhost ip6-localhost
127.0.0.1 dual.test
::1 dual.test
"""
WORKERS = 2
D = None



def test_icmp():
    with D.client() as c:
        r = probe(c, 1, host="127.0.0.1")
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        assert r["mpls"] == [], r
        assert r["time_ms"] < 1000, r
        r = probe(c, 2, host="127.0.0.1", ip_version=4, protocol="icmp")
        assert_probe(r, "reply", "127.0.0.1", 4, rid=2)
        r = probe(c, 3, host="::1")
        assert_probe(r, "reply", "::1", 6, rid=3)
        r = probe(c, 4, host="::1", ip_version=6, timeout=2)
        assert_probe(r, "reply", "::1", 6, rid=4)
        # another loopback address answers for itself
        r = probe(c, 5, host="127.0.0.53")
        assert_probe(r, "reply", "127.0.0.53", 4, rid=5)
        # the IPv6 literal is reported in canonical form
        r = probe(c, 6, host="0:0:0:0:0:0:0:1")
        assert_probe(r, "reply", "::1", 6, rid=6)


def test_icmp_options():
    with D.client() as c:
        r = probe(c, "o1", host="127.0.0.1", ttl=64, size=100, tos=16,
                  bit_pattern=170, timeout=3)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="o1")
        r = probe(c, "o2", host="::1", ttl=1, size=200, tos=32,
                  bit_pattern=255, timeout=2.5)
        assert_probe(r, "reply", "::1", 6, rid="o2")
        r = probe(c, "o3", host="127.0.0.1", size=0, bit_pattern=0, tos=0,
                  ttl=255)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="o3")
        r = probe(c, "o4", host="127.0.0.1", size=1400)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="o4")
        r = probe(c, "o5", host="127.0.0.1", local_ip="127.0.0.1")
        assert_probe(r, "reply", "127.0.0.1", 4, rid="o5")
        r = probe(c, "o6", host="::1", local_ip="::1")
        assert_probe(r, "reply", "::1", 6, rid="o6")
        r = probe(c, "o7", host="127.0.0.1", mark=1)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="o7")
        # local_ip given as a name from the hosts file
        r = probe(c, "o8", host="127.0.0.1", local_ip="myhost.test")
        assert_probe(r, "reply", "127.0.0.1", 4, rid="o8")


def test_udp():
    with D.client() as c:
        # a closed UDP port answers port-unreachable: mtr-packet says reply
        r = probe(c, "u1", host="127.0.0.1", protocol="udp")
        assert_probe(r, "reply", "127.0.0.1", 4, rid="u1")
        port = H.closed_tcp_port()
        r = probe(c, "u2", host="127.0.0.1", protocol="udp", port=port,
                  ttl=10, size=80, tos=8, bit_pattern=85)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="u2")
        r = probe(c, "u3", host="::1", protocol="udp", port=port)
        assert_probe(r, "reply", "::1", 6, rid="u3")
        r = probe(c, "u4", host="127.0.0.1", protocol="udp", port=port,
                  local_port=H.free_port())
        assert_probe(r, "reply", "127.0.0.1", 4, rid="u4")


def test_tcp():
    lst4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        lst4.bind(("127.0.0.1", 0))
        lst4.listen(64)
        port = lst4.getsockname()[1]
        lst6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        lst6.bind(("::1", port))
        lst6.listen(64)
        closed = H.closed_tcp_port()
        with D.client() as c:
            r = probe(c, "t1", host="127.0.0.1", protocol="tcp", port=port)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="t1")
            r = probe(c, "t2", host="::1", protocol="tcp", port=port)
            assert_probe(r, "reply", "::1", 6, rid="t2")
            # a refused connection is an answer from the host: reply
            r = probe(c, "t3", host="127.0.0.1", protocol="tcp", port=closed)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="t3")
            r = probe(c, "t4", host="::1", protocol="tcp", port=closed)
            assert_probe(r, "reply", "::1", 6, rid="t4")
            r = probe(c, "t5", host="127.0.0.1", protocol="tcp", port=port,
                      ttl=30, size=100, tos=4, bit_pattern=1)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="t5")
    finally:
        lst4.close()
        lst6.close()


def test_check_support():
    with D.client() as c:
        for f in ["send-probe", "icmp", "udp", "tcp", "ip-4", "ip-6"]:
            r = c.request({"op": "check_support", "id": f, "feature": f})
            assert r == {"id": f, "feature": f, "supported": True,
                         "value": "ok"}, r
        r = c.request({"op": "check_support", "id": 1, "feature": "version"})
        assert r == {"id": 1, "feature": "version", "supported": True,
                     "value": "0.95"}, r
        for f in ["frobnicate", "sctp", "x-1"]:
            r = c.request({"op": "check_support", "id": f, "feature": f})
            assert r == {"id": f, "feature": f, "supported": False,
                         "value": "no"}, r
        # asking twice gives the same answer (cached or not)
        r = c.request({"op": "check_support", "id": 2, "feature": "udp"})
        assert r == {"id": 2, "feature": "udp", "supported": True,
                     "value": "ok"}, r


def test_version():
    r = D.request({"op": "version", "id": "v"})
    assert r == {"id": "v", "daemon": H.project_version(), "protocol": 1,
                 "mtr_packet": "0.95", "workers": WORKERS}, r


def test_stats():
    s0 = D.stats()
    H.check_stats_shape(s0)
    assert s0["id"] == "stats", s0
    w = s0["workers"]
    assert (w["configured"], w["min"], w["max"], w["alive"], w["starting"],
            w["restarts"], w["retired"]) == (WORKERS, WORKERS, 16, WORKERS,
                                             0, 0, 0), s0
    with D.client() as c:
        for i in range(5):
            assert_probe(probe(c, i, host="127.0.0.1"), "reply",
                         "127.0.0.1", 4, rid=i)
        s = c.request({"op": "stats", "id": None})
    H.check_stats_shape(s)
    assert s["id"] is None, s
    p0, p = s0["probes"], s["probes"]
    assert p["started"] - p0["started"] == 5, (p0, p)
    assert p["completed"] - p0["completed"] == 5, (p0, p)
    assert p["results"].get("reply", 0) - p0["results"].get("reply", 0) \
        == 5, (p0, p)
    assert p["in_flight"] == 0 and p["queued"] == 0, p
    assert s["clients"]["connected"] >= 1, s
    assert s["clients"]["total"] >= s0["clients"]["total"] + 1, (s0, s)
    assert s["uptime_s"] >= s0["uptime_s"], (s0, s)


def test_clear_dns_cache():
    with D.client() as c:
        r = c.request({"op": "clear_dns_cache", "id": "c1"})
        assert set(r) == {"id", "cleared"} and r["id"] == "c1", r
        assert type(r["cleared"]) is int and r["cleared"] >= 0, r
        r = c.request({"op": "clear_dns_cache", "id": "c2"})
        assert r == {"id": "c2", "cleared": 0}, r
        s = c.request({"op": "stats", "id": "s"})
        assert s["dns"]["entries"] == 0, s


def test_hostnames_from_hosts_file():
    with D.client() as c:
        r = probe(c, "h1", host="myhost.test")
        assert_probe(r, "reply", "127.0.0.1", 4, rid="h1")
        r = probe(c, "h2", host="myhost.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="h2")
        r = probe(c, "h3", host="myhost6.test")
        assert_probe(r, "reply", "::1", 6, rid="h3")
        r = probe(c, "h4", host="localhost", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="h4")
        r = probe(c, "h5", host="localhost", ip_version=6)
        assert_probe(r, "reply", "::1", 6, rid="h5")
        r = probe(c, "h6", host="MyHost.Test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid="h6")
        r = probe(c, "h7", host="dual.test")
        assert "error" not in r, r
        assert (r["address"], r["ip_version"]) in [("127.0.0.1", 4),
                                                   ("::1", 6)], r
        assert_probe(r, "reply", r["address"], r["ip_version"], rid="h7")
        # a name that only has an IPv6 address, asked for IPv4
        r = probe(c, "h8", host="myhost6.test", ip_version=4)
        assert_error(r, "host-resolve-error", rid="h8")
        r = probe(c, "h9", host="myhost.test", ip_version=6)
        assert_error(r, "host-resolve-error", rid="h9")
        # ... and udp/tcp through names work too
        r = probe(c, "h10", host="myhost6.test", protocol="udp")
        assert_probe(r, "reply", "::1", 6, rid="h10")


def test_literal_of_wrong_family():
    with D.client() as c:
        s0 = c.request({"op": "stats", "id": "s0"})
        r = probe(c, "w1", host="127.0.0.1", ip_version=6)
        assert_error(r, "host-resolve-error", rid="w1")
        r = probe(c, "w2", host="::1", ip_version=4)
        assert_error(r, "host-resolve-error", rid="w2")
        # local_ip of the other family than the target
        r = probe(c, "w3", host="127.0.0.1", local_ip="::1")
        assert_error(r, "host-resolve-error", rid="w3")
        r = probe(c, "w4", host="::1", local_ip="127.0.0.1")
        assert_error(r, "host-resolve-error", rid="w4")
        s = c.request({"op": "stats", "id": "s"})
        assert s["dns"]["lookups"] == s0["dns"]["lookups"], \
            "literals must never reach a resolver: %r -> %r" % (
                s0["dns"], s["dns"])


def test_many_concurrent_mixed():
    """Pipelined mixed probes on one connection: one answer per id."""
    reqs = []
    for i in range(300):
        kind = i % 4
        if kind == 0:
            reqs.append({"op": "probe", "id": i, "host": "127.0.0.1"})
        elif kind == 1:
            reqs.append({"op": "probe", "id": i, "host": "::1"})
        elif kind == 2:
            reqs.append({"op": "probe", "id": i, "host": "127.0.0.1",
                         "protocol": "udp"})
        else:
            reqs.append({"op": "probe", "id": i, "host": "myhost.test"})
    with D.client(timeout=20) as c:
        for r in reqs:
            c.send(r)
        resp = c.collect(len(reqs), 30)
        c.assert_nothing_more()
    ids = sorted(r["id"] for r in resp)
    assert ids == list(range(300)), "ids answered: %r" % ids[:20]
    for r in resp:
        want = "::1" if r["id"] % 4 == 1 else "127.0.0.1"
        assert_probe(r, "reply", want, 6 if want == "::1" else 4,
                     rid=r["id"])


def test_fractional_timeout_in_netns():
    """In a namespace whose loopback ignores pings, a probe with timeout 0.3
    answers no-reply after about 0.3 s (not mtr-packet's whole second), and
    a probe with timeout 1 answers no-reply within timeout + 1 s."""
    with H.Netns("basic") as ns:
        ns.sysctl("net.ipv4.icmp_echo_ignore_all", 1)
        ns.sysctl("net.ipv6.icmp.echo_ignore_all", 1)
        with H.Daemon("basic-ns", workers=1, netns=ns.name,
                      hosts=HOSTS) as d:
            with d.client() as c:
                # the namespace works: UDP still answers
                r = probe(c, "ok", host="127.0.0.1", protocol="udp")
                assert_probe(r, "reply", "127.0.0.1", 4, rid="ok")
                for rid, host, ipv in [("f4", "127.0.0.1", 4),
                                       ("f6", "::1", 6)]:
                    t0 = time.monotonic()
                    r = probe(c, rid, host=host, timeout=0.3)
                    el = time.monotonic() - t0
                    assert_probe(r, "no-reply", host, ipv, rid=rid)
                    assert 0.28 <= el <= 0.9, \
                        "timeout 0.3 answered after %.3fs" % el
                t0 = time.monotonic()
                r = probe(c, "one", host="127.0.0.1", timeout=1)
                el = time.monotonic() - t0
                assert_probe(r, "no-reply", "127.0.0.1", 4, rid="one")
                assert 0.95 <= el <= 2.0, "timeout 1 answered after %.3fs" % el
                # several at once, fractional, all no-reply in time
                t0 = time.monotonic()
                for i in range(50):
                    c.send({"op": "probe", "id": i, "host": "127.0.0.1",
                            "timeout": 0.5})
                resp = c.collect(50, 5)
                el = time.monotonic() - t0
                assert sorted(r["id"] for r in resp) == list(range(50))
                for r in resp:
                    assert_probe(r, "no-reply", "127.0.0.1", 4, rid=r["id"])
                assert el <= 1.5, "50 probes with timeout 0.5 took %.2fs" % el
                # a late answer from mtr-packet (its whole-second timeout)
                # must not produce a second response
                time.sleep(1.2)
                c.assert_nothing_more(0.3)
                s = c.request({"op": "stats", "id": "s"})
                assert s["probes"]["results"].get("no-reply") == 53, s
                assert s["probes"]["results"].get("reply") == 1, s
                assert s["probes"]["in_flight"] == 0, s


def main():
    H.require_real_mtr_packet()
    global D
    failed = []
    tests = H.collect_tests(globals())
    inner = [t for t in tests if t[0] != "test_fractional_timeout_in_netns"]
    with H.Daemon("basic", workers=WORKERS, hosts=HOSTS) as d:
        D = d
        failed += H.run_tests(inner)
        assert d.alive(), "daemon died during the test"
    failed += H.run_tests([t for t in tests if t not in inner])
    H.finish(failed, len(tests))


if __name__ == "__main__":
    main()
