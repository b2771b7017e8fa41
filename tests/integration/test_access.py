#!/usr/bin/env python3
"""Access control and per-user limits of mtrprobed.

What is checked (see daemon/access.c, daemon/conn.c, daemon/sched.c):
  - allow_users / allow_groups from SO_PEERCRED: refused peers get exactly
    one permission-denied line, then EOF, and the uid is logged; root is
    always allowed; supplementary groups (from the user database) and the
    peer's primary gid count;
  - admin_users / admin_groups: only admins may set `mark`, or a `local_ip`
    other than the route's own source address, on probes and traces;
  - max_pps and uid_max_pps (token buckets: probes wait, none is dropped);
  - uid_max_inflight (one user's requests outstanding across connections);
  - max_connections_per_uid;
  - fairness: one probe of a second connection overtakes a 50000-probe
    backlog;
  - SIGHUP reload of the allow lists (new connections only).

How other users are simulated: a forked child drops to the user (setgroups,
setgid, setuid), connect()s to the daemon's socket and hands the connected
socket back to the test over SCM_RIGHTS.  The kernel records SO_PEERCRED at
connect() time, so the daemon sees that user for the whole life of the
connection, whoever reads and writes it afterwards.  The socket lives in a
0755 directory with socket_mode 0666 so that every user can open it.

Probes go only to 127.0.0.1 and ::1 (THE NETWORK RULE), of a network
namespace the script creates (see NETNS); no DNS is used (literals, and a
hosts_file for the one name).

Needs root (mtr-packet, setuid) and the users nobody, daemon, bin.  A group
with a supplementary member is taken from /etc/group when one exists; else a
temporary group is created with groupadd and removed at the end.
"""

import grp
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time

import harness as H

# root is not held to the per-uid limits (sched.c uid_bucket(), conn.c);
# test_pps_limits checks that root's probes are not slowed by uid_max_pps.
ROOT_EXEMPT_FROM_UID_MAX_PPS = True

DENIED_LINE = (b'{"id":null,"error":{"code":"permission-denied","message":'
               b'"connection: this user may not use the daemon"}}')
PER_UID_LINE = (b'{"id":null,"error":{"code":"overloaded","message":'
                b'"connection: max_connections_per_uid reached"}}')


# --------------------------------------------------------------------------
# users

class User:
    def __init__(self, name, uid, gid, groups):
        self.name, self.uid, self.gid, self.groups = name, uid, gid, groups

    def __repr__(self):
        return "%s(uid %d, gid %d, groups %r)" % (self.name, self.uid,
                                                 self.gid, self.groups)


def user(name, gid=None, groups=None):
    """A user from the passwd database; its supplementary groups are what
    initgroups() would give it unless groups is given."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        H.skip("user %r is missing from /etc/passwd (the test needs the "
               "users nobody, daemon and bin)" % name)
    g = pw.pw_gid if gid is None else gid
    if groups is None:
        groups = os.getgrouplist(name, pw.pw_gid)
    return User(name, pw.pw_uid, g, list(groups))


class FdClient(H.Client):
    """harness.Client over a socket connected elsewhere."""

    def __init__(self, sock, timeout=10):
        self.path = None
        self.timeout = timeout
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.pending = []
        self.eof = False


def connect_as(path, u, timeout=10):
    """A Client connected to path by a child running as user u."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:                       # the child: no locks, no logging
        code = 1
        try:
            parent.close()
            os.setgroups(u.groups)
            os.setgid(u.gid)
            os.setuid(u.uid)
            if os.getuid() != u.uid or os.geteuid() != u.uid or \
                    os.getgid() != u.gid:
                raise RuntimeError("credentials not dropped")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(path)
            socket.send_fds(child, [b"OK"], [s.fileno()])
            code = 0
        except BaseException as e:
            try:
                child.sendall(b"ERR " + repr(e).encode()[:500])
            except BaseException:
                pass
        finally:
            os._exit(code)
    child.close()
    try:
        parent.settimeout(timeout)
        msg, fds, _, _ = socket.recv_fds(parent, 1024, 1)
    finally:
        parent.close()
        os.waitpid(pid, 0)
    if msg != b"OK" or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise AssertionError("connecting as %r failed: %r" % (u, msg))
    return FdClient(socket.socket(fileno=fds[0]), timeout=timeout)


