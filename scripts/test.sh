#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine with Swift installed:
# installs what the tests need, starts a throwaway redis-server on a free loopback port,
# runs `swift test`, and stops the server whatever happens. Arguments go to `swift test`.
# SANITIZER=address or SANITIZER=thread builds and runs everything (the sidecar binary the process
# tests start included) under that sanitizer, in .build-SANITIZER.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# shellcheck disable=SC2086 # a space-separated list
install_dependencies $test_packages
ensure_python_test_tools

port=$(free_port)
trap stop_redis EXIT
start_redis "$port"

export AGENT_HEARTBEAT_TEST_REDIS_URL="redis://127.0.0.1:$port"
build=()
if [ -n "${SANITIZER:-}" ]; then
  build=(--scratch-path ".build-$SANITIZER" --sanitize "$SANITIZER")
  # A report fails the process (and so the test that started it), not only a line in its output.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0" TSAN_OPTIONS="halt_on_error=1"
fi
swift build --build-tests "${build[@]}"
swift test --skip-build "${build[@]}" "$@"
