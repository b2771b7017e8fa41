#!/usr/bin/env python3
"""Fault injection with a stand-in mtr-packet (fake_mtr_packet.py): worker
crashes, hung probes, garbage output, MPLS parsing, probes-exhausted,
answers without addresses, option passing, and start-up failures.

The stand-in never sends a packet: what it answers depends on the target's
last octet (see fake_mtr_packet.py)."""

import math
import os
import re
import time

import harness as H
from harness import assert_error, assert_probe, probe



def close(a, b):
    return a is not None and abs(a - b) < 1e-9


def send_probe_lines(fake):
    return [l for l in fake.commands() if " send-probe " in l]


def parse_cmd(line):
    w = line.split()
    return w[0], dict(zip(w[2::2], w[3::2]))


# -------------------------------------------------------------------------

def test_crash_after_n_probes():
    """(a) both workers' first instances exit after 20 probes: every request
    is still answered once, workers are restarted and all come back."""
    fake = H.FakeMtrPacket("--crash-after", 20, "--crash-instances", 2,
                           tag="crash")
    n = 200
    with H.Daemon("crash", workers=2, mtr_packet=fake.path) as d:
        with d.client(timeout=30) as c:
            c.send_raw(b"".join(H.probe_lines(n, "k", host="127.0.0.1",
                                              timeout=3)))
            resp = c.collect(n, 20)
            c.assert_nothing_more(0.3)
        ids = sorted(r["id"] for r in resp)
        assert ids == sorted("k%d" % i for i in range(n)), "ids differ"
        kinds = {}
        for r in resp:
            if "error" in r:
                assert_error(r, "process-error", rid=r["id"])
                kinds["process-error"] = kinds.get("process-error", 0) + 1
            else:
                assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])
                assert close(r["time_ms"], 0.1), r
                kinds["reply"] = kinds.get("reply", 0) + 1
        H.log("crash results:", kinds)
        # both first instances crash, so a probe can lose its worker twice;
        # the daemon retries once, then answers process-error
        assert kinds.get("reply", 0) >= n / 2, kinds
        assert fake.instances() >= 3, "no worker was restarted"
        s = H.wait_until(
            lambda: (lambda s: s if s["workers"]["alive"] == 2 else None)(
                d.stats()), 10, 0.1, "workers.alive back to 2")
        H.check_stats_shape(s)
        assert s["workers"]["configured"] == 2, s["workers"]
        assert s["workers"]["restarts"] >= 1, s["workers"]
        assert s["probes"]["retried"] >= 1, s["probes"]
        assert s["probes"]["in_flight"] == 0, s["probes"]
        # and afterwards everything works
        with d.client() as c:
            for i in range(30):
                r = probe(c, i, host="127.0.0.1", timeout=2)
                assert_probe(r, "reply", "127.0.0.1", 4, rid=i)


def test_crash_then_retry_succeeds():
    """One worker whose first instance exits after 20 probes: the probes
    it took down with it are retried on the restarted worker, so every
    one of 200 probes gets reply and none process-error."""
    fake = H.FakeMtrPacket("--crash-after", 20, "--crash-instances", 1,
                           tag="retry")
    n = 200
    with H.Daemon("retry", workers=1, mtr_packet=fake.path) as d:
        with d.client(timeout=30) as c:
            c.send_raw(b"".join(H.probe_lines(n, "r", host="127.0.0.1",
                                              timeout=3)))
            resp = c.collect(n, 10)
            c.assert_nothing_more(0.3)
        assert sorted(r["id"] for r in resp) == \
            sorted("r%d" % i for i in range(n))
        for r in resp:
            assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])
        assert fake.instances() == 2, fake.instances()
        s = d.stats()
        w = s["workers"]
        assert (w["configured"], w["alive"], w["restarts"]) == (1, 1, 1), w
        assert s["probes"]["retried"] >= 1, s["probes"]
        assert s["probes"]["results"].get("reply") == n, s["probes"]


