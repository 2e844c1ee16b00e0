#!/usr/bin/env bash
# Starts today's engines beside the machine's Docker 20.10, for the engine tests and the
# benchmarks: Docker 26 (Debian 13's docker.io, with buildx as a plugin of the machine's docker
# CLI), Docker 26 with the containerd image store, and Podman 5. They run from a Debian 13 root
# made with debootstrap, each chrooted on a socket, data root and bridge of its own.
#
# Prints what the tests read:
#   STAGESCOPE_MODERN_HOST=unix://…      Docker 26 (fuse-overlayfs image store)
#   STAGESCOPE_CONTAINERD_HOST=unix://…  Docker 26 with the containerd image store
#   STAGESCOPE_PODMAN5_HOST=unix://…     Podman 5's Docker-compatible API
# so that `eval "$(scripts/modern-engine.sh)"` sets them. Everything else goes to stderr.
#
# Idempotent: the root is made once (minutes), then reused; a daemon already answering is
# reused, so a second run takes seconds. The machine's engine keeps its docker0: each daemon
# here gets a bridge of its own, never `--bridge none` (moby then deletes docker0).
set -euo pipefail

root="${STAGESCOPE_MODERN_ROOT:-/var/lib/stagescope/trixie}"
suite=trixie
packages=(docker.io docker-buildx podman fuse-overlayfs ca-certificates iproute2)
log() { echo "modern-engine: $*" >&2; }

# The Debian mirror the machine's apt already uses (no host is named here).
mirror() {
  local uri
  uri="$(grep -rhoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE '[a-z]+://[^[:space:]]+' | head -1)"
  [ -n "$uri" ] || { log "no Debian mirror in the apt sources"; exit 1; }
  echo "${uri%/}"
}

