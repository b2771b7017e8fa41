#!/usr/bin/env python3
"""Monitors over a routed topology, scraped by a real Prometheus server.

    h - r1 - r2 - d      (harness.Topology), and a second way r1 - r3 - d

The daemon runs in h with a ping monitor and a trace monitor of d; a
Prometheus server (Debian's prometheus package), also in h, scrapes it
every second.  The test moves r1's route to d from r2 to r3 (the path
changes at TTL 2), then makes d ignore echo requests (the ping monitor
loses everything), and asks Prometheus' HTTP API what it saw: the RTT
quantiles and loss, the path change counted, the hop responder info
moved, and no new hop histogram series."""

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import harness as H

D = "198.51.100.10"          # d, behind r2 (and r3)
R2 = "198.51.100.6"          # r2's address facing r1
R3 = "198.51.100.14"         # r3's address facing r1

MONITORS = """
[dping]
target = %s
count = 5
interval = 0.1
period = 1
timeout = 0.5

[dpath]
kind = trace
target = %s
max_ttl = 6
period = 1
timeout = 0.5
""" % (D, D)


class Topology(H.Topology):
    """harness.Topology plus r3: r1 (198.51.100.13/30) - r3 - d
    (198.51.100.17/30 | 198.51.100.18/30), unused until r1's route to d's
    network is moved to it."""

    def __init__(self):
        super().__init__("mtrprom")
        self.ns["r3"] = "mtrprom-r3-%d" % os.getpid()

    def build_extra(self):
        self._link("r1", "r1c", "r3", "r3a")
        self._link("r3", "r3b", "d", "d1")
        for ns, dev, a4 in (("r1", "r1c", "198.51.100.13/30"),
                            ("r3", "r3a", R3 + "/30"),
                            ("r3", "r3b", "198.51.100.17/30"),
                            ("d", "d1", "198.51.100.18/30")):
            self.ip(ns, "addr", "add", a4, "dev", dev)
            self.ip(ns, "link", "set", dev, "up")
        self.ip("r3", "link", "set", "lo", "up")
        self.sysctl("r3", "net.ipv4.ip_forward", 1)
        self.sysctl("r3", "net.ipv4.icmp_ratelimit", 0)
        self.sysctl("r3", "net.ipv4.icmp_msgs_per_sec", 1000000)
        self.sysctl("r3", "net.ipv4.icmp_msgs_burst", 1000000)
        self.ip("r3", "route", "add", "198.51.100.8/30", "via", "198.51.100.18")
        self.ip("r3", "route", "add", "default", "via", "198.51.100.13")

    def via_r3(self):
        self.ip("r1", "route", "replace", "198.51.100.8/30", "via", R3)


