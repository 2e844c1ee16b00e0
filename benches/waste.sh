#!/bin/sh
# waste's cost on the 100k-file image: cold (an empty cache each run) against `tree --image`
# and a bare `docker save`, warm against `tree --image --depth 1`. Needs docker, python3,
# busybox:latest, a release build, and hyperfine (installed with apt-get when missing).
# Usage: benches/waste.sh [RUNS]
set -eu
RUNS=${1:-3}
BIN=$(cd "$(dirname "$0")/.." && pwd)/target/release/stagescope
IMG=stagescope-bench:100k-waste
TMP=$(mktemp -d)
MADE=""
trap 'rm -rf "$TMP"; [ -z "$MADE" ] || docker rmi -f $MADE >/dev/null 2>&1 || true' EXIT
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
if ! docker image inspect "$IMG" >/dev/null 2>&1; then
  sh "$(dirname "$0")/image.sh" 100000 730 stagescope-bench:100k
  printf 'FROM stagescope-bench:100k\nRUN rm -rf /data/d00* && echo x > /data/d100/f000100\n' |
    DOCKER_BUILDKIT=0 docker build -q -t "$IMG" - >/dev/null
  MADE="$IMG stagescope-bench:100k"
fi
hyperfine -r "$RUNS" --prepare "rm -rf $TMP/cold" \
  "XDG_CACHE_HOME=$TMP/cold $BIN waste $IMG" \
  "XDG_CACHE_HOME=$TMP/cold $BIN tree --image $IMG" \
  "docker save $IMG"
XDG_CACHE_HOME=$TMP/warm "$BIN" waste "$IMG" >/dev/null
hyperfine -N -w 1 -r 10 \
  "env XDG_CACHE_HOME=$TMP/warm $BIN waste $IMG" \
  "env XDG_CACHE_HOME=$TMP/warm $BIN tree --image $IMG --depth 1"
