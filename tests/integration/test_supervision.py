#!/usr/bin/env python3
"""What the daemon leaves behind: its mtr-packet workers die with it even
when it is SIGKILLed, and each is set up as before (its own process
group, default signal handling, none of the daemon's descriptors).

Every probe goes to 127.0.0.1 (in the SIGKILL test, inside a namespace
the test creates, where pings are ignored so that probes stay in flight)."""

import os
import signal
import time

import harness as H
from harness import assert_probe


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
    survivors = {}
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
                for pid, start in survivors.items():
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


def main():
    H.require_real_mtr_packet()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