def expect_one_line_then_eof(c, want, what, allow_reset=False):
    """c receives exactly the line want, then the daemon closes: EOF, or
    (allow_reset) ECONNRESET, which Linux reports after the queued data when
    the daemon closes a socket holding a request it never read."""
    data, how = c.buf, None
    deadline = time.monotonic() + 5
    while how is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("%s: not closed within 5 s; got %r"
                                 % (what, data))
        c.sock.settimeout(remaining)
        try:
            chunk = c.sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            how = "reset"
            break
        if not chunk:
            how = "eof"
        data += chunk
    c.buf = b""
    assert data == want + b"\n", "%s: expected exactly %r then EOF, got %r" \
        % (what, want, data)
    assert how == "eof" or allow_reset, "%s: connection reset after %r" % (
        what, data)
    H.parse_response(want)          # framing: compact, id first
    return how


def probe_ok(c, rid, host="127.0.0.1", **fields):
    req = {"op": "probe", "id": rid, "host": host, "timeout": 5}
    req.update(fields)
    r = c.request(req, timeout=10)
    H.assert_probe(r, "reply", host, 6 if ":" in host else 4, rid=rid)
    return r


def trace_ok(c, rid, host="127.0.0.1", **fields):
    req = {"op": "trace", "id": rid, "host": host, "max_ttl": 3, "count": 1,
           "timeout": 2}
    req.update(fields)
    r = c.request(req, timeout=15)
    assert "error" not in r, "trace failed: %r" % r
    assert r["id"] == rid and r["address"] == host and r["reached"] is True \
        and r["hops"] and r["hops"][-1]["responders"][0]["address"] == host, r
    return r


def version_ok(c, rid="v"):
    r = c.request({"op": "version", "id": rid}, timeout=10)
    assert "error" not in r and r["id"] == rid, r
    return r


# The network namespace every daemon of this script runs in (set in main):
# its loopback is ours alone.  Raw ICMP sockets see every ICMP packet of
# their namespace, so another program flooding 127.0.0.1 at the same time
# (other test suites, benchmarks) would otherwise fill mtr-packet's receive
# buffer and turn some of our replies into no-reply.
NETNS = None


def access_daemon(tag, config=None, **kw):
    """A Daemon whose socket every local user can open (the socket is a
    file: reachable from outside the daemon's network namespace)."""
    cfg = {"socket_mode": "0666"}
    cfg.update(config or {})
    d = H.Daemon(tag, config=cfg, netns=NETNS, **kw)
    os.chmod(d.dir, 0o755)
    return d


def log_count(d, text):
    return d.stderr().count(text)


def wait_log(d, text, n=1, timeout=5):
    H.wait_until(lambda: log_count(d, text) >= n, timeout, 0.02,
                 "%r in the daemon's log" % text)


def check_no_errors(s):
    H.check_stats_shape(s)
    bad = {k: v for k, v in s["errors"].items() if v}
    assert not bad, "stats counted errors: %r" % bad


# --------------------------------------------------------------------------
# 1. allow_users

def test_allow_users():
    nobody, daemon_u = user("nobody"), user("daemon")
    with access_daemon("allowu", {"allow_users": "daemon"}) as d:
        # refused: exactly one line, then EOF
        c = connect_as(d.socket, nobody)
        expect_one_line_then_eof(c, DENIED_LINE, "nobody")
        c.close()
        wait_log(d, "refused a connection from uid 65534")
        # no request is read from a refused connection, even one sent at once
        c = connect_as(d.socket, nobody)
        try:
            c.send({"op": "probe", "id": 1, "host": "127.0.0.1"})
        except OSError:
            pass                          # the daemon may have closed already
        how = expect_one_line_then_eof(c, DENIED_LINE, "nobody with a request",
                                       allow_reset=True)
        H.log("refused connection with an unread request ended by %s" % how)
        c.close()
        # the allowed user probes, over IPv4 and IPv6
        with connect_as(d.socket, daemon_u) as c:
            probe_ok(c, "d1")
            probe_ok(c, "d2", host="::1")
        # root always
        with d.client() as c:
            probe_ok(c, "root")
        s = d.stats()
        assert s["clients"]["connected"] == 1, s["clients"]
        assert s["probes"]["results"]["reply"] == 3, s["probes"]
        assert "refused a connection from uid 1 " not in d.stderr()
        assert "refused a connection from uid 0 " not in d.stderr()
    # numeric ids in the list
    with access_daemon("allowun", {"allow_users": "65534"}) as d:
        with connect_as(d.socket, nobody) as c:
            probe_ok(c, "n")
        c = connect_as(d.socket, daemon_u)
        expect_one_line_then_eof(c, DENIED_LINE, "daemon, not in [65534]")
        c.close()
        wait_log(d, "refused a connection from uid 1 ")
    # both lists empty: everyone who can open the socket
    with access_daemon("allowall") as d:
        for u in (nobody, daemon_u):
            with connect_as(d.socket, u) as c:
                probe_ok(c, u.name)
        assert "refused" not in d.stderr(), d.stderr()


