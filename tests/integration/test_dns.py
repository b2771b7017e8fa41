#!/usr/bin/env python3
"""Name resolution through a real dnsmasq on 127.0.0.1 (nothing else is
asked: the daemon's hosts_file is an empty file and dns_servers names only
this dnsmasq).  Caching, expiry, clear_dns_cache and negative caching are
asserted by counting the queries dnsmasq logged.  Each case uses its own
name so that the counts do not depend on one another."""

import time

import harness as H
from harness import assert_error, assert_probe, probe

CACHE_TTL = 3
EXPIRE_INTERVAL = 1
NEG_TTL = 2
NAMES = ["pipe.test", "seq.test", "exp.test", "clr.test", "multi.test",
         "fam.test", "case.test", "e1.test", "e2.test", "e3.test",
         "both.test"]
D = None
DNS = None



def nq(name, qtype="A"):
    return DNS.count(qtype, name)


def test_pipelined_one_query():
    n = 200
    s0 = D.stats()
    with D.client(timeout=30) as c:
        c.send_raw(b"".join(H.probe_lines(n, "p", host="pipe.test",
                                          ip_version=4, timeout=5)))
        resp = c.collect(n, 30)
        c.assert_nothing_more(0.2)
    assert sorted(r["id"] for r in resp) == sorted("p%d" % i
                                                  for i in range(n))
    for r in resp:
        assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])
    assert nq("pipe.test") == 1, DNS.queries()
    s = D.stats()
    assert s["dns"]["lookups"] - s0["dns"]["lookups"] == 1, (s0["dns"],
                                                             s["dns"])


def test_sequential_one_query():
    n = 200
    s0 = D.stats()
    with D.client() as c:
        for i in range(n):
            r = probe(c, i, host="seq.test", ip_version=4, timeout=5)
            assert_probe(r, "reply", "127.0.0.1", 4, rid=i)
    assert nq("seq.test") == 1, DNS.queries()
    s = D.stats()
    d0, d1 = s0["dns"], s["dns"]
    assert d1["lookups"] - d0["lookups"] == 1, (d0, d1)
    assert d1["misses"] - d0["misses"] >= 1, (d0, d1)
    assert d1["hits"] - d0["hits"] >= n - 1, (d0, d1)
    assert d1["hits"] - d0["hits"] + d1["misses"] - d0["misses"] == n, \
        (d0, d1)


def test_many_connections_one_query():
    conns = [D.client(timeout=20) for _ in range(10)]
    try:
        for i, c in enumerate(conns):
            c.send_raw(b"".join(H.probe_lines(20, "m%d-" % i,
                                              host="multi.test",
                                              ip_version=4, timeout=5)))
        for i, c in enumerate(conns):
            resp = c.collect(20, 20)
            for r in resp:
                assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])
    finally:
        for c in conns:
            c.close()
    assert nq("multi.test") == 1, DNS.queries()


