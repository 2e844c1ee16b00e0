#!/usr/bin/env bash
# Every test on the engine DOCKER_HOST names (the machine's Docker 20.10 when unset) with
# Podman 4.3, then the engine tests again on today's engines: Docker 26 with buildx's BuildKit
# 0.13 (DOCKER_HOST) and Podman 5 (STAGESCOPE_PODMAN_HOST). The containerd image store is
# tested in both runs by tests/engine_containerd.rs (STAGESCOPE_CONTAINERD_HOST).
#
# Reads what the service scripts print; starts them when the variables are not set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${STAGESCOPE_MODERN_HOST:-}" ] || [ -z "${STAGESCOPE_PODMAN5_HOST:-}" ] ||
  [ -z "${STAGESCOPE_CONTAINERD_HOST:-}" ]; then
  eval "$(scripts/modern-engine.sh)"
fi
export STAGESCOPE_MODERN_HOST STAGESCOPE_PODMAN5_HOST STAGESCOPE_CONTAINERD_HOST
: "${STAGESCOPE_PODMAN_HOST:=$(scripts/podman-service.sh)}"
export STAGESCOPE_PODMAN_HOST

stamp() { date +%s; }
t0=$(stamp)
echo "== every test: Docker 20.10 ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')), Podman 4.3"
cargo test --workspace
t1=$(stamp)
echo "== the engine tests again: Docker $(DOCKER_HOST="$STAGESCOPE_MODERN_HOST" docker version --format '{{.Server.Version}}'), Podman 5"
DOCKER_HOST="$STAGESCOPE_MODERN_HOST" STAGESCOPE_PODMAN_HOST="$STAGESCOPE_PODMAN5_HOST" \
  cargo test --test '*'
t2=$(stamp)
echo "== time: machine's engine $((t1 - t0)) s, today's engines $((t2 - t1)) s"
