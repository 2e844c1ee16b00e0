#!/bin/sh
# A pretend compiler run: object files and a "binary", as a real toolchain would leave them.
set -e
mkdir -p out
dd if=/dev/zero of=out/hello.o bs=1024 count=256 2>/dev/null
printf '#!/bin/sh\necho "hello from a multi-stage build"\n' > out/hello
chmod +x out/hello
