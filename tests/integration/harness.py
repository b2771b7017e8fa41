"""Shared helpers for mtrprobed's integration tests (Python 3 stdlib only).

What is here:
  skip(why)            print loudly and exit 77 (meson: skipped)
  require_root()       skip unless root (mtr-packet needs CAP_NET_RAW)
  free_port()          a TCP+UDP port free on 127.0.0.1 right now
  tmpdir(tag)          a fresh /tmp directory with the pid in its name
  Daemon               a running mtrprobed with its own temp dir and config
  Client               an NDJSON client over the daemon's Unix socket
  Dnsmasq              a dnsmasq on 127.0.0.1 whose query log can be counted
  Netns                a network namespace deleted on exit
  FakeMtrPacket        a wrapper script around fake_mtr_packet.py

Every process started here is killed in __exit__ even when the test fails,
and every wait is bounded.

Running: `meson test -C BUILD --suite integration` (as root), or one script
by hand:  MTRPROBED=BUILD/daemon/mtrprobed MTRPROBECTL=BUILD/client/mtrprobectl
PYTHONPATH=tests/integration python3 tests/integration/test_faults.py
Each script runs its test_* functions in order, prints "ok"/"FAIL" per
function and a "subtests:" summary, and exits 0, 1, or 77 (a prerequisite
is missing: said loudly on stderr).

THE NETWORK RULE: probes and DNS queries go only to 127.0.0.0/8
and ::1, or to addresses a test assigns inside namespaces it creates.  The
Daemon class therefore always writes a hosts_file and dns_servers into the
config, so that the daemon never reads /etc/resolv.conf or /etc/hosts.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TESTS_DIR = os.environ.get("MTRPROBE_TESTS_DIR",
                           os.path.dirname(os.path.abspath(__file__)))
FAKE_MTR_PACKET = os.path.join(TESTS_DIR, "fake_mtr_packet.py")
REAL_MTR_PACKET = "/usr/bin/mtr-packet"
DNSMASQ = "/usr/sbin/dnsmasq"
SKIP = 77
NO_ENV = "<leave $MTR_PACKET unset>"   # Daemon(mtr_packet=NO_ENV)

_all_tmpdirs = []
atexit.register(lambda: cleanup_tmpdirs())


def log(*args):
    """Progress output (meson keeps it in the test log)."""
    print(*args, file=sys.stderr, flush=True)


def skip(why):
    """Exit 77 so meson reports the test as skipped, and say why loudly."""
    bar = "*" * 72
    print("\n%s\nSKIPPED: %s\n%s\n" % (bar, why, bar), file=sys.stderr,
          flush=True)
    sys.stdout.flush()
    sys.exit(SKIP)     # SystemExit: every context manager still cleans up


def _find_built(name):
    """The built executable named by the env var, else a build dir guess."""
    env = {"mtrprobed": "MTRPROBED", "mtrprobectl": "MTRPROBECTL"}[name]
    path = os.environ.get(env)
    if path:
        return path
    root = os.path.dirname(os.path.dirname(TESTS_DIR))
    for entry in sorted(os.listdir(root)):
        sub = "daemon" if name == "mtrprobed" else "client"
        cand = os.path.join(root, entry, sub, name)
        if entry.startswith("build") and os.access(cand, os.X_OK):
            return cand
    return name


def mtrprobed_path():
    path = _find_built("mtrprobed")
    if not os.access(path, os.X_OK):
        skip("mtrprobed executable not found (set $MTRPROBED): %r" % path)
    return path


def mtrprobectl_path():
    path = _find_built("mtrprobectl")
    if not os.access(path, os.X_OK):
        skip("mtrprobectl executable not found (set $MTRPROBECTL): %r" % path)
    return path


def require_root():
    if os.geteuid() != 0:
        skip("integration tests need root (mtr-packet needs CAP_NET_RAW)")


def require_real_mtr_packet():
    require_root()
    if not os.access(REAL_MTR_PACKET, os.X_OK):
        skip("%s is missing: install Debian package mtr-tiny"
             % REAL_MTR_PACKET)


def require_dnsmasq():
    if not os.access(DNSMASQ, os.X_OK):
        skip("%s is missing: install Debian package dnsmasq-base" % DNSMASQ)


def free_port():
    """A port number that is free for both TCP and UDP on 127.0.0.1."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port found")


