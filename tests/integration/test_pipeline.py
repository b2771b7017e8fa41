#!/usr/bin/env python3
"""Pipelining and back-pressure with the real mtr-packet on loopback.

- 20000 probes to 127.0.0.1 pipelined on one connection: each id answered
  exactly once, every one `reply` (the daemon must pace its workers so that
  mtr-packet's reply-burst loss never shows as `no-reply`);
- 200 connections at once, each pipelining 50 probes;
- max_inflight_per_client = 10: 500 pipelined probes all answered while
  stats never shows more than 10 of them in flight or queued; with a
  stand-in whose probes hang, 30 probes with timeout 0.5 need three rounds.
"""

import json
import selectors
import socket
import threading
import time

import harness as H
from harness import assert_probe


def read_all(c, n, timeout):
    """n responses from one client, as {id: [responses]}."""
    by_id = {}
    for r in c.collect(n, timeout):
        by_id.setdefault(r.get("id"), []).append(r)
    return by_id


def test_one_connection_20000():
    n = 20000
    with H.Daemon("pipe", workers=2) as d:
        s0 = d.stats()
        with d.client(timeout=60) as c:
            t0 = time.monotonic()
            sender = c.send_many_threaded(
                H.probe_lines(n, "", host="127.0.0.1", timeout=5))
            by_id = read_all(c, n, 180)
            el = time.monotonic() - t0
            sender.join(30)
            assert not sender.is_alive() and not sender.errors, sender.errors
            c.assert_nothing_more(0.5)
        H.log("20000 probes answered in %.2fs (%.0f/s)" % (el, n / el))
        want = {str(i) for i in range(n)}
        assert set(by_id) == want, "missing %d ids, extra %r" % (
            len(want - set(by_id)), list(set(by_id) - want)[:5])
        dup = [k for k, v in by_id.items() if len(v) != 1]
        assert not dup, "ids answered more than once: %r" % dup[:5]
        results = {}
        for k, (r,) in by_id.items():
            results[r.get("result", r.get("error", {}).get("code"))] = \
                results.get(r.get("result", r.get("error", {}).get("code")),
                            0) + 1
        assert results == {"reply": n}, "results: %r" % results
        for k, (r,) in list(by_id.items())[:200]:
            assert_probe(r, "reply", "127.0.0.1", 4, rid=k)
        s = d.stats()
        p0, p = s0["probes"], s["probes"]
        assert p["completed"] - p0["completed"] == n, (p0, p)
        assert p["results"].get("reply", 0) - \
            p0["results"].get("reply", 0) == n, p
        assert p["results"].get("no-reply", 0) == 0, p
        assert p["in_flight"] == 0 and p["queued"] == 0, p


def test_200_connections():
    nconn, per = 200, 50
    with H.Daemon("pipe200", workers=2) as d:
        sel = selectors.DefaultSelector()
        conns = []
        try:
            for i in range(nconn):
                c = H.Client(d.socket, timeout=30)
                conns.append(c)
            # Every connection writes its 50 probes (small enough for the
            # socket buffer), then all are read concurrently.
            for i, c in enumerate(conns):
                c.send_raw(b"".join(H.probe_lines(
                    per, "c%d-" % i, host="127.0.0.1", timeout=5)))
            got = [dict() for _ in conns]
            for i, c in enumerate(conns):
                c.sock.setblocking(False)
                sel.register(c.sock, selectors.EVENT_READ, i)
            remaining = nconn * per
            deadline = time.monotonic() + 120
            while remaining and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1):
                    i = key.data
                    c = conns[i]
                    try:
                        data = c.sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    assert data, "daemon closed connection %d" % i
                    c.buf += data
                    while b"\n" in c.buf:
                        line, _, c.buf = c.buf.partition(b"\n")
                        r = H.parse_response(line)
                        got[i].setdefault(r.get("id"), []).append(r)
                        remaining -= 1
            assert remaining == 0, "%d responses missing after 120s" % remaining
            time.sleep(0.3)
            for i, c in enumerate(conns):
                try:
                    extra = c.sock.recv(1 << 16)
                except BlockingIOError:
                    extra = b""
                assert not extra and not c.buf, \
                    "connection %d got extra data %r" % (i, extra[:200])
                want = {"c%d-%d" % (i, k) for k in range(per)}
                assert set(got[i]) == want, \
                    "connection %d: ids differ: %r" % (
                        i, sorted(set(got[i]) ^ want)[:5])
                for k, v in got[i].items():
                    assert len(v) == 1, "id %s answered %d times" % (k, len(v))
                    assert_probe(v[0], "reply", "127.0.0.1", 4, rid=k)
            s = d.stats()
            assert s["clients"]["connected"] == nconn + 1, s["clients"]
            assert s["clients"]["total"] >= nconn + 1, s["clients"]
        finally:
            sel.close()
            for c in conns:
                c.close()
        # connections closed: the daemon notices
        H.wait_until(lambda: d.stats()["clients"]["connected"] == 1, 5,
                     0.1, "clients.connected to drop to 1")