def test_poison_probe():
    """A probe that kills every worker it reaches (as mtr-packet's SIGSEGV
    on an unreachable route does): process-error by its deadline; the pool
    recovers and other probes work."""
    fake = H.FakeMtrPacket(tag="poison")
    with H.Daemon("poison", workers=2, mtr_packet=fake.path) as d:
        with d.client() as c:
            t0 = time.monotonic()
            r = probe(c, "x", host="127.0.0.9", timeout=2)
            el = time.monotonic() - t0
            assert_error(r, "process-error", rid="x")
            assert el <= 3.0, "answered after %.2fs" % el
            H.wait_until(lambda: d.stats()["workers"]["alive"] == 2, 15, 0.1,
                         "workers.alive back to 2")
            for i in range(10):
                r = probe(c, i, host="127.0.0.1", timeout=2)
                assert_probe(r, "reply", "127.0.0.1", 4, rid=i)
            s = c.request({"op": "stats", "id": "s"})
            assert s["workers"]["restarts"] >= 1, s["workers"]


def test_hung_probes():
    """(b) the worker never answers: each probe answers no-reply by
    timeout + 1 s, and the worker still serves other probes."""
    fake = H.FakeMtrPacket(tag="hang")
    with H.Daemon("hang", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            t0 = time.monotonic()
            r = probe(c, "h1", host="127.0.0.2", timeout=1)
            el = time.monotonic() - t0
            H.log("hung probe, timeout 1: answered after %.3fs" % el)
            assert_probe(r, "no-reply", "127.0.0.2", 4, rid="h1")
            assert 0.95 <= el <= 2.0, "answered after %.3fs" % el

            t0 = time.monotonic()
            r = probe(c, "h2", host="127.0.0.2", timeout=0.3)
            el = time.monotonic() - t0
            assert_probe(r, "no-reply", "127.0.0.2", 4, rid="h2")
            assert 0.28 <= el <= 1.3, "timeout 0.3 answered after %.3fs" % el

            # 50 at once, mixed with good probes
            t0 = time.monotonic()
            c.send_raw(b"".join(H.probe_lines(50, "m", host="127.0.0.2",
                                              timeout=1)))
            c.send_raw(b"".join(H.probe_lines(20, "g", host="127.0.0.1",
                                              timeout=1)))
            resp = c.collect(70, 5)
            el = time.monotonic() - t0
            assert el <= 2.0, "70 probes with timeout 1 took %.2fs" % el
            got = sorted(r["id"] for r in resp)
            assert got == sorted(["m%d" % i for i in range(50)] +
                                 ["g%d" % i for i in range(20)]), got
            for r in resp:
                if r["id"].startswith("m"):
                    assert_probe(r, "no-reply", "127.0.0.2", 4, rid=r["id"])
                else:
                    assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])
            c.assert_nothing_more(0.3)


