#!/usr/bin/env bash
# Fuzzes the code that reads what others write (Sources/agent-heartbeat-fuzz/FuzzTarget.swift)
# with libFuzzer and AddressSanitizer, each target for a bounded time from its committed seeds in
# Fuzz/corpus/TARGET. The committed corpus is not changed (new inputs go to a temporary copy).
# A crash fails the run and leaves its input in Fuzz/crashes/; reproduce it with
#   swift run agent-heartbeat-fuzz TARGET Fuzz/crashes/FILE
# and turn it into a unit test.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]        (default 30 s, every target)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_dependencies

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(payload agents-yaml redis-url redis-reply notification)

echo "== building the fuzzers (libFuzzer + AddressSanitizer)"
# --sanitize fuzzer links libFuzzer's main in place of the executable's; -Xswiftc instruments every
# module (the core and the Redis reader too, not only the fuzz target) for coverage.
flags=(--scratch-path .build-fuzz --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address
  -Xswiftc -DFUZZING)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# (gold warns about every ASan symbol it cannot export: only the rest is shown.)
if ! swift build --product agent-heartbeat-fuzz "${flags[@]}" >"$work/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$work/build.log" >&2
  exit 1
fi
fuzzer="$(swift build "${flags[@]}" --show-bin-path)/agent-heartbeat-fuzz"
mkdir -p Fuzz/crashes
status=0
for target in "${targets[@]}"; do
  echo "== fuzzing $target for ${seconds} s"
  mkdir -p "$work/$target"
  cp Fuzz/corpus/"$target"/* "$work/$target/"
  # `timeout`: a crash report's symbolization can hang; the budget bounds the whole run.
  if ! FUZZ_TARGET="$target" timeout $((seconds + 120)) "$fuzzer" "$work/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -artifact_prefix="Fuzz/crashes/$target-" \
    >"$work/$target.log" 2>&1; then
    tail -40 "$work/$target.log"
    echo "!! $target: the fuzzer found a failing input, in Fuzz/crashes/" >&2
    status=1
  else
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^Done" "$work/$target.log" || true
  fi
done
exit $status
