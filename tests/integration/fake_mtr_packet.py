#!/usr/bin/env python3
"""A stand-in for mtr-packet 0.95 that misbehaves on purpose.

It speaks mtr-packet's line protocol on stdin/stdout:
    TOKEN check-support feature NAME   ->  TOKEN feature-support support ok|no|0.95
    TOKEN send-probe ip-4 ADDR ... timeout N   ->  TOKEN <reply word> ...
and never sends a packet anywhere.  What it answers to a probe depends on
the target address (127.0.0.X, X = the last octet):

    1   reply ip-4 127.0.0.1 round-trip-time 100 (at once)       ::1 likewise
    2   nothing, ever (a hung probe)
    3   garbage lines (no token, NULs, a 10 KiB line, unknown tokens), then
        the right reply written in two pieces 50 ms apart
    4   only garbage, no answer (like 2, with noise)
    5   ttl-expired ip-4 127.0.0.1 round-trip-time 1234
            mpls 100,0,1,255,200,3,0,64
    6   ttl-expired ip-4 127.0.0.1 round-trip-time 1234 mpls 100,0,1,255,7,1
        (a trailing partial MPLS group)
    7   probes-exhausted to the first attempt of each distinct
        (ttl, tos, bit-pattern, size), a proper reply to later attempts;
        tracked across instances in the state directory
    8   no-reply after the command's timeout (a silent host)
    9   the process exits at once (os._exit), as mtr-packet's SIGSEGV does
    10  network-down
    11  unexpected-error errno 110
    12  reply, but only after 1.5 s (a late answer)
    13  no-route ip-4 127.0.0.1 round-trip-time 500
    other  reply from the target at once

Options:
    --state DIR           shared directory: commands.log, instance-N files,
                          exhausted-* marks.  Required.
    --crash-after N       answer N probes, exit (os._exit(3)) on the next one
    --crash-instances K   --crash-after and --stall-after apply to the
                          first K instances only (default: all)
    --stall-after N       after N probes stop reading stdin and writing
                          stdout for good (a wedged process)
    --exit-at-start-from K  instances K and later exit 1 at once (so
                          restarts fail)
    --support-no          answer 'no' to check-support feature send-probe
    --exit-at-start       exit 1 at once, before reading anything
    --garbage-at-start    write garbage before reading the first command
    --mute                read commands but never answer anything
"""

import heapq
import os
import select
import sys
import time

GARBAGE = [
    b"this is not a reply\n",
    b"\x00\x00\x00\n",
    b"12\x0034 reply ip-4 127.0.0.1\n",
    b"\xff\xfe\xfd binary \x80\x81\n",
    b"987654321 reply ip-4 127.0.0.1 round-trip-time 5\n",   # unknown token
    b"-5 reply\n",
    b"\n",
    b"   \n",
    b"x" * 10240 + b"\n",
    b"0 command-parse-error\n",
]


def main():
    args = sys.argv[1:]
    opts = {"state": None, "crash_after": None, "crash_instances": None,
            "support_no": False, "exit_at_start": False,
            "garbage_at_start": False, "stall_after": None,
            "exit_from": None, "mute": False}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--state":
            opts["state"] = args[i + 1]
            i += 2
        elif a == "--crash-after":
            opts["crash_after"] = int(args[i + 1])
            i += 2
        elif a == "--crash-instances":
            opts["crash_instances"] = int(args[i + 1])
            i += 2
        elif a == "--stall-after":
            opts["stall_after"] = int(args[i + 1])
            i += 2
        elif a == "--exit-at-start-from":
            opts["exit_from"] = int(args[i + 1])
            i += 2
        elif a == "--support-no":
            opts["support_no"] = True
            i += 1
        elif a == "--exit-at-start":
            opts["exit_at_start"] = True
            i += 1
        elif a == "--mute":
            opts["mute"] = True
            i += 1
        elif a == "--garbage-at-start":
            opts["garbage_at_start"] = True
            i += 1
        else:
            sys.stderr.write("fake_mtr_packet: unknown option %s\n" % a)
            os._exit(2)
    if opts["exit_at_start"]:
        sys.stderr.write("fake_mtr_packet: exiting at start on purpose\n")
        os._exit(1)
    Fake(opts).run()


