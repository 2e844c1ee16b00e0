#!/usr/bin/env bash
# `stagescope build` against `docker buildx build` on the same engine (Docker 26 from
# scripts/modern-engine.sh unless DOCKER_HOST says otherwise), same Dockerfile, same context:
#   cold   a fresh copy of the context (a new path: nothing of it on the daemon) with
#          --no-cache: every instruction runs and the context travels whole
#   warm   the same context again, every instruction cached
#   step   stagescope's step mode (benches/step_chain.rs, a pause before every stage answered
#          "next") against a plain stagescope build, warm
# on three contexts: tiny (one file), 20k files / 400 MB, 100k files / 100 MB. The Dockerfile
# reads part of the context (`COPY data/d0* /a/`, `COPY blobs/blob0 /b`), copies between
# stages twice and runs one RUN, as issue 27's measurement did.
# Then one warm stagescope build under `strace -c -f` per context: statx/openat/llistxattr
# calls per context file, and the bytes the session sent (plain progress' context line).
#
#   benches/vs_buildx.sh        RUNS=5 SIZES="tiny 20k 100k" MODES="warm cold step"
#
# Prints, per case, the medians (wall, CPU = user+sys) and the ratio stagescope / buildx, with
# min and max. Removes its contexts and what it built; prunes only the build cache records it
# made (by their description: the local sources of its own context paths are not findable, so
# `docker builder prune --filter until=…` is not used: nothing else is touched).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${RUNS:-5}
sizes=${SIZES:-tiny 20k 100k}
modes=${MODES:-warm cold step}
die() { echo "vs_buildx: $*" >&2; exit 1; }

if [ -z "${DOCKER_HOST:-}" ]; then
    eval "$("$root/scripts/modern-engine.sh")"
    export DOCKER_HOST="$STAGESCOPE_MODERN_HOST"
fi
docker buildx version >/dev/null 2>&1 || die "no docker buildx (scripts/modern-engine.sh installs it)"
(cd "$root" && cargo build --release --quiet && cargo build --release --quiet --example step_chain) \
    || die "cargo build --release failed"
bin="${CARGO_TARGET_DIR:-$root/target}/release"
"$bin/stagescope" setup-base >/dev/null || die "setup-base failed"
export STAGESCOPE_NO_HISTORY=${STAGESCOPE_NO_HISTORY:-}

work=$(mktemp -d)
ids="$work/ids"
: >"$ids"
cleanup() {
    while read -r id; do
        [ -n "$id" ] && "$bin/stagescope" clean --build "$id" >/dev/null 2>&1 || true
    done <"$ids"
    docker image rm -f vs-buildx-bench >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

dockerfile='FROM busybox AS one
COPY data/d0* /a/
COPY blobs/blob0 /b
RUN ls /a | wc -l > /one
FROM busybox AS two
COPY --from=one /one /two
FROM busybox AS three
COPY --from=two /two /three
'

make_context() { # DIR SIZE
    local dir=$1 size=$2
    mkdir -p "$dir/data" "$dir/blobs"
    printf '%s' "$dockerfile" >"$dir/Dockerfile"
    case $size in
    tiny)
        echo x >"$dir/data/d00"
        echo x >"$dir/blobs/blob0"
        ;;
    20k) # 20k files, 400 MB: 19,990 of 10 KB and ten blobs of 20 MB
        python3 - "$dir" 20000 10240 <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = os.urandom(size)
for i in range(n - 10):
    with open(f"{d}/data/d{i % 100:02d}{i}", "wb") as f:
        f.write(chunk)
for i in range(10):
    with open(f"{d}/blobs/blob{i}", "wb") as f:
        f.write(os.urandom(20 << 20))
PY
        ;;
    100k) # 100k files of 1 KB
        python3 - "$dir" 100000 1024 <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = os.urandom(size)
for i in range(n - 1):
    sub = f"{d}/data/d{i % 100:02d}"
    os.makedirs(sub, exist_ok=True)
    with open(f"{sub}/f{i}", "wb") as f:
        f.write(chunk)
with open(f"{d}/blobs/blob0", "wb") as f:
    f.write(chunk)
PY
        ;;
    esac
}

