#!/usr/bin/env python3
"""mtrprobe-packet: mtr-packet's line protocol served through the daemon.

With the real mtr-packet behind the daemon: the exact reply lines of
send-probe (ICMP/UDP/TCP, IPv4/IPv6, ttl, mtr's own command shape),
check-support, unknown commands and parse errors; the same answers as
/usr/bin/mtr-packet for a corpus of good and malformed input (buffer
overflow, NUL, argument limits, token quirks); duplicate tokens; 1000
pipelined probes; mtr reports through it that list the same hops as plain
mtr; and mtr run as user nobody, without privileges.

With the stand-in mtr-packet (fake_mtr_packet.py): how result words, MPLS
stacks and the daemon's error answers (process-error, overloaded,
shutting-down) are written, and that an unreachable or lost daemon makes it
exit 1.

The program is found as $MTRPROBE_PACKET, else next to $MTRPROBED's
build tree (BUILD/client/mtrprobe-packet), else as build*/client/
mtrprobe-packet under the source tree."""

import os
import pwd
import re
import select
import shutil
import subprocess
import time

import harness as H

D = None              # the daemon with the real mtr-packet
RTT = r"round-trip-time \d+"
MTR = "/usr/bin/mtr"


def packet_path():
    """The mtrprobe-packet executable, or skip."""
    path = os.environ.get("MTRPROBE_PACKET")
    daemon = os.environ.get("MTRPROBED")
    if not path and daemon:
        # the build tree of the daemon under test (meson sets $MTRPROBED)
        cand = os.path.join(os.path.dirname(os.path.dirname(daemon)),
                            "client", "mtrprobe-packet")
        if os.access(cand, os.X_OK):
            path = cand
    if not path:
        root = os.path.dirname(os.path.dirname(H.TESTS_DIR))
        for entry in sorted(os.listdir(root)):
            cand = os.path.join(root, entry, "client", "mtrprobe-packet")
            if entry.startswith("build") and os.access(cand, os.X_OK):
                path = cand
                break
    if not path or not os.access(path, os.X_OK):
        H.skip("mtrprobe-packet executable not found (set $MTRPROBE_PACKET)")
    return path


def run_packet(sock, data, timeout=30, args=()):
    """Run mtrprobe-packet on data (str or bytes) to completion; returns
    (exit status, stdout lines, stderr text)."""
    if isinstance(data, str):
        data = data.encode()
    env = dict(os.environ, MTRPROBED_SOCKET=sock)
    r = subprocess.run([packet_path()] + list(args), input=data,
                       capture_output=True, timeout=timeout, env=env)
    return (r.returncode, r.stdout.decode("utf-8", "replace").splitlines(),
            r.stderr.decode("utf-8", "replace"))


def run_mtr_packet(data, timeout=30):
    """The real mtr-packet's answer lines to data."""
    if isinstance(data, str):
        data = data.encode()
    r = subprocess.run([H.REAL_MTR_PACKET], input=data, capture_output=True,
                       timeout=timeout)
    return r.stdout.decode("utf-8", "replace").splitlines()


def by_token(lines):
    """token -> list of the rest of each line, in arrival order."""
    out = {}
    for line in lines:
        tok, _, rest = line.partition(" ")
        out.setdefault(tok, []).append(rest)
    return out


def expect_lines(lines, expected):
    """Each (token, regex) of expected matches exactly one line, in any
    order, and nothing else came."""
    pool = list(lines)
    for tok, rx in expected:
        want = re.compile(re.escape(tok) + " " + rx)
        for i, line in enumerate(pool):
            if want.fullmatch(line):
                del pool[i]
                break
        else:
            raise AssertionError("no line for %s %r in %r" % (tok, rx, lines))
    assert not pool, "unexpected lines: %r" % pool