def test_expiry():
    with D.client() as c:
        r = probe(c, 1, host="exp.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        assert nq("exp.test") == 1, DNS.queries()
        time.sleep(1)
        r = probe(c, 2, host="exp.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=2)
        assert nq("exp.test") == 1, "re-queried before dns_cache_ttl"
        s0 = c.request({"op": "stats", "id": "s0"})
        # past the TTL plus one expiry pass the entry is gone
        time.sleep(CACHE_TTL + EXPIRE_INTERVAL + 0.5)
        s1 = c.request({"op": "stats", "id": "s1"})
        assert s1["dns"]["expired"] > s0["dns"]["expired"], (s0["dns"],
                                                              s1["dns"])
        r = probe(c, 3, host="exp.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=3)
        assert nq("exp.test") == 2, DNS.queries()
        r = probe(c, 4, host="exp.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=4)
        assert nq("exp.test") == 2, DNS.queries()


def test_clear_dns_cache():
    with D.client() as c:
        r = probe(c, 1, host="clr.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        r = probe(c, 2, host="clr.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=2)
        assert nq("clr.test") == 1, DNS.queries()
        s = c.request({"op": "stats", "id": "s"})
        entries = s["dns"]["entries"]
        assert entries >= 1, s["dns"]
        r = c.request({"op": "clear_dns_cache", "id": "clr"})
        assert set(r) == {"id", "cleared"} and r["id"] == "clr", r
        assert r["cleared"] == entries, (r, s["dns"])
        s = c.request({"op": "stats", "id": "s2"})
        assert s["dns"]["entries"] == 0, s["dns"]
        r = probe(c, 3, host="clr.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=3)
        assert nq("clr.test") == 2, DNS.queries()


def test_unknown_name_negative_cache():
    with D.client() as c:
        t0 = time.monotonic()
        r = probe(c, 1, host="nosuch.test", ip_version=4)
        assert_error(r, "host-resolve-error", rid=1)
        assert time.monotonic() - t0 < 2, "NXDOMAIN took %.1fs" % (
            time.monotonic() - t0)
        assert nq("nosuch.test") == 1, DNS.queries()
        r = probe(c, 2, host="nosuch.test", ip_version=4)
        assert_error(r, "host-resolve-error", rid=2)
        assert nq("nosuch.test") == 1, \
            "a probe within dns_negative_ttl re-queried: %r" % DNS.queries()
        # after the negative TTL (and an expiry pass) it is asked again
        time.sleep(NEG_TTL + EXPIRE_INTERVAL + 0.5)
        r = probe(c, 3, host="nosuch.test", ip_version=4)
        assert_error(r, "host-resolve-error", rid=3)
        assert nq("nosuch.test") == 2, DNS.queries()
        # the error is reported for the udp/tcp protocols the same way
        r = probe(c, 4, host="nosuch.test", ip_version=4, protocol="udp")
        assert_error(r, "host-resolve-error", rid=4)


def test_v6only():
    with D.client() as c:
        r = probe(c, 1, host="v6only.test", ip_version=4)
        assert_error(r, "host-resolve-error", rid=1)
        r = probe(c, 2, host="v6only.test", ip_version=6)
        assert_probe(r, "reply", "::1", 6, rid=2)
        assert nq("v6only.test", "AAAA") == 1, DNS.queries()
        r = probe(c, 3, host="v6only.test")
        assert_probe(r, "reply", "::1", 6, rid=3)
        r = probe(c, 4, host="v4only.test", ip_version=6)
        assert_error(r, "host-resolve-error", rid=4)
        r = probe(c, 5, host="v4only.test")
        assert_probe(r, "reply", "127.0.0.1", 4, rid=5)


def test_families_of_a_dual_name():
    with D.client() as c:
        r = probe(c, 1, host="fam.test", ip_version=4)
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        r = probe(c, 2, host="fam.test", ip_version=6)
        assert_probe(r, "reply", "::1", 6, rid=2)
        for i in range(3, 13):
            r = probe(c, i, host="fam.test", ip_version=6 if i % 2 else 4)
            assert "error" not in r, r
        assert nq("fam.test", "A") == 1, DNS.queries()
        assert nq("fam.test", "AAAA") == 1, DNS.queries()


def test_names_compared_without_case():
    with D.client() as c:
        for i, host in enumerate(["case.test", "CASE.TEST", "Case.Test"]):
            r = probe(c, i, host=host, ip_version=4)
            assert_probe(r, "reply", "127.0.0.1", 4, rid=i)
    n = len(DNS.queries("A", "case.test"))
    assert n == 1, "case variants re-queried: %r" % DNS.queries()


def test_literals_never_queried():
    before = DNS.total_except_ready()
    s0 = D.stats()
    with D.client() as c:
        for i, (host, addr, ipv) in enumerate([
                ("127.0.0.1", "127.0.0.1", 4), ("::1", "::1", 6),
                ("127.0.0.2", "127.0.0.2", 4), ("::0001", "::1", 6)]):
            r = probe(c, i, host=host)
            assert_probe(r, "reply", addr, ipv, rid=i)
        r = probe(c, "lip", host="127.0.0.1", local_ip="127.0.0.1")
        assert_probe(r, "reply", "127.0.0.1", 4, rid="lip")
    after = DNS.total_except_ready()
    assert after == before, "literals were sent to DNS: %r" % after[
        len(before):]
    s = D.stats()
    assert s["dns"]["lookups"] == s0["dns"]["lookups"], (s0["dns"], s["dns"])


def _other_daemon(tag, **cfg):
    base = {"dns_servers": "127.0.0.1:%d" % DNS.port,
            "dns_cache_ttl": 60, "dns_expire_interval": 1}
    base.update(cfg.pop("config", {}))
    return H.Daemon(tag, workers=1, config=base, **cfg)


def test_cache_size_drops_oldest():
    with _other_daemon("dnssize", config={"dns_cache_size": 2}) as d:
        with d.client() as c:
            for i, name in enumerate(["e1.test", "e2.test", "e3.test",
                                      "e1.test", "e3.test"]):
                r = probe(c, i, host=name, ip_version=4)
                assert_probe(r, "reply", "127.0.0.1", 4, rid=i)
            s = c.request({"op": "stats", "id": "s"})
    assert nq("e1.test") == 2, "e1 should have been dropped: %r" % \
        DNS.queries()
    assert nq("e2.test") == 1 and nq("e3.test") == 1, DNS.queries()
    assert s["dns"]["entries"] <= 2, s["dns"]


def test_hosts_file_before_dns():
    with _other_daemon("dnshosts", hosts="127.0.0.3 both.test\n") as d:
        r = d.request({"op": "probe", "id": 1, "host": "both.test",
                       "ip_version": 4, "timeout": 5})
        assert_probe(r, "reply", "127.0.0.3", 4, rid=1)
    assert nq("both.test") == 0, DNS.queries()


def test_silent_dns_server():
    """A nameserver that never answers: the probe's timeout covers name
    resolution, so host-resolve-error arrives by the deadline."""
    silent = H.socket.socket(H.socket.AF_INET, H.socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        with _other_daemon("dnssilent",
                           config={"dns_servers": "127.0.0.1:%d" % port}) \
                as d:
            with d.client() as c:
                t0 = time.monotonic()
                r = probe(c, 1, host="nobody-answers.test", ip_version=4,
                          timeout=1)
                el = time.monotonic() - t0
                assert_error(r, "host-resolve-error", "host", rid=1)
                assert 0.9 <= el <= 2.0, "answered after %.2fs" % el
                # literals still work meanwhile
                r = probe(c, 2, host="127.0.0.1", timeout=2)
                assert_probe(r, "reply", "127.0.0.1", 4, rid=2)
            # the query did reach the silent server
            silent.settimeout(0.5)
            data, _ = silent.recvfrom(4096)
            assert b"nobody-answers" in data.lower(), data
    finally:
        silent.close()


def test_nothing_else_queried():
    """Only names the tests asked for ever reached dnsmasq."""
    asked = set(NAMES) | {"nosuch.test", "v6only.test", "v4only.test"}
    for t, n in DNS.total_except_ready():
        assert n.lower() in asked, "unexpected DNS query %s %s" % (t, n)


def main():
    H.require_real_mtr_packet()
    H.require_dnsmasq()
    global D, DNS
    records = [(n, ["127.0.0.1", "::1"]) for n in NAMES]
    records += [("v6only.test", ["::1"]), ("v4only.test", ["127.0.0.1"])]
    tests = H.collect_tests(globals())
    with H.Dnsmasq(records, ttl=60) as dns:
        DNS = dns
        cfg = {"dns_servers": "127.0.0.1:%d" % dns.port,
               "dns_cache_ttl": CACHE_TTL,
               "dns_expire_interval": EXPIRE_INTERVAL,
               "dns_negative_ttl": NEG_TTL}
        with H.Daemon("dns", workers=2, config=cfg, hosts="") as d:
            D = d
            failed = H.run_tests(tests)
            assert d.alive(), "daemon died during the test"
    H.finish(failed, len(tests))


if __name__ == "__main__":
    main()
