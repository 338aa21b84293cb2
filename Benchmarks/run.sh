#!/usr/bin/env bash
# Runs the benchmark suite and prints one table (not part of the tests or CI).
# Installs redis-server/redis-tools and redis-py if missing, builds the release binary, then runs
# Benchmarks/run.py, which starts its own redis-server on a free loopback port.
# Usage: Benchmarks/run.sh [--only 1,2,3,4,5,6,7,8,9] [--heartbeats N] [--idle-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_dependencies chromium   # scenario 9, the dashboard's first paint
python3 -c 'import redis' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check redis \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages redis
swift build -c release --product agent-heartbeat >&2
exec python3 Benchmarks/run.py --binary "$(swift build -c release --show-bin-path)/agent-heartbeat" "$@"