class Bridge:
    """An mtrprobe-packet fed line by line, read with timeouts."""

    def __init__(self, sock):
        env = dict(os.environ, MTRPROBED_SOCKET=sock)
        self.proc = subprocess.Popen([packet_path()], env=env,
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b""

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def line(self, timeout):
        """The next stdout line; AssertionError when none came in time."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError("no reply line within %ss" % timeout)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError("stdout closed; stderr: %r"
                                     % self.proc.stderr.read())
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def finish(self, timeout):
        """Close stdin; returns (exit status, rest of stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("mtrprobe-packet did not exit within %ss"
                                 % timeout)
        return (self.proc.returncode, (self.buf + out).decode(),
                err.decode())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        return False


# -------------------------------------------------------------------------
# with the real mtr-packet

def test_probe_lines():
    port = H.closed_tcp_port()
    cmds = [
        ("1", "send-probe ip-4 127.0.0.1 timeout 2",
         "reply ip-4 127.0.0.1 " + RTT),
        ("2", "send-probe ip-6 ::1 timeout 2", "reply ip-6 ::1 " + RTT),
        ("3", "send-probe ip-4 127.0.0.1 protocol udp timeout 2",
         "reply ip-4 127.0.0.1 " + RTT),
        ("4", "send-probe ip-6 ::1 protocol udp timeout 2",
         "reply ip-6 ::1 " + RTT),
        ("5", "send-probe ip-4 127.0.0.1 protocol tcp port %d timeout 2"
         % port, "reply ip-4 127.0.0.1 " + RTT),
        ("6", "send-probe ip-6 ::1 protocol tcp port %d timeout 2" % port,
         "reply ip-6 ::1 " + RTT),
        ("7", "send-probe ip-4 127.0.0.1 ttl 1 timeout 2",
         "reply ip-4 127.0.0.1 " + RTT),
        ("8", "send-probe ip-6 ::1 ttl 64 size 200 tos 16 bit-pattern 170 "
         "timeout 2", "reply ip-6 ::1 " + RTT),
        # exactly what mtr 0.95 sends
        ("33000", "send-probe ip-4 127.0.0.1 local-ip-4 127.0.0.1 protocol "
         "icmp size 64 bit-pattern 0 tos 0 ttl 1 timeout 10",
         "reply ip-4 127.0.0.1 " + RTT),
        ("33001", "send-probe ip-6 ::1 local-ip-6 ::1 protocol udp size 64 "
         "bit-pattern 0 tos 0 ttl 2 timeout 10 local-port %d"
         % H.free_port(), "reply ip-6 ::1 " + RTT),
        # the canonical form of the responder
        ("9", "send-probe ip-6 0:0:0:0:0:0:0:1 timeout 2",
         "reply ip-6 ::1 " + RTT),
        # unknown names ignored, the last ip-N and value win
        ("10", "send-probe colour blue ip-6 ::1 ip-4 127.0.0.1 ttl x ttl 5 "
         "timeout 2", "invalid-argument"),
        ("11", "send-probe colour blue ip-6 ::1 ip-4 127.0.0.1 ttl 5 "
         "timeout 2", "reply ip-4 127.0.0.1 " + RTT),
        # mtr -B 300 sends a negative pattern: its low byte counts
        ("12", "send-probe ip-4 127.0.0.1 bit-pattern -443 timeout 2",
         "reply ip-4 127.0.0.1 " + RTT),
        # icmp ignores ports (but local-port below 1024 is refused)
        ("13", "send-probe ip-4 127.0.0.1 port 7 local-port 2000 timeout 2",
         "reply ip-4 127.0.0.1 " + RTT),
        ("14", "send-probe ip-4 127.0.0.1 local-port 80 timeout 2",
         "invalid-argument"),
        ("15", "send-probe ip-4 localhost timeout 2", "invalid-argument"),
        ("16", "send-probe ip-4 ::1 timeout 2", "invalid-argument"),
        ("17", "send-probe ip-4 127.0.0.1 local-ip-4 ::1",
         "invalid-argument"),
        ("18", "send-probe ip-4 127.0.0.1 protocol gopher",
         "invalid-argument"),
        ("19", "send-probe timeout 2",
         "invalid-argument reason ip-version-not-supported"),
        # the daemon's ranges (mtr-packet would wrap these on some paths)
        ("20", "send-probe ip-4 127.0.0.1 ttl 300", "invalid-argument"),
        ("21", "send-probe ip-4 127.0.0.1 size 9001", "invalid-argument"),
    ]
    data = "".join("%s %s\n" % (t, c) for t, c, _ in cmds)
    rc, lines, err = run_packet(D.socket, data)
    assert rc == 0, (rc, err)
    assert err == "", err
    expect_lines(lines, [(t, rx) for t, _, rx in cmds])


def test_check_support():
    version = run_mtr_packet("1 check-support feature version\n")
    assert len(version) == 1 and version[0].startswith(
        "1 feature-support support "), version
    cmds = [("1", "check-support feature version", version[0][2:])]
    for f in ("send-probe", "ip-4", "ip-6", "icmp", "udp", "tcp"):
        cmds.append(("2", "check-support feature " + f,
                     "feature-support support ok"))
    cmds += [
        ("3", "check-support feature frobnicate",
         "feature-support support no"),
        ("4", "check-support feature FROB_NICATE",
         "feature-support support no"),
        ("5", "check-support feature " + "a" * 40,
         "feature-support support no"),
        # the first feature argument counts
        ("6", "check-support feature nope feature udp",
         "feature-support support no"),
        ("7", "check-support feature udp feature nope",
         "feature-support support ok"),
        ("8", "check-support colour blue", "invalid-argument"),
    ]
    data = "".join("%s %s\n" % (t, c) for t, c, _ in cmds)
    rc, lines, err = run_packet(D.socket, data)
    assert rc == 0, (rc, err)
    expect_lines(lines, [(t, re.escape(want)) for t, _, want in cmds])


def test_unknown_and_malformed():
    pairs = "".join(" n%d v" % i for i in range(16))
    data = ("1 frobnicate ip-4 127.0.0.1\n"
            "2 CHECK-SUPPORT feature udp\n"
            "\n"
            "   \n"
            "7\n"
            "8 send-probe ip-4\n"
            "9 check-support feature\n"
            "99999999999999999999 check-support feature udp\n"
            "10 check-support" + pairs + " feature udp\n"
            "11 check-support" + pairs + "\n"
            "\t12\tcheck-support\tfeature\tudp\r\n"
            "13abc check-support feature udp\n"
            "4294967297 check-support feature udp\n"
            "-5 check-support feature udp\n"
            "14 check-support feature udp")           # no newline: dropped
    rc, lines, err = run_packet(D.socket, data)
    assert rc == 0, (rc, err)
    expect_lines(lines, [
        ("1", "unknown-command"), ("2", "unknown-command"),
        ("0", "command-parse-error"), ("0", "command-parse-error"),
        ("0", "command-parse-error"), ("0", "command-parse-error"),
        ("0", "command-parse-error"), ("0", "command-parse-error"),
        ("0", "command-parse-error"),
        ("11", "invalid-argument"),
        ("12", "feature-support support ok"),
        ("13", "feature-support support ok"),
        ("1", "feature-support support ok"),
        ("-5", "feature-support support ok"),
    ])


def test_overflow_and_nul():
    long = "5 check-support feature udp a " + "b" * 5000
    data = ("1 check-support feature udp" + " " * 4060 + "\n"   # 4087 bytes
            + long + "\n"
            + "6 check-support feature udp\n"
            + "7 check-support feature udp\n8 check-\0support feature udp\n"
            + "9 check-support feature udp\n")
    rc, lines, err = run_packet(D.socket, data)
    assert rc == 0, (rc, err)
    # the first 4095 bytes of the long line overflow; its tail is a line of
    # its own ("bbb...", token 0 and no command); the NUL hides 8 and 9
    expect_lines(lines, [
        ("1", "feature-support support ok"),
        ("0", "command-buffer-overflow"), ("0", "command-parse-error"),
        ("6", "feature-support support ok"),
        ("7", "feature-support support ok"),
    ])


def test_same_answers_as_mtr_packet():
    """A corpus of good and bad input: the same lines as /usr/bin/mtr-packet,
    round-trip times aside."""
    pairs = "".join(" n%d v" % i for i in range(16))
    corpus = [
        "1 send-probe ip-4 127.0.0.1 timeout 1",
        "2 send-probe ip-6 ::1 protocol udp timeout 1",
        "3 send-probe ip-4 127.0.0.1 protocol tcp port %d timeout 1"
        % H.closed_tcp_port(),
        "4 send-probe ip-4 127.0.0.1 ttl abc",
        "5 send-probe",
        "6 send-probe ip-6 127.0.0.1",
        "7 send-probe ip-4 127.0.0.1 local-ip-6 127.0.0.1 timeout 1",
        "8 send-probe ip-4 127.0.0.1 protocol udp local-port 1023",
        "9 send-probe ip-4 127.0.0.1 port 5x",
        "10 send-probe ip-4 127.0.0.1 timeout 1.5",
        "x send-probe ip-4 127.0.0.1 timeout 1",
        "11 check-support feature version",
        "12 check-support feature mark",
        "13 check-support",
        "14 no-such-command",
        "15",
        "",
        " \t ",
        "16 send-probe ip-4",
        "17 check-support" + pairs + " feature icmp",
        "18 check-support" + pairs,
        "0x10 check-support feature icmp",
        "+19 check-support feature icmp",
        "20 check-support feature icmp" + " " * 4100,
        "21 send-probe ip-4 127.0.0.1 timeout 1 " + "z" * 9000,
        "22 send-probe ip-6 fe80::1%lo timeout 1",
    ]
    data = "\n".join(corpus) + "\n"

    def norm(lines):
        return sorted(re.sub(RTT, "round-trip-time N", l) for l in lines)

    want = norm(run_mtr_packet(data))
    rc, lines, err = run_packet(D.socket, data)
    assert rc == 0, (rc, err)
    got = norm(lines)
    assert got == want, "mtr-packet: %r\nmtrprobe-packet: %r" % (want, got)


def test_duplicate_tokens():
    data = ("5 send-probe ip-4 127.0.0.1 timeout 2\n"
            "5 check-support feature version\n"
            "5 send-probe ip-4 localhost\n"
            "5 send-probe ip-6 ::1 timeout 2\n")
    rc, lines, err = run_packet(D.socket, data)
    assert rc == 0, (rc, err)
    expect_lines(lines, [("5", "reply ip-4 127.0.0.1 " + RTT),
                         ("5", r"feature-support support \S+"),
                         ("5", "invalid-argument"),
                         ("5", "reply ip-6 ::1 " + RTT)])


def test_pipelined():
    """1000 commands at once: each token answered exactly once with a
    well-formed line.  (How many probes get through on a busy loopback is
    the daemon's business: test_pipeline.py.)"""
    n = 1000
    data = "".join("%d send-probe ip-4 127.0.0.1 protocol %s timeout 5\n"
                   % (33000 + i, "udp" if i % 2 else "icmp")
                   for i in range(n))
    t0 = time.monotonic()
    rc, lines, err = run_packet(D.socket, data, timeout=60)
    el = time.monotonic() - t0
    assert rc == 0, (rc, err)
    toks = by_token(lines)
    assert sorted(toks) == sorted(str(33000 + i) for i in range(n)), \
        "tokens differ"
    assert all(len(v) == 1 for v in toks.values())
    bad = [l for l in lines if not re.fullmatch(
        r"\d+ (reply ip-4 127\.0\.0\.1 %s|no-reply)" % RTT, l)]
    assert not bad, bad[:10]
    replies = sum(1 for l in lines if " reply " in l)
    H.log("%d probes in %.2fs, %d replies" % (n, el, replies))
    assert replies >= n // 2, "only %d replies" % replies


def test_unreachable_daemon():
    path = os.path.join(H.tmpdir("nosock"), "absent.sock")
    rc, lines, err = run_packet(path, "1 check-support feature udp\n")
    assert rc == 1, (rc, lines, err)
    assert lines == [], lines
    assert "cannot connect" in err and path in err, err


def hops(report):
    """(hop, host, loss, sent) of each hop line of an mtr -r report."""
    out = []
    for line in report.splitlines():
        m = re.match(r"\s*(\d+)\.\|--\s+(\S+)\s+([\d.]+)%\s+(\d+)\s", line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3),
                        int(m.group(4))))
    return out


