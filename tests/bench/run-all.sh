#!/bin/sh
# run-all.sh: regenerate mtrprobed's benchmark table in one run.
#
#   sh tests/bench/run-all.sh [--wait-quiet SEC] [--rounds R] BUILDDIR
#
# As root.  Prints a Markdown report on stdout (progress on stderr): first
# every figure next to its goal, then how each was measured:
#   1. throughput on 5000 loopback targets x 10 rounds, through the daemon,
#      through one raw mtr-packet and with fping; 1b. the CPU time of the
#      client, the daemon and each mtr-packet worker in the daemon's passes;
#   2. the latency the daemon adds at 1000 probes/s and at full speed;
#   3. the daemon's memory per in-flight probe (probes to a silent host);
#   4. its memory per idle connection;
#   5. 100000 probes in flight at once to the silent host, the pool at its
#      largest: how they are answered, how late after their deadline, and
#      the daemon's memory;
#   6. its instructions per probe, counted by callgrind, and the functions
#      that execute the most;
# with the machine it ran on and the exact commands.  Figures, not a test:
# it is not part of the test suite.  Needs: ip (iproute2), fping, valgrind
# (callgrind_control), mtr-packet, timeout (coreutils).  It takes a few
# minutes (section 5 alone about two).  run-all-report.sh, beside it,
# writes the report.
#
# Everything runs inside three network namespaces the script creates and
# removes, none with a route off the machine:
#   A  the daemons (and their mtr-packet workers); its loopback, and over a
#      veth pair namespace B;
#   B  owns 198.51.100.2 (documentation range) and ignores echo requests:
#      the silent host;
#   C  the throughput and latency clients, the raw mtr-packet and fping,
#      on C's own loopback.
# A raw ICMP socket receives a copy of every echo reply in its namespace:
# with the daemon's idle workers beside them, raw mtr-packet and fping lose
# about a third of their speed.  C keeps them apart (the clients reach the
# daemon's Unix socket from any namespace), and keeps out the loopback
# traffic of other programs on the machine.
#
# --wait-quiet SEC: first wait up to SEC s until no other mtrprobed,
# mtr-packet, fping or valgrind process runs on the machine.
# --rounds R: throughput rounds (odd; the median is reported; default 5).

set -u

PROG=run-all.sh
TARGETS=5000          # distinct loopback targets
PER_TARGET=10         # probes to each, per throughput measurement
RATE=1000             # probes/s of the paced latency passes
PACED_N=10000         # probes of each paced pass
HOLD=10000            # probes held in flight for the memory figure
HOLD_TIMEOUT=60       # their timeout, seconds
SILENT=198.51.100.2   # the silent host, in namespace B
IDLE=1000             # idle connections for the memory figure
CG_N=10000            # probes counted under callgrind
DL_N=100000           # probes in flight at once to the silent host, held to their deadline
DL_CONNS=10           # over this many connections
DL_WORKERS=100        # that daemon's pool: 100 x 1000 slots, one for each probe, all started
ROUNDS=5
WAIT_QUIET=0

# The comment at the top of this file, without its "# ".
usage() {
	awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	--wait-quiet) [ $# -ge 2 ] || { usage >&2; exit 2; }; WAIT_QUIET=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; ROUNDS=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "$PROG: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 1 ]; then
	usage >&2
	exit 2
fi
case $WAIT_QUIET in ''|*[!0-9]*) echo "$PROG: --wait-quiet: seconds" >&2; exit 2 ;; esac
case $ROUNDS in ''|*[!0-9]*|0) echo "$PROG: --rounds: a positive integer" >&2; exit 2 ;; esac
if [ "$(id -u)" -ne 0 ]; then
	echo "$PROG: must run as root (raw sockets, network namespaces)" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" 2>/dev/null && pwd) || { echo "$PROG: no directory $1" >&2; exit 2; }
DAEMON=$BUILDDIR/daemon/mtrprobed
BENCH=$BUILDDIR/tests/bench/mtrprobe-bench
for f in "$DAEMON" "$BENCH"; do
	[ -x "$f" ] || { echo "$PROG: $f missing: build first (ninja -C $1)" >&2; exit 2; }
