#!/bin/sh
# The filesystem from layers (issue 11): `stagescope tree --image IMG --json` (tree and
# added-by from one `docker save` stream) against `docker save > /dev/null`, cold (empty
# caches), warm (every layer in the layer cache, the whole-image index cache emptied), and
# for a second image on the same base (one new layer parsed, the base's read through).
# Usage: benches/layers.sh [FILES] [MB] [RUNS]   (defaults: 20000 140 3)
# IMAGE=name reuses an image made before by benches/image.sh (kept afterwards).
# Needs: docker, python3, GNU time (/usr/bin/time), a built stagescope (STAGESCOPE=path,
# default target/release). Runs are interleaved so a drift of the machine hits all alike.
set -eu
FILES=${1:-20000}
MB=${2:-140}
RUNS=${3:-3}
BIN=${STAGESCOPE:-${CARGO_TARGET_DIR:-target}/release/stagescope}
TAG=stagescope-bench-layers:$FILES-$MB
TAG2=stagescope-bench-layers:$FILES-$MB-child
CACHE=$(mktemp -d)
CTX=$(mktemp -d)
OWN=$TAG
[ -n "${IMAGE:-}" ] && { TAG=$IMAGE; OWN=; }
trap 'rm -rf "$CACHE" "$CTX"; docker rmi -f "$TAG2" $OWN >/dev/null 2>&1 || true' EXIT

"$BIN" setup-base >/dev/null
[ -n "$OWN" ] && "$(dirname "$0")/image.sh" "$FILES" "$MB" "$TAG"
printf 'FROM %s\nRUN echo %s > /child\n' "$TAG" "$(date +%s%N)" >"$CTX/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$TAG2" "$CTX" >/dev/null

# A failed run (say, the engine timing out) is reported and the others go on.
t() { /usr/bin/time -f "  %e s wall, peak RSS %M KiB" "$@" || echo "  (failed)"; }
echo "image: $FILES files, ~$MB MB; second image: one more layer on it"
for run in $(seq "$RUNS"); do
    echo "run $run: docker save > /dev/null"
    t sh -c 'docker save "$0" >/dev/null' "$TAG"
    rm -rf "$CACHE"/*
    echo "run $run: cold stagescope tree --image --json (empty caches)"
    XDG_CACHE_HOME=$CACHE t "$BIN" tree --image "$TAG" --json >/dev/null
    rm -rf "$CACHE"/stagescope/index
    echo "run $run: warm (every layer cached, no whole-image index)"
    XDG_CACHE_HOME=$CACHE t "$BIN" tree --image "$TAG" --json >/dev/null
    echo "run $run: warm with the whole-image index too"
    XDG_CACHE_HOME=$CACHE t "$BIN" tree --image "$TAG" --json >/dev/null
    echo "run $run: second image on the same base (its one layer parsed)"
    XDG_CACHE_HOME=$CACHE t "$BIN" tree --image "$TAG2" --json >/dev/null
done