def run_mtr(args, env_extra=None, user=None, timeout=60):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/",
           "LANG": "C"}
    env.update(env_extra or {})
    kw = {}
    if user is not None:
        kw = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    r = subprocess.run([MTR] + args, env=env, cwd="/", capture_output=True,
                       timeout=timeout, **kw)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


def require_mtr():
    if not os.access(MTR, os.X_OK):
        H.skip("%s is missing: install Debian package mtr-tiny" % MTR)


def test_mtr_same_hops():
    """mtr through mtrprobe-packet reports the hops plain mtr reports."""
    require_mtr()
    port = str(H.closed_tcp_port())
    bridged = {"MTR_PACKET": packet_path(), "MTRPROBED_SOCKET": D.socket}
    for extra in ([], ["-u"], ["-T", "-P", port]):
        for host in ("127.0.0.1", "::1"):
            args = ["-r", "-n", "-c", "2", "-i", "0.2", "-G", "0.5"] + \
                extra + [host]
            rc1, plain, err1 = run_mtr(args)
            rc2, via, err2 = run_mtr(args, bridged)
            H.log("mtr %s\n%s--- via mtrprobe-packet:\n%s"
                  % (" ".join(args), plain, via))
            assert rc1 == 0 and rc2 == 0, (rc1, err1, rc2, err2)
            assert err2 == "", err2
            assert hops(plain) == hops(via) == [(1, host, "0.0", 2)], \
                (plain, via)