def test_backpressure_real():
    limit, n = 10, 500
    with H.Daemon("pipebp", workers=2,
                  config={"max_inflight_per_client": limit}) as d:
        peak = [0]
        stop = threading.Event()
        errors = []

        def watch():
            try:
                with d.client(timeout=5) as w:
                    k = 0
                    while not stop.is_set():
                        k += 1
                        s = w.request({"op": "stats", "id": k}, timeout=5)
                        p = s["probes"]
                        peak[0] = max(peak[0], p["in_flight"] + p["queued"])
            except Exception as e:
                errors.append(e)

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        try:
            with d.client(timeout=30) as c:
                sender = c.send_many_threaded(
                    H.probe_lines(n, "b", host="127.0.0.1", timeout=5))
                by_id = read_all(c, n, 60)
                sender.join(10)
                assert not sender.errors, sender.errors
                c.assert_nothing_more(0.3)
        finally:
            stop.set()
            t.join(10)
        assert not errors, errors
        assert set(by_id) == {"b%d" % i for i in range(n)}
        for k, v in by_id.items():
            assert len(v) == 1, (k, v)
            assert_probe(v[0], "reply", "127.0.0.1", 4, rid=k)
        H.log("peak in_flight+queued seen: %d" % peak[0])
        assert peak[0] <= limit, \
            "stats showed %d probes in flight/queued, limit %d" % (
                peak[0], limit)


def test_backpressure_observable():
    """With probes that hang, the limit is visible: exactly 10 in flight,
    and 30 probes with timeout 0.5 need at least three rounds."""
    limit, n = 10, 30
    fake = H.FakeMtrPacket(tag="pipebp-fake")
    with H.Daemon("pipebp2", workers=1, mtr_packet=fake.path,
                  config={"max_inflight_per_client": limit}) as d:
        with d.client(timeout=10) as c:
            t0 = time.monotonic()
            c.send_raw(b"".join(H.probe_lines(n, "h", host="127.0.0.2",
                                              timeout=0.5)))
            time.sleep(0.2)
            s = d.stats()
            p = s["probes"]
            assert p["in_flight"] + p["queued"] == limit, \
                "expected exactly %d outstanding, stats: %r" % (limit, p)
            resp = c.collect(n, 10)
            el = time.monotonic() - t0
            assert sorted(r["id"] for r in resp) == \
                sorted("h%d" % i for i in range(n))
            for r in resp:
                assert r.get("result") == "no-reply", r
            assert el >= 1.45, \
                "30 probes of 0.5 s with 10 in flight finished in %.2fs: " \
                "the limit was not applied" % el
            assert el <= 5, "took %.2fs" % el


def test_slow_reader_does_not_block_others():
    """A client that sends 200000 requests and never reads its answers
    must not stall another client."""
    with H.Daemon("slowread", workers=1) as d:
        hog = d.client(timeout=30)
        try:
            line = b'{"op":"version","id":1}\n'
            sender = hog.send_many_threaded([line] * 200000)
            time.sleep(0.5)
            with d.client(timeout=5) as c:
                for i in range(20):
                    t0 = time.monotonic()
                    r = c.request({"op": "probe", "id": i,
                                   "host": "127.0.0.1", "timeout": 2},
                                  timeout=5)
                    el = time.monotonic() - t0
                    assert_probe(r, "reply", "127.0.0.1", 4, rid=i)
                    assert el < 2.0, "probe took %.2fs next to a hog" % el
                s = c.request({"op": "stats", "id": "s"})
                assert s["clients"]["connected"] == 2, s["clients"]
        finally:
            hog.close()
        sender.join(10)
        H.wait_until(lambda: d.stats()["clients"]["connected"] == 1, 5, 0.1,
                     "the hog's connection to be dropped")


def test_fairness_between_connections():
    """A connection with thousands of probes queued does not make another
    connection's single probe wait behind all of them (round-robin)."""
    fake = H.FakeMtrPacket(tag="fair")
    # one worker and no more, so that A's probes have to queue; room for
    # the answers of A's 4000 requests (about 2 KiB reserved each)
    with H.Daemon("fair", workers=1, mtr_packet=fake.path,
                  config={"max_inflight_per_client": 5000,
                          "max_workers": 1,
                          "client_max_answer_bytes": 16 << 20}) as d:
        with d.client(timeout=30) as a, d.client(timeout=10) as b:
            # each answered by the stand-in after 1.5 s: one worker takes
            # 1000 at a time, so A's 4000 need four rounds (about 6 s)
            a.send_raw(b"".join(H.probe_lines(4000, "a", host="127.0.0.12",
                                              timeout=20)))
            H.wait_until(lambda: d.stats()["probes"]["queued"] >= 2000, 5,
                         0.05, "A's probes to queue up")
            t0 = time.monotonic()
            r = b.request({"op": "probe", "id": "b", "host": "127.0.0.1",
                           "timeout": 10}, timeout=10)
            el = time.monotonic() - t0
            H.log("B's probe behind A's backlog: %.2fs" % el)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="b")
            assert el < 2.5, "B waited %.2fs behind A's queue" % el
            resp = a.collect(4000, 30)
            assert all(x.get("result") == "reply" for x in resp)


def main():
    H.require_real_mtr_packet()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