def closed_tcp_port():
    """A TCP port on 127.0.0.1 (and ::1) with no listener."""
    for _ in range(100):
        port = free_port()
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s6.bind(("::1", port))
            s6.close()
        except OSError:
            continue
        return port
    raise RuntimeError("no closed port found")


def tmpdir(tag):
    """A new directory under /tmp whose name holds the pid; removed at exit."""
    d = tempfile.mkdtemp(prefix="mtrprobed-%s-%d-" % (tag, os.getpid()),
                         dir="/tmp")
    _all_tmpdirs.append(d)
    return d


def cleanup_tmpdirs():
    for d in _all_tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    del _all_tmpdirs[:]


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Poll pred() until it is true; raise AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def socket_accepts(path):
    """True when a Unix stream socket at path accepts a connection."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


# --------------------------------------------------------------------------
# The daemon

class DaemonExited(Exception):
    pass


class Daemon:
    """One mtrprobed process with its own temp dir, config and socket.

    config: dict of extra config keys (values written as given; lists are
    joined with ", ").  hosts: text of the hosts_file (default: empty file).
    dns_servers: default is a loopback port nobody listens on, so the
    daemon never falls back to the machine's resolver.
    """

    def __init__(self, tag="d", config=None, args=None, mtr_packet=None,
                 workers=None, hosts="", env=None, netns=None,
                 expect_exit=0, start_timeout=15, use_config=True,
                 log_level="info", socket_path=None, stop_timeout=None):
        self.dir = tmpdir(tag)
        self.socket = socket_path or os.path.join(self.dir, "mtrprobed.sock")
        self.config_path = os.path.join(self.dir, "mtrprobed.conf")
        self.hosts_path = os.path.join(self.dir, "hosts")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.mtr_packet = mtr_packet or REAL_MTR_PACKET
        self.workers = workers
        self.args = list(args or [])
        self.env = dict(env or {})
        self.netns = netns
        self.expect_exit = expect_exit
        self.start_timeout = start_timeout
        self.use_config = use_config
        self.stop_timeout = stop_timeout
        self.proc = None
        self.returncode = None
        with open(self.hosts_path, "w") as f:
            f.write(hosts)
        self.config = {
            "hosts_file": self.hosts_path,
            "state_dir": os.path.join(self.dir, "state"),
            "dns_servers": "127.0.0.1:%d" % free_port(),
            "log_level": log_level,
        }
        self.config.update(config or {})

    # -- config ---------------------------------------------------------
    def write_config(self):
        lines = ["# written by tests/integration/harness.py"]
        for k, v in self.config.items():
            if v is None:
                continue
            if isinstance(v, (list, tuple)):
                v = ", ".join(str(x) for x in v)
            lines.append("%s = %s" % (k, v))
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        cmd = [mtrprobed_path()]
        if self.use_config:
            cmd += ["-c", self.config_path]
        cmd += ["-s", self.socket]
        if self.workers is not None:
            cmd += ["-w", str(self.workers)]
        cmd += self.args
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        return cmd

    # -- lifecycle ------------------------------------------------------
    def start(self):
        self.write_config()
        env = dict(os.environ)
        if self.mtr_packet == NO_ENV:
            env.pop("MTR_PACKET", None)
        else:
            env["MTR_PACKET"] = self.mtr_packet
        env.pop("MTRPROBED_SOCKET", None)
        env.update(self.env)
        self._stderr = open(self.stderr_path, "wb")
        log("starting:", " ".join(self.command()))
        self.proc = subprocess.Popen(self.command(), env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._stderr,
                                     stderr=self._stderr,
                                     start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                raise DaemonExited("mtrprobed exited with %d before serving; "
                                   "stderr:\n%s" % (rc, self.stderr()))
            if os.path.exists(self.socket) and socket_accepts(self.socket):
                return self
            time.sleep(0.02)
        raise AssertionError("mtrprobed did not accept connections on %s "
                             "within %ss; stderr:\n%s"
                             % (self.socket, self.start_timeout,
                                self.stderr()))

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("mtrprobed did not exit within %ss" % timeout)
        return self.returncode

    def stop(self, timeout=None):
        """SIGTERM, wait, assert the exit code; return it."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        t = timeout or self.stop_timeout or (
            float(self.config.get("shutdown_timeout", 5)) + 5)
        try:
            rc = self.proc.wait(timeout=t)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("mtrprobed ignored SIGTERM for %ss; stderr:\n"
                                 "%s" % (t, self.stderr()[-4000:]))
        self.returncode = rc
        if self.expect_exit is not None and rc != self.expect_exit:
            raise AssertionError("mtrprobed exited with %r, expected %r; "
                                 "stderr:\n%s" % (rc, self.expect_exit,
                                                  self.stderr()[-4000:]))
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Workers the daemon forgot to reap (its process group).
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.kill()
            self._close()
            raise

    def __exit__(self, etype, exc, tb):
        try:
            if etype is None:
                self.stop()
            else:
                log("---- mtrprobed stderr (test failed) ----")
                log(self.stderr()[-6000:])
                log("---- end of mtrprobed stderr ----")
        finally:
            self.kill()
            self._close()
        return False

    def _close(self):
        f = getattr(self, "_stderr", None)
        if f:
            f.close()

    def client(self, timeout=10):
        return Client(self.socket, timeout=timeout)

    def request(self, obj, timeout=10):
        """One request on a new connection; returns the response."""
        with self.client(timeout=timeout) as c:
            return c.request(obj, timeout=timeout)

    def stats(self):
        return self.request({"op": "stats", "id": "stats"})