def test_mtr_as_nobody():
    """An unprivileged mtr runs through mtrprobe-packet: hop 127.0.0.1, 0%
    loss."""
    require_mtr()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        H.skip("there is no user 'nobody'")
    # a copy nobody can reach (the build tree may not be), no capabilities
    bindir = H.tmpdir("pkt-bin")
    os.chmod(bindir, 0o755)
    exe = os.path.join(bindir, "mtrprobe-packet")
    shutil.copy(packet_path(), exe)
    os.chmod(exe, 0o755)
    rc, out, err = run_mtr(["-r", "-n", "-c", "2", "127.0.0.1"],
                           {"MTR_PACKET": exe,
                            "MTRPROBED_SOCKET": D.socket},
                           user=nobody)
    H.log("mtr as nobody:\n" + out + err)
    assert rc == 0, (rc, out, err)
    assert hops(out) == [(1, "127.0.0.1", "0.0", 2)], out
    assert err == "", err


# -------------------------------------------------------------------------
# with the stand-in mtr-packet

def test_fake_results():
    """Result words, responders and MPLS stacks as mtr-packet writes them."""
    fake = H.FakeMtrPacket(tag="pkt-fake")
    with H.Daemon("pkt-fake", workers=1, mtr_packet=fake.path) as d:
        data = ("1 send-probe ip-4 127.0.0.5 timeout 2\n"
                "2 send-probe ip-4 127.0.0.6 timeout 2\n"
                "3 send-probe ip-4 127.0.0.10 timeout 2\n"
                "4 send-probe ip-4 127.0.0.11 timeout 2\n"
                "5 send-probe ip-4 127.0.0.13 timeout 2\n"
                "6 send-probe ip-4 127.0.0.8 timeout 1\n"
                "7 send-probe ip-6 ::1 timeout 2\n"
                "8 check-support feature version\n")
        rc, lines, err = run_packet(d.socket, data)
        assert rc == 0, (rc, err)
        expect_lines(lines, [
            ("1", re.escape("ttl-expired ip-4 127.0.0.1 round-trip-time 1234"
                            " mpls 100,0,1,255,200,3,0,64")),
            ("2", re.escape("ttl-expired ip-4 127.0.0.1 round-trip-time 1234"
                            " mpls 100,0,1,255")),
            ("3", "network-down"),
            ("4", "unexpected-error"),
            ("5", re.escape("no-route ip-4 127.0.0.1 round-trip-time 500")),
            ("6", "no-reply"),
            ("7", re.escape("reply ip-6 ::1 round-trip-time 100")),
            ("8", re.escape("feature-support support 0.95")),
        ])
        # a worker that dies on the probe, and again on its retry:
        # process-error
        rc, lines, err = run_packet(d.socket,
                                    "9 send-probe ip-4 127.0.0.9 timeout 5\n")
        assert rc == 0, (rc, err)
        assert lines == ["9 unexpected-error"], lines


