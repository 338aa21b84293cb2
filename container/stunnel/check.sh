#!/usr/bin/env bash
# Checks the documented TLS workaround for real: a redis-server that speaks TLS only, stunnel run
# with container/stunnel/stunnel.conf (its server name, ports and CA filled in for a throwaway CA),
# and the sidecar through it: `beat`, then `check --once` finds the agent online. Also checks that a
# rediss:// URL stops the sidecar with status 2 and a message pointing here. CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
# shellcheck disable=SC2086 # a space-separated list
install_dependencies $build_packages $redis_packages $tls_packages

work=$(mktemp -d)
cleanup() {
  for pid_file in "$work"/*.pid; do stop_process_in "$pid_file"; done
  rm -rf "$work" || true
}
trap cleanup EXIT

swift build --product agent-heartbeat >/dev/null
binary="$(swift build --show-bin-path)/agent-heartbeat"

echo "== a CA and a certificate for localhost"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=check CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/redis.key" -out "$work/redis.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$work/san.ext"
openssl x509 -req -in "$work/redis.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/san.ext" -out "$work/redis.crt" 2>/dev/null

tls_port=$(free_port)
plain_port=$(free_port)
redis-server --port 0 --tls-port "$tls_port" --bind 127.0.0.1 --save '' --appendonly no \
  --tls-cert-file "$work/redis.crt" --tls-key-file "$work/redis.key" --tls-ca-cert-file "$work/ca.crt" \
  --tls-auth-clients no --requirepass s3cret --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"

sed -e "s|^accept = .*|accept = 127.0.0.1:$plain_port|" \
  -e "s|^connect = .*|connect = localhost:$tls_port|" \
  -e "s|^CAfile = .*|CAfile = $work/ca.crt|" \
  -e "s|^checkHost = .*|checkHost = localhost|" \
  -e "s|^pid =.*|pid = $work/stunnel.pid|" -e "s|^foreground = .*|foreground = no|" \
  container/stunnel/stunnel.conf >"$work/stunnel.conf"
stunnel "$work/stunnel.conf"
wait_for_redis "$plain_port" 2>/dev/null || true

cat >"$work/agents.yaml" <<YAML
agents:
  - id: mary
    name: Mary
YAML
export LUKA_REDIS_URL="redis://:s3cret@127.0.0.1:$plain_port"
export AGENT_HEARTBEAT_CONFIG="$work/agents.yaml" AGENT_HEARTBEAT_OUTPUT="$work/map.json"
tls_cli=(redis-cli --tls --cacert "$work/ca.crt" -h localhost -p "$tls_port" -a s3cret --no-auth-warning)
# The checker listens 5 s; the heartbeat goes out once it is subscribed (through stunnel).
"$binary" check --once --listen 5 >/dev/null &
checker=$!
for _ in $(seq 1 100); do
  [ "$("${tls_cli[@]}" PUBSUB NUMSUB agents:heartbeat:mary | tail -1)" -ge 1 ] && break
  sleep 0.05
done
"$binary" beat mary --status ok >/dev/null
wait "$checker"
python3 - "$work/map.json" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))["agents"]["mary"]["status"]
assert status == "online", status
print("ok: through stunnel to a TLS-only Redis, mary is online")
PY
"${tls_cli[@]}" EXISTS "{agents}:last:mary" | grep -q 1 || { echo "FAIL: the key is not on the TLS server"; exit 1; }
echo "ok: the heartbeat is stored on the TLS server"

set +e
message=$(LUKA_REDIS_URL="rediss://:s3cret@localhost:$tls_port" "$binary" check --once 2>&1)
code=$?
set -e
[ "$code" = 2 ] && grep -q "stunnel" <<<"$message" && ! grep -q s3cret <<<"$message" \
  || { echo "FAIL: rediss:// gave exit $code: $message"; exit 1; }
echo "ok: rediss:// stops with status 2 and points to stunnel: $message"