# --------------------------------------------------------------------------
# 2. allow_groups

def find_supplementary_member():
    """(group, user) from /etc/group: the user is a listed member of group,
    whose gid is not the user's primary gid; None if there is none."""
    for g in sorted(grp.getgrall(), key=lambda g: g.gr_gid):
        if g.gr_gid == 0:
            continue
        for m in g.gr_mem:
            try:
                pw = pwd.getpwnam(m)
            except KeyError:
                continue
            if pw.pw_uid != 0 and pw.pw_gid != g.gr_gid and \
                    pw.pw_uid not in (1, 2):
                return g.gr_name, m
    return None


class TempGroup:
    """A group with nobody as its only member, deleted on exit."""

    def __init__(self):
        self.name = "mtrpt%d" % (os.getpid() % 100000)

    def __enter__(self):
        for tool in ("groupadd", "gpasswd", "groupdel"):
            if not any(os.access(os.path.join(p, tool), os.X_OK)
                       for p in ("/usr/sbin", "/sbin", "/usr/bin")):
                H.skip("no group in /etc/group has a supplementary member "
                       "and %s is missing (Debian package passwd)" % tool)
        subprocess.run(["groupdel", self.name], capture_output=True,
                       timeout=10)
        r = subprocess.run(["groupadd", self.name], capture_output=True,
                           timeout=10)
        if r.returncode != 0:
            H.skip("groupadd %s failed: %s" % (self.name, r.stderr))
        try:
            subprocess.run(["gpasswd", "-a", "nobody", self.name],
                           capture_output=True, timeout=10, check=True)
        except BaseException:
            self.__exit__()
            raise
        H.log("created temporary group %s with member nobody" % self.name)
        return self

    def __exit__(self, *exc):
        subprocess.run(["groupdel", self.name], capture_output=True,
                       timeout=10)
        return False


def test_allow_groups():
    found = find_supplementary_member()
    if found:
        gname, uname = found
        H.log("using existing group %s with supplementary member %s"
              % (gname, uname))
        _allow_groups(gname, uname)
    else:
        with TempGroup() as g:
            _allow_groups(g.name, "nobody")


def _allow_groups(gname, uname):
    gid = grp.getgrnam(gname).gr_gid
    member = user(uname)
    assert gid in member.groups and gid != member.gid, member
    outsider = next(user(n) for n in ("nobody", "daemon", "bin")
                    if n != uname)
    assert gid not in os.getgrouplist(outsider.name, outsider.gid)
    bin_u = user("bin")
    with access_daemon("allowg", {"allow_groups": "%s, bin" % gname}) as d:
        # supplementary membership (in the user database)
        with connect_as(d.socket, member) as c:
            probe_ok(c, "supp")
        # the same user even with its supplementary groups dropped in the
        # process: the daemon asks the user database (getgrouplist), not the
        # process (SO_PEERCRED carries uid and primary gid only)
        dropped = User(member.name, member.uid, member.gid, [member.gid])
        with connect_as(d.socket, dropped) as c:
            probe_ok(c, "supp-dropped")
        # primary gid by the user database: bin (gid 2) is in group bin
        with connect_as(d.socket, bin_u) as c:
            probe_ok(c, "primary")
        # primary gid of the process (SO_PEERCRED): the outsider running
        # with gid `bin`, as after newgrp/sg, is allowed
        as_bin = User(outsider.name, outsider.uid, 2, [2])
        with connect_as(d.socket, as_bin) as c:
            probe_ok(c, "peer-gid")
        # the outsider with its own groups: refused
        c = connect_as(d.socket, outsider)
        expect_one_line_then_eof(c, DENIED_LINE, "outsider %r" % outsider)
        c.close()
        wait_log(d, "refused a connection from uid %d " % outsider.uid)
        # the outsider holding the group as a supplementary group of the
        # *process* only (not listed in /etc/group): refused, since only
        # the user database counts (documented: "the supplementary groups
        # of its user")
        sneaky = User(outsider.name, outsider.uid, outsider.gid,
                      [outsider.gid, gid])
        c = connect_as(d.socket, sneaky)
        expect_one_line_then_eof(c, DENIED_LINE, "outsider + process group")
        c.close()
        with d.client() as c:
            probe_ok(c, "root")