def test_fake_overloaded():
    """The daemon's overloaded is mtr-packet's probes-exhausted."""
    fake = H.FakeMtrPacket(tag="pkt-ovl")
    n = 300
    with H.Daemon("pkt-ovl", workers=1, mtr_packet=fake.path,
                  config={"max_queued": 10}) as d:
        data = "".join("%d send-probe ip-4 127.0.0.2 timeout 1\n" % (100 + i)
                       for i in range(n))
        rc, lines, err = run_packet(d.socket, data)
        assert rc == 0, (rc, err)
        toks = by_token(lines)
        assert sorted(toks) == sorted(str(100 + i) for i in range(n))
        words = [w for v in toks.values() for w in v]
        assert set(words) <= {"probes-exhausted", "no-reply"}, set(words)
        assert words.count("probes-exhausted") >= 1, words
        assert words.count("no-reply") >= 10, words


def test_fake_shutting_down():
    """A probe cut short by the daemon's shutdown is unexpected-error; with
    nothing outstanding the closed connection is no error."""
    fake = H.FakeMtrPacket(tag="pkt-shut")
    with H.Daemon("pkt-shut", workers=1, mtr_packet=fake.path,
                  config={"shutdown_timeout": 1}) as d:
        with Bridge(d.socket) as b:
            b.send("1 send-probe ip-4 127.0.0.1 timeout 20\n")
            assert re.fullmatch("1 reply ip-4 127.0.0.1 " + RTT,
                                b.line(10))
            b.send("2 send-probe ip-4 127.0.0.2 timeout 30\n")
            time.sleep(0.5)
            d.stop()
            assert b.line(10) == "2 unexpected-error"
            rc, rest, err = b.finish(10)
            assert rc == 0 and rest == "", (rc, rest, err)


