#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine with Swift installed:
# installs what the tests need, starts a throwaway redis-server on a free loopback port,
# runs `swift test`, and stops the server whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# shellcheck disable=SC2086 # a space-separated list
install_dependencies $test_packages
ensure_python_test_tools

port=$(free_port)
folder=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --pidfile "$folder/redis.pid" --logfile "$folder/redis.log"
trap 'kill "$(cat "$folder/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$folder"' EXIT
wait_for_redis "$port"

export AGENT_HEARTBEAT_TEST_REDIS_URL="redis://127.0.0.1:$port"
swift build --build-tests
swift test --skip-build "$@"