class Prometheus:
    """A Prometheus server in namespace ns, on loopback, scraping target
    every second, with its own data directory."""

    def __init__(self, ns, target):
        self.dir = H.tmpdir("prom")
        self.port = H.free_port()
        self.ns = ns
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: mtrprobed\n"
                    "    static_configs:\n      - targets: ['%s']\n" % target)
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, shutil.which("prometheus"),
             "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=self.log, start_new_session=True)
        H.wait_until(lambda: self._ready(), 30, interval=0.2,
                     what="prometheus ready")
        return self

    def _get(self, path):
        # the API is on h's loopback: ask from inside h
        r = subprocess.run(["ip", "netns", "exec", self.ns, "python3", "-c",
                            "import sys, urllib.request; sys.stdout.write("
                            "urllib.request.urlopen(sys.argv[1], timeout=5)"
                            ".read().decode())",
                            "http://127.0.0.1:%d%s" % (self.port, path)],
                           capture_output=True, timeout=20)
        if r.returncode != 0:
            raise OSError(r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited: %s" % self.logtext())
        try:
            return "Ready" in self._get("/-/ready")
        except OSError:
            return False

    def query(self, q):
        """The instant vector of q: [(labels, value)]."""
        out = json.loads(self._get("/api/v1/query?query=" +
                                   urllib.parse.quote(q)))
        assert out["status"] == "success", out
        return [(r["metric"], float(r["value"][1]))
                for r in out["data"]["result"]]

    def one(self, q):
        res = self.query(q)
        assert len(res) == 1, "%s: %r" % (q, res)
        return res[0][1]

    def logtext(self):
        with open(os.path.join(self.dir, "prometheus.log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return False


def test_route_change_and_loss_seen_by_prometheus():
    if not shutil.which("prometheus"):
        H.skip("prometheus not installed (Debian package prometheus; "
               "tests/deps.sh installs it)")
    with Topology() as topo:
        port = H.free_port()
        d = H.Daemon("prom", netns=topo.ns["h"], workers=1, config={
            "metrics_listen": "127.0.0.1:%d" % port})
        mdir = os.path.join(d.dir, "monitors.d")
        os.mkdir(mdir)
        with open(os.path.join(mdir, "m.conf"), "w") as f:
            f.write(MONITORS)
        with d, Prometheus(topo.ns["h"], "127.0.0.1:%d" % port) as prom, \
                d.client() as events:
            r = events.request({"op": "monitor_events", "id": "e",
                                "name": "dpath"})
            assert r == {"id": "e", "following": True, "name": "dpath"}, r
            # the path through r2, every ping answered
            H.wait_until(lambda: prom.query(
                'mtrprobed_trace_hops{monitor="dpath"} == 3'), 20,
                interval=0.5, what="the first path in prometheus")
            time.sleep(4)
            assert prom.one('mtrprobed_trace_hop_info{monitor="dpath",'
                            'ttl="2",responder="%s"}' % R2) == 1
            assert prom.one('mtrprobed_trace_path_changes_total'
                            '{monitor="dpath"}') == 0
            series = prom.one('count(mtrprobed_trace_hop_rtt_seconds_bucket'
                              '{monitor="dpath"})')
            # TTLs 1-3 counted, 16 bounds and +Inf each
            assert series == 3 * 17, series
            p50 = prom.one('histogram_quantile(0.5, sum by (le) (rate('
                           'mtrprobed_monitor_rtt_seconds_bucket'
                           '{monitor="dping"}[3s])))')
            p99 = prom.one('histogram_quantile(0.99, sum by (le) (rate('
                           'mtrprobed_monitor_rtt_seconds_bucket'
                           '{monitor="dping"}[3s])))')
            # veths between namespaces: well under 10 ms
            assert 0 < p50 <= p99 < 0.01, (p50, p99)
            loss = prom.one('1 - increase(mtrprobed_monitor_probes_received'
                            '_total{monitor="dping"}[3s]) / increase('
                            'mtrprobed_monitor_probes_sent_total'
                            '{monitor="dping"}[3s])')
            assert loss == 0, loss
            assert prom.one('mtrprobed_monitor_up{monitor="dping"}') == 1

            # the route moves to r3: the path changes at TTL 2
            topo.via_r3()
            H.wait_until(lambda: prom.query(
                'mtrprobed_trace_path_changes_total{monitor="dpath"} >= 1'),
                20, interval=0.5, what="the path change in prometheus")
            H.wait_until(lambda: prom.query(
                'mtrprobed_trace_hop_info{monitor="dpath",ttl="2",'
                'responder="%s"}' % R3), 10, interval=0.5,
                what="r3 at TTL 2")
            assert prom.query('mtrprobed_trace_hop_info{monitor="dpath",'
                              'ttl="2",responder="%s"}' % R2) == []
            # the subscriber saw the change, hop by hop
            while True:
                ev = events.recv(timeout=10)
                if ev.get("event") == "path-changed":
                    break
            assert ev["id"] == "e" and ev["monitor"] == "dpath", ev
            assert ev["old"] == ["198.51.100.1", R2, D], ev
            assert ev["new"] == ["198.51.100.1", R3, D], ev
            assert ev["old_path_id"] != ev["path_id"], ev
            assert prom.one('count(mtrprobed_trace_hop_rtt_seconds_bucket'
                            '{monitor="dpath"})') == series, \
                "the route change created hop histogram series"

            # d stops answering echo requests: the ping monitor loses all
            subprocess.run(topo.exec_cmd("d", "sysctl", "-q", "-w",
                                         "net.ipv4.icmp_echo_ignore_all=1"),
                           check=True, timeout=10)
            time.sleep(5)
            loss = prom.one('1 - increase(mtrprobed_monitor_probes_received'
                            '_total{monitor="dping"}[3s]) / increase('
                            'mtrprobed_monitor_probes_sent_total'
                            '{monitor="dping"}[3s])')
            assert loss == 1, loss
            assert prom.one('mtrprobed_monitor_up{monitor="dping"}') == 0
            assert prom.one('increase(mtrprobed_monitor_probe_results_total'
                            '{monitor="dping",result="no-reply"}[3s])') > 0


def main():
    H.require_root()
    H.require_real_mtr_packet()
    H.main(H.collect_tests(globals()))


if __name__ == "__main__":
    main()