def run_daemon(args, env=None, timeout=15, netns=None):
    """Run mtrprobed to completion (for -V, -h, -n and failing starts)."""
    e = dict(os.environ)
    e.update(env or {})
    cmd = [mtrprobed_path()] + list(args)
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = subprocess.Popen(cmd, env=e, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("mtrprobed %r did not exit within %ss"
                             % (args, timeout))
    return p.returncode, out.decode("utf-8", "replace"), \
        err.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# The client

def parse_response(line):
    """Parse one answer line, checking the framing PROTOCOL.md promises:
    UTF-8 JSON object, compact (no whitespace outside strings), "id" the
    first key."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except ValueError:
        raise AssertionError("daemon sent a line that is not JSON: %r"
                             % line[:500])
    assert isinstance(obj, dict), "answer is not an object: %r" % line[:300]
    assert line.startswith(b'{"id":'), \
        "answer does not start with the id: %r" % line[:300]
    in_str = esc = False
    for ch in line:
        if in_str:
            if esc:
                esc = False
            elif ch == 0x5C:
                esc = True
            elif ch == 0x22:
                in_str = False
        elif ch == 0x22:
            in_str = True
        elif ch in (0x20, 0x09, 0x0D, 0x0A):
            raise AssertionError("answer is not compact JSON: %r"
                                 % line[:300])
    return obj


class Client:
    """NDJSON over the daemon's Unix socket, with a timeout on every wait."""

    def __init__(self, path, timeout=10):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.pending = []      # parsed responses not yet taken
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        # shutdown() first: it also wakes a sender thread blocked in send(),
        # which would otherwise keep the connection open after close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending --------------------------------------------------------
    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj, separators=(",", ":")) + "\n")

    def send_many_threaded(self, lines):
        """Write lines (bytes, each with its newline) from a thread, so that
        reading can go on while the daemon applies back-pressure.  Returns
        the thread; join it after reading."""
        data = b"".join(lines)
        err = []

        def run():
            try:
                view = memoryview(data)
                while view:
                    n = self.sock.send(view[:65536])
                    view = view[n:]
            except Exception as e:  # reported by join_sender
                err.append(e)

        t = threading.Thread(target=run, daemon=True)
        t.errors = err
        t.start()
        return t

    # -- receiving ------------------------------------------------------
    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        finally:
            self.sock.settimeout(self.timeout)
        if not data:
            self.eof = True
            raise ConnectionError("daemon closed the connection")
        self.buf += data

    def recv_line(self, timeout=None):
        """The next raw line (bytes, without the newline)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def recv(self, timeout=None):
        """The next response, parsed (a dict)."""
        if self.pending:
            return self.pending.pop(0)
        return parse_response(self.recv_line(timeout))

    def recv_lines_until_closed(self, timeout):
        """Every line until EOF (or timeout)."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                out.append(self.recv_line(max(0.01, deadline - time.monotonic())))
            except ConnectionError:
                return out
            except socket.timeout:
                return out

    def recv_id(self, rid, timeout=None):
        """The response whose id equals rid; others are kept for later."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for i, r in enumerate(self.pending):
            if r.get("id") == rid and type(r.get("id")) is type(rid):
                return self.pending.pop(i)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no response for id %r within %ss"
                                     % (rid, timeout or self.timeout))
            r = parse_response(self.recv_line(remaining))
            if r.get("id") == rid and type(r.get("id")) is type(rid):
                return r
            self.pending.append(r)

    def request(self, obj, timeout=None):
        """Send obj and wait for the response with its id."""
        self.send(obj)
        return self.recv_id(obj.get("id"), timeout)

    def collect(self, count, timeout):
        """Exactly count responses (parsed) within timeout."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            if self.pending:
                out.append(self.pending.pop(0))
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("got %d of %d responses within %ss"
                                     % (len(out), count, timeout))
            out.append(parse_response(self.recv_line(remaining)))
        return out

    def assert_nothing_more(self, wait=0.3):
        """No further line arrives within wait seconds."""
        if self.pending:
            raise AssertionError("unexpected extra responses: %r"
                                 % self.pending[:5])
        try:
            line = self.recv_line(wait)
        except (socket.timeout, ConnectionError):
            return
        raise AssertionError("unexpected extra response: %r" % line[:500])