# One timed run of a function below, as a process of its own: "wall cpu" in seconds.
timed() {
    /usr/bin/time -o "$work/time" -f '%e %U %S' bash -c '"$@"' _ "$@" >/dev/null 2>&1 || true
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time"
}
ours() { # DIR [flags]
    local dir=$1
    shift
    "$bin/stagescope" build "$dir" --progress json "$@" >"$work/out.json" 2>/dev/null || true
    grep -o '"build_id":"[0-9a-f]*"' "$work/out.json" | head -1 | cut -d'"' -f4 >>"$ids" || true
}
buildx() { # DIR [flags]
    local dir=$1
    shift
    docker buildx build -q -t vs-buildx-bench "$@" "$dir"
}
step() { "$bin/examples/step_chain" "$1"; }
export -f ours buildx step
export bin work ids

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minmax() { sort -n | awk 'NR==1{min=$1} {max=$1} END {printf "%s–%s", min, max}'; }

# pair NAME CMD_A CMD_B: RUNS alternating runs of A and B, medians and the ratio A/B.
pair() {
    local name=$1 a=$2 b=$3
    : >"$work/a" ; : >"$work/b"; : >"$work/r"; : >"$work/rc"
    for _ in $(seq 1 "$runs"); do
        read -r wa ca < <(eval "$a")
        read -r wb cb < <(eval "$b")
        echo "$wa $ca" >>"$work/a"
        echo "$wb $cb" >>"$work/b"
        awk -v x="$wa" -v y="$wb" 'BEGIN{printf "%.2f\n", x / y}' >>"$work/r"
        awk -v x="$ca" -v y="$cb" 'BEGIN{ if (y > 0) printf "%.2f\n", x / y; else print "nan"}' >>"$work/rc"
    done
    printf '| %s | %s s | %s s | %sx (%s) | %sx |\n' "$name" \
        "$(awk '{print $1}' "$work/a" | median)" "$(awk '{print $1}' "$work/b" | median)" \
        "$(median <"$work/r")" "$(minmax <"$work/r")" "$(median <"$work/rc")"
}

echo "engine: $(docker version --format '{{.Server.Version}}') at $DOCKER_HOST, buildx $(docker buildx version | awk '{print $2}'), $runs runs"
echo
echo '| case | stagescope (median wall) | other (median wall) | wall ratio (min–max) | CPU ratio |'
echo '|---|---|---|---|---|'
for size in $sizes; do
    base="$work/ctx-$size"
    make_context "$base" "$size"
    for mode in $modes; do
        case $mode in
        warm)
            ours "$base" >/dev/null; buildx "$base" >/dev/null
            pair "$size warm vs buildx" "timed ours $base" "timed buildx $base"
            ;;
        cold)
            # Each run a new path (a new shared key: the whole context travels) and no cache.
            fresh() { local d; d=$(mktemp -d "$work/cold-$size-XXXX"); cp -a "$base/." "$d/"; echo "$d"; }
            pair "$size cold vs buildx" 'timed ours "$(fresh)" --no-cache' 'timed buildx "$(fresh)" --no-cache'
            rm -rf "$work"/cold-"$size"-*
            ;;
        step)
            step "$base" >/dev/null 2>&1 || true
            pair "$size step mode vs a plain build" "timed step $base" "timed ours $base"
            ;;
        esac
    done
    if command -v strace >/dev/null 2>&1; then
        files=$(find "$base" -type f | wc -l)
        strace -f -c -o "$work/strace" -e trace=statx,newfstatat,lstat,openat,faccessat,faccessat2,llistxattr,lgetxattr \
            "$bin/stagescope" build "$base" --progress plain >"$work/plain" 2>&1 || true
        # Its images go with the others' at the end.
        sed -n 's/.*(build \([0-9a-f]*\)).*/\1/p' "$work/plain" | head -1 >>"$ids"
        calls=$(awk '$NF ~ /^(statx|newfstatat|lstat|openat|faccessat|faccessat2|llistxattr|lgetxattr)$/ {printf "%s %s, ", $NF, $4}' "$work/strace")
        echo "| $size: warm build's file syscalls for $files context files | $calls | | | |"
        echo "| $size: $(grep '^context:' "$work/plain" | head -1) | | | | |"
    fi
    rm -rf "$base"
done
