#!/bin/sh
# Makes a test image for the benchmarks: busybox plus FILES generated (incompressible) files
# of about MB megabytes in all, in one COPY layer, tagged TAG.
# Usage: benches/image.sh FILES MB TAG   (needs docker, python3, busybox:latest)
set -eu
FILES=$1
MB=$2
TAG=$3
CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
python3 - "$CTX" "$FILES" "$MB" <<'PY'
import os, sys
root, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = mb * 1024 * 1024 // files
blob = os.urandom(size + 4096)
for i in range(files):
    d = os.path.join(root, "data", "d%03d" % (i % 1000))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        f.write(blob[i % 4096:i % 4096 + size])
open(os.path.join(root, "Dockerfile"), "w").write("FROM busybox\nCOPY data /data\n")
PY
DOCKER_BUILDKIT=0 docker build -q -t "$TAG" "$CTX" >/dev/null
