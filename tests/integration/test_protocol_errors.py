#!/usr/bin/env python3
"""Every protocol error a client can reach without an access policy.

One daemon (real mtr-packet, max_request_bytes = 1024); each case sends one
line and asserts the exact response: error code, id, and the field name at
the start of the message.  The connection must stay usable after each error.
"""

import json
import socket
import time

import harness as H
from harness import assert_error

MAX = 1024
D = None


def one(c, raw, timeout=5):
    """Send one raw line and return the one response it gets."""
    c.send_raw(raw)
    return c.recv(timeout)


def bad(c, raw, code, field=None, rid=None):
    r = one(c, raw)
    try:
        assert_error(r, code, field, rid)
    except AssertionError as e:
        raise AssertionError("request %r: %s" % (raw[:200], e))


def check_alive(c, tag):
    """A valid request on the same connection still gets its answer."""
    r = c.request({"op": "version", "id": "alive-%s" % tag}, timeout=5)
    assert r.get("daemon") and r.get("protocol") == 1, r


def test_not_json():
    with D.client() as c:
        for raw in [b"not json\n", b"{\n", b'{"op": "version"\n',
                    b'{"op": "version",}\n', b"}\n", b"'x'\n",
                    b'{"op":"version","id":1} trailing\n']:
            bad(c, raw, "bad-request", rid=None)
        check_alive(c, "notjson")


def test_not_object():
    with D.client() as c:
        for raw in [b"[1, 2]\n", b'"version"\n', b"42\n", b"null\n",
                    b"true\n", b'[{"op":"version","id":1}]\n']:
            bad(c, raw, "bad-request", rid=None)
        check_alive(c, "notobj")


def test_op_missing_or_not_string():
    with D.client() as c:
        bad(c, b'{"id": 1}\n', "bad-request", rid=1)
        bad(c, b'{}\n', "bad-request", rid=None)
        bad(c, b'{"id": "x", "host": "127.0.0.1"}\n', "bad-request", rid="x")
        for op in ["5", "null", "true", '["probe"]', '{"a":1}', "1.5"]:
            bad(c, ('{"op": %s, "id": 2}\n' % op).encode(), "bad-request",
                rid=2)
        check_alive(c, "op")


def test_id_wrong_type():
    with D.client() as c:
        for idv in ["true", "false", "1.5", "4.0", "1e3", "[1]", "[]",
                    '{"a": 1}', "{}"]:
            bad(c, ('{"op": "version", "id": %s}\n' % idv).encode(),
                "bad-request", rid=None)
        check_alive(c, "id")


def test_unknown_op():
    with D.client() as c:
        for op in ["frobnicate", "", "PROBE", "Version", "probe ",
                   "send-probe"]:
            r = c.request({"op": op, "id": "u-" + op})
            assert_error(r, "unknown-op", rid="u-" + op)
        check_alive(c, "unknownop")


def test_unknown_fields():
    with D.client() as c:
        cases = [
            ({"op": "version", "bogus": 1}, "bogus"),
            ({"op": "stats", "x": None}, "x"),
            ({"op": "clear_dns_cache", "host": "localhost"}, "host"),
            ({"op": "version", "feature": "udp"}, "feature"),
            ({"op": "check_support", "feature": "udp", "ttl": 5}, "ttl"),
            ({"op": "probe", "host": "127.0.0.1", "colour": "red"}, "colour"),
            ({"op": "probe", "host": "127.0.0.1", "feature": "udp"},
             "feature"),
            # trace-only fields are unknown to probe
            ({"op": "probe", "host": "127.0.0.1", "count": 3}, "count"),
            ({"op": "probe", "host": "127.0.0.1", "max_ttl": 3}, "max_ttl"),
            ({"op": "probe", "host": "127.0.0.1", "stream": True}, "stream"),
            ({"op": "probe", "host": "127.0.0.1", "Host": "x"}, "Host"),
        ]
        for i, (req, field) in enumerate(cases):
            req = dict(req, id=1000 + i)
            r = c.request(req)
            assert_error(r, "invalid-argument", field, 1000 + i)
        check_alive(c, "unknownfield")