# --------------------------------------------------------------------------
# 3. admin: mark and local_ip

def test_admin_fields():
    daemon_u, bin_u = user("daemon"), user("bin")
    d = access_daemon("admin", {"admin_users": "bin"},
                      hosts="127.0.0.1 lo4.test\n")
    with d:
        nonadmin = connect_as(d.socket, daemon_u)
        admin = connect_as(d.socket, bin_u)
        root = d.client()
        n0 = log_count(d, "refused 'mark' to uid 1 ")
        for op in ("probe", "trace"):
            extra = {} if op == "probe" else {"max_ttl": 3, "count": 1,
                                               "timeout": 2}

            def ask(c, rid, **f):
                req = {"op": op, "id": rid, "host": f.pop("host", "127.0.0.1")}
                req.update(extra)
                req.update(f)
                return c.request(req, timeout=15)

            ok = probe_ok if op == "probe" else trace_ok
            # non-admin: mark (any value, 0 included) refused
            for m in (7, 0):
                r = ask(nonadmin, "m%d" % m, mark=m)
                H.assert_error(r, "permission-denied", "mark: ",
                               rid="m%d" % m)
            # mark comes first when both are given
            r = ask(nonadmin, "ml", mark=7, local_ip="127.0.0.2")
            H.assert_error(r, "permission-denied", "mark: ", rid="ml")
            # non-admin: the route's own source (what mtr sends) is fine
            ok(nonadmin, "own4", local_ip="127.0.0.1")
            ok(nonadmin, "own6", host="::1", local_ip="::1")
            # ... also written non-canonically (compared after parsing)
            ok(nonadmin, "own6long", host="::1", local_ip="0:0:0:0:0:0:0:1")
            # any other source address: refused
            r = ask(nonadmin, "other", local_ip="127.0.0.2")
            H.assert_error(r, "permission-denied", "local_ip: ",
                           rid="other")
            # the other family steers nothing: everyone gets the same
            # host-resolve-error as an admin does (below)
            r = ask(nonadmin, "fam", local_ip="::1")
            H.assert_error(r, "host-resolve-error", "local_ip: ", rid="fam")
            # a name, even one for the route's own source: only literals
            # are compared, so refused
            r = ask(nonadmin, "name", local_ip="lo4.test")
            H.assert_error(r, "permission-denied", "local_ip: ", rid="name")
            # the connection stays usable after refusals
            ok(nonadmin, "after")
            # admin (admin_users = bin) and root
            for who, c in (("admin", admin), ("root", root)):
                ok(c, who + "-mark", mark=7)
                ok(c, who + "-mark0", mark=0)
                ok(c, who + "-src", local_ip="127.0.0.2")
                ok(c, who + "-name", local_ip="lo4.test")
                r = ask(c, who + "-fam", local_ip="::1")
                H.assert_error(r, "host-resolve-error",
                               "local_ip: ::1 is not an IPv4 address",
                               rid=who + "-fam")
        # refusals are logged with the uid (rate-limited: 10 per 10 s,
        # shared with refused connections)
        assert log_count(d, "refused 'mark' to uid 1 ") > n0, d.stderr()
        assert "refused 'local_ip' to uid 1 " in d.stderr(), d.stderr()
        assert "to uid 2 " not in d.stderr() and \
            "to uid 0 " not in d.stderr(), d.stderr()
        s = d.stats()
        assert s["errors"]["permission-denied"] == 2 * 5, s["errors"]  # probe and trace: mark 7, mark 0, mark with local_ip, 127.0.0.2, a name
        for c in (nonadmin, admin, root):
            c.assert_nothing_more(0.2)
            c.close()
    # admin_groups: a member of the group is an admin
    with access_daemon("admg", {"admin_groups": "daemon"}) as d:
        with connect_as(d.socket, daemon_u) as c:
            probe_ok(c, "g", mark=7)
        with connect_as(d.socket, bin_u) as c:
            H.assert_error(c.request({"op": "probe", "id": 1,
                                      "host": "127.0.0.1", "mark": 7}),
                           "permission-denied", "mark: ", rid=1)


