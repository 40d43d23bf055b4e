#!/bin/sh
# One fuzz-smoke target (make fuzz-smoke runs one of these per core): fuzz TARGET for SECONDS from its
# seeds; on a crash, sanitizer report, leak or oracle failure print the log's tail and exit 1 (the input
# stays in BUILD_FUZZ/crashes/).
# usage: spec/fuzz/smoke.sh BUILD_FUZZ SECONDS TARGET
set -u
b=$1 s=$2 t=$3
mkdir -p "$b/corpus/$t" "$b/crashes"
dict=""
[ -f "spec/fuzz/${t#fuzz_}.dict" ] && dict="-dict=spec/fuzz/${t#fuzz_}.dict"
echo "fuzz-smoke: $t for $s s"
if ! "$b/fuzz/$t" -max_total_time="$s" -timeout=20 -rss_limit_mb=2048 $dict \
    -artifact_prefix="$b/crashes/$t-" -print_final_stats=1 \
    "$b/corpus/$t" "spec/fuzz/corpus/$t" 2>"$b/$t.log"; then
  echo "fuzz-smoke: $t FAILED, its log ends:"
  tail -40 "$b/$t.log"
  exit 1
fi
echo "fuzz-smoke: $t ok, $(grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$b/$t.log" | tail -1)"