def test_fake_connection_lost():
    """The daemon dies with answers outstanding: exit 1, said on stderr,
    after writing the answers that came."""
    fake = H.FakeMtrPacket(tag="pkt-lost")
    with H.Daemon("pkt-lost", workers=1, mtr_packet=fake.path,
                  expect_exit=None) as d:
        with Bridge(d.socket) as b:
            b.send("1 send-probe ip-4 127.0.0.2 timeout 30\n"
                   "2 send-probe ip-4 127.0.0.1 timeout 30\n")
            assert b.line(10) == "2 reply ip-4 127.0.0.1 round-trip-time 100"
            d.kill()
            t0 = time.monotonic()
            b.proc.wait(timeout=10)
            rc, rest, err = b.finish(10)
            assert time.monotonic() - t0 < 5
            assert rc == 1, (rc, rest, err)
            assert rest == "", rest
            assert "lost the connection" in err, err


def main():
    H.require_real_mtr_packet()
    packet_path()
    global D
    failed = []
    tests = H.collect_tests(globals())
    inner = [t for t in tests if not t[0].startswith("test_fake_")]
    # socket_mode 0666 and a 0755 directory: user nobody may connect
    with H.Daemon("packet", workers=2, config={"socket_mode": "0666"}) as d:
        os.chmod(d.dir, 0o755)
        D = d
        failed += H.run_tests(inner)
        assert d.alive(), "daemon died during the test"
    failed += H.run_tests([t for t in tests if t not in inner])
    H.finish(failed, len(tests))


if __name__ == "__main__":
    main()