class Fake:
    def __init__(self, opts):
        self.opts = opts
        self.state = opts["state"]
        self.instance = self._register()
        self.probes = 0
        self.timers = []     # heap of (when, seq, bytes)
        self.seq = 0
        self.inbuf = b""
        self.cmdlog = None
        self.partial = False  # a line was half written: hold other output
        self.held = []
        if self.state:
            self.cmdlog = os.open(os.path.join(self.state, "commands.log"),
                                  os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                  0o644)
        ci = opts["crash_instances"]
        faulty = ci is None or self.instance <= ci
        self.crash_after = opts["crash_after"] if faulty else None
        self.stall_after = opts["stall_after"] if faulty else None
        if opts["exit_from"] is not None and self.instance >= opts["exit_from"]:
            sys.stderr.write("fake_mtr_packet: instance %d exits at start\n"
                             % self.instance)
            os._exit(1)

    def _register(self):
        """Claim the next instance-N file; return N."""
        if not self.state:
            return 1
        for n in range(1, 100000):
            try:
                fd = os.open(os.path.join(self.state, "instance-%d" % n),
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            os.write(fd, b"%d\n" % os.getpid())
            os.close(fd)
            return n
        return 0

    def out(self, data):
        if self.partial:
            self.held.append(data)
            return
        self.write(data)

    def write(self, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(1, view)
            except BrokenPipeError:
                os._exit(0)
            view = view[n:]

    def later(self, delay, data):
        self.seq += 1
        heapq.heappush(self.timers, (time.monotonic() + delay, self.seq, data))

    def run(self):
        if self.opts["garbage_at_start"]:
            for g in GARBAGE:
                self.out(g)
        while True:
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            r, _, _ = select.select([0], [], [], timeout)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, data = heapq.heappop(self.timers)
                if isinstance(data, tuple):   # the rest of a split line
                    self.write(data[0])
                    self.partial = False
                    held, self.held = self.held, []
                    for h in held:
                        self.write(h)
                    continue
                self.out(data)
            if r:
                chunk = os.read(0, 65536)
                if not chunk:
                    # mtr-packet finishes in-flight probes on EOF; the
                    # stand-in just leaves.
                    os._exit(0)
                self.inbuf += chunk
                while b"\n" in self.inbuf:
                    line, _, self.inbuf = self.inbuf.partition(b"\n")
                    self.command(line)

    def command(self, line):
        if self.cmdlog is not None:
            os.write(self.cmdlog, line + b"\n")
        if self.opts["mute"]:
            return
        words = line.decode("utf-8", "replace").split()
        if len(words) < 2:
            self.out(b"0 command-parse-error\n")
            return
        token, cmd = words[0], words[1]
        args = {}
        for k in range(2, len(words) - 1, 2):
            args[words[k]] = words[k + 1]
        if cmd == "check-support":
            self.out(("%s feature-support support %s\n" % (
                token, self.support(args.get("feature", "")))).encode())
        elif cmd == "send-probe":
            self.probe(token, args)
        else:
            self.out(("%s unknown-command\n" % token).encode())

    def support(self, feature):
        if feature == "send-probe":
            return "no" if self.opts["support_no"] else "ok"
        if feature == "version":
            return "0.95"
        if feature in ("ip-4", "ip-6", "icmp", "udp", "tcp", "mark"):
            return "ok"
        return "no"

    def probe(self, token, args):
        self.probes += 1
        if self.crash_after is not None and self.probes > self.crash_after:
            os._exit(3)
        if self.stall_after is not None and self.probes > self.stall_after:
            while True:          # wedged: read nothing, write nothing
                time.sleep(3600)
        if "ip-4" in args:
            fam, addr = "ip-4", args["ip-4"]
        elif "ip-6" in args:
            fam, addr = "ip-6", args["ip-6"]
        else:
            self.out(("%s invalid-argument\n" % token).encode())
            return
        try:
            timeout = int(args.get("timeout", "10"))
        except ValueError:
            self.out(("%s invalid-argument\n" % token).encode())
            return
        octet = 1
        if fam == "ip-4" and addr.startswith("127."):
            octet = int(addr.rsplit(".", 1)[1])
        t = token

        def line(s):
            return ("%s %s\n" % (t, s)).encode()

        if octet == 2:
            return
        if octet == 3:
            for g in GARBAGE:
                self.out(g)
            whole = line("reply %s %s round-trip-time 300" % (fam, addr))
            if self.partial:        # one split line at a time
                self.out(whole)
                return
            self.out(whole[:7])
            self.partial = True
            self.later(0.05, (whole[7:],))
            return
        if octet == 4:
            for g in GARBAGE:
                self.out(g)
            return
        if octet == 5:
            self.out(line("ttl-expired ip-4 127.0.0.1 round-trip-time 1234 "
                          "mpls 100,0,1,255,200,3,0,64"))
            return
        if octet == 6:
            self.out(line("ttl-expired ip-4 127.0.0.1 round-trip-time 1234 "
                          "mpls 100,0,1,255,7,1"))
            return
        if octet == 7:
            key = "exhausted-%s-%s-%s-%s" % (
                args.get("ttl", "-"), args.get("tos", "-"),
                args.get("bit-pattern", "-"), args.get("size", "-"))
            first = True
            if self.state:
                try:
                    fd = os.open(os.path.join(self.state, key),
                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    os.close(fd)
                except FileExistsError:
                    first = False
            if first:
                self.out(line("probes-exhausted"))
            else:
                self.out(line("reply %s %s round-trip-time 700" % (fam, addr)))
            return
        if octet == 8:
            self.later(timeout, line("no-reply"))
            return
        if octet == 9:
            os._exit(4)
        if octet == 10:
            self.out(line("network-down"))
            return
        if octet == 11:
            self.out(line("unexpected-error errno 110"))
            return
        if octet == 12:
            self.later(1.5, line("reply %s %s round-trip-time 1500000"
                                 % (fam, addr)))
            return
        if octet == 13:
            self.out(line("no-route ip-4 127.0.0.1 round-trip-time 500"))
            return
        self.out(line("reply %s %s round-trip-time 100" % (fam, addr)))


if __name__ == "__main__":
    main()
