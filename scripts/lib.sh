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