done
# fping gives the third line of the throughput table: say so plainly.
if ! command -v fping >/dev/null 2>&1; then
	echo "$PROG: fping is not installed: the throughput figures compare the daemon with fping." >&2
	echo "$PROG: install it with: apt-get install -y fping   (or: sh tests/deps.sh)" >&2
	exit 2
fi
for t in ip valgrind callgrind_control callgrind_annotate mtr-packet timeout awk sort; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "$PROG: $t not found (packages: iproute2 valgrind mtr-tiny coreutils)" >&2; exit 2; }
done
MTR_PACKET_BIN=$(command -v mtr-packet)
N=$((TARGETS * PER_TARGET))
T_START=$(date +%s)

TMP=$(mktemp -d /tmp/mtrprobe-bench.XXXXXX) || exit 1
NSA=mpbench-a-$$
NSB=mpbench-b-$$
NSC=mpbench-c-$$
VETHA=mpb$$a
VETHB=mpb$$b
STARTED=""            # pid files of the daemons we started
NS_MADE=""

say() {
	echo "$PROG: $*" >&2
}

die() {
	say "$*"
	exit 1
}

# Stop the process whose pid is in file $1: SIGTERM, then SIGKILL after $2 s.
stop_pidfile() {
	[ -s "$1" ] || return 0
	pid=$(cat "$1")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$1"
}

cleanup() {
	trap - EXIT INT TERM HUP
	for f in $STARTED; do
		stop_pidfile "$f" 5
	done
	# Whatever is left in our namespaces is ours (mtr-packet workers of a
	# killed daemon): end it by pid.
	for ns in $NS_MADE; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	sleep 0.2
	for ns in $NS_MADE; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

RECORD=1              # whether run and run_a list their command in the report

# Note a command for the report's list, when RECORD is 1.
record() {
	[ "$RECORD" -eq 1 ] && echo "$*" >>"$TMP/commands"
	return 0
}

# Run a command, bounded by $1 seconds (then SIGTERM, SIGKILL 5 s later).
# Usage: run SECONDS CMD...
run() {
	limit=$1
	shift
	record "$*"
	timeout -k 5 "$limit" "$@"
}

# Same, inside namespace A.
run_a() {
	limit=$1
	shift
	record "ip netns exec $NSA $*"
	timeout -k 5 "$limit" ip netns exec "$NSA" "$@"
}

# Same, inside namespace C.
run_c() {
	limit=$1
	shift
	record "ip netns exec $NSC $*"
	timeout -k 5 "$limit" ip netns exec "$NSC" "$@"
}

# --- other benchmark-relevant processes on the machine -------------------

NSA_ID="" NSC_ID=""
# How many mtrprobed, mtr-packet, fping or valgrind processes run outside
# our namespaces.
others() {
	n=0
	for d in /proc/[0-9]*; do
		c=$(cat "$d/comm" 2>/dev/null) || continue
		case $c in
		mtrprobed|mtr-packet|fping|callgrind-amd64*|memcheck-amd64*|valgrind*) ;;
		*) continue ;;
		esac
		if [ -n "$NSA_ID" ]; then
			case $(readlink "$d/ns/net" 2>/dev/null) in
			"$NSA_ID"|"$NSC_ID") continue ;;
			esac
		fi
		n=$((n + 1))
	done
	echo "$n"
}

# The machine's CPU seconds so far from /proc/stat: user+nice+system of all
# processes, then steal (time the hypervisor gave to others).
machine_cpu() {
	awk -v hz="$HZ" '$1 == "cpu" { printf "%.2f %.2f\n", ($2 + $3 + $4) / hz, $9 / hz; exit }' \
		/proc/stat
}

# CPU seconds (user + system) of this script's finished children, theirs
# included: the clients, fping, and the daemons once stopped; as of the last
# "times >$TMP/times", which must run in this shell, not in a $(...).
own_cpu() {
	awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.2f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$TMP/times"
}

# CPU seconds (user, system) of this script's finished children, from a
# "times" output file $1 (its second line).
child_cpu() {
	awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.2f %.2f\n", u[1] * 60 + u[2], s[1] * 60 + s[2] }' "$1"
}

