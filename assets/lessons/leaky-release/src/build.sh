#!/bin/sh
# Stands in for a compiler: the artifact is out/app.
set -e
mkdir -p out
printf '#!/bin/sh\necho "the app"\n' > out/app
chmod +x out/app
