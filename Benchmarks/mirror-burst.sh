#!/usr/bin/env bash
# Mirror rate of one release replica for a burst of heartbeats (default 100,000 over 1,000 agents).
# Starts its own redis-server on a free loopback port; prints heartbeats received, keys written and
# the end-to-end rate: from the first PUBLISH until every agent's key holds its last heartbeat.
# Not part of the test suite. Usage: Benchmarks/mirror-burst.sh [HEARTBEATS] [AGENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
heartbeats=${1:-100000}
agents=${2:-1000}
rounds=$((heartbeats / agents))

install_dependencies
swift build -c release --product agent-heartbeat >/dev/null
binary="$(swift build -c release --show-bin-path)/agent-heartbeat"

work=$(mktemp -d)
port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log"
cleanup() { kill "${sidecar:-}" 2>/dev/null || true; kill "$(cat "$work/redis.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_for_redis "$port"

python3 - "$work" "$agents" "$rounds" <<'PY'
import sys
work, agents, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{work}/agents.yaml", "w") as f:
    f.write("check_interval_seconds: 3600\nagents:\n")
    for i in range(agents):
        f.write(f"  - id: a{i}\n    name: Agent {i}\n")
def command(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)
with open(f"{work}/burst.resp", "wb") as f:
    for r in range(rounds):
        status = "final" if r == rounds - 1 else "ok"
        for i in range(agents):
            f.write(command("PUBLISH", f"agents:heartbeat:a{i}", f'{{"status":"{status}","round":{r},"signals_sent":{r * 7}}}'))
PY

export LUKA_REDIS_URL="redis://127.0.0.1:$port"
${PROFILE:-} "$binary" run --config "$work/agents.yaml" --output "$work/map.json" 2>"$work/sidecar.log" &
sidecar=$!
until [ "$(redis-cli -p "$port" pubsub numsub "agents:heartbeat:a$((agents - 1))" | tail -1)" = "1" ]; do sleep 0.05; done

start=$(date +%s.%N)
redis-cli -p "$port" --pipe < "$work/burst.resp" >/dev/null
published=$(date +%s.%N)
# Done when every key holds the final round.
until [ "$(redis-cli -p "$port" eval "local n = 0 for i = 0, tonumber(ARGV[1]) - 1 do local p = redis.call('GET', '{agents}:last:a' .. i) if p and string.find(p, 'final', 1, true) then n = n + 1 end end return n" 0 "$agents")" = "$agents" ]; do
  sleep 0.01
done
done_at=$(date +%s.%N)
kill -TERM "$sidecar"; wait "$sidecar" || true
stats=$(grep -o 'malformed=[0-9]* received=[0-9]* written=[0-9]*' "$work/sidecar.log" | tail -1)
python3 - "$start" "$published" "$done_at" "$heartbeats" "$stats" <<'PY'
import sys
start, published, done, n, stats = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fields = dict(kv.split("=") for kv in stats.split())
received = int(fields["received"])
print(f"burst of {n} heartbeats: published in {published - start:.3f} s, all mirrored after {done - start:.3f} s")
print(f"sidecar counted received={received} written={fields['written']} malformed={fields['malformed']} lost={n - received}")
print(f"mirror rate: {n / (done - start):,.0f} heartbeats/s")
PY
