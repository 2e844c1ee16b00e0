#!/usr/bin/env bash
# Wall time of `stagescope build` against `docker build` on the same Dockerfiles.
#
#   benches/build_vs_docker.sh [FIXTURE...]       (default: every benches/fixtures/*/)
#
# Both sides use the classic builder (the docker CLI here has no buildx): stagescope with
# `--builder classic --progress plain`, the CLI with DOCKER_BUILDKIT=0. Each fixture is timed
# cold (--no-cache) and warm (after one priming build); then stagescope with BuildKit against
# our own classic run, and the part of a BuildKit run spent building the extra per-stage
# images. Prints a markdown table. Uses hyperfine when installed (and installs it with apt-get
# when root and allowed: BENCH_INSTALL=0 to forbid), else (or with BENCH_TIMER=loop) a bash
# loop over `date +%s%N` that takes turns between the three commands.
#
# Environment: STAGESCOPE (binary; default: cargo build --release), COLD_RUNS (default 3),
# WARM_RUNS (default 5). Everything it builds is removed at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cold_runs=${COLD_RUNS:-3}
warm_runs=${WARM_RUNS:-5}

die() { echo "build_vs_docker: $*" >&2; exit 1; }

if [ -z "${STAGESCOPE:-}" ]; then
    (cd "$root" && cargo build --release --quiet) || die "cargo build --release failed"
    STAGESCOPE="${CARGO_TARGET_DIR:-$root/target}/release/stagescope"
fi
[ -x "$STAGESCOPE" ] || die "no stagescope binary at $STAGESCOPE"
docker version >/dev/null 2>&1 || die "no Docker daemon answers"
"$STAGESCOPE" setup-base >/dev/null || die "stagescope setup-base failed"

if ! command -v hyperfine >/dev/null 2>&1 && [ "${BENCH_INSTALL:-1}" = 1 ] \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi
if [ "${BENCH_TIMER:-}" != loop ] && command -v hyperfine >/dev/null 2>&1; then
    timer=hyperfine
else
    timer="bash loop, interleaved"
fi

work=$(mktemp -d)
ids="$work/stagescope-builds"
images="$work/docker-images"
: >"$ids"
: >"$images"

