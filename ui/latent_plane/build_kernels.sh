#!/usr/bin/env bash
# Rebuilds kernels.wasm from kernels.c. Only needed after editing kernels.c: the .wasm is committed, so neither
# the app nor CI needs a compiler. Needs Debian's clang-16 and lld-16 (apt-get install clang-16 lld-16).
set -euo pipefail
cd "$(dirname "$0")"
clang-16 --target=wasm32 -O3 -msimd128 -nostdlib -fuse-ld=lld \
  -Wl,--no-entry -Wl,--export-memory -Wl,--strip-all -o kernels.wasm kernels.c
sha256sum kernels.c | cut -d' ' -f1 > kernels.c.sha256
echo "built $(pwd)/kernels.wasm ($(stat -c %s kernels.wasm) bytes)"