# --------------------------------------------------------------------------
# dnsmasq

class Dnsmasq:
    """A dnsmasq on 127.0.0.1:port answering only from --host-record.

    Nothing is forwarded anywhere: --no-resolv, no --server, and --local=/test/
    makes unknown names under .test answer NXDOMAIN.  Every query is in
    its log file; count_queries() counts them.
    """

    def __init__(self, records, ttl=60, tag="dnsmasq", extra=None):
        require_dnsmasq()
        self.dir = tmpdir(tag)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "dnsmasq.log")
        self.records = records
        self.ttl = ttl
        self.extra = list(extra or [])
        self.proc = None

    def command(self):
        cmd = [DNSMASQ, "--no-daemon", "--port=%d" % self.port,
               "--listen-address=127.0.0.1", "--bind-interfaces",
               "--no-resolv", "--no-hosts", "--no-poll",
               "--local=/test/", "--local-ttl=%d" % self.ttl,
               "--neg-ttl=1",
               "--log-queries", "--log-facility=%s" % self.log_path,
               "--pid-file=", "--user=root", "--group=root",
               "--conf-file=/dev/null"]
        for name, addrs in self.records:
            cmd.append("--host-record=%s,%s" % (name, ",".join(addrs)))
        return cmd + self.extra

    def __enter__(self):
        log("starting:", " ".join(self.command()))
        self._out = open(os.path.join(self.dir, "stdout.log"), "wb")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._out,
                                     start_new_session=True)
        try:
            wait_until(self._ready, 10, 0.05, "dnsmasq to answer")
        except BaseException:
            self._kill()
            raise
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            with open(os.path.join(self.dir, "stdout.log"), "rb") as f:
                out = f.read().decode("utf-8", "replace")
            raise AssertionError("dnsmasq exited with %d: %s%s"
                                 % (self.proc.returncode, out,
                                    self.read_log()))
        try:
            return dns_query("127.0.0.1", self.port, "ready.harness.test", 1,
                             timeout=0.3) is not None
        except OSError:
            return False

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def queries(self, qtype=None, name=None):
        """The logged queries as (type, name) pairs, filtered."""
        out = []
        for line in self.read_log().splitlines():
            i = line.find("query[")
            if i < 0:
                continue
            rest = line[i + 6:]
            t, _, rest = rest.partition("]")
            n = rest.strip().split(" ")[0]
            if qtype is not None and t != qtype:
                continue
            if name is not None and n.lower() != name.lower():
                continue
            out.append((t, n))
        return out

    def count(self, qtype, name, settle=0.3):
        """How many qtype queries for name dnsmasq logged (after settling)."""
        time.sleep(settle)
        return len(self.queries(qtype, name))

    def total_except_ready(self, settle=0.3):
        time.sleep(settle)
        return [q for q in self.queries() if q[1] != "ready.harness.test"]

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_out", None):
            self._out.close()

    def __exit__(self, etype, exc, tb):
        if etype is not None:
            log("---- dnsmasq log (test failed) ----")
            log(self.read_log()[-4000:])
        self._kill()
        return False


