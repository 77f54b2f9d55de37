#!/bin/bash
# Run every libFuzzer target for SECONDS each (default 60), starting from
# the committed seeds.  New inputs go to a scratch corpus, not the repo.
# A crash leaves its input in .output/fuzz/crash-*: add it to
# tests/fuzz/corpus/<target>/ so it becomes a regression seed.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-60}
passed=0
failed=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=.output/fuzz/$name
	seeds=tests/fuzz/corpus/$name
	work=.output/fuzz/corpus-$name
	mkdir -p "$work" "$seeds"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=.output/fuzz/crash-"$name"- -print_final_stats=0 \
		"$work" "$seeds" >.output/fuzz/"$name".log 2>&1; then
		echo "ok   $name ($(grep -c . <(ls "$work")) corpus inputs, ${secs}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: see .output/fuzz/$name.log"
		tail -n 20 .output/fuzz/"$name".log
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
