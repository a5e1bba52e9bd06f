#!/usr/bin/env bash
# Build the C examples to WebAssembly (npm run build:wasm). Reproducible: the same clang gives the
# same bytes (no paths, no dates, no debug info). Needs clang and lld (Debian: apt-get install clang lld).
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG="${CLANG:-clang}"
command -v "$CLANG" >/dev/null || { echo "build:wasm: $CLANG not found (Debian: apt-get install clang lld)" >&2; exit 2; }
out="${1:-examples/c}"
mkdir -p "$out"
# -ffile-prefix-map and no -g: nothing of the build machine ends up in the module.
CFLAGS=(--target=wasm32 -O2 -nostdlib -ffreestanding -matomics -mbulk-memory -mmutable-globals -Iinclude
  -ffile-prefix-map="$PWD"=. -Wall -Wextra -Werror)
LDFLAGS=(-Wl,--no-entry,--import-memory,--shared-memory,--max-memory=4294967296
  -Wl,--export=__global_base,--export=__data_end,--export=__heap_base,--export=__stack_pointer)
DRIVER=(-Wl,--global-base=65536)      # include/vqlab.h: VQLAB_DRIVER_REGION_START
DEVICE=(-Wl,--global-base=1048576)    # include/vqlab.h: VQLAB_DEVICE_REGION_START
build() { # role source output
  local role=$1 src=$2 dst=$3 base
  if [ "$role" = driver ]; then base=("${DRIVER[@]}"); else base=("${DEVICE[@]}"); fi
  "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" "${base[@]}" -o "$dst" "$src"
  echo "built $dst ($(wc -c <"$dst") bytes)"
}
build device examples/c/split-device.c "$out/split-device.wasm"
build driver examples/c/split-driver.c "$out/split-driver.wasm"
build device examples/c/broken-flush-device.c "$out/broken-flush-device.wasm"
build driver test/wasm/raw-wait-driver.c "${2:-test/wasm}/raw-wait-driver.wasm"
