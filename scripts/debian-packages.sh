# The Debian packages the project needs, in one place: scripts/lib.sh, container/Containerfile and
# .github/workflows/agent-heartbeat.yml read them from here. Plain POSIX sh (the Containerfile's
# RUN uses /bin/sh), space-separated words.

# To build: the C libraries' headers, found through pkg-config.
build_packages="libhiredis-dev libcurl4-openssl-dev libyaml-dev pkg-config"
# To run a built binary (the container's runtime stage); tzdata for the time zones of maintenance windows.
runtime_packages="libhiredis0.14 libyaml-0-2 libcurl4 ca-certificates tzdata"
# The local Redis scripts/run.sh starts when none is configured, and the tests' servers.
redis_packages="redis-server redis-tools"
# Only the tests: a headless browser for the dashboard test, pip for the Python validators.
test_packages="chromium python3-pip"
# container/build-and-check.sh: rootless image building without a Docker engine.
container_packages="podman buildah debootstrap runc"
# container/stunnel/check.sh: the TLS workaround (hiredis 0.14 has no TLS) checked for real.
tls_packages="stunnel4 openssl"