def dns_query(server, port, name, qtype=1, timeout=1.0):
    """Send one DNS query (qtype 1=A, 28=AAAA); return the rcode or None."""
    qid = os.getpid() & 0xFFFF
    header = qid.to_bytes(2, "big") + b"\x01\x00" + b"\x00\x01" + b"\x00" * 6
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    pkt = header + q + qtype.to_bytes(2, "big") + b"\x00\x01"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, (server, port))
        data, _ = s.recvfrom(4096)
        return data[3] & 0x0F
    except socket.timeout:
        return None
    finally:
        s.close()


# --------------------------------------------------------------------------
# network namespaces

class Netns:
    """A network namespace with lo up, deleted on exit.  Skips (77) when the
    kernel or the container refuses namespaces."""

    def __init__(self, tag="ns"):
        self.name = "mtrpt-%s-%d" % (tag, os.getpid())

    def __enter__(self):
        require_root()
        if not shutil.which("ip"):
            skip("iproute2 'ip' is missing: install Debian package iproute2")
        subprocess.run(["ip", "netns", "del", self.name],
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       timeout=10)
        r = subprocess.run(["ip", "netns", "add", self.name],
                           capture_output=True, timeout=10)
        if r.returncode != 0:
            skip("'ip netns add' was refused: %s"
                 % r.stderr.decode("utf-8", "replace").strip())
        self.run("ip", "link", "set", "lo", "up")
        return self

    def run(self, *cmd, check=True):
        r = subprocess.run(["ip", "netns", "exec", self.name] + list(cmd),
                           capture_output=True, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError("%s failed in netns %s: %s" % (
                " ".join(cmd), self.name,
                r.stderr.decode("utf-8", "replace")))
        return r

    def sysctl(self, key, value):
        self.run("sysctl", "-q", "-w", "%s=%s" % (key, value))

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name],
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       timeout=10)
        return False