def test_probe_field_types_and_ranges():
    host = "127.0.0.1"
    long_host = "a" * 254
    cases = [
        # (fields, field named in the message)
        ({}, "host"),                      # host missing
        ({"host": 5}, "host"),
        ({"host": None}, "host"),
        ({"host": ""}, "host"),
        ({"host": long_host}, "host"),
        ({"host": ["127.0.0.1"]}, "host"),
        ({"host": host, "ip_version": "4"}, "ip_version"),
        ({"host": host, "ip_version": 4.0}, "ip_version"),
        ({"host": host, "ip_version": True}, "ip_version"),
        ({"host": host, "ip_version": 5}, "ip_version"),
        ({"host": host, "ip_version": 0}, "ip_version"),
        ({"host": host, "ttl": -1}, "ttl"),
        ({"host": host, "ttl": 256}, "ttl"),
        ({"host": host, "ttl": "1"}, "ttl"),
        ({"host": host, "ttl": 1.5}, "ttl"),
        ({"host": host, "ttl": 4.0}, "ttl"),
        ({"host": host, "ttl": True}, "ttl"),
        ({"host": host, "protocol": "foo"}, "protocol"),
        ({"host": host, "protocol": 1}, "protocol"),
        ({"host": host, "protocol": ""}, "protocol"),
        ({"host": host, "protocol": "udp", "port": 0}, "port"),
        ({"host": host, "protocol": "udp", "port": 65536}, "port"),
        ({"host": host, "protocol": "tcp", "port": "80"}, "port"),
        ({"host": host, "protocol": "tcp", "port": 80.0}, "port"),
        ({"host": host, "port": 80}, "port"),              # icmp default
        ({"host": host, "protocol": "icmp", "port": 80}, "port"),
        ({"host": host, "protocol": "udp", "local_port": 0}, "local_port"),
        ({"host": host, "protocol": "udp", "local_port": 65536},
         "local_port"),
        ({"host": host, "protocol": "udp", "local_port": "2000"},
         "local_port"),
        ({"host": host, "protocol": "icmp", "local_port": 2000},
         "local_port"),
        ({"host": host, "local_ip": 5}, "local_ip"),
        ({"host": host, "local_ip": ""}, "local_ip"),
        ({"host": host, "timeout": 0}, "timeout"),
        ({"host": host, "timeout": 0.0}, "timeout"),
        ({"host": host, "timeout": -1}, "timeout"),
        ({"host": host, "timeout": 3600.5}, "timeout"),
        ({"host": host, "timeout": 3601}, "timeout"),
        ({"host": host, "timeout": "1"}, "timeout"),
        ({"host": host, "timeout": True}, "timeout"),
        ({"host": host, "size": -1}, "size"),
        ({"host": host, "size": 9001}, "size"),
        ({"host": host, "size": "64"}, "size"),
        ({"host": host, "size": 64.0}, "size"),
        ({"host": host, "bit_pattern": -1}, "bit_pattern"),
        ({"host": host, "bit_pattern": 256}, "bit_pattern"),
        ({"host": host, "bit_pattern": "0"}, "bit_pattern"),
        ({"host": host, "tos": -1}, "tos"),
        ({"host": host, "tos": 256}, "tos"),
        ({"host": host, "tos": False}, "tos"),
        ({"host": host, "mark": -1}, "mark"),
        ({"host": host, "mark": 4294967296}, "mark"),
        ({"host": host, "mark": "1"}, "mark"),
        ({"host": host, "mark": 1.5}, "mark"),
    ]
    with D.client() as c:
        for i, (fields, field) in enumerate(cases):
            req = {"op": "probe", "id": i}
            req.update(fields)
            r = c.request(req, timeout=5)
            try:
                assert_error(r, "invalid-argument", field, i)
            except AssertionError as e:
                raise AssertionError("request %r: %s" % (req, e))
        check_alive(c, "probefields")


