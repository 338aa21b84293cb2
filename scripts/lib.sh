# Shared by scripts/run.sh and scripts/test.sh.

source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
# shellcheck disable=SC2206 # word splitting of the space-separated lists is meant
apt_packages=($build_packages $redis_packages python3-pip)

# Installs the Debian packages the build needs and a local Redis, plus the ones named, only when
# one is missing.
install_dependencies() {
  local missing=()
  for package in "${apt_packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Real parts for the tests: check-jsonschema (the status map against its schema),
# prometheus-client's text parser (/metrics), aiosmtpd (an SMTP server receiving the alerts' mail) and
# schemathesis (the live API against its OpenAPI document).
ensure_python_test_tools() {
  if ! command -v check-jsonschema >/dev/null || ! command -v st >/dev/null \
    || ! python3 -c 'import prometheus_client, aiosmtpd' 2>/dev/null; then
    local packages=(check-jsonschema prometheus-client aiosmtpd schemathesis)
    python3 -m pip install --quiet --disable-pip-version-check "${packages[@]}" 2>/dev/null \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${packages[@]}"
    hash -r
  fi
  for tool in check-jsonschema st; do
    command -v "$tool" >/dev/null || { echo "$tool is not on PATH after installing it" >&2; exit 1; }
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_redis() {
  for _ in $(seq 1 100); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "redis-server on port $1 did not start" >&2
  exit 1
}

# A throwaway redis-server on 127.0.0.1:$1 without persistence, its pid file and log in a new folder.
# Sets redis_folder; stop_redis stops it and removes the folder.
redis_folder=""
start_redis() {
  redis_folder=$(mktemp -d)
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$redis_folder/redis.pid" --logfile "$redis_folder/redis.log"
  wait_for_redis "$1"
}

# Stops the process named by a pid file and waits (5 s, then SIGKILL) for it to be gone: redis-server
# writes its log while it shuts down, and a log written during `rm -rf` once left a folder non-empty
# and failed CI.
stop_process_in() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
}

stop_redis() {
  [ -n "$redis_folder" ] || return 0
  stop_process_in "$redis_folder/redis.pid"
  rm -rf "$redis_folder" || echo "could not remove $redis_folder" >&2
  redis_folder=""
}