cleanup() {
    # Only what this script made: stagescope's builds by id, the CLI's images by id.
    local id refs
    for _ in 1 2; do
        while read -r id; do
            [ -n "$id" ] || continue
            refs=$(docker images --format '{{.Repository}}:{{.Tag}}' "stagescope.local/$id")
            refs="$refs $(docker images -q --filter "label=dev.stagescope.build=$id")"
            # shellcheck disable=SC2086
            [ -z "${refs// /}" ] || docker rmi $refs >/dev/null 2>&1 || true
        done <"$ids"
        # shellcheck disable=SC2046
        docker rmi $(sort -u "$images") >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Wrappers with the same shape on both sides: run the build, keep its output in a file,
# note what to clean.
cat >"$work/ss" <<EOF
#!/usr/bin/env bash
out=\$(mktemp "$work/out.XXXXXX")
"$STAGESCOPE" build "\$@" >"\$out" 2>&1
rc=\$?
sed -n '1s/.*(build \\(.*\\))\$/\\1/p' "\$out" >>"$ids"
exit \$rc
EOF
cat >"$work/dk" <<EOF
#!/usr/bin/env bash
out=\$(mktemp "$work/out.XXXXXX")
DOCKER_BUILDKIT=0 docker build "\$@" >"\$out" 2>&1
rc=\$?
sed -n 's/^Successfully built \\(.*\\)\$/\\1/p' "\$out" >>"$images"
exit \$rc
EOF
chmod +x "$work/ss" "$work/dk"

# hyperfine RUNS CMD... -> mean wall seconds over RUNS runs (fails when a run fails).
hf_mean() {
    local runs=$1 json="$work/hf.json" cmd
    shift
    printf -v cmd '%q ' "$@"
    hyperfine --runs "$runs" --style none --export-json "$json" "$cmd" >/dev/null
    jq -r '.results[0].mean' "$json" 2>/dev/null \
        || python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$json"
}

# row RUNS DIR EXTRA... -> "docker classic buildkit" mean seconds. The loop timer takes
# turns (docker, classic, BuildKit, docker, ...) so a busy machine weighs on all three alike.
row() {
    local runs=$1 dir=$2
    shift 2
    local -a dk=("$work/dk" "$@" -t "$tag" "$dir")
    local -a cl=("$work/ss" "$@" "$dir" --builder classic --progress plain)
    local -a bk=("$work/ss" "$@" "$dir" --builder buildkit --progress plain)
    if [ "$timer" = hyperfine ]; then
        echo "$(hf_mean "$runs" "${dk[@]}") $(hf_mean "$runs" "${cl[@]}") $(hf_mean "$runs" "${bk[@]}")"
        return
    fi
    local td=0 tc=0 tb=0 t0 i
    for ((i = 0; i < runs; i++)); do
        t0=$(date +%s%N); "${dk[@]}" >/dev/null; td=$((td + $(date +%s%N) - t0))
        t0=$(date +%s%N); "${cl[@]}" >/dev/null; tc=$((tc + $(date +%s%N) - t0))
        t0=$(date +%s%N); "${bk[@]}" >/dev/null; tb=$((tb + $(date +%s%N) - t0))
    done
    awk -v a="$td" -v b="$tc" -v c="$tb" -v n="$runs" \
        'BEGIN { printf "%.3f %.3f %.3f\n", a / n / 1e9, b / n / 1e9, c / n / 1e9 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.2f", s }'; }

# Seconds a BuildKit run spent on the per-stage image builds after the main build (they run
# concurrently: the longest of them).
stage_image_overhead() {
    local dir=$1 out="$work/overhead.json"
    shift
    "$STAGESCOPE" build "$dir" "$@" --builder buildkit --progress json >"$out"
    sed -n '1s/.*"build_id":"\([^"]*\)".*/\1/p' "$out" >>"$ids"
    jq -rs '[.[] | select(.event == "internal_finished" and (.step.name | startswith("image of stage"))) | .duration_ms] | max // 0 | . / 1000' "$out"
}

fixtures=("$@")
if [ ${#fixtures[@]} -eq 0 ]; then
    for d in "$here"/fixtures/*/; do fixtures+=("$(basename "$d")"); done
fi

echo "stagescope $("$STAGESCOPE" --version 2>/dev/null | awk '{print $2}') vs $(docker version --format 'docker CLI {{.Client.Version}}, engine {{.Server.Version}} (API {{.Server.APIVersion}})'); timer: $timer; runs: $cold_runs cold, $warm_runs warm"
echo
echo "| fixture | cache | docker build (classic) | stagescope classic | stagescope / docker | stagescope BuildKit | BuildKit / classic | of which per-stage images |"
echo "|---|---|---|---|---|---|---|---|"
for f in "${fixtures[@]}"; do
    dir="$here/fixtures/$f"
    [ -f "$dir/Dockerfile" ] || die "no fixture $dir/Dockerfile"
    tag="stagescope-bench-docker-$f:$$"
    for cache in cold warm; do
        if [ "$cache" = cold ]; then
            runs=$cold_runs
            extra=(--no-cache)
        else
            runs=$warm_runs
            extra=()
            # Prime each side's cache once, untimed.
            "$work/dk" -t "$tag" "$dir" >/dev/null
            "$work/ss" "$dir" --builder classic --progress plain >/dev/null
            "$work/ss" "$dir" --builder buildkit --progress plain >/dev/null
        fi
        read -r d c b < <(row "$runs" "$dir" "${extra[@]}")
        o=$(stage_image_overhead "$dir" "${extra[@]}")
        echo "| $f | $cache | $(secs "$d") s | $(secs "$c") s | $(ratio "$c" "$d") | $(secs "$b") s | $(ratio "$b" "$c") | $(secs "$o") s |"
    done
    echo "$tag" >>"$images"
done
echo
echo "Per-stage images: wall seconds a BuildKit run spends after the main build building every needed non-target stage again, concurrently and from cache, so each has its own image (included in the BuildKit column)."
