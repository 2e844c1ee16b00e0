#!/usr/bin/env bash
# What recording a run into the history costs a warm (fully cached) build: `stagescope
# build` with the history on against the same with STAGESCOPE_NO_HISTORY=1, taking turns,
# on assets/demo and on a context of FILES generated files that a `COPY . ` reads (the
# recorder stats every one of them and reuses the digests of the previous record).
#
#   benches/record_overhead.sh            RUNS=10 FILES=20000 by default
#
# Environment: STAGESCOPE (binary; default: cargo build --release), RUNS, FILES. The history
# goes to a temporary XDG_STATE_HOME; what the builds made is removed at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${RUNS:-10}
files=${FILES:-20000}

die() { echo "record_overhead: $*" >&2; exit 1; }
if [ -z "${STAGESCOPE:-}" ]; then
    (cd "$root" && cargo build --release --quiet) || die "cargo build --release failed"
    STAGESCOPE="${CARGO_TARGET_DIR:-$root/target}/release/stagescope"
fi
docker version >/dev/null 2>&1 || die "no Docker daemon answers"
"$STAGESCOPE" setup-base >/dev/null || die "stagescope setup-base failed"

work=$(mktemp -d)
cleanup() {
    while read -r id; do
        [ -n "$id" ] && "$STAGESCOPE" clean --build "$id" >/dev/null 2>&1 || true
    done < <(sort -u "$work/ids" 2>/dev/null)
    rm -rf "$work"
}
trap cleanup EXIT
export XDG_STATE_HOME="$work/state"

cp -r "$root/assets/demo" "$work/demo"
mkdir -p "$work/many/src"
for i in $(seq 1 "$files"); do
    d="$work/many/src/d$((i % 100))"
    mkdir -p "$d"
    printf 'file %s\n' "$i" > "$d/f$i.txt"
done
printf 'FROM busybox AS build\nWORKDIR /app\nCOPY . .\nRUN ls -R | wc -l\nFROM busybox\nCOPY --from=build /app/src/d1 /d1\n' \
    > "$work/many/Dockerfile"

# One build, its wall time in ms on stdout; its id kept for the cleanup.
one() {
    local ctx=$1 t0 t1 out
    t0=$(date +%s%N)
    out=$("$STAGESCOPE" build "$ctx" 2>/dev/null | head -1)
    t1=$(date +%s%N)
    sed -n 's/.*(build \(.*\))/\1/p' <<<"$out" >> "$work/ids"
    echo $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "| context | history on (median ms) | history off (median ms) | on/off |"
echo "|---|---:|---:|---:|"
for ctx in demo many; do
    one "$work/$ctx" >/dev/null                      # prime the cache (and the history)
    STAGESCOPE_NO_HISTORY=1 one "$work/$ctx" >/dev/null
    on=(); off=()
    for _ in $(seq 1 "$runs"); do
        on+=("$(one "$work/$ctx")")
        off+=("$(STAGESCOPE_NO_HISTORY=1 one "$work/$ctx")")
    done
    m_on=$(printf '%s\n' "${on[@]}" | median)
    m_off=$(printf '%s\n' "${off[@]}" | median)
    ratio=$(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a / b}')
    echo "| $ctx | $m_on | $m_off | $ratio |"
done