def test_silent_and_late_answers():
    fake = H.FakeMtrPacket(tag="late")
    with H.Daemon("late", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            # a silent host: mtr-packet itself says no-reply after 1 s
            r = probe(c, "s", host="127.0.0.8", timeout=1)
            assert_probe(r, "no-reply", "127.0.0.8", 4, rid="s")
            # mtr-packet answers after 1.5 s; the deadline was 0.5 s: the
            # client gets no-reply at once and never the late answer
            t0 = time.monotonic()
            r = probe(c, "l", host="127.0.0.12", timeout=0.5)
            el = time.monotonic() - t0
            assert_probe(r, "no-reply", "127.0.0.12", 4, rid="l")
            assert el < 1.4, "answered after %.2fs" % el
            time.sleep(1.5)
            c.assert_nothing_more(0.3)
            # the same probe with a long enough timeout gets the reply
            r = probe(c, "l2", host="127.0.0.12", timeout=3)
            assert_probe(r, "reply", "127.0.0.12", 4, rid="l2")
            assert close(r["time_ms"], 1500.0), r
            s = c.request({"op": "stats", "id": "st"})
            assert s["probes"]["in_flight"] == 0, s["probes"]
            assert s["probes"]["results"].get("no-reply") == 2, s["probes"]
            assert s["probes"]["results"].get("reply") == 1, s["probes"]


def test_completion_order_and_tiny_timeouts():
    """Answers come in completion order: a version written after slow
    probes overtakes them; a 1 ms timeout is honoured; the hung worker is
    killed 2 s past the timeout it was given, then restarted."""
    fake = H.FakeMtrPacket(tag="order")
    with H.Daemon("order", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            c.send_raw(b"".join(H.probe_lines(5, "slow", host="127.0.0.12",
                                              timeout=5)))
            c.send({"op": "version", "id": "v"})
            first = c.recv(3)
            assert first["id"] == "v" and first["protocol"] == 1, first
            t0 = time.monotonic()
            r = probe(c, "tiny", host="127.0.0.2", timeout=0.001)
            el = time.monotonic() - t0
            assert_probe(r, "no-reply", "127.0.0.2", 4, rid="tiny")
            assert el < 0.5, "timeout 0.001 answered after %.3fs" % el
            resp = c.collect(5, 5)
            assert sorted(x["id"] for x in resp) == \
                ["slow%d" % i for i in range(5)]
            for x in resp:
                assert_probe(x, "reply", "127.0.0.12", 4, rid=x["id"])
            # the 'tiny' probe was given mtr-packet timeout 1 and never
            # answered: 2 s later the worker is killed and restarted
            H.wait_until(lambda: fake.instances() >= 2, 6, 0.1,
                         "the hung worker to be replaced")
            H.wait_until(lambda: d.stats()["workers"]["alive"] == 1, 5, 0.1,
                         "the new worker to be ready")
            s = c.request({"op": "stats", "id": "s"})
            assert s["workers"]["restarts"] >= 1, s["workers"]
            r = probe(c, "after", host="127.0.0.1", timeout=2)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="after")


def test_garbage_output():
    """(c) garbage lines, NULs, a 10 KiB line, unknown tokens and a reply
    split across two writes: the daemon keeps going."""
    fake = H.FakeMtrPacket(tag="garbage")
    with H.Daemon("garbage", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            for i in range(5):
                r = probe(c, "g%d" % i, host="127.0.0.3", timeout=2)
                assert_probe(r, "reply", "127.0.0.3", 4, rid="g%d" % i)
                assert close(r["time_ms"], 0.3), r
            r = probe(c, "n", host="127.0.0.4", timeout=1)
            assert_probe(r, "no-reply", "127.0.0.4", 4, rid="n")
            c.send_raw(b"".join(H.probe_lines(20, "x", host="127.0.0.3",
                                              timeout=3)))
            c.send_raw(b"".join(H.probe_lines(20, "y", host="127.0.0.1",
                                              timeout=3)))
            resp = c.collect(40, 10)
            for r in resp:
                want = "127.0.0.3" if r["id"].startswith("x") else "127.0.0.1"
                assert_probe(r, "reply", want, 4, rid=r["id"])
            c.assert_nothing_more(0.3)
        assert d.alive()
        s = d.stats()
        assert s["workers"]["alive"] == 1, s["workers"]


def test_garbage_before_handshake():
    """Garbage before the check-support answer does not stop the start."""
    fake = H.FakeMtrPacket("--garbage-at-start", tag="garbage0")
    with H.Daemon("garbage0", workers=1, mtr_packet=fake.path) as d:
        r = d.request({"op": "probe", "id": 1, "host": "127.0.0.1",
                       "timeout": 2})
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)


def test_mpls_and_reply_words():
    """(d) MPLS groups, trailing partial group dropped, round-trip times,
    and answers without an address."""
    fake = H.FakeMtrPacket(tag="mpls")
    with H.Daemon("mpls", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            r = probe(c, 1, host="127.0.0.5", timeout=2)
            assert_probe(r, "ttl-expired", "127.0.0.5", 4,
                         responder="127.0.0.1", rid=1)
            assert close(r["time_ms"], 1.234), r
            assert r["mpls"] == [
                {"label": 100, "traffic_class": 0, "bottom_of_stack": True,
                 "ttl": 255},
                {"label": 200, "traffic_class": 3, "bottom_of_stack": False,
                 "ttl": 64}], r
            r = probe(c, 2, host="127.0.0.6", timeout=2)
            assert_probe(r, "ttl-expired", "127.0.0.6", 4,
                         responder="127.0.0.1", rid=2)
            assert r["mpls"] == [
                {"label": 100, "traffic_class": 0, "bottom_of_stack": True,
                 "ttl": 255}], r
            r = probe(c, 3, host="127.0.0.1", timeout=2)
            assert_probe(r, "reply", "127.0.0.1", 4, rid=3)
            assert close(r["time_ms"], 0.1) and r["mpls"] == [], r
            r = probe(c, 4, host="::1", timeout=2)
            assert_probe(r, "reply", "::1", 6, rid=4)
            assert close(r["time_ms"], 0.1), r
            r = probe(c, 5, host="127.0.0.13", timeout=2)
            assert_probe(r, "no-route", "127.0.0.13", 4,
                         responder="127.0.0.1", rid=5)
            assert close(r["time_ms"], 0.5), r
            for rid, host, word in [(6, "127.0.0.10", "network-down"),
                                    (7, "127.0.0.11", "unexpected-error")]:
                r = probe(c, rid, host=host, timeout=2)
                assert set(r) == H.PROBE_FIELDS, r
                assert r == {"id": rid, "success": False, "result": word,
                             "time_ms": None, "responder": None, "mpls": [],
                             "address": host, "ip_version": 4}, r
            s = c.request({"op": "stats", "id": "s"})
            res = s["probes"]["results"]
            for word, count in [("ttl-expired", 2), ("reply", 2),
                                ("no-route", 1), ("network-down", 1),
                                ("unexpected-error", 1)]:
                assert res.get(word) == count, (word, res)


def test_probes_exhausted_is_retried():
    """(e) the first attempt of each probe gets probes-exhausted: the client
    only ever sees the reply of the retry."""
    fake = H.FakeMtrPacket(tag="exh")
    n = 40
    with H.Daemon("exh", workers=2, mtr_packet=fake.path) as d:
        with d.client() as c:
            for i in range(n):
                c.send({"op": "probe", "id": i, "host": "127.0.0.7",
                        "ttl": 1 + i, "tos": i % 4, "timeout": 3})
            resp = c.collect(n, 10)
            c.assert_nothing_more(0.3)
        assert sorted(r["id"] for r in resp) == list(range(n))
        for r in resp:
            assert_probe(r, "reply", "127.0.0.7", 4, rid=r["id"])
            assert close(r["time_ms"], 0.7), r
        # every distinct probe really was sent at least twice
        seen = {}
        for line in send_probe_lines(fake):
            _, a = parse_cmd(line)
            if a.get("ip-4") == "127.0.0.7":
                seen[a.get("ttl")] = seen.get(a.get("ttl"), 0) + 1
        assert len(seen) == n and min(seen.values()) >= 2, seen
        s = d.stats()
        assert "probes-exhausted" not in s["probes"]["results"] or \
            s["probes"]["results"]["probes-exhausted"] == 0, s["probes"]
        assert s["probes"]["results"].get("reply") == n, s["probes"]
        H.check_stats_shape(s)


def test_options_reach_mtr_packet():
    """The probe's options are written to mtr-packet as its own argument
    names, with the source address and a whole-second timeout."""
    fake = H.FakeMtrPacket(tag="opts")
    with H.Daemon("opts", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            r = probe(c, 1, host="127.0.0.1", protocol="udp", port=4000,
                      local_port=5000, ttl=7, tos=16, bit_pattern=170,
                      size=100, mark=42, timeout=2.5)
            assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
            r = probe(c, 2, host="::1", protocol="tcp", port=443, ttl=3,
                      timeout=1)
            assert_probe(r, "reply", "::1", 6, rid=2)
            r = probe(c, 3, host="127.0.0.1", timeout=0.2)
            assert_probe(r, "reply", "127.0.0.1", 4, rid=3)
    lines = send_probe_lines(fake)
    assert len(lines) == 3, lines
    tokens = set()
    for line in lines:
        tok, _ = parse_cmd(line)
        assert re.fullmatch(r"[1-9][0-9]{0,9}", tok) and int(tok) < 2**31, \
            "bad token in %r" % line
        tokens.add(tok)
    assert len(tokens) == 3, "tokens reused: %r" % lines
    _, a = parse_cmd(lines[0])
    want = {"ip-4": "127.0.0.1", "protocol": "udp", "port": "4000",
            "local-port": "5000", "ttl": "7", "tos": "16",
            "bit-pattern": "170", "size": "100", "mark": "42",
            "local-ip-4": "127.0.0.1"}
    for k, v in want.items():
        assert a.get(k) == v, "%s: %r in %r" % (k, a.get(k), lines[0])
    assert re.fullmatch(r"[0-9]+", a.get("timeout", "")) and \
        int(a["timeout"]) >= 3, "timeout must be whole seconds >= 2.5: %r" \
        % lines[0]
    _, a = parse_cmd(lines[1])
    for k, v in {"ip-6": "::1", "protocol": "tcp", "port": "443",
                 "ttl": "3", "local-ip-6": "::1"}.items():
        assert a.get(k) == v, "%s: %r in %r" % (k, a.get(k), lines[1])
    _, a = parse_cmd(lines[2])
    assert a.get("ip-4") == "127.0.0.1", lines[2]
    assert a.get("timeout") and int(a["timeout"]) >= 1, lines[2]
    assert a.get("protocol", "icmp") == "icmp", lines[2]
    assert "port" not in a and "local-port" not in a, lines[2]


def test_startup_failures():
    """(f) a daemon with no usable worker exits non-zero with a message."""
    # mtr-packet answering 'no' to send-probe
    fake = H.FakeMtrPacket("--support-no", tag="supno")
    d = H.tmpdir("fail")
    sock = os.path.join(d, "s.sock")
    hosts = os.path.join(d, "hosts")
    open(hosts, "w").close()
    cfg = os.path.join(d, "c.conf")
    with open(cfg, "w") as f:
        f.write("hosts_file = %s\ndns_servers = 127.0.0.1:%d\n"
                % (hosts, H.free_port()))
    rc, out, err = H.run_daemon(["-c", cfg, "-s", sock, "-w", "1"],
                                env={"MTR_PACKET": fake.path}, timeout=20)
    H.log("support-no: rc=%d stderr=%r" % (rc, err[-500:]))
    assert rc == 1, "mtr-packet that cannot send probes: exit %r" % rc
    assert err.strip(), "no message on stderr"
    assert not H.socket_accepts(sock)

    # a missing executable: the message names the path
    rc, out, err = H.run_daemon(["-c", cfg, "-s", sock],
                                env={"MTR_PACKET": "/nonexistent/mtr-pkt-x"},
                                timeout=20)
    H.log("missing: rc=%d stderr=%r" % (rc, err[-500:]))
    assert rc == 1
    assert "/nonexistent/mtr-pkt-x" in err, err

    # an executable that exits at once
    fake2 = H.FakeMtrPacket("--exit-at-start", tag="exit0")
    rc, out, err = H.run_daemon(["-c", cfg, "-s", sock, "-w", "2"],
                                env={"MTR_PACKET": fake2.path}, timeout=20)
    H.log("exit-at-start: rc=%d stderr=%r" % (rc, err[-500:]))
    assert rc == 1 and err.strip()

    # a file that is not executable
    noexec = os.path.join(d, "mtr-packet-noexec")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(noexec, 0o644)
    rc, out, err = H.run_daemon(["-c", cfg, "-s", sock],
                                env={"MTR_PACKET": noexec}, timeout=20)
    assert rc == 1 and noexec in err, (rc, err)

    # config mtr_packet is used when $MTR_PACKET is unset ...
    cfg2 = os.path.join(d, "c2.conf")
    with open(cfg2, "w") as f:
        f.write("hosts_file = %s\ndns_servers = 127.0.0.1:%d\n"
                "mtr_packet = /nonexistent/from-config\n"
                % (hosts, H.free_port()))
    env = {k: v for k, v in os.environ.items() if k != "MTR_PACKET"}
    rc, out, err = _run_clean_env(["-c", cfg2, "-s", sock], env)
    assert rc == 1 and "/nonexistent/from-config" in err, (rc, err)
    # ... and $MTR_PACKET wins over it
    env["MTR_PACKET"] = "/nonexistent/from-env"
    rc, out, err = _run_clean_env(["-c", cfg2, "-s", sock], env)
    assert rc == 1 and "/nonexistent/from-env" in err, (rc, err)
    assert not os.path.exists(sock) or not H.socket_accepts(sock)


def _run_clean_env(args, env):
    import subprocess
    p = subprocess.run([H.mtrprobed_path()] + args, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=20)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def test_config_mtr_packet_used():
    """With $MTR_PACKET unset, config mtr_packet names the worker."""
    fake = H.FakeMtrPacket(tag="cfgmp")
    with H.Daemon("cfgmp", workers=3, mtr_packet=H.NO_ENV,
                  config={"mtr_packet": fake.path}) as d:
        r = d.request({"op": "probe", "id": 1, "host": "127.0.0.1",
                       "timeout": 2})
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        assert close(r["time_ms"], 0.1), "not the stand-in: %r" % r
        assert fake.instances() == 3, fake.instances()
        r = d.request({"op": "version", "id": 2})
        assert r["workers"] == 3, r


def test_no_worker_alive():
    """Workers die and cannot be restarted: a probe answers process-error
    by its deadline (+1 s), and the daemon keeps answering other ops."""
    fake = H.FakeMtrPacket("--crash-after", 0, "--exit-at-start-from", 2,
                           tag="dead")
    with H.Daemon("dead", workers=1, mtr_packet=fake.path) as d:
        with d.client() as c:
            r = probe(c, "kill", host="127.0.0.1", timeout=1)
            assert_error(r, "process-error", rid="kill")
            H.wait_until(lambda: d.stats()["workers"]["alive"] == 0, 5, 0.1,
                         "workers.alive to drop to 0")
            for k in range(3):
                t0 = time.monotonic()
                r = probe(c, k, host="127.0.0.1", timeout=1)
                el = time.monotonic() - t0
                assert_error(r, "process-error", rid=k)
                assert el <= 2.0, "process-error after %.2fs" % el
            r = c.request({"op": "version", "id": "v"})
            assert r["protocol"] == 1 and r["workers"] == 1, r
            s = c.request({"op": "stats", "id": "s"})
            H.check_stats_shape(s)
            assert s["workers"]["configured"] == 1, s["workers"]
            assert s["probes"]["in_flight"] == 0, s["probes"]


def test_wedged_worker():
    """A worker that stops reading its stdin and writing its stdout (its
    pipe fills up): the daemon's loop is not blocked, every probe is
    answered by its deadline + 1 s, and a fresh worker takes over."""
    fake = H.FakeMtrPacket("--stall-after", 5, "--crash-instances", 1,
                           tag="wedge")
    n = 3000
    with H.Daemon("wedge", workers=1, mtr_packet=fake.path) as d:
        with d.client(timeout=30) as c, d.client(timeout=5) as w:
            t0 = time.monotonic()
            sender = c.send_many_threaded(H.probe_lines(
                n, "w", host="127.0.0.1", timeout=1))
            # the daemon stays responsive meanwhile
            for k in range(5):
                t1 = time.monotonic()
                r = w.request({"op": "stats", "id": k}, timeout=5)
                assert time.monotonic() - t1 < 1.0, "stats took %.2fs" % (
                    time.monotonic() - t1)
                assert "error" not in r, r
                time.sleep(0.1)
            resp = c.collect(n, 30)
            el = time.monotonic() - t0
            sender.join(10)
            H.log("wedged worker: %d answered in %.2fs" % (n, el))
        kinds = {}
        for r in resp:
            k = r["error"]["code"] if "error" in r else r["result"]
            kinds[k] = kinds.get(k, 0) + 1
        H.log("wedged worker results:", kinds)
        assert sorted(r["id"] for r in resp) == \
            sorted("w%d" % i for i in range(n))
        # probes the wedged worker held: no-reply or, once the daemon kills
        # it, process-error; probes still queued at their deadline while a
        # (wedged) worker counted as alive: overloaded (the daemon's choice)
        assert set(kinds) <= {"reply", "no-reply", "process-error",
                              "overloaded"}, kinds
        assert kinds.get("reply", 0) >= 5, kinds
        assert el <= 8, "3000 probes with timeout 1 took %.2fs" % el
        # afterwards a new worker serves probes normally
        H.wait_until(lambda: d.stats()["workers"]["alive"] == 1, 10, 0.1,
                     "a worker to be alive")
        with d.client() as c:
            r = probe(c, "after", host="127.0.0.1", timeout=3)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="after")
            assert close(r["time_ms"], 0.1), r
        assert fake.instances() >= 2, "the wedged worker was never replaced"
        assert d.stats()["workers"]["restarts"] >= 1


def test_overloaded():
    """max_queued = 10 with probes that hang: the excess is answered
    overloaded at once, the rest no-reply at the deadline."""
    fake = H.FakeMtrPacket(tag="ovl")
    n = 300
    with H.Daemon("ovl", workers=1, mtr_packet=fake.path,
                  config={"max_queued": 10}) as d:
        with d.client(timeout=10) as c:
            c.send_raw(b"".join(H.probe_lines(n, "o", host="127.0.0.2",
                                              timeout=1)))
            resp = c.collect(n, 10)
            c.assert_nothing_more(0.3)
        kinds = {}
        for r in resp:
            if "error" in r:
                assert_error(r, "overloaded", rid=r["id"])
                kinds["overloaded"] = kinds.get("overloaded", 0) + 1
            else:
                assert_probe(r, "no-reply", "127.0.0.2", 4, rid=r["id"])
                kinds["no-reply"] = kinds.get("no-reply", 0) + 1
        H.log("overload results:", kinds)
        assert sorted(r["id"] for r in resp) == \
            sorted("o%d" % i for i in range(n))
        assert kinds.get("overloaded", 0) >= 1, kinds
        assert kinds.get("no-reply", 0) >= 10, kinds
        s = d.stats()
        if "errors" in s:
            assert s["errors"]["overloaded"] == kinds["overloaded"], s
        # the queue drained: new probes are accepted again
        r = d.request({"op": "probe", "id": "after", "host": "127.0.0.1",
                       "timeout": 2})
        assert_probe(r, "reply", "127.0.0.1", 4, rid="after")


def test_client_gone_with_probes_in_flight():
    """A client that disconnects with 200 hung probes out: nothing breaks,
    the probes are dropped, the late answers find nobody."""
    fake = H.FakeMtrPacket(tag="gone")
    with H.Daemon("gone", workers=1, mtr_packet=fake.path) as d:
        c = d.client()
        c.send_raw(b"".join(H.probe_lines(200, "g", host="127.0.0.2",
                                          timeout=1)))
        c.send_raw(b"".join(H.probe_lines(50, "l", host="127.0.0.12",
                                          timeout=3)))
        H.wait_until(lambda: d.stats()["probes"]["in_flight"] >= 1, 5, 0.05,
                     "probes in flight")
        c.close()
        H.wait_until(lambda: d.stats()["probes"]["in_flight"] == 0 and
                     d.stats()["probes"]["queued"] == 0, 6, 0.1,
                     "in_flight and queued to drop to 0")
        time.sleep(1.6)   # the late answers arrive now
        s = d.stats()
        assert s["clients"]["connected"] == 1, s["clients"]
        # the worker holding 200 unanswered probes may be killed as hung and
        # restarted meanwhile; it must be back soon
        H.wait_until(lambda: d.stats()["workers"]["alive"] == 1, 10, 0.1,
                     "workers.alive back to 1")
        with d.client() as c2:
            r = probe(c2, 1, host="127.0.0.1", timeout=2)
            assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
            c2.assert_nothing_more(0.3)


def main():
    H.require_root()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