# CPU seconds so far of process $1 (a daemon) and of its children, from
# /proc/PID/stat: lines "PID NAME USER SYS"; the daemon's children that have
# exited and been waited for (its cutime and cstime) as PID "reaped".
cpu_snapshot() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v d="$1" -v hz="$HZ" '{
		comm = $0; sub(/^[^(]*\(/, "", comm); sub(/\) [^)]*$/, "", comm)
		rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
		# f[2] ppid, f[12] utime, f[13] stime, f[14] cutime, f[15] cstime
		if ($1 == d) {
			printf "%s %s %.2f %.2f\n", $1, comm, f[12] / hz, f[13] / hz
			printf "reaped exited-children %.2f %.2f\n", f[14] / hz, f[15] / hz
		} else if (f[2] == d)
			printf "%s %s %.2f %.2f\n", $1, comm, f[12] / hz, f[13] / hz
	}'
}

# What each process of snapshot $2 used since snapshot $1 (a process new in
# $2 counts from 0): lines "PID NAME USER SYS".
cpu_delta() {
	awk 'NR == FNR { u[$1] = $3; s[$1] = $4; next }
		{ printf "%s %s %.2f %.2f\n", $1, $2, $3 - u[$1], $4 - s[$1] }' "$1" "$2"
}

HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
OTHERS_MAX=0
# Note the other processes now, before measurement $1.
note_others() {
	o=$(others)
	[ "$o" -gt "$OTHERS_MAX" ] && OTHERS_MAX=$o
	echo "| $1 | $o | $(cut -d' ' -f1-3 /proc/loadavg) |" >>"$TMP/quiet"
}

if [ "$WAIT_QUIET" -gt 0 ]; then
	waited=0
	while [ "$(others)" -gt 0 ] && [ $waited -lt "$WAIT_QUIET" ]; do
		[ $((waited % 30)) -eq 0 ] && say "waiting for $(others) other mtrprobed/mtr-packet/fping/valgrind processes to end ($waited of $WAIT_QUIET s)"
		sleep 5
		waited=$((waited + 5))
	done
	QUIET_WAITED="waited $waited s (at most $WAIT_QUIET) for other processes to end"
else
	QUIET_WAITED="did not wait for other processes (--wait-quiet 0)"
fi
OTHERS_START=$(others)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- namespaces ----------------------------------------------------------

say "setting up network namespaces $NSA, $NSB and $NSC"
for ns in "$NSA" "$NSB" "$NSC"; do
	ip netns add "$ns" || die "cannot create namespace $ns"
	NS_MADE="$NS_MADE $ns"
done
ip -n "$NSA" link set lo up &&
ip -n "$NSB" link set lo up &&
ip -n "$NSC" link set lo up &&
ip link add "$VETHA" type veth peer name "$VETHB" &&
ip link set "$VETHA" netns "$NSA" &&
ip link set "$VETHB" netns "$NSB" &&
ip -n "$NSA" addr add 198.51.100.1/24 dev "$VETHA" &&
ip -n "$NSB" addr add "$SILENT/24" dev "$VETHB" &&
ip -n "$NSA" link set "$VETHA" up &&
ip -n "$NSB" link set "$VETHB" up &&
ip netns exec "$NSB" sysctl -qw net.ipv4.icmp_echo_ignore_all=1 ||
	die "cannot set up the namespaces"
NSA_ID=$(ip netns exec "$NSA" readlink /proc/self/ns/net)
NSC_ID=$(ip netns exec "$NSC" readlink /proc/self/ns/net)

# --- daemons -------------------------------------------------------------