host_needs() {
  local missing=()
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing on the host: ${missing[*]}"
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# The root must be a mount point of its own (else `docker load` fails remounting /), with
# proc, sys and dev inside; sys and dev recursive and slave so nothing leaks back.
mount_root() {
  mountpoint -q "$root" || { mount --bind "$root" "$root"; mount --make-private "$root"; }
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/sys" || { mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; }
  mountpoint -q "$root/dev" || { mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; }
}

make_root() {
  [ -x "$root/usr/sbin/dockerd" ] && [ -x "$root/usr/bin/podman" ] && [ -f "$root/.stagescope-ready" ] && return
  host_needs
  local m
  m="$(mirror)"
  if [ ! -x "$root/usr/bin/apt-get" ]; then
    log "making a Debian 13 root in $root (minutes, once)"
    mkdir -p "$root"
    debootstrap --variant=minbase "$suite" "$root" "$m" >&2
  fi
  mount_root
  # No init in the root: package scripts must not try to start services.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  printf 'deb %s %s main\n' "$m" "$suite" >"$root/etc/apt/sources.list"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  log "installing ${packages[*]} in the root"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
  touch "$root/.stagescope-ready"
}

bridge() { # NAME CIDR
  ip link show "$1" >/dev/null 2>&1 || {
    ip link add "$1" type bridge
    ip addr add "$2" dev "$1"
  }
  ip link set "$1" up
}

answers() { DOCKER_HOST="unix://$1" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# start_dockerd NAME BRIDGE CIDR [extra dockerd flags…]: its socket is /run/NAME.sock in the root.
start_dockerd() {
  local name="$1" br="$2" cidr="$3"
  shift 3
  local sock="$root/run/$name.sock"
  if ! answers "$sock"; then
    bridge "$br" "$cidr"
    rm -f "$sock" "$root/run/$name.pid"
    mkdir -p "$root/etc/$name"
    [ -f "$root/etc/$name/daemon.json" ] || echo '{}' >"$root/etc/$name/daemon.json"
    log "starting $name"
    (
      cd /
      setsid chroot "$root" dockerd \
        --host "unix:///run/$name.sock" \
        --data-root "/var/lib/$name" --exec-root "/run/$name" --pidfile "/run/$name.pid" \
        --config-file "/etc/$name/daemon.json" \
        --bridge "$br" --iptables=false --ip6tables=false \
        "$@" >"$root/var/log/$name.log" 2>&1 </dev/null &
    )
    for _ in $(seq 1 120); do answers "$sock" && break; sleep 0.5; done
    answers "$sock" || { log "$name did not start:"; tail -30 "$root/var/log/$name.log" >&2; exit 1; }
  fi
  echo "$sock"
}

# The tests' base image, from the machine's engine (no registry here).
load_base() { # SOCK
  DOCKER_HOST="unix://$1" docker image inspect busybox:latest >/dev/null 2>&1 && return
  docker image inspect busybox:latest >/dev/null 2>&1 || base_on_machine_engine
  log "loading busybox:latest into $1"
  docker save busybox:latest | DOCKER_HOST="unix://$1" docker load >/dev/null
}

base_on_machine_engine() {
  local bin
  # setup-base makes the image from it when no registry answers.
  if ! dpkg -s busybox-static >/dev/null 2>&1; then
    log "installing on the host: busybox-static"
    apt-get update -qq >&2
    apt-get install -y -qq busybox-static >/dev/null
  fi
  bin="$(dirname "$0")/../target/release/stagescope"
  [ -x "$bin" ] || bin="$(dirname "$0")/../target/debug/stagescope"
  if [ -x "$bin" ]; then
    "$bin" setup-base >&2
  else
    (cd "$(dirname "$0")/.." && cargo run -q -- setup-base) >&2
  fi
}

# buildx as a plugin of the machine's docker CLI: the yardstick `docker buildx build`.
install_buildx() {
  local plugin=""
  for p in "$root/usr/libexec/docker/cli-plugins/docker-buildx" "$root/usr/lib/docker/cli-plugins/docker-buildx"; do
    [ -x "$p" ] && plugin="$p" && break
  done
  [ -n "$plugin" ] || { log "no docker-buildx in the root"; exit 1; }
  mkdir -p "$HOME/.docker/cli-plugins"
  cmp -s "$plugin" "$HOME/.docker/cli-plugins/docker-buildx" 2>/dev/null ||
    install -m 0755 "$plugin" "$HOME/.docker/cli-plugins/docker-buildx"
}

start_podman5() {
  local sock="$root/run/stagescope-podman5.sock"
  local nofile
  nofile="$(ulimit -Hn)"
  [ "$nofile" = unlimited ] && nofile=1048576
  # Rootful Podman raises every container's limits to 1M by default; ask for what this host
  # allows. No systemd here: cgroupfs and a file event log. No network for containers: Podman
  # 5's netavark would need nft and a bridge on the subnet Podman 4.3's CNI already uses.
  cat >"$root/etc/stagescope-podman5.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=8192:8192"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  if ! answers "$sock"; then
    rm -f "$sock"
    log "starting podman 5"
    (
      cd /
      setsid chroot "$root" env CONTAINERS_CONF=/etc/stagescope-podman5.conf \
        podman --storage-driver vfs system service --time=0 "unix:///run/stagescope-podman5.sock" \
        >"$root/var/log/stagescope-podman5.log" 2>&1 </dev/null &
    )
    for _ in $(seq 1 120); do answers "$sock" && break; sleep 0.5; done
    answers "$sock" || { log "podman 5 did not start:"; tail -30 "$root/var/log/stagescope-podman5.log" >&2; exit 1; }
  fi
  echo "$sock"
}

make_root
mount_root
install_buildx

modern="$(start_dockerd stagescope-docker26 ssmodern0 10.231.0.1/24 --storage-driver fuse-overlayfs)"
mkdir -p "$root/etc/stagescope-containerd"
echo '{"features": {"containerd-snapshotter": true}}' >"$root/etc/stagescope-containerd/daemon.json"
containerd="$(start_dockerd stagescope-containerd ssctrd0 10.231.1.1/24 --storage-driver native \
  --containerd-namespace stagescope-ctrd --containerd-plugins-namespace stagescope-ctrd-plugins)"
podman5="$(start_podman5)"

for sock in "$modern" "$containerd" "$podman5"; do load_base "$sock"; done

echo "STAGESCOPE_MODERN_HOST=unix://$modern"
echo "STAGESCOPE_CONTAINERD_HOST=unix://$containerd"
echo "STAGESCOPE_PODMAN5_HOST=unix://$podman5"
