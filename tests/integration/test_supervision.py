#!/usr/bin/env python3
"""What the daemon leaves behind and what it touches: its mtr-packet
workers die with it even when it is SIGKILLed; the socket file is the only
file it ever chmods or removes (a symbolic link or another file swapped in
at its path is left alone); and max_connections is capped by the
open-files limit, so that the last connections are refused with an
`overloaded` line instead of hanging in accept()'s backlog.

Every probe goes to 127.0.0.1 (in the SIGKILL test, inside a namespace
the test creates, where pings are ignored so that probes stay in flight)."""

import os
import select
import shutil
import signal
import socket
import stat
import time

import harness as H
from harness import assert_error, assert_probe

# ------------------------------------------------------------ processes

def proc_stat(pid):
    """(state, ppid, pgrp, starttime) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    f = text.rsplit(")", 1)[1].split()
    return f[0], int(f[1]), int(f[2]), int(f[19])


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def children(ppid):
    """{pid: starttime} of the processes whose parent is ppid."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[1] == ppid:
            out[int(name)] = st[3]
    return out


def still_running(pid, starttime):
    """pid is the same process as before (not reused) and not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[3] == starttime and st[0] != "Z"


def status_field(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def fd_targets(pid):
    """{fd: link target} of pid's open descriptors."""
    d = "/proc/%d/fd" % pid
    out = {}
    for n in os.listdir(d):
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except OSError:
            pass
    return out


def test_worker_process_setup():
    """Each worker: the daemon's child, its own process group, no signal
    blocked or ignored, stdin and stdout one socket, stderr a pipe, and
    none of the daemon's other descriptors."""
    with H.Daemon("setup", workers=3) as d:
        r = d.request({"op": "probe", "id": 1, "host": "127.0.0.1",
                       "timeout": 2})
        assert_probe(r, "reply", "127.0.0.1", 4, rid=1)
        kids = children(d.proc.pid)
        assert len(kids) == 3, kids
        # PR_SET_PDEATHSIG follows the thread that forked: there is one
        assert os.listdir("/proc/%d/task" % d.proc.pid) == \
            [str(d.proc.pid)], os.listdir("/proc/%d/task" % d.proc.pid)
        daemon_fds = set(fd_targets(d.proc.pid).values())
        for pid in kids:
            assert proc_comm(pid) == "mtr-packet", proc_comm(pid)
            assert proc_stat(pid)[2] == pid, "worker %d: pgrp %d" % (
                pid, proc_stat(pid)[2])
            assert int(status_field(pid, "SigBlk"), 16) == 0, \
                status_field(pid, "SigBlk")
            # signals 1-31 (glibc's posix_spawn left its own internal
            # signals 32 and 33 ignored, and no libc call can change them)
            assert int(status_field(pid, "SigIgn"), 16) & 0x7fffffff == 0, \
                status_field(pid, "SigIgn")
            fds = fd_targets(pid)
            assert fds[0] == fds[1] and fds[0].startswith("socket:"), fds
            assert fds[2].startswith("pipe:"), fds
            leaked = {n: t for n, t in fds.items()
                      if n > 2 and t in daemon_fds}
            assert not leaked, "worker %d holds the daemon's %r" % (
                pid, leaked)


def test_workers_die_with_sigkilled_daemon():
    """SIGKILL the daemon with probes in flight: 2 s later none of its
    mtr-packet workers is running."""
    workers = 4
    before = {}
    with H.Netns("sup") as ns:
        ns.sysctl("net.ipv4.icmp_echo_ignore_all", 1)
        d = H.Daemon("pdeath", workers=workers, netns=ns.name,
                     expect_exit=None)
        with d:
            try:
                assert proc_comm(d.proc.pid) == "mtrprobed", \
                    proc_comm(d.proc.pid)
                c = d.client(timeout=20)
                # 100 silent pings (echo ignored here) stay at the workers
                c.send_raw(b"".join(H.probe_lines(
                    100, "silent", host="127.0.0.1", timeout=60)))
                H.wait_until(
                    lambda: d.stats()["probes"]["in_flight"] == 100, 10,
                    0.05, "100 probes in flight")
                # and 200 UDP probes, answered (port unreachable), pipelined
                c.send_raw(b"".join(H.probe_lines(
                    200, "udp", host="127.0.0.1", protocol="udp",
                    timeout=60)))
                r = c.recv(timeout=10)
                assert r["id"].startswith("udp"), r
                assert_probe(r, "reply", "127.0.0.1", 4, rid=r["id"])
                before = children(d.proc.pid)
                assert len(before) == workers, \
                    "workers before the kill: %r" % before
                for pid, start in before.items():
                    assert proc_comm(pid) == "mtr-packet", proc_comm(pid)
                    assert still_running(pid, start), pid
                s = d.stats()
                assert s["probes"]["in_flight"] >= 100, s["probes"]
                os.kill(d.proc.pid, signal.SIGKILL)
                assert d.proc.wait(timeout=5) == -signal.SIGKILL
                time.sleep(2)
                survivors = {pid: start for pid, start in before.items()
                             if still_running(pid, start)}
                assert not survivors, \
                    "workers still running 2 s after the daemon was " \
                    "SIGKILLed: %r" % sorted(survivors)
                c.close()
            finally:
                # never leave orphans spinning, even when the test fails
                if d.proc.poll() is not None:
                    for pid, start in before.items():
                        if still_running(pid, start):
                            os.kill(pid, signal.SIGKILL)


