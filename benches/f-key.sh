#!/bin/sh
# `f` on instruction N+1 after instruction N, in the terminal UI driven through tmux (issue 11):
# the wall from the key to the first rows of the tree, and to the new file's "added by" label.
# The image is the bench image (busybox + FILES files of ~MB MB in one COPY layer) with two
# RUNs on top; `f` on the first RUN is opened and waited for (its layers go to the layer
# cache), then `f` on the second RUN is timed: its known layers are shown at once, the rest
# waits for the engine's save stream (the engine sends every layer, known or not).
# Usage: benches/f-key.sh [FILES] [MB] [RUNS]   (defaults: 20000 140 3)
# IMAGE=name reuses an image made before by benches/image.sh (kept afterwards).
# Needs: docker, tmux, python3, a built stagescope (STAGESCOPE=path, default target/release).
set -eu
FILES=${1:-20000}
MB=${2:-140}
RUNS=${3:-3}
BIN=$(realpath "${STAGESCOPE:-${CARGO_TARGET_DIR:-target}/release/stagescope}")
TAG=stagescope-bench-fkey:$FILES-$MB
CTX=$(mktemp -d)
CACHE=$(mktemp -d)
STATE=$(mktemp -d)
S=stagescope-bench-fkey-$$
OWN=
cleanup() {
    tmux kill-session -t "$S" 2>/dev/null || true
    XDG_CACHE_HOME=$CACHE XDG_STATE_HOME=$STATE "$BIN" clean >/dev/null 2>&1 || true
    [ -n "$OWN" ] && docker rmi -f "$OWN" >/dev/null 2>&1 || true
    rm -rf "$CTX" "$CACHE" "$STATE"
}
trap cleanup EXIT

OWN=$TAG
[ -n "${IMAGE:-}" ] && { TAG=$IMAGE; OWN=; }
"$BIN" setup-base >/dev/null
[ -n "$OWN" ] && "$(dirname "$0")/image.sh" "$FILES" "$MB" "$TAG"

now_ms() { date +%s%3N; }
screen() { tmux capture-pane -p -t "$S"; }
# Waits until the screen matches the regex $1 (at most $2 s); prints the ms it took from $3.
wait_for() {
    deadline=$(( $(date +%s) + $2 ))
    while ! screen | grep -Eq "$1"; do
        [ "$(date +%s)" -gt "$deadline" ] && { echo "timeout waiting for $1" >&2; screen >&2; return 1; }
        sleep 0.01
    done
    echo $(( $(now_ms) - $3 ))
}

for run in $(seq "$RUNS"); do
    rm -rf "${CACHE:?}"/* "${STATE:?}"/*
    # A new RUN text each time: the states are new images, their top layers unknown.
    printf 'FROM %s\nRUN echo %s > /one\nRUN echo %s > /two\n' "$TAG" "a$run$$" "b$run$$" >"$CTX/Dockerfile"
    tmux new-session -d -s "$S" -x 160 -y 45 \
        "XDG_CACHE_HOME=$CACHE XDG_STATE_HOME=$STATE $BIN $CTX"
    wait_for 'ms .*3 RUN echo' 300 "$(now_ms)" >/dev/null
    sleep 1
    # Instruction N (the first RUN): opened and waited for, to the added-by of its file.
    # The instructions pane, its first RUN (Up to the FROM, then one down).
    tmux send-keys -t "$S" Tab Up Up Up Up Down
    sleep 0.3
    tmux send-keys -t "$S" f
    wait_for 'after 1: RUN' 10 "$(now_ms)" >/dev/null
    wait_for 'line 2 RUN .* one$' 600 "$(now_ms)" >/dev/null
    tmux send-keys -t "$S" Escape
    sleep 0.5
    tmux send-keys -t "$S" Down
    sleep 0.5
    t0=$(now_ms)
    tmux send-keys -t "$S" f
    wait_for 'after 2: RUN' 10 "$t0" >/dev/null
    first=$(wait_for ' bin/$' 600 "$t0")
    full=$(wait_for 'line 3 RUN .* two$' 600 "$t0")
    echo "run $run: f on N+1: first rows ${first} ms, the new file's added-by ${full} ms"
    tmux send-keys -t "$S" Escape q
    sleep 1
    tmux kill-session -t "$S" 2>/dev/null || true
done