class Topology:
    """A three-hop routed topology (host, two routers, destination), built
    from network namespaces named PREFIX-{h,r1,r2,d}-PID; every namespace is deleted on
    exit, even on failure:

        ns h  (198.51.100.2/30, 2001:db8:1::2/64)   default via r1
        ns r1 (198.51.100.1/30 | 198.51.100.5/30)    forwarding
        ns r2 (198.51.100.6/30 | 198.51.100.9/30)    forwarding
        ns d  (198.51.100.10/30, 2001:db8:3::2/64)  default via r2
        (IPv6: 2001:db8:1::/64 h-r1, 2001:db8:2::/64 r1-r2,
         2001:db8:3::/64 r2-d)

    The routers and d send ICMP errors without rate limits.  Skips (77)
    without ip(8) or when namespaces are refused.  A test adds to it by
    overriding build_extra(), called once the topology routes."""

    def __init__(self, prefix):
        pid = os.getpid()
        self.ns = {k: "%s-%s-%d" % (prefix, k, pid)
                   for k in ("h", "r1", "r2", "d")}

    def ip(self, ns, *args):
        r = subprocess.run(["ip", "-n", self.ns[ns]] + list(args),
                           capture_output=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError("ip -n %s %s: %s" % (
                ns, " ".join(args), r.stderr.decode(errors="replace")))

    def sysctl(self, ns, key, value):
        r = subprocess.run(["ip", "netns", "exec", self.ns[ns], "sysctl",
                            "-q", "-w", "%s=%s" % (key, value)],
                           capture_output=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError("sysctl %s=%s in %s: %s" % (
                key, value, ns, r.stderr.decode(errors="replace")))

    def exec_cmd(self, ns, *cmd):
        return ["ip", "netns", "exec", self.ns[ns]] + list(cmd)

    def __enter__(self):
        require_root()
        if not shutil.which("ip"):
            skip("iproute2 'ip' is missing: install Debian package iproute2")
        self._delete()
        first = True
        try:
            for name in self.ns.values():
                r = subprocess.run(["ip", "netns", "add", name],
                                   capture_output=True, timeout=10)
                if r.returncode != 0:
                    if first:
                        skip("'ip netns add' was refused: %s" %
                             r.stderr.decode(errors="replace").strip())
                    raise AssertionError(r.stderr.decode(errors="replace"))
                first = False
            self._build()
            self.build_extra()
        except BaseException:
            self._delete()
            raise
        return self

    def _link(self, a, an, b, bn):
        self.ip(a, "link", "add", an, "type", "veth", "peer", "name", bn,
                "netns", self.ns[b])

    def _build(self):
        for ns in self.ns:
            self.ip(ns, "link", "set", "lo", "up")
            self.sysctl(ns, "net.ipv6.conf.all.accept_dad", 0)
            self.sysctl(ns, "net.ipv6.conf.default.accept_dad", 0)
        self._link("h", "h0", "r1", "r1a")
        self._link("r1", "r1b", "r2", "r2a")
        self._link("r2", "r2b", "d", "d0")
        addrs = [("h", "h0", "198.51.100.2/30", "2001:db8:1::2/64"),
                 ("r1", "r1a", "198.51.100.1/30", "2001:db8:1::1/64"),
                 ("r1", "r1b", "198.51.100.5/30", "2001:db8:2::1/64"),
                 ("r2", "r2a", "198.51.100.6/30", "2001:db8:2::2/64"),
                 ("r2", "r2b", "198.51.100.9/30", "2001:db8:3::1/64"),
                 ("d", "d0", "198.51.100.10/30", "2001:db8:3::2/64")]
        for ns, dev, a4, a6 in addrs:
            self.ip(ns, "addr", "add", a4, "dev", dev)
            self.ip(ns, "-6", "addr", "add", a6, "dev", dev, "nodad")
            self.ip(ns, "link", "set", dev, "up")
        for r in ("r1", "r2"):
            self.sysctl(r, "net.ipv4.ip_forward", 1)
            self.sysctl(r, "net.ipv6.conf.all.forwarding", 1)
        for r in ("r1", "r2", "d"):
            # every expired probe answered (and every UDP probe to the
            # target): no per-destination ICMP rate limit ...
            self.sysctl(r, "net.ipv4.icmp_ratelimit", 0)
            self.sysctl(r, "net.ipv6.icmp.ratelimit", 0)
            # ... and no namespace-wide one either: by default the kernel
            # sends at most icmp_msgs_burst = 50 ICMP errors at once
            # (IPv4 and IPv6 together), so 50 traces starting together
            # lose some ttl-expired answers (OutRateLimitGlobal counts them)
            self.sysctl(r, "net.ipv4.icmp_msgs_per_sec", 1000000)
            self.sysctl(r, "net.ipv4.icmp_msgs_burst", 1000000)
        self.ip("h", "route", "add", "default", "via", "198.51.100.1")
        self.ip("h", "-6", "route", "add", "default", "via", "2001:db8:1::1")
        self.ip("r1", "route", "add", "198.51.100.8/30", "via",
                "198.51.100.6")
        self.ip("r1", "-6", "route", "add", "2001:db8:3::/64", "via",
                "2001:db8:2::2")
        self.ip("r2", "route", "add", "default", "via", "198.51.100.5")
        self.ip("r2", "-6", "route", "add", "default", "via", "2001:db8:2::1")
        self.ip("d", "route", "add", "default", "via", "198.51.100.9")
        self.ip("d", "-6", "route", "add", "default", "via", "2001:db8:3::1")

    def build_extra(self):
        """What a test adds to the topology (nothing here)."""

    def _delete(self):
        for name in self.ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True,
                           timeout=10)

    def __exit__(self, *exc):
        self._delete()
        return False


# --------------------------------------------------------------------------
# the stand-in mtr-packet

class FakeMtrPacket:
    """Writes an executable wrapper that runs fake_mtr_packet.py with the
    given options and a state directory shared by all its instances.

    The stand-in logs every command it received to STATE/commands.log and
    counts its instances in STATE/instance-N files.
    """

    def __init__(self, *options, tag="fake"):
        self.dir = tmpdir(tag)
        self.state = os.path.join(self.dir, "state")
        os.mkdir(self.state)
        self.path = os.path.join(self.dir, "mtr-packet")
        argv = [sys.executable, FAKE_MTR_PACKET, "--state", self.state]
        argv += [str(o) for o in options]
        with open(self.path, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\"\n"
                    % " ".join(_shquote(a) for a in argv))
        os.chmod(self.path, 0o755)

    def instances(self):
        return len([n for n in os.listdir(self.state)
                    if n.startswith("instance-")])

    def commands(self):
        try:
            with open(os.path.join(self.state, "commands.log"), "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []


def _shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# --------------------------------------------------------------------------
# assertions on responses

PROBE_FIELDS = {"id", "success", "result", "time_ms", "responder", "mpls",
                "address", "ip_version"}


def assert_error(resp, code, field=None, rid=None, check_id=True):
    """resp is {"id": rid, "error": {"code": code, "message": ...}} and
    nothing else; the message starts with field when given."""
    assert set(resp) == {"id", "error"}, "not an error response: %r" % resp
    if check_id:
        assert resp["id"] == rid and type(resp["id"]) is type(rid), \
            "id %r != %r in %r" % (resp["id"], rid, resp)
    err = resp["error"]
    assert isinstance(err, dict), resp
    assert err.get("code") == code, "code %r != %r in %r" % (
        err.get("code"), code, resp)
    assert isinstance(err.get("message"), str) and err["message"], resp
    if field is not None:
        assert err["message"].startswith(field), \
            "message %r does not start with %r" % (err["message"], field)


def assert_probe(resp, result, address, ip_version, responder=None,
                 rid=None, check_id=True):
    """A probe response with exactly the documented fields."""
    assert "error" not in resp, "probe failed: %r" % resp
    assert set(resp) == PROBE_FIELDS, "fields %r in %r" % (
        sorted(set(resp) ^ PROBE_FIELDS), resp)
    if check_id:
        assert resp["id"] == rid and type(resp["id"]) is type(rid), resp
    assert resp["result"] == result, "result %r != %r: %r" % (
        resp["result"], result, resp)
    assert resp["success"] is (result == "reply"), resp
    assert resp["address"] == address, resp
    assert resp["ip_version"] == ip_version and \
        type(resp["ip_version"]) is int, resp
    assert isinstance(resp["mpls"], list), resp
    if result in ("reply", "ttl-expired"):
        assert isinstance(resp["time_ms"], float) and resp["time_ms"] >= 0, \
            "time_ms %r" % resp
        assert resp["responder"] == (responder or address), resp
    elif result == "no-reply":
        assert resp["time_ms"] is None, resp
        assert resp["responder"] is None, resp
        assert resp["mpls"] == [], resp


ERROR_CODES = ["bad-request", "unknown-op", "invalid-argument",
               "request-too-large", "host-resolve-error", "process-error",
               "overloaded", "permission-denied", "shutting-down"]


RESULT_WORDS = ["reply", "ttl-expired", "no-reply", "no-route",
                "network-down", "permission-denied", "invalid-argument",
                "address-in-use", "address-not-available",
                "unexpected-error", "other"]


def check_stats_shape(s):
    """The stats shape of docs/PROTOCOL.md, exactly: every key always
    present, every value a non-negative integer except uptime_s, and the
    probe counters reconciled: started == completed + in_flight + queued
    + resolving."""
    assert "error" not in s, s
    want = {"id", "uptime_s", "workers", "probes", "dns", "clients",
            "errors"}
    want.add("traces")
    assert set(s) == want, "stats keys differ: %r" % sorted(set(s) ^ want)
    assert type(s["traces"]) is int and s["traces"] >= 0, s["traces"]
    assert isinstance(s["uptime_s"], (int, float)) and \
        not isinstance(s["uptime_s"], bool) and s["uptime_s"] >= 0, s

    def ints(obj, keys, where):
        assert isinstance(obj, dict), "%s = %r" % (where, obj)
        assert set(obj) == set(keys), "%s keys differ: %r" % (
            where, sorted(set(obj) ^ set(keys)))
        for k in keys:
            v = obj[k]
            assert type(v) is int and v >= 0, "%s.%s = %r" % (where, k, v)

    ints(s["workers"], ["configured", "min", "max", "alive", "starting",
                        "restarts", "started", "retired"], "workers")
    p = dict(s["probes"])
    results = p.pop("results", None)
    ints(p, ["started", "completed", "in_flight", "queued", "resolving",
             "retried", "cancelled", "share_waits"], "probes")
    assert p["started"] == p["completed"] + p["in_flight"] + p["queued"] + \
        p["resolving"], "probe counters do not add up: %r" % p
    ints(results, RESULT_WORDS, "probes.results")
    ints(s["dns"], ["entries", "hits", "misses", "expired", "lookups"], "dns")
    ints(s["clients"], ["connected", "total", "answer_bytes"], "clients")
    ints(s["errors"], ERROR_CODES, "errors")


def probe(c, rid, wait=None, **fields):
    """One probe request (fields as given, timeout included) on client c;
    wait for its answer up to wait seconds (default: the probe's timeout
    + 5)."""
    req = {"op": "probe", "id": rid}
    req.update(fields)
    return c.request(req, timeout=wait or (fields.get("timeout", 10) + 5))


def probe_lines(n, prefix, **fields):
    """n encoded probe requests with ids prefix0..prefix(n-1)."""
    out = []
    for i in range(n):
        obj = {"op": "probe", "id": "%s%d" % (prefix, i)}
        obj.update(fields)
        out.append((json.dumps(obj, separators=(",", ":")) + "\n").encode())
    return out


_skipped = []


def run_tests(tests):
    """Run (name, function) pairs; return the names that failed.  A test
    that skips (exit 77) is remembered: finish() then exits 77 unless
    another test failed."""
    failed = []
    for name, fn in tests:
        log("==== %s" % name)
        t0 = time.monotonic()
        try:
            fn()
        except SystemExit as e:
            if e.code != SKIP:
                raise
            log("SKIP %s" % name)
            _skipped.append(name)
        except BaseException:
            import traceback
            traceback.print_exc()
            log("FAIL %s (%.1fs)" % (name, time.monotonic() - t0))
            failed.append(name)
        else:
            log("ok   %s (%.1fs)" % (name, time.monotonic() - t0))
    return failed


def finish(failed, total):
    """Print the summary, remove temp dirs, exit 0, 1 or 77."""
    cleanup_tmpdirs()
    # worded so as never to look like CI's closing "N passed, N failed" line
    log("subtests: %d ok, %d failed%s, %d skipped%s" % (
        total - len(failed) - len(_skipped), len(failed),
        (" (" + ", ".join(failed) + ")") if failed else "",
        len(_skipped), (" (" + ", ".join(_skipped) + ")") if _skipped
        else ""))
    if failed:
        sys.exit(1)
    if _skipped:
        skip("some tests could not run: %s" % ", ".join(_skipped))
    sys.exit(0)


def collect_tests(namespace):
    """The test_* functions of a module namespace, in source order."""
    return [(n, f) for n, f in namespace.items()
            if n.startswith("test_") and callable(f)]


def main(tests):
    """Run tests with a summary; exit 0 or 1."""
    failed = []
    try:
        failed = run_tests(tests)
    except BaseException:
        cleanup_tmpdirs()
        raise
    finish(failed, len(tests))


def project_version():
    """The version in the project's meson.build (what -V and the version op
    must report)."""
    import re
    root = os.path.dirname(os.path.dirname(TESTS_DIR))
    with open(os.path.join(root, "meson.build")) as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    return m.group(1)