def test_check_support_fields():
    cases = [
        ({}, "feature"),
        ({"feature": 5}, "feature"),
        ({"feature": None}, "feature"),
        ({"feature": ""}, "feature"),
        ({"feature": "UDP"}, "feature"),
        ({"feature": "a b"}, "feature"),
        ({"feature": "udp\n"}, "feature"),
        ({"feature": "x" * 33}, "feature"),
        ({"feature": "udp;tcp"}, "feature"),
        ({"feature": "ud_p"}, "feature"),
    ]
    with D.client() as c:
        for i, (fields, field) in enumerate(cases):
            req = {"op": "check_support", "id": "cs%d" % i}
            req.update(fields)
            r = c.request(req, timeout=5)
            try:
                assert_error(r, "invalid-argument", field, "cs%d" % i)
            except AssertionError as e:
                raise AssertionError("request %r: %s" % (req, e))
        # the longest valid name is accepted (and unknown to mtr-packet)
        name = "a-" + "9" * 30
        r = c.request({"op": "check_support", "id": "cs-max",
                       "feature": name}, timeout=10)
        assert r == {"id": "cs-max", "feature": name, "supported": False,
                     "value": "no"}, r


def test_duplicate_keys():
    with D.client() as c:
        bad(c, b'{"op": "version", "op": "version", "id": 9}\n',
            "bad-request", rid=None)
        bad(c, b'{"op": "probe", "host": "127.0.0.1", "host": "::1", '
               b'"id": 10}\n', "bad-request", rid=None)
        check_alive(c, "dup")


def test_invalid_utf8():
    with D.client() as c:
        for raw in [b'{"op": "version", "id": "\xff"}\n',
                    b'{"op": "version", "id": "\xc3\x28"}\n',
                    b'{"op": "version", "id": "\xed\xa0\x80"}\n',  # surrogate
                    b'{"op": "version", "id": "\xc0\xaf"}\n',     # overlong
                    b'{"op": "vers\x80ion"}\n',
                    b'\xef\xbb\xbf\xff{"op":"version"}\n']:
            bad(c, raw, "bad-request", rid=None)
        check_alive(c, "utf8")


def test_empty_line_and_crlf():
    with D.client() as c:
        bad(c, b"\n", "bad-request", rid=None)
        bad(c, b"\r\n", "bad-request", rid=None)
        r = one(c, b'{"op": "version", "id": "crlf"}\r\n')
        assert r.get("id") == "crlf" and r.get("protocol") == 1, r
        r = one(c, b'{"op": "check_support", "feature": "udp", '
                   b'"id": "crlf2"}\r\n', timeout=10)
        assert r == {"id": "crlf2", "feature": "udp", "supported": True,
                     "value": "ok"}, r
        # several CRLF requests in one write, answered one each
        c.send_raw(b'{"op":"version","id":1}\r\n{"op":"version","id":2}\r\n'
                   b'{"op":"version","id":3}\r\n')
        got = sorted(x["id"] for x in c.collect(3, 5))
        assert got == [1, 2, 3], got
        c.assert_nothing_more()


def test_request_too_large():
    pad = "x" * (MAX + 200)
    with D.client() as c:
        line = json.dumps({"op": "version", "id": "big", "pad": pad})
        r = one(c, line.encode() + b"\n")
        assert_error(r, "request-too-large", rid=None)
        # The same connection still works, for the very next request.
        check_alive(c, "afterbig")

        # A long line arriving in pieces, followed in the same write by a
        # valid request: one error, then the valid answer.
        c.send_raw(b'{"op":"version","id":"p1","pad":"' + b"y" * 600)
        time.sleep(0.1)
        c.send_raw(b"y" * 600)
        time.sleep(0.1)
        c.send_raw(b"y" * 600 + b'"}\n{"op":"version","id":"p2"}\n')
        r1 = c.recv(5)
        assert_error(r1, "request-too-large", rid=None)
        r2 = c.recv(5)
        assert r2.get("id") == "p2" and r2.get("protocol") == 1, r2
        c.assert_nothing_more()

        # A huge line (1 MiB) is discarded without closing the connection.
        c.send_raw(b"z" * (1 << 20) + b"\n")
        r = c.recv(10)
        assert_error(r, "request-too-large", rid=None)
        check_alive(c, "afterhuge")
        c.assert_nothing_more()

        # A line well under the limit is fine, padded with spaces.
        req = b'{"op": "version", "id": "fits"' + b" " * (MAX - 200) + b"}\n"
        r = one(c, req)
        assert r.get("id") == "fits" and r.get("protocol") == 1, r


