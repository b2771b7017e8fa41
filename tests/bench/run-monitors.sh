#!/bin/sh
# run-monitors.sh: the cost of monitors, in one run.
#
#   sh tests/bench/run-monitors.sh [--seconds S] [--ping N] [--trace N] BUILDDIR
#
# As root.  Starts a daemon in a network namespace of its own with N ping
# monitors (default 10000; one probe a second each, to as many loopback
# addresses) and N trace monitors (default 1000; one round every 10 s, to
# loopback addresses), lets them run S seconds (default 60), and prints,
# each next to its goal:
#   - the daemon's own CPU time over the run (not its mtr-packet workers'),
#     as a share of one core (goal <= 15 %);
#   - its resident memory at the end and at most (goal <= 128 MiB);
#   - the cycles that started more than 50 ms after their schedule, from
#     the daemon's own counters (goal: under 1 %);
#   - the time and size of a scrape of /metrics (goal <= 250 ms), the best
#     and worst of 5;
#   - the probes sent, per result.
# Figures, not a test.  Needs ip (iproute2), python3, timeout (coreutils).
# Every packet stays on the namespace's loopback.

set -u

PROG=run-monitors.sh
SECONDS_RUN=60
N_PING=10000
N_TRACE=1000

usage() {
	awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) [ $# -ge 2 ] || { usage >&2; exit 2; }; SECONDS_RUN=$2; shift 2 ;;
	--ping) [ $# -ge 2 ] || { usage >&2; exit 2; }; N_PING=$2; shift 2 ;;
	--trace) [ $# -ge 2 ] || { usage >&2; exit 2; }; N_TRACE=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "$PROG: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 1 ]; then
	usage >&2
	exit 2
fi
for v in "$SECONDS_RUN" "$N_PING" "$N_TRACE"; do
	case $v in ''|*[!0-9]*) echo "$PROG: numbers only" >&2; exit 2 ;; esac
done
if [ "$(id -u)" -ne 0 ]; then
	echo "$PROG: must run as root (raw sockets, network namespaces)" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" 2>/dev/null && pwd) || { echo "$PROG: no directory $1" >&2; exit 2; }
DAEMON=$BUILDDIR/daemon/mtrprobed
[ -x "$DAEMON" ] || { echo "$PROG: $DAEMON missing: build first" >&2; exit 2; }

TMP=$(mktemp -d /tmp/mtrprobe-monbench.XXXXXX) || exit 1
NS=mpmon-$$
DPID=""
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
PORT=9464
mkdir "$TMP/monitors.d"
python3 - "$N_PING" "$N_TRACE" > "$TMP/monitors.d/bench.conf" <<'EOF'
import sys
n_ping, n_trace = int(sys.argv[1]), int(sys.argv[2])
def addr(i):
    i += 1 + 256                   # from 127.0.1.1
    return "127.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
for i in range(n_ping):
    print("[p%d]\ntarget = %s\ncount = 1\nperiod = 1\ntimeout = 0.5\n" % (i, addr(i)))
for i in range(n_trace):
    print("[t%d]\nkind = trace\ntarget = %s\nmax_ttl = 4\nperiod = 10\ntimeout = 1\n"
          % (i, addr(n_ping + i)))
EOF
cat > "$TMP/mtrprobed.conf" <<EOF
hosts_file = $TMP/hosts
dns_servers = 127.0.0.1:1
metrics_listen = 127.0.0.1:$PORT
max_workers = 16
log_level = warning
EOF
: > "$TMP/hosts"

ip netns exec "$NS" "$DAEMON" -c "$TMP/mtrprobed.conf" -s "$TMP/s.sock" 2>"$TMP/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$TMP/s.sock" ] && break; sleep 0.1; done
[ -S "$TMP/s.sock" ] || { echo "$PROG: the daemon did not start:" >&2; cat "$TMP/daemon.log" >&2; exit 1; }

# CPU ticks (utime + stime) of the daemon alone.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$DPID/stat"
}
HZ=$(getconf CLK_TCK)
echo "$PROG: $N_PING ping + $N_TRACE trace monitors, $SECONDS_RUN s ..." >&2
# The first period spreads the monitors' first cycles; measure after it.
sleep 11
T0=$(ticks)
sleep "$SECONDS_RUN"
T1=$(ticks)
RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$DPID/status")

ip netns exec "$NS" python3 - "$PORT" > "$TMP/scrape.txt" <<'EOF'
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
times, body = [], b""
for _ in range(5):
    t = time.monotonic()
    body = urllib.request.urlopen(url, timeout=30).read()
    times.append(time.monotonic() - t)
cycles = late = 0.0
results = {}
for line in body.decode().splitlines():
    if line.startswith("mtrprobed_monitor_cycles_total{"):
        cycles += float(line.rsplit(" ", 1)[1])
    elif line.startswith("mtrprobed_monitor_cycles_late_total{"):
        late += float(line.rsplit(" ", 1)[1])
    elif line.startswith('mtrprobed_probes_total{result="'):
        word = line.split('"')[1]
        results[word] = float(line.rsplit(" ", 1)[1])
print("scrape_best_ms %.1f" % (min(times) * 1000))
print("scrape_worst_ms %.1f" % (max(times) * 1000))
print("scrape_bytes %d" % len(body))
print("scrape_lines %d" % body.count(b"\n"))
print("cycles %d" % cycles)
print("late %d" % late)
print("results " + " ".join("%s=%d" % kv for kv in sorted(results.items()) if kv[1]))
EOF
get() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print }' "$TMP/scrape.txt"
}
CPU=$(awk -v a="$T0" -v b="$T1" -v hz="$HZ" -v s="$SECONDS_RUN" \
	'BEGIN { printf "%.1f", 100 * (b - a) / hz / s }')
LATE=$(awk -v c="$(get cycles)" -v l="$(get late)" 'BEGIN { printf "%.3f", c ? 100 * l / c : 0 }')

echo "| figure | measured | goal |"
echo "|---|---|---|"
echo "| daemon CPU, $N_PING ping monitors at 1/s and $N_TRACE trace monitors every 10 s | $CPU % of one core (over $SECONDS_RUN s) | <= 15 % |"
echo "| daemon resident memory | $((RSS / 1024)) MiB now, $((HWM / 1024)) MiB at most | <= 128 MiB |"
echo "| cycles started > 50 ms late | $(get late) of $(get cycles) ($LATE %) | < 1 % |"
echo "| scrape of /metrics | best $(get scrape_best_ms) ms, worst $(get scrape_worst_ms) ms of 5; $(get scrape_bytes) bytes, $(get scrape_lines) lines | <= 250 ms |"
echo "| probes ended, by result | $(get results) | |"
echo
echo "Command: \`sh tests/bench/run-monitors.sh --seconds $SECONDS_RUN --ping $N_PING --trace $N_TRACE BUILDDIR\`"
if [ -s "$TMP/daemon.log" ]; then
	echo
	echo "Daemon log (warnings and errors):"
	echo '```'
	head -20 "$TMP/daemon.log"
	echo '```'
fi