# Start a daemon in namespace A.  Usage: start_daemon NAME SOCKET WAIT CMD...
# Its pid goes to $TMP/NAME.pid, its log to $TMP/NAME.log; waits up to WAIT
# seconds for the socket and for a version answer.
start_daemon() {
	name=$1 sock=$2 wait=$3
	shift 3
	pidf=$TMP/$name.pid
	STARTED="$STARTED $pidf"
	record "ip netns exec $NSA $*"
	ip netns exec "$NSA" sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" \
		>"$TMP/$name.log" 2>&1 </dev/null &
	i=0
	while ! [ -S "$sock" ] && [ $i -lt $((wait * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ] && [ -s "$pidf" ] ||
		{ cat "$TMP/$name.log" >&2; die "daemon $name did not start in $wait s"; }
}

# --- helpers for figures --------------------------------------------------

# The median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "min–max" of the numbers on stdin, rounded to integers.
range() {
	sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f–%.0f\n", lo, hi }'
}

# Column $2 of the "pass $1 ..." lines of the round files.
col() {
	cat "$TMP"/round.* | awk -v k="$1" -v c="$2" '$1 == "pass" && $2 == k { print $c }'
}

# Sum of a column.
sum() {
	awk '{ s += $1 } END { printf "%d\n", s }'
}

# ==========================================================================
say "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $OTHERS_START other mtrprobed/mtr-packet/fping/valgrind processes"

run 10 "$BENCH" --print-targets --targets "$TARGETS" >"$TMP/targets" ||
	die "cannot list the targets"
FIRST_T=$(head -n 1 "$TMP/targets")
LAST_T=$(tail -n 1 "$TMP/targets")

# --- 1 and 2: throughput and added latency, default configuration --------

times >"$TMP/times"
set -- "$1" $(machine_cpu) $(own_cpu) "$(date +%s)"
CPU0_ALL=$2 CPU0_STEAL=$3 CPU0_OWN=$4 CPU0_T=$5
set -- "$1"
SOCK=$TMP/mtrprobed.sock
start_daemon main "$SOCK" 30 "$DAEMON" -s "$SOCK"
MAIN_PID=$(cat "$TMP/main.pid")
RECORD=0
VERSION_LINE=$(run_c 20 "$BENCH" -s "$SOCK" --targets 1 --passes throughput -n 1 2>/dev/null | sed -n 's/^daemon: //p')

FPING="fping -q -s -c $PER_TARGET -i 0 -p 10 -t 1000 -f $TMP/targets"
say "warm-up: one round of each over the $TARGETS targets (not counted)"
run_c 300 "$BENCH" -s "$SOCK" -n "$N" --targets "$TARGETS" --passes throughput,direct \
	--mtr-packet "$MTR_PACKET_BIN" --summary >/dev/null || die "warm-up failed"
run_c 120 $FPING >/dev/null 2>&1
RECORD=1

r=1
while [ $r -le "$ROUNDS" ]; do
	note_others "throughput round $r"
	say "throughput round $r of $ROUNDS: daemon, raw mtr-packet, fping ($N probes each)"
	# The throughput pass alone, with the CPU time of every process around it.
	cpu_snapshot "$MAIN_PID" >"$TMP/cpu.before"
	times >"$TMP/times.before"
	w0=$(date +%s.%N)
	run_c 300 "$BENCH" -s "$SOCK" -n "$N" --targets "$TARGETS" --passes throughput \
		--timeout 240 --summary >"$TMP/round.$r" ||
		die "round $r: mtrprobe-bench failed: $(cat "$TMP/round.$r")"
	w1=$(date +%s.%N)
	times >"$TMP/times.after"
	cpu_snapshot "$MAIN_PID" >"$TMP/cpu.after"
	cpu_delta "$TMP/cpu.before" "$TMP/cpu.after" >>"$TMP/cpu.daemon"
	{ child_cpu "$TMP/times.before"; child_cpu "$TMP/times.after"; } |
		awk 'NR == 1 { u = $1; s = $2 } NR == 2 { printf "client mtrprobe-bench %.2f %.2f\n", $1 - u, $2 - s }' \
		>>"$TMP/cpu.daemon"
	awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f\n", b - a }' >>"$TMP/cpu.wall"
	run_c 300 "$BENCH" -s "$SOCK" -n "$N" --targets "$TARGETS" \
		--passes latency,direct,relay --mtr-packet "$MTR_PACKET_BIN" --timeout 240 \
		--summary >>"$TMP/round.$r" || die "round $r: mtrprobe-bench failed: $(cat "$TMP/round.$r")"
	run_c 120 $FPING >/dev/null 2>"$TMP/fping.$r"
	sent=$(awk '/ICMP Echos sent/ { print $1 }' "$TMP/fping.$r")
	recv=$(awk '/ICMP Echo Replies received/ { print $1 }' "$TMP/fping.$r")
	el=$(awk '/elapsed real time/ { print $1 }' "$TMP/fping.$r")
	[ -n "$sent" ] && [ -n "$recv" ] && [ -n "$el" ] ||
		die "round $r: no statistics from fping: $(cat "$TMP/fping.$r")"
	# Same columns as mtrprobe-bench --summary (no added latency).
	echo "$sent $recv $el" |
		awk '{ printf "pass fping %d %d %d %.1f - - - %.3f\n", $1, $2, $1 - $2, $1 / $3, $3 }' \
		>>"$TMP/round.$r"
	RECORD=0      # the report lists the first round's commands only
	r=$((r + 1))
done
RECORD=1

note_others "paced latency"
say "latency at $RATE probes/s: daemon, raw mtr-packet, bare relay ($PACED_N probes each)"
run_c 150 "$BENCH" -s "$SOCK" -n "$N" --paced-n "$PACED_N" --rate "$RATE" --targets "$TARGETS" \
	--passes latency,direct-latency,relay-latency --mtr-packet "$MTR_PACKET_BIN" --timeout 140 \
	--summary >"$TMP/paced" || die "paced passes failed: $(cat "$TMP/paced")"
record "kill -TERM $(cat "$TMP/main.pid")   # that daemon"
stop_pidfile "$TMP/main.pid" 10
times >"$TMP/times"
set -- "$1" $(machine_cpu) $(own_cpu) "$(date +%s)"
CPU_OTHERS=$(awk -v a="$2" -v a0="$CPU0_ALL" -v o="$4" -v o0="$CPU0_OWN" \
	'BEGIN { v = (a - a0) - (o - o0); printf "%.1f\n", v < 0 ? 0 : v }')
CPU_OWN=$(awk -v o="$4" -v o0="$CPU0_OWN" 'BEGIN { printf "%.1f\n", o - o0 }')
CPU_STEAL=$(awk -v s="$3" -v s0="$CPU0_STEAL" 'BEGIN { printf "%.1f\n", s - s0 }')
CPU_WALL=$(($5 - CPU0_T))
set -- "$1"

# --- 3: memory per in-flight probe ------------------------------------------

note_others "memory"
say "memory: $HOLD probes in flight to $SILENT (silent), then $IDLE idle connections"
printf '# %s probes on one connection: raise the per-connection limits.\nmax_inflight_per_client = %s\nclient_max_answer_bytes = %s\n' \
	"$HOLD" "$HOLD" "$((HOLD * 4096))" >"$TMP/hold.conf"
HSOCK=$TMP/hold.sock
start_daemon hold "$HSOCK" 30 "$DAEMON" -c "$TMP/hold.conf" -s "$HSOCK"
run_a 120 "$BENCH" -s "$HSOCK" --daemon-pid "$(cat "$TMP/hold.pid")" --hold-probes "$HOLD" \
	--target "$SILENT" --probe-timeout "$HOLD_TIMEOUT" >"$TMP/hold.out" ||
	die "hold-probes failed: $(cat "$TMP/hold.out")"
record "kill -TERM $(cat "$TMP/hold.pid")   # that daemon"
stop_pidfile "$TMP/hold.pid" 15

# --- 4: memory per idle connection (a fresh daemon: freed memory is not
# given back to the system and would hide the growth) -----------------------

ISOCK=$TMP/idle.sock
start_daemon idle "$ISOCK" 30 "$DAEMON" -s "$ISOCK"
run_a 120 "$BENCH" -s "$ISOCK" --daemon-pid "$(cat "$TMP/idle.pid")" \
	--hold-connections "$IDLE" >"$TMP/idle.out" ||
	die "hold-connections failed: $(cat "$TMP/idle.out")"
record "kill -TERM $(cat "$TMP/idle.pid")   # that daemon"
stop_pidfile "$TMP/idle.pid" 10

# --- 5: probes in flight to their deadline, the pool at its maximum --------

note_others "deadline"
say "deadline: $DL_N probes in flight to $SILENT over $DL_CONNS connections, $DL_WORKERS workers, timeout $HOLD_TIMEOUT s"
DL_PER=$(((DL_N + DL_CONNS - 1) / DL_CONNS))
cat >"$TMP/deadline.conf" <<EOF
# $DL_N probes in flight at once over $DL_CONNS connections: the pool at its
# largest from the start, and every limit those probes meet raised so that
# all of them fit (the uid_ limits do not apply to root; set all the same).
min_workers = $DL_WORKERS
max_workers = $DL_WORKERS
max_inflight_per_client = $DL_PER
client_max_answer_bytes = $((DL_PER * 4096))
max_queued = $((DL_N * 2))
uid_max_inflight = 0
uid_max_queued = 0
uid_max_answer_bytes = 1073741824
EOF
DSOCK=$TMP/deadline.sock
start_daemon deadline "$DSOCK" 60 "$DAEMON" -c "$TMP/deadline.conf" -s "$DSOCK"
# Exit status 1 when answers are missing: the figures say how many.
run_a $((HOLD_TIMEOUT + 240)) "$BENCH" -s "$DSOCK" --daemon-pid "$(cat "$TMP/deadline.pid")" \
	--deadline-probes "$DL_N" --connections "$DL_CONNS" --target "$SILENT" \
	--probe-timeout "$HOLD_TIMEOUT" >"$TMP/deadline.out"
grep -q '^deadline probes' "$TMP/deadline.out" ||
	die "deadline-probes failed: $(cat "$TMP/deadline.out")"
record "kill -TERM $(cat "$TMP/deadline.pid")   # that daemon"
stop_pidfile "$TMP/deadline.pid" 30

# --- 6: instructions per probe under callgrind ------------------------------

note_others "callgrind"
say "callgrind: the daemon under valgrind, $CG_N probes to 127.0.0.1 counted"
CSOCK=$TMP/cg.sock
CGOUT=$TMP/callgrind.out
start_daemon cg "$CSOCK" 120 valgrind --tool=callgrind --instr-atstart=no \
	--callgrind-out-file="$CGOUT" "$DAEMON" -s "$CSOCK"
CGPID=$(cat "$TMP/cg.pid")
# Warm-up, not instrumented: workers started, route cached, buffers grown.
run_a 300 "$BENCH" -s "$CSOCK" -n 1000 --target 127.0.0.1 --passes throughput --summary \
	>/dev/null || die "callgrind warm-up failed"
run 60 callgrind_control -i on "$CGPID" >"$TMP/cg.on" 2>&1 || die "callgrind_control -i on failed: $(cat "$TMP/cg.on")"
run_a 600 "$BENCH" -s "$CSOCK" -n "$CG_N" --target 127.0.0.1 --passes throughput \
	--timeout 540 --summary >"$TMP/cg.pass" || die "callgrind pass failed: $(cat "$TMP/cg.pass")"
run 60 callgrind_control -i off "$CGPID" >"$TMP/cg.off" 2>&1 || die "callgrind_control -i off failed: $(cat "$TMP/cg.off")"
record "kill -TERM $CGPID   # callgrind writes $CGOUT as the daemon exits"
stop_pidfile "$TMP/cg.pid" 60
IR=$(sed -n 's/^totals: *//p' "$CGOUT" | head -n 1)
[ -n "$IR" ] || die "no totals in $CGOUT"
echo "callgrind_annotate --threshold=90 $CGOUT" >>"$TMP/commands"
callgrind_annotate --threshold=90 "$CGOUT" 2>/dev/null >"$TMP/cg.annotate"
echo "callgrind_annotate --inclusive=yes --threshold=90 $CGOUT" >>"$TMP/commands"
callgrind_annotate --inclusive=yes --threshold=90 "$CGOUT" 2>/dev/null >"$TMP/cg.inclusive"

OTHERS_END=$(others)
T_END=$(date +%s)

# ==========================================================================
# The report.
. "$(dirname "$0")/run-all-report.sh"
