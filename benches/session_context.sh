#!/usr/bin/env bash
# BuildKit context through the build session against the tar upload, on a large generated
# context and a tiny one (same 4-stage Dockerfile, everything cached):
#   warm    `stagescope build --builder buildkit` after one priming build
#   step    headless step mode (benches/step_chain.rs: the TUI's driver, a pause before
#           every stage answered with "next"), after one priming run
# Each with the session (default) and with STAGESCOPE_BUILDKIT_CONTEXT=tar (the upload);
# warm builds also through BuildKit's Control API (`--buildkit-addr docker`: the engine's
# BuildKit through /grpc, the session carried by Control/Session), as a remote builder runs.
#
#   benches/session_context.sh            SIZE_MB=400 FILES=400 RUNS=5 MODES="session tar control"
#
# Prints a markdown table of means (ms). Removes what it built (by build id), the generated
# contexts, and the build-cache records it left (each tar upload keeps one the size of the
# context: ~130 of them, 55 GB, for one run at the defaults) — only records that are new
# since it started and at least half the context's size; never prunes anything else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
size_mb=${SIZE_MB:-400}
files=${FILES:-400}
runs=${RUNS:-5}
modes=${MODES:-session tar control}

die() { echo "session_context: $*" >&2; exit 1; }

(cd "$root" && cargo build --release --quiet && cargo build --release --quiet --example step_chain) \
    || die "cargo build --release failed"
bin="${CARGO_TARGET_DIR:-$root/target}/release"
docker version >/dev/null 2>&1 || die "no Docker daemon answers"
"$bin/stagescope" setup-base >/dev/null || die "stagescope setup-base failed"

work=$(mktemp -d)
ids="$work/build-ids"
: >"$ids"
# Build-cache records: id and size in MB, one a line.
cache_records() {
    docker system df -v --format '{{range .BuildCache}}{{.ID}} {{.Size}}{{println}}{{end}}' 2>/dev/null \
        | awk 'NF == 2 { s = $2; m = 0
                if (s ~ /GB$/) m = s * 1024; else if (s ~ /MB$/) m = s + 0
                print $1, m }' || true
}
cache_records | awk '{print $1}' | sort >"$work/cache-before"
cleanup() {
    while read -r id; do
        [ -n "$id" ] && "$bin/stagescope" clean --build "$id" >/dev/null 2>&1 || true
    done <"$ids"
    cache_records | awk -v min=$((size_mb / 2)) '$2 >= min {print $1}' | sort \
        | comm -13 "$work/cache-before" - | while read -r rec; do
            docker builder prune -f --filter "id=$rec" >/dev/null 2>&1 || true
        done
    rm -rf "$work"
}
trap cleanup EXIT

dockerfile='FROM busybox AS one
COPY . /ctx/
RUN du -s /ctx > /one
FROM busybox AS two
COPY --from=one /one /two
RUN cat /two > /two.txt
FROM busybox AS three
COPY --from=two /two.txt /three
RUN wc -c /three > /three.txt
FROM busybox AS four
COPY --from=three /three.txt /four
'
mkdir -p "$work/big/data" "$work/tiny"
printf '%s' "$dockerfile" >"$work/big/Dockerfile"
printf '%s' "$dockerfile" >"$work/tiny/Dockerfile"
echo small >"$work/tiny/file"
per=$((size_mb * 1024 / files))
for i in $(seq 1 "$files"); do
    head -c "${per}K" /dev/urandom >"$work/big/data/f$i.bin"
done

now() { date +%s%N; }

# build CONTEXT MODE: one warm build, its wall time in ms
build() {
    local ctx=$1 mode=$2 t0 t1 out
    t0=$(now)
    if [ "$mode" = tar ]; then
        out=$(STAGESCOPE_BUILDKIT_CONTEXT=tar "$bin/stagescope" build --builder buildkit --progress json "$ctx")
    elif [ "$mode" = control ]; then
        out=$("$bin/stagescope" build --buildkit-addr docker --progress json "$ctx")
    else
        out=$("$bin/stagescope" build --builder buildkit --progress json "$ctx")
    fi
    t1=$(now)
    printf '%s\n' "$out" | sed -n 's/.*"build_id":"\([0-9a-f]*\)".*/\1/p' | head -1 >>"$ids"
    echo $(((t1 - t0) / 1000000))
}

# step CONTEXT MODE: one headless step-mode run, its wall time in ms (it cleans up itself)
step() {
    local ctx=$1 mode=$2
    if [ "$mode" = tar ]; then
        STAGESCOPE_BUILDKIT_CONTEXT=tar "$bin/examples/step_chain" "$ctx"
    else
        "$bin/examples/step_chain" "$ctx"
    fi
}

mean() { awk '{s+=$1} END {printf "%d", s/NR}'; }

echo "context: $size_mb MB in $files files; tiny: 2 files; $runs runs each" >&2
echo "| run | context | session (ms) | tar upload (ms) | Control API (ms) |"
echo "|---|---|---|---|---|"
for what in warm step; do
    for ctx in tiny big; do
        declare -A result=([session]=- [tar]=- [control]=-)
        for mode in $modes; do
            fn=build
            if [ "$what" = step ]; then
                # The headless driver runs on the engine's session or tar path only.
                [ "$mode" = control ] && continue
                fn=step
            fi
            $fn "$work/$ctx" "$mode" >/dev/null # prime
            for _ in $(seq 1 "$runs"); do $fn "$work/$ctx" "$mode"; done >"$work/times"
            result[$mode]=$(mean <"$work/times")
        done
        echo "| $what | $ctx | ${result[session]} | ${result[tar]} | ${result[control]} |"
    done
done