def test_request_too_large_boundary():
    """The length counts neither the \\n nor a \\r before it: exactly
    max_request_bytes is fine, one more byte is too large."""
    def line_of(n, tag):
        head = '{"op":"version","id":"%s"' % tag
        body = head + " " * (n - len(head) - 1) + "}"
        assert len(body) == n
        return body.encode()
    with D.client() as c:
        r = one(c, line_of(MAX, "exact") + b"\n")
        assert r.get("id") == "exact" and r.get("protocol") == 1, r
        r = one(c, line_of(MAX, "exactcr") + b"\r\n")
        assert r.get("id") == "exactcr" and r.get("protocol") == 1, r
        r = one(c, line_of(MAX + 1, "over") + b"\n")
        assert_error(r, "request-too-large", rid=None)
        assert r["error"]["message"].startswith("line"), r
        r = one(c, line_of(MAX + 1, "overcr") + b"\r\n")
        assert_error(r, "request-too-large", rid=None)
        check_alive(c, "boundary")
        c.assert_nothing_more()


def test_request_too_large_answered_early():
    """The error comes as soon as the daemon has seen more than
    max_request_bytes of the line, before the line ends."""
    with D.client() as c:
        c.send_raw(b'{"op":"version","id":"early","pad":"' + b"q" * (MAX + 10))
        r = c.recv(3)
        assert_error(r, "request-too-large", rid=None)
        c.send_raw(b"q" * 5000 + b'"}\n')
        check_alive(c, "early")
        c.assert_nothing_more()


def test_last_line_without_newline():
    """A last request without a newline is answered once the client shuts
    down its sending side; then the daemon closes the connection."""
    with D.client() as c:
        c.send_raw(b'{"op":"version","id":"a"}\n{"op":"version","id":"b"}')
        r = c.recv(5)
        assert r["id"] == "a", r
        c.sock.shutdown(socket.SHUT_WR)
        lines = c.recv_lines_until_closed(5)
        assert len(lines) == 1, lines
        r = H.parse_response(lines[0])
        assert r["id"] == "b" and r["protocol"] == 1, r
        assert c.eof, "connection not closed after SHUT_WR"


def test_half_close_with_probes_out():
    """SHUT_WR with probes outstanding: every answer, then end of file."""
    with D.client() as c:
        c.send_raw(b"".join(H.probe_lines(100, "hc", host="127.0.0.1",
                                          timeout=5)))
        c.sock.shutdown(socket.SHUT_WR)
        lines = c.recv_lines_until_closed(10)
        assert c.eof, "connection not closed after the last answer"
    resp = [H.parse_response(l) for l in lines]
    assert sorted(r["id"] for r in resp) == \
        sorted("hc%d" % i for i in range(100)), resp[:3]
    for r in resp:
        H.assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])


def test_duplicate_ids_answered_each():
    with D.client() as c:
        for _ in range(3):
            c.send({"op": "probe", "id": "same", "host": "127.0.0.1",
                    "timeout": 5})
        c.send({"op": "version", "id": "same"})
        resp = c.collect(4, 10)
        c.assert_nothing_more()
    assert [r["id"] for r in resp] == ["same"] * 4, resp
    assert sum(1 for r in resp if r.get("result") == "reply") == 3, resp
    assert sum(1 for r in resp if r.get("protocol") == 1) == 1, resp