def test_cannot_run_message():
    """A worker that cannot be executed: the exact message, as before."""
    d = H.tmpdir("norun")
    noexec = os.path.join(d, "mtr-packet-noexec")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(noexec, 0o644)
    for path, why in [("/nonexistent/mtr-pkt-x", "No such file or directory"),
                      (noexec, "Permission denied")]:
        rc, out, err = H.run_daemon(
            ["-s", os.path.join(d, "s.sock"), "-w", "2"],
            env={"MTR_PACKET": path}, timeout=20)
        want = ("mtrprobed: error: no mtr-packet worker could start: "
                "cannot run '%s': %s" % (path, why))
        assert rc == 1, (rc, err)
        assert want in err.splitlines(), "want %r in:\n%s" % (want, err)
        assert not os.path.exists(os.path.join(d, "s.sock"))


# --------------------------------------------------------- socket file

def log_lines(dmn):
    return dmn.stderr().splitlines()


def reload(dmn, **config):
    """Rewrite the config with these changes, SIGHUP, wait for the log."""
    want = "mtrprobed: info: configuration reloaded from %s" % \
        dmn.config_path
    n = log_lines(dmn).count(want)
    dmn.config.update(config)
    dmn.write_config()
    dmn.signal(signal.SIGHUP)
    H.wait_until(lambda: log_lines(dmn).count(want) > n, 10, 0.05,
                 "the reload")


def open_dir():
    """A world-writable directory without the sticky bit."""
    d = H.tmpdir("sockdir")
    os.chmod(d, 0o777)
    assert stat.S_IMODE(os.lstat(d).st_mode) == 0o777
    return d


def sock_mode(path):
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode), "%s is not a socket: %o" % (
        path, st.st_mode)
    return stat.S_IMODE(st.st_mode)


def test_socket_mode_at_start_and_reload():
    """The socket is created with socket_mode; a reload changes it."""
    path = os.path.join(open_dir(), "s.sock")
    with H.Daemon("sockmode", workers=1, socket_path=path,
                  config={"socket_mode": "0600"}) as d:
        assert sock_mode(path) == 0o600, oct(sock_mode(path))
        reload(d, socket_mode="0664")
        assert sock_mode(path) == 0o664, oct(sock_mode(path))
        reload(d, socket_mode="0660")
        assert sock_mode(path) == 0o660, oct(sock_mode(path))
        r = d.request({"op": "version", "id": 1})
        assert r["protocol"] == 1, r
        assert not [ln for ln in log_lines(d) if "warning" in ln], \
            log_lines(d)
    assert not os.path.exists(path), "socket left behind"


def test_socket_mode_under_default_acl():
    """A default ACL on the directory (other::---) masks the mode bind()
    gives the socket: the daemon still gives it socket_mode."""
    import struct
    d = H.tmpdir("acl")
    # POSIX ACL xattr, version 2: user::rwx group::rwx other::---
    acl = struct.pack("<I", 2) + b"".join(
        struct.pack("<HHI", tag, perm, 0xFFFFFFFF)
        for tag, perm in ((0x01, 7), (0x04, 7), (0x20, 0)))
    try:
        os.setxattr(d, "system.posix_acl_default", acl)
    except OSError as e:
        H.skip("no POSIX ACLs on %s: %s" % (d, e))
    probe_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe_sock.bind(os.path.join(d, "probe.sock"))
    probe_sock.close()
    assert sock_mode(os.path.join(d, "probe.sock")) & 0o007 == 0, \
        "the default ACL did not apply"
    path = os.path.join(d, "s.sock")
    with H.Daemon("acl", workers=1, socket_path=path,
                  config={"socket_mode": "0666"}) as dmn:
        assert sock_mode(path) == 0o666, oct(sock_mode(path))
        assert not [ln for ln in log_lines(dmn) if "warning" in ln], \
            log_lines(dmn)


