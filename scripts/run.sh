#!/usr/bin/env bash
# Runs the sidecar (`agent-heartbeat run`) on a fresh Debian 12 machine with Swift installed:
# installs the C libraries, builds a release binary, and, when LUKA_REDIS_URL is not set,
# starts a local redis-server on 127.0.0.1:6379 (unless one already answers there) and stops it on exit.
# Extra arguments go to `agent-heartbeat run`, e.g. scripts/run.sh --log-level debug.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

install_dependencies
swift build -c release --product agent-heartbeat
binary="$(swift build -c release --show-bin-path)/agent-heartbeat"

trap stop_redis EXIT
if [ -z "${LUKA_REDIS_URL:-}" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  start_redis 6379
  echo "started redis-server on 127.0.0.1:6379 (stopped when the sidecar exits)" >&2
fi

"$binary" run "$@" &
sidecar=$!
# Pass SIGTERM/SIGINT on so the sidecar shuts down gracefully (final map) before Redis stops.
trap 'kill -TERM "$sidecar" 2>/dev/null' TERM INT
status=0
wait "$sidecar" || status=$?
if kill -0 "$sidecar" 2>/dev/null; then wait "$sidecar" || status=$?; fi
exit "$status"
