#!/usr/bin/env bash
# Builds the runtime image with podman and checks it for real: runs it against a redis-server on
# the host's loopback, waits for /readyz, sends a heartbeat and reads the status map it writes.
# Works without a Docker engine or a registry: the Debian base image comes from debootstrap
# (`podman import`), and the binary is built on the host and handed to the Containerfile as
# BUILDER. Prints the image size and the sidecar's idle memory. CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# shellcheck disable=SC2086 # a space-separated list
install_dependencies $container_packages
podman=(podman --storage-driver vfs --runtime runc)
image=localhost/agent-heartbeat:latest
work=$(mktemp -d)
name="agent-heartbeat-check-$$"
cleanup() {
  "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
  stop_process_in "$work/redis.pid"
  rm -rf "$work" || true
}
trap cleanup EXIT

echo "== building the binary (release, static Swift runtime, the project's warnings as errors)"
# SwiftPM silences the dependencies' warnings, so the flag holds the project's own code only.
swift build -c release --product agent-heartbeat --static-swift-stdlib -Xswiftc -warnings-as-errors
binary="$(swift build -c release --static-swift-stdlib -Xswiftc -warnings-as-errors --show-bin-path)/agent-heartbeat"

if ! "${podman[@]}" image exists docker.io/library/debian:bookworm-slim; then
  echo "== making the Debian bookworm base image with debootstrap"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$work/rootfs" -c . | "${podman[@]}" import - docker.io/library/debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

echo "== building $image"
mkdir "$work/binary"
cp "$binary" "$work/binary/agent-heartbeat"
strip "$work/binary/agent-heartbeat"
tar -C "$work/binary" -c agent-heartbeat | "${podman[@]}" import - localhost/agent-heartbeat-binary:latest >/dev/null
"${podman[@]}" build --isolation chroot --pull=never --format docker \
  --build-arg BUILDER=localhost/agent-heartbeat-binary:latest \
  -f container/Containerfile -t "$image" .

echo "== running it against redis-server on the host's loopback"
redis_port=$(free_port)
http_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log"
wait_for_redis "$redis_port"
mkdir -p "$work/hub"
chown 10001:10001 "$work/hub"
"${podman[@]}" run -d --name "$name" --network host \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --health-interval disable \
  -e LUKA_REDIS_URL="redis://127.0.0.1:$redis_port" -e AGENT_HEARTBEAT_HTTP="127.0.0.1:$http_port" \
  -v "$work/hub:/var/lib/agent-heartbeat/hub" "$image" >/dev/null 2>"$work/podman.log"
# (podman cannot register HEALTHCHECK timers without systemd; `healthcheck run` below still works.)

ready=""
for _ in $(seq 1 150); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/readyz")" = "200" ]; then ready=yes; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { echo "FAIL: /readyz never answered 200"; cat "$work/podman.log"; "${podman[@]}" logs "$name" | tail -20; exit 1; }
echo "ok: /readyz answers 200"

redis-cli -p "$redis_port" PUBLISH agents:heartbeat:mary '{"status":"ok","source":"container-check"}' >/dev/null
online=""
for _ in $(seq 1 100); do
  if redis-cli -p "$redis_port" GET "{agents}:last:mary" | grep -q container-check; then online=yes; break; fi
  sleep 0.2
done
[ -n "$online" ] || { echo "FAIL: the heartbeat was not mirrored"; exit 1; }
echo "ok: the heartbeat was mirrored into Redis"
"${podman[@]}" exec "$name" agent-heartbeat check --once >/dev/null
python3 - "$work/hub/agent_heartbeat.json" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))
assert status["agents"]["mary"]["status"] == "online", status["agents"]["mary"]
assert status["summary"]["total_agents"] == 4, status["summary"]
print("ok: the map lists 4 agents, mary online")
PY
"${podman[@]}" healthcheck run "$name" >/dev/null || { echo "FAIL: the HEALTHCHECK fails"; exit 1; }
echo "ok: HEALTHCHECK passes"
curl -s "http://127.0.0.1:$http_port/metrics" | grep -q '^agent_heartbeat_heartbeats_received_total{agent="mary"} 1' \
  || { echo "FAIL: /metrics does not count the heartbeat"; exit 1; }
echo "ok: /metrics counts the heartbeat"

pid=$("${podman[@]}" inspect --format '{{.State.Pid}}' "$name")
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
user=$("${podman[@]}" image inspect --format '{{.Config.User}}' "$image")

"${podman[@]}" stop -t 10 "$name" >/dev/null 2>>"$work/podman.log"
code=$("${podman[@]}" inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = "0" ] || { echo "FAIL: exit code $code after SIGTERM"; exit 1; }
echo "ok: SIGTERM stops it with exit code 0"
echo "image $image: $((size / 1024 / 1024)) MiB, user $user; idle RSS with 4 agents: $((rss_kb / 1024)) MiB"
