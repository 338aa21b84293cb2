#!/usr/bin/env bash
# The machine checks on the text of the code: swift-format (configuration in .swift-format, the
# toolchain's own `swift format`) finds nothing to change or report, and no Swift line is over
# 120 characters. Fix formatting with:
#   swift format format --in-place --recursive --parallel Sources Tests Package.swift Benchmarks/Benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."

paths=(Sources Tests Package.swift Benchmarks/Benchmarks Benchmarks/Package.swift)
echo "== swift format lint"
swift format lint --strict --recursive --parallel "${paths[@]}"

echo "== lines of at most 120 characters"
long=$(find Sources Tests Benchmarks/Benchmarks -name '*.swift' -print0 \
  | xargs -0 awk 'length > 120 { print FILENAME ":" FNR ": " length " characters" }')
if [ -n "$long" ]; then
  echo "$long" >&2
  exit 1
fi