# --------------------------------------------------------------------------
# 4. max_pps and uid_max_pps

def timed_probes(c, n, prefix, result):
    """Pipeline n probes to 127.0.0.1 on c; store (seconds, answers)."""
    t0 = time.monotonic()
    c.send_raw(b"".join(H.probe_lines(n, prefix, host="127.0.0.1",
                                      timeout=20)))
    answers = c.collect(n, 30)
    result[prefix] = (time.monotonic() - t0, answers)


def check_all_replies(answers, n, prefix):
    ids = [a["id"] for a in answers]
    assert sorted(ids) == sorted("%s%d" % (prefix, i) for i in range(n)), \
        "ids of %s answers differ" % prefix
    for a in answers:
        H.assert_probe(a, "reply", "127.0.0.1", 4, check_id=False)


def test_pps_limits():
    res = {}
    with access_daemon("pps", {"max_pps": 200}) as d:
        with d.client(timeout=30) as c:
            timed_probes(c, 400, "g", res)
        secs, answers = res["g"]
        H.log("max_pps 200: 400 probes in %.2fs (expected ~1.95)" % secs)
        check_all_replies(answers, 400, "g")
        assert 1.5 <= secs <= 10, "400 probes at max_pps 200 took %.2fs" % secs
        s = d.stats()
        check_no_errors(s)
        assert s["probes"]["results"]["reply"] == 400, s["probes"]
        assert s["probes"]["started"] == s["probes"]["completed"] == 400, s
    # uid_max_pps: two users at once, each at its own rate
    res = {}
    with access_daemon("upps", {"uid_max_pps": 100}) as d:
        ca = connect_as(d.socket, user("daemon"), timeout=30)
        cb = connect_as(d.socket, user("bin"), timeout=30)
        ts = [threading.Thread(target=timed_probes, args=(c, 200, p, res))
              for c, p in ((ca, "u1-"), (cb, "u2-"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        ca.close()
        cb.close()
        for p in ("u1-", "u2-"):
            assert p in res, "uid probes %s did not finish" % p
            secs, answers = res[p]
            H.log("uid_max_pps 100: 200 probes of uid %s in %.2fs "
                  "(expected ~1.95)" % (p, secs))
            check_all_replies(answers, 200, p)
            assert secs >= 1.5, "%s: 200 probes at 100/s in %.2fs" % (p, secs)
            # a shared bucket would need ~3.95 s for both
            assert secs < 3.3, "%s: 200 probes at 100/s took %.2fs: the " \
                "two uids' rates are not independent" % (p, secs)
        with d.client(timeout=30) as c:
            timed_probes(c, 200, "root-", res)
        secs, answers = res["root-"]
        check_all_replies(answers, 200, "root-")
        H.log("uid_max_pps 100: 200 probes of root in %.2fs" % secs)
        if ROOT_EXEMPT_FROM_UID_MAX_PPS:
            assert secs < 1.5, "root's probes were rate-limited: %.2fs" % secs
        else:
            assert 1.5 <= secs < 3.3, \
                "root's 200 probes at uid_max_pps 100 took %.2fs" % secs
        check_no_errors(d.stats())


# --------------------------------------------------------------------------
# 5. uid_max_inflight

SLOW_STANDIN = r'''
import heapq, os, select, sys, time
delay = float(sys.argv[1])
log = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
timers, buf, seq = [], b"", 0
while True:
    timeout = max(0.0, timers[0][0] - time.monotonic()) if timers else None
    r, _, _ = select.select([0], [], [], timeout)
    while timers and timers[0][0] <= time.monotonic():
        _, _, data = heapq.heappop(timers)
        os.write(1, data)
        os.write(log, b"R %.6f\n" % time.monotonic())
    if not r:
        continue
    chunk = os.read(0, 65536)
    if not chunk:
        os._exit(0)
    buf += chunk
    while b"\n" in buf:
        line, _, buf = buf.partition(b"\n")
        w = line.decode("utf-8", "replace").split()
        if len(w) < 2:
            continue
        tok, cmd, args = w[0], w[1], dict(zip(w[2::2], w[3::2]))
        if cmd == "check-support":
            f = args.get("feature")
            os.write(1, ("%s feature-support support %s\n" % (
                tok, "0.95" if f == "version" else "ok")).encode())
        elif cmd == "send-probe":
            fam = "ip-4" if "ip-4" in args else "ip-6"
            os.write(log, b"S %.6f\n" % time.monotonic())
            seq += 1
            heapq.heappush(timers, (time.monotonic() + delay, seq, (
                "%s reply %s %s round-trip-time %d\n" % (
                    tok, fam, args[fam], int(delay * 1e6))).encode()))
        else:
            os.write(1, ("%s unknown-command\n" % tok).encode())
'''


def slow_standin(delay):
    """An mtr-packet stand-in answering every probe `reply` after delay s
    (fake_mtr_packet.py's only slow target waits a fixed 1.5 s, which would
    make 100 probes 5 at a time take 30 s).  Returns (path, log path)."""
    d = H.tmpdir("slow")
    script = os.path.join(d, "slow_mtr_packet.py")
    with open(script, "w") as f:
        f.write(SLOW_STANDIN)
    path = os.path.join(d, "mtr-packet")
    logp = os.path.join(d, "probes.log")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s %s %s %s\n" % (
            sys.executable, script, delay, logp))
    os.chmod(path, 0o755)
    return path, logp


def max_overlap(logp):
    """The most probes the stand-ins held at once (S +1, R -1)."""
    ev = []
    with open(logp) as f:
        for line in f:
            k, t = line.split()
            ev.append((float(t), 1 if k == "S" else -1))
    ev.sort(key=lambda e: (e[0], e[1]))     # a reply before a send at a tie
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best, sum(1 for e in ev if e[1] == 1)


def test_uid_max_inflight():
    cap, per_conn, delay = 5, 50, 0.2
    path, logp = slow_standin(delay)
    with access_daemon("uinf", {"uid_max_inflight": cap},
                       mtr_packet=path, workers=2) as d:
        daemon_u = user("daemon")
        conns = [connect_as(d.socket, daemon_u, timeout=60) for _ in range(2)]
        got = [[] for _ in conns]
        errors = []

        def reader(i):
            try:
                for _ in range(per_conn):
                    got[i].append((time.monotonic(), conns[i].recv(30)))
            except BaseException as e:
                errors.append(e)

        st = d.client()
        t0 = time.monotonic()
        for i, c in enumerate(conns):
            c.send_raw(b"".join(H.probe_lines(per_conn, "c%d-" % i,
                                              host="127.0.0.1")))
        readers = [threading.Thread(target=reader, args=(i,), daemon=True)
                   for i in range(len(conns))]
        for t in readers:
            t.start()
        samples, seen_max, other = 0, 0, None
        while any(t.is_alive() for t in readers):
            p = st.request({"op": "stats", "id": "s"})["probes"]
            out = p["in_flight"] + p["queued"] + p["resolving"]
            assert out <= cap, "uid %d has %d probes outstanding " \
                "(cap %d): %r" % (daemon_u.uid, out, cap, p)
            seen_max = max(seen_max, p["in_flight"])
            samples += 1
            if other is None and time.monotonic() - t0 > 1.0:
                # another uid is not held back by this uid's cap
                with connect_as(d.socket, user("bin")) as cb:
                    t1 = time.monotonic()
                    probe_ok(cb, "other")
                    other = time.monotonic() - t1
            if time.monotonic() - t0 > 40:
                raise AssertionError("uid_max_inflight run took over 40 s")
            time.sleep(0.01)
        total = time.monotonic() - t0
        assert not errors, errors
        H.log("uid_max_inflight %d: 2x%d probes (%.1fs each) in %.2fs; "
              "%d stats samples, max in_flight %d; another uid's probe took "
              "%.2fs" % (cap, per_conn, delay, total, samples, seen_max,
                         other or -1))
        for i in range(len(conns)):
            ids = [a["id"] for _, a in got[i]]
            assert sorted(ids) == sorted("c%d-%d" % (i, k)
                                         for k in range(per_conn)), \
                "connection %d: answers %r" % (i, sorted(ids))
            for _, a in got[i]:
                H.assert_probe(a, "reply", "127.0.0.1", 4, check_id=False)
            conns[i].assert_nothing_more(0.2)
        assert seen_max == cap, "in_flight never reached the cap %d (max " \
            "%d): the test did not exercise it" % (cap, seen_max)
        # the cap applies across the two connections: 100 answers, 5 at a
        # time, 0.2 s each -> about 4 s
        assert total >= (2 * per_conn / cap) * delay * 0.9, total
        # neither connection of the uid waited for the other to finish
        first_done = min(got[0][-1][0], got[1][-1][0])
        assert got[0][0][0] < first_done and got[1][0][0] < first_done, \
            "one connection of the uid was served only after the other"
        overlap, sent = max_overlap(logp)
        # the other uid's probe is the only one allowed beyond the cap
        assert sent == 2 * per_conn + 1, sent
        assert overlap <= cap + 1, \
            "mtr-packet held %d probes at once" % overlap
        assert other is not None and other < 1.0, other
        s = st.request({"op": "stats", "id": "end"})
        check_no_errors(s)
        st.close()
        for c in conns:
            c.close()


# --------------------------------------------------------------------------
# 6. max_connections_per_uid

def test_max_connections_per_uid():
    daemon_u, bin_u = user("daemon"), user("bin")
    with access_daemon("perconn", {"max_connections_per_uid": 3}) as d:
        mine = [connect_as(d.socket, daemon_u) for _ in range(3)]
        for i, c in enumerate(mine):
            version_ok(c, "v%d" % i)
        c4 = connect_as(d.socket, daemon_u)
        expect_one_line_then_eof(c4, PER_UID_LINE, "4th connection")
        c4.close()
        wait_log(d, "refusing a connection from uid 1 ")
        # the other connections of that uid are untouched
        for i, c in enumerate(mine):
            probe_ok(c, "p%d" % i)
        # other uids are not limited by it (3 each is their own limit)
        others = [connect_as(d.socket, bin_u) for _ in range(3)]
        for c in others:
            probe_ok(c, "bin")
        roots = [d.client() for _ in range(3)]
        for c in roots:
            version_ok(c)
        # a 4th of bin is refused too; root is not held to per-uid limits
        c = connect_as(d.socket, bin_u)
        expect_one_line_then_eof(c, PER_UID_LINE, "bin's 4th connection")
        c.close()
        with d.client() as c:
            version_ok(c, "root-4")
        # closing one frees a place
        mine.pop().close()
        # watch through an open root connection
        H.wait_until(lambda: roots[0].request({"op": "stats", "id": "s"})
                     ["clients"]["connected"] == 2 + 3 + 3, 5, 0.02,
                     "the closed connection to be gone")
        c = connect_as(d.socket, daemon_u)
        probe_ok(c, "again")
        mine.append(c)
        c = connect_as(d.socket, daemon_u)
        expect_one_line_then_eof(c, PER_UID_LINE, "4th again")
        c.close()
        for c in mine + others + roots:
            c.close()


# --------------------------------------------------------------------------
# 7. fairness

def test_fairness():
    n = 50000
    # room for A's 50000 requests and their answers (about 2 KiB reserved each)
    with access_daemon("fair", {"max_inflight_per_client": 100000,
                                "client_max_answer_bytes": 256 << 20,
                                "max_queued": 200000}) as d:
        a = d.client(timeout=60)
        b = connect_as(d.socket, user("daemon"))
        st = d.client()
        got = []
        errors = []

        def reader():
            try:
                for _ in range(n):
                    got.append(a.recv(60))
            except BaseException as e:
                errors.append(e)

        t0 = time.monotonic()
        sender = a.send_many_threaded(H.probe_lines(n, "a", host="127.0.0.1",
                                                    timeout=30))
        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
        peak = [0]

        def big_backlog():
            q = st.request({"op": "stats", "id": "s"})["probes"]["queued"]
            peak[0] = max(peak[0], q)
            return q > 10000
        H.wait_until(big_backlog, 20, 0.01, "A's backlog above 10000")
        tb = time.monotonic()
        rb = b.request({"op": "probe", "id": "b", "host": "127.0.0.1",
                        "timeout": 30}, timeout=10)
        b_secs = time.monotonic() - tb
        a_answered = len(got)
        after = st.request({"op": "stats", "id": "s2"})["probes"]
        H.log("fairness: A's queue at %d when B asked; B answered in "
              "%.3fs; then A had %d of %d answers and %d queued"
              % (peak[0], b_secs, a_answered, n, after["queued"]))
        H.assert_probe(rb, "reply", "127.0.0.1", 4, rid="b")
        assert b_secs < 1.0, "B's one probe took %.3fs behind A's backlog" \
            % b_secs
        assert after["queued"] > 0 or a_answered < n, \
            "A's backlog drained before B was answered"
        rt.join(60)
        sender.join(10)
        total = time.monotonic() - t0
        assert not errors and not sender.errors, (errors, sender.errors)
        assert len(got) == n, len(got)
        ids = [r["id"] for r in got]
        assert len(set(ids)) == n and set(ids) == \
            {"a%d" % i for i in range(n)}, "A's answers are not each once"
        for r in got:
            H.assert_probe(r, "reply", "127.0.0.1", 4, check_id=False)
        a.assert_nothing_more(0.2)
        b.assert_nothing_more(0.1)
        s = st.request({"op": "stats", "id": "end"})
        check_no_errors(s)
        assert s["probes"]["results"]["reply"] == n + 1, s["probes"]
        H.log("fairness: A's %d probes took %.2fs in all" % (n, total))
        for c in (a, b, st):
            c.close()


# --------------------------------------------------------------------------
# 8. reload

def test_reload():
    nobody, daemon_u, bin_u = user("nobody"), user("daemon"), user("bin")
    with access_daemon("reload", {"allow_users": "daemon, bin",
                                  "admin_users": "bin"}) as d:
        old = connect_as(d.socket, daemon_u)
        old_admin = connect_as(d.socket, bin_u)
        probe_ok(old, "before")
        c = connect_as(d.socket, nobody)
        expect_one_line_then_eof(c, DENIED_LINE, "nobody before reload")
        c.close()

        def reload():
            n = log_count(d, "configuration reloaded")
            d.write_config()
            d.signal(signal.SIGHUP)
            wait_log(d, "configuration reloaded", n + 1)

        d.config["allow_users"] = "nobody"
        d.config["admin_users"] = None      # nobody is an admin now
        reload()
        # new connections: the new lists
        with connect_as(d.socket, nobody) as c:
            probe_ok(c, "now")
        c = connect_as(d.socket, daemon_u)
        expect_one_line_then_eof(c, DENIED_LINE, "daemon after reload")
        c.close()
        c = connect_as(d.socket, bin_u)
        expect_one_line_then_eof(c, DENIED_LINE, "bin after reload")
        c.close()
        # open connections are re-checked at the reload: a user no longer
        # allowed gets the refusal line and is disconnected
        expect_one_line_then_eof(old, DENIED_LINE, "daemon's open connection")
        expect_one_line_then_eof(old_admin, DENIED_LINE, "bin's open connection")
        # a reload with an unknown user is refused; the running lists stay
        n_ref = log_count(d, "reload refused")
        d.config["allow_users"] = "no-such-user-mtrpt"
        d.write_config()
        d.signal(signal.SIGHUP)
        wait_log(d, "reload refused", n_ref + 1)
        assert "no such user 'no-such-user-mtrpt'" in d.stderr(), d.stderr()
        with connect_as(d.socket, nobody) as c:
            probe_ok(c, "kept")
        c = connect_as(d.socket, daemon_u)
        expect_one_line_then_eof(c, DENIED_LINE, "daemon after bad reload")
        c.close()
        # back to everyone
        d.config["allow_users"] = None
        reload()
        for u in (daemon_u, bin_u, nobody):
            with connect_as(d.socket, u) as c:
                probe_ok(c, "open-" + u.name)
        old.close()
        old_admin.close()


if __name__ == "__main__":
    H.require_real_mtr_packet()
    if not hasattr(socket, "send_fds"):
        H.skip("Python 3.9 or later is needed (socket.send_fds)")
    with H.Netns("acc") as ns:
        NETNS = ns.name
        H.main(H.collect_tests(dict(globals())))