def precious_file():
    """A root-owned regular file of mode 0600 in a root-only directory."""
    d = H.tmpdir("precious")
    os.chmod(d, 0o700)
    target = os.path.join(d, "precious")
    with open(target, "w") as f:
        f.write("precious\n")
    os.chmod(target, 0o600)
    st = os.lstat(target)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
    return target


def assert_untouched(target):
    st = os.lstat(target)
    assert stat.S_ISREG(st.st_mode), st
    assert stat.S_IMODE(st.st_mode) == 0o600, \
        "%s: mode %o" % (target, stat.S_IMODE(st.st_mode))
    assert st.st_uid == 0 and st.st_gid == 0, st
    with open(target) as f:
        assert f.read() == "precious\n"


def swap_in_symlink(path, target):
    """Atomically replace path with a symbolic link to target."""
    tmp = path + ".new"
    os.symlink(target, tmp)
    os.rename(tmp, path)
    assert os.readlink(path) == target


def test_reload_leaves_swapped_symlink_alone():
    """The socket path replaced by a symbolic link to a root-owned 0600
    file before a reload with a new socket_mode: the file keeps 0600, the
    link stays, a warning names the path, and the daemon serves on; at
    shutdown the link is not removed."""
    path = os.path.join(open_dir(), "s.sock")
    target = precious_file()
    with H.Daemon("symlink", workers=1, socket_path=path,
                  config={"socket_mode": "0600"}) as d:
        with d.client() as c:
            r = c.request({"op": "version", "id": "before"})
            assert r["protocol"] == 1, r
            swap_in_symlink(path, target)
            reload(d, socket_mode="0666")
            assert_untouched(target)
            assert os.readlink(path) == target
            want = ("mtrprobed: warning: reload: %s is not the socket this "
                    "daemon bound; leaving its mode alone" % path)
            assert want in log_lines(d), "\n".join(log_lines(d))
            assert d.alive()
            r = c.request({"op": "version", "id": "after"})
            assert r["id"] == "after" and r["protocol"] == 1, r
            r = c.request({"op": "probe", "id": "p", "host": "127.0.0.1",
                           "timeout": 2}, timeout=10)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="p")
    assert os.path.islink(path) and os.readlink(path) == target, \
        "the symbolic link was removed at shutdown"
    assert_untouched(target)
    want = ("mtrprobed: warning: shutdown: %s is not the socket this "
            "daemon bound; not removing it" % path)
    assert want in log_lines(d), "\n".join(log_lines(d))


def test_shutdown_keeps_what_is_not_its_socket():
    """At shutdown the daemon removes its socket only: not a symbolic link
    to it (its socket moved aside), nor a socket someone else bound at the
    path, nor a regular file."""
    # (1) a link to the daemon's own socket, moved aside
    sdir = open_dir()
    path = os.path.join(sdir, "s.sock")
    moved = os.path.join(sdir, "moved.sock")
    with H.Daemon("moved", workers=1, socket_path=path) as d:
        os.rename(path, moved)
        swap_in_symlink(path, moved)
        # the daemon still answers there, through the link
        with H.Client(path) as c:
            assert c.request({"op": "version", "id": 1})["protocol"] == 1
    assert os.path.islink(path) and os.readlink(path) == moved, \
        "the link to the moved socket was removed"
    assert stat.S_ISSOCK(os.lstat(moved).st_mode)
    # (2) a socket bound by someone else
    path = os.path.join(open_dir(), "s.sock")
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with H.Daemon("other", workers=1, socket_path=path) as d:
            tmp = path + ".other"
            other.bind(tmp)
            ino = os.lstat(tmp).st_ino
            os.rename(tmp, path)
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and st.st_ino == ino, \
            "another socket was removed"
    finally:
        other.close()
    # (3) a regular file
    path = os.path.join(open_dir(), "s.sock")
    with H.Daemon("regular", workers=1, socket_path=path) as d:
        with open(path + ".tmp", "w") as f:
            f.write("mine\n")
        os.rename(path + ".tmp", path)
    with open(path) as f:
        assert f.read() == "mine\n", "a regular file was changed"
    want = ("mtrprobed: warning: shutdown: %s is not the socket this "
            "daemon bound; not removing it" % path)
    assert want in log_lines(d), "\n".join(log_lines(d))