def test_max_connections():
    """Past max_connections a new connection gets one overloaded line and
    is closed; it is not counted in errors; a freed slot is reusable."""
    with H.Daemon("maxconn", workers=1, config={"max_connections": 3}) as d:
        # the harness's readiness check connected once: wait until the
        # daemon has seen it close
        H.wait_until(lambda: d.stats()["clients"]["connected"] == 1, 5, 0.05,
                     "only the stats connection to be open")
        time.sleep(0.1)
        conns = [d.client() for _ in range(3)]
        try:
            for i, c in enumerate(conns):
                r = c.request({"op": "version", "id": i})
                assert r["protocol"] == 1, r
            extra = H.Client(d.socket, timeout=5)
            lines = extra.recv_lines_until_closed(5)
            extra.close()
            assert len(lines) == 1, lines
            r = H.parse_response(lines[0])
            assert r == {"id": None, "error": {
                "code": "overloaded",
                "message": "connection: max_connections reached"}}, r
            s = conns[0].request({"op": "stats", "id": "s"})
            assert s["clients"]["connected"] == 3, s["clients"]
            assert s["errors"]["overloaded"] == 0, s["errors"]
        finally:
            for c in conns:
                c.close()
        H.wait_until(lambda: _try_version(d), 5, 0.1,
                     "a connection to be accepted again")


def _try_version(d):
    try:
        with d.client(timeout=2) as c:
            c.send({"op": "version", "id": 1})
            r = c.recv(2)
            return r.get("protocol") == 1
    except (OSError, AssertionError):
        return False


def test_ids_echoed():
    ids = ["héllo \"quoted\" \\ back\nnewline\ttab ☃ 😀 \u2028",
           "", "x" * 200, 0, -5, 9007199254740993, 9223372036854775807,
           -9223372036854775808, "null", "1"]
    with D.client() as c:
        for rid in ids:
            c.send({"op": "version", "id": rid})
            r = c.recv(5)
            assert r["id"] == rid and type(r["id"]) is type(rid), \
                "sent id %r, got %r" % (rid, r)
        # explicit null and absent id both give null
        r = one(c, b'{"op": "version", "id": null}\n')
        assert "id" in r and r["id"] is None and r.get("protocol") == 1, r
        r = one(c, b'{"op": "version"}\n')
        assert "id" in r and r["id"] is None and r.get("protocol") == 1, r
        # ids are echoed on errors too
        for rid in ["e\u00e9", 77, None]:
            c.send({"op": "probe", "id": rid, "host": "127.0.0.1",
                    "ttl": 999})
            r = c.recv(5)
            assert_error(r, "invalid-argument", "ttl", rid)
        # escapes written as \u sequences by the client
        r = one(c, b'{"op":"version","id":"\\u00e9\\ud83d\\ude00\\/"}\n')
        assert r["id"] == "\u00e9\U0001F600/", r


def test_connection_kept_after_many_errors():
    """Errors are never fatal: 200 bad lines, then a probe, on one
    connection; exactly one response per line."""
    with D.client() as c:
        lines = []
        for i in range(200):
            lines.append(b"garbage %d\n" % i if i % 2 else
                         b'{"op":"probe","id":%d,"host":"127.0.0.1",'
                         b'"ttl":"x"}\n' % i)
        c.send_raw(b"".join(lines))
        resp = c.collect(200, 10)
        nulls = [r for r in resp if r["id"] is None]
        ttls = sorted(r["id"] for r in resp if r["id"] is not None)
        assert len(nulls) == 100, len(nulls)
        for r in nulls:
            assert_error(r, "bad-request", rid=None)
        assert ttls == list(range(0, 200, 2)), ttls
        r = c.request({"op": "probe", "id": "p", "host": "127.0.0.1",
                       "timeout": 5}, timeout=10)
        H.assert_probe(r, "reply", "127.0.0.1", 4, rid="p")
        c.assert_nothing_more()


def main():
    H.require_real_mtr_packet()
    global D
    with H.Daemon("proto", workers=1,
                  config={"max_request_bytes": MAX}) as d:
        D = d
        tests = H.collect_tests(globals())
        failed = H.run_tests(tests)
        assert d.alive(), "daemon died during the test"
    H.finish(failed, len(tests))


if __name__ == "__main__":
    main()
