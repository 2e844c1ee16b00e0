#!/usr/bin/env bash
# Starts Podman's Docker-compatible API on a socket of the project's own, for the Podman
# tests, and prints the DOCKER_HOST that reaches it. Installs Debian's podman when missing.
# Idempotent: a service already answering on the socket is reused.
set -euo pipefail
dir="${STAGESCOPE_PODMAN_DIR:-/tmp/stagescope-podman}"
sock="$dir/podman.sock"
mkdir -p "$dir"

if ! command -v podman >/dev/null 2>&1; then
  echo "installing: podman" >&2
  apt-get update -qq >&2
  apt-get install -y -qq podman >/dev/null
fi

# Rootful Podman raises every container's nofile/nproc limits to 1M by default; in a sandbox
# without CAP_SYS_RESOURCE runc then cannot start anything. Ask for what this host allows.
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=8192:8192"]
CONF

answers() { [ -S "$sock" ] && podman --url "unix://$sock" version >/dev/null 2>&1; }
if ! answers; then
  rm -f "$sock"
  # From /: the service's children (conmon) need a working directory that outlives the
  # checkout that started it, which a CI run may remove.
  (
    cd /
    CONTAINERS_CONF="$dir/containers.conf" setsid podman system service --time=0 \
      "unix://$sock" >"$dir/service.log" 2>&1 < /dev/null &
  )
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
  answers || { echo "podman service did not start:" >&2; tail -20 "$dir/service.log" >&2; exit 1; }
fi
echo "unix://$sock"
