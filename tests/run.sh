#!/bin/sh
# Install what is missing, build with warnings as errors, run the whole test
# suite, and print "N passed, N failed".
#   tests/run.sh [BUILDDIR [MESON_OPTION...]]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-test}
[ $# -gt 0 ] && shift
sh tests/deps.sh
if [ ! -d "$build" ]; then
	meson setup "$build" --werror "$@"
fi
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 1 || status=$?
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
