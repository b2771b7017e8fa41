#!/bin/sh
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# SECONDS (default 60) on a copy of its seed corpus in a temporary
# directory, so that nothing is written into the source tree.  Exits
# non-zero when a target does not build, crashes, leaks, times out or runs
# out of memory; prints the reproducer's path and its bytes in hex, and
# ends with "N passed, N failed".
#   tests/fuzz/run.sh [SECONDS [TARGET...]]
# TARGET: request, reply, config, packet_line, addr, mondef (default: all).
# Environment: CC (default clang-14); FUZZ_KEEP=1 keeps the temporary
# directory even when every target passed (it is always kept on failure).
set -u
cd "$(dirname "$0")/../.." || exit 2

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS [TARGET...]]" >&2
	exit 2
	;;
esac
[ $# -gt 0 ] && shift
targets=${*:-request reply config packet_line addr mondef}
cc=${CC:-clang-14}

# The sources each target links: the pure modules it exercises, no more.
sources() {
	case $1 in
	request) echo daemon/monjson.c daemon/mondef.c daemon/mplan.c daemon/kvtext.c daemon/proto.c daemon/jscan.c daemon/encode.c daemon/protocol.c daemon/mtrpkt.c daemon/addrfmt.c ;;
	reply) echo daemon/monjson.c daemon/mondef.c daemon/mplan.c daemon/kvtext.c daemon/mtrpkt.c daemon/addrfmt.c daemon/proto.c daemon/jscan.c daemon/encode.c daemon/protocol.c ;;
	config) echo daemon/config.c daemon/kvtext.c daemon/mstats.c ;;
	packet_line) echo daemon/monjson.c daemon/mondef.c daemon/mplan.c daemon/kvtext.c client/pktcmd.c daemon/proto.c daemon/jscan.c daemon/encode.c daemon/protocol.c daemon/mtrpkt.c daemon/addrfmt.c ;;
	addr) echo daemon/addrfmt.c ;;
	mondef) echo daemon/mondef.c daemon/mplan.c daemon/kvtext.c ;;
	*) return 1 ;;
	esac
}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "$cc not found: install the Debian packages clang-14 and libclang-rt-14-dev" >&2
	exit 2
fi
if ! jansson=$(pkg-config --cflags --libs jansson); then
	echo "jansson not found by pkg-config: install libjansson-dev" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mtrprobe-fuzz.XXXXXX") || exit 2
passed=0
failed=0

# Print a file's bytes in hex, 16 a line (at most 4 KiB of them).
hex() {
	head -c 4096 "$1" | od -An -v -tx1 | sed 's/^ //'
}

for t in $targets; do
	if ! src=$(sources "$t"); then
		echo "FAIL $t: unknown target" >&2
		failed=$((failed + 1))
		continue
	fi
	dir=$work/$t
	mkdir -p "$dir/corpus" "$dir/artifacts"
	echo "==== fuzz_$t: build"
	# shellcheck disable=SC2086 # $src and $jansson are word lists
	if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
		-Wall -Wextra -I include -I . \
		-o "$dir/fuzz_$t" "tests/fuzz/fuzz_$t.c" $src $jansson -lm; then
		echo "FAIL $t: does not build"
		failed=$((failed + 1))
		continue
	fi
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
	fi
	echo "==== fuzz_$t: $seconds s on $(find "$dir/corpus" -type f | wc -l) seed inputs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
		"$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	artifacts=$(find "$dir/artifacts" -type f | sort)
	if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
		echo "ok   fuzz_$t: ${execs:-?} runs, corpus now $(find "$dir/corpus" -type f | wc -l) inputs"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	echo "FAIL fuzz_$t (exit status $rc) after ${execs:-?} runs; the end of its log:"
	tail -n 60 "$dir/log" | sed 's/^/    /'
	for a in $artifacts; do
		echo "reproducer: $a ($(wc -c <"$a") bytes; run: $dir/fuzz_$t $a)"
		hex "$a" | sed 's/^/    /'
	done
done

if [ "$failed" -gt 0 ] || [ "${FUZZ_KEEP:-0}" = 1 ]; then
	echo "binaries, logs, corpora and reproducers kept in $work"
else
	rm -rf "$work"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