# --------------------------------------------------------- descriptors

# docs/man/mtrprobed.conf.5, max_connections: descriptors kept for the
# listener, 128 workers, DNS and routing lookups.
FD_RESERVE = 344
# The open-files limit the test sets: room for 40 connections.
FD_LIMIT = 384


def test_max_connections_capped_by_open_files_limit():
    """Under an open-files limit of 384, max_connections = 4096 is capped
    at 384 - 344 = 40 (logged); the 41st connection gets the overloaded
    line and an orderly close, and open connections still probe."""
    if not shutil.which("prlimit"):
        H.skip("prlimit (util-linux) is missing")
    cap = FD_LIMIT - FD_RESERVE
    d = H.Daemon("nofile", workers=2, config={"max_connections": 4096})
    orig = d.command
    d.command = lambda: ["prlimit", "--nofile=%d:%d" % (FD_LIMIT, FD_LIMIT),
                         "--"] + orig()
    conns = []
    with d:
        try:
            with open("/proc/%d/limits" % d.proc.pid) as f:
                lim = [ln for ln in f if ln.startswith("Max open files")]
            assert lim[0].split()[3:5] == [str(FD_LIMIT)] * 2, lim
            want = ("mtrprobed: info: max_connections 4096 lowered to %d: "
                    "the open-files limit is %d and %d descriptors are "
                    "kept for the listener, workers, DNS and routing "
                    "lookups" % (cap, FD_LIMIT, FD_RESERVE))
            assert want in log_lines(d), "\n".join(log_lines(d))
            first = H.Client(d.socket, timeout=5)
            conns.append(first)
            assert first.request({"op": "version", "id": 0})["protocol"] == 1
            refused = None
            while refused is None and len(conns) < cap + 20:
                c = H.Client(d.socket, timeout=5)
                state = H.wait_until(
                    lambda: accepted_or_refused(first, c, len(conns) + 1),
                    10, 0.01, "connection %d to be accepted or refused"
                    % (len(conns) + 1))
                if state == "accepted":
                    conns.append(c)
                    continue
                # refused: one line, then an orderly close (nothing was
                # sent on it, so no reset either)
                refused = (len(conns), H.parse_response(c.recv_line(5)),
                           c.recv_lines_until_closed(5), c.eof)
                c.close()
            assert refused is not None, "no connection refused"
            n, r, rest, eof = refused
            assert n == cap, "connection %d refused, want %d" % (
                n + 1, cap + 1)
            assert r == {"id": None, "error": {
                "code": "overloaded",
                "message": "connection: max_connections reached"}}, r
            assert rest == [] and eof, (rest, eof)
            # the daemon serves on: a probe on an open connection
            r = conns[0].request({"op": "probe", "id": "p",
                                  "host": "127.0.0.1", "timeout": 2},
                                 timeout=10)
            assert_probe(r, "reply", "127.0.0.1", 4, rid="p")
            r = conns[-1].request({"op": "version", "id": "last"})
            assert r["protocol"] == 1, r
            # a reload keeps the cap
            reload(d, max_connections=1000)
            want2 = want.replace("4096", "1000")
            assert want2 in log_lines(d), "\n".join(log_lines(d))
            with H.Client(d.socket, timeout=5) as c:
                r = H.parse_response(c.recv_line(5))
                assert_error(r, "overloaded", check_id=False)
                assert r["error"]["message"] == \
                    "connection: max_connections reached", r
        finally:
            for c in conns:
                c.close()


def accepted_or_refused(first, c, n):
    """"refused" once c has a line to read, "accepted" once the daemon
    counts n connections, else None."""
    if select.select([c.sock], [], [], 0)[0]:
        return "refused"
    s = first.request({"op": "stats", "id": "s"})
    if s["clients"]["connected"] == n:
        return "accepted"
    return None


def main():
    H.require_real_mtr_packet()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
