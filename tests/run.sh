#!/bin/bash
# make test: the unit tests (under ASan/UBSan) and the real-BPF integration
# tests, with one closing line that counts both.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0

tally() { # name, output file, exit code
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n1)
	if [ -z "$line" ]; then
		echo "tests: $1 printed no result line (exit $3)" >&2
		failed=$((failed + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "tests: $1 exited $3 with no failed test" >&2
		failed=$((failed + 1))
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== unit tests (ASan, UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	.output/unit/unit-tests 2>&1 | tee "$tmp/unit"
tally unit "$tmp/unit" "${PIPESTATUS[0]}"

echo "== fuzz, short pass (make fuzz runs longer)"
tests/fuzz/run.sh "${FUZZ_SHORT_SECONDS:-5}" 2>&1 | tee "$tmp/fuzz"
tally fuzz "$tmp/fuzz" "${PIPESTATUS[0]}"

echo "== integration tests (real BPF)"
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root (sudo make test)" >&2
	failed=$((failed + 1))
else
	timeout 1200 python3 tests/integration/run.py 2>&1 | tee "$tmp/integration"
	tally integration "$tmp/integration" "${PIPESTATUS[0]}"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
