#!/usr/bin/env bash
# Third-party virtio rings as vqlab WebAssembly sides, fetched and built at test time, never
# committed (they are GPL-2.0): Linux's tools/virtio/ringtest/virtio_ring_0_9.c, as a driver and as
# a device (scripts/third-party/ringtest-glue.c); the kernel's drivers/vhost/vringh.c as a device
# (scripts/third-party/kernel-device.sh) and drivers/virtio/virtio_ring.c as a driver
# (scripts/third-party/kernel-driver.sh).
#
# Installs what it needs with apt (clang lld linux-source-6.1), extracts only the needed files from
# Debian's kernel source tarball into the cache directory, builds. Idempotent: what is there is
# kept. It never fails for want of apt or network: it says so in one line and exits 0, and the
# tests that need the modules skip, saying so. A build that fails with everything present does fail.
#
#   scripts/third-party.sh            # cache: $VQLAB_THIRD_PARTY_DIR or ~/.cache/vqlab-third-party
set -uo pipefail
cd "$(dirname "$0")/.."
CACHE="${VQLAB_THIRD_PARTY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vqlab-third-party}"
TARBALL=/usr/src/linux-source-6.1.tar.xz
FILES=(tools/virtio/ringtest/virtio_ring_0_9.c tools/virtio/ringtest/main.h include/uapi/linux/virtio_ring.h)
skip() { echo "third-party: SKIPPED, $* (the tests that need these modules will skip)"; exit 0; }

have_tools() { command -v clang >/dev/null && command -v wasm-ld >/dev/null; }
have_sources() { for f in "${FILES[@]}"; do [ -f "$CACHE/src/$f" ] || return 1; done; }

if ! have_sources && { ! have_tools || [ ! -f "$TARBALL" ]; }; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends clang lld linux-source-6.1 >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends clang lld linux-source-6.1 >/dev/null 2>&1; } ||
      skip "apt-get install clang lld linux-source-6.1 failed"
  else
    skip "clang/lld or $TARBALL missing and apt-get is not usable here (not root, or no apt)"
  fi
fi
have_tools || skip "clang and wasm-ld (lld) are not installed"

. scripts/third-party/extract.sh
extract_sources "$CACHE" "$TARBALL" ringtest "${FILES[@]}"
case $? in 0) ;; 2) skip "$TARBALL is missing" ;; *) exit 1 ;; esac

# The ring's directory first (virtio_ring_0_9.c includes "main.h"), then vqlab's freestanding
# shims (stdlib.h, linux/types.h, ...), the uapi header's directory, and include/vqlab.h.
CFLAGS=(--target=wasm32 -O2 -nostdlib -ffreestanding -matomics -mbulk-memory -mmutable-globals
  -I "$CACHE/src/tools/virtio/ringtest" -I scripts/third-party/shim -I "$CACHE/src/include/uapi" -I include
  -Wno-unused-parameter -Wno-sign-compare -Wno-unused-function)
LDFLAGS=(-Wl,--no-entry,--import-memory,--shared-memory,--max-memory=4294967296
  -Wl,--export=__global_base,--export=__data_end,--export=__heap_base,--export=__stack_pointer)
build() { # role define output
  local role=$1 def=$2 out="$CACHE/$3" base=65536
  [ "$role" = device ] && base=1048576
  if [ -f "$out" ] && [ "$out" -nt scripts/third-party/ringtest-glue.c ] && [ "$out" -nt include/vqlab.h ] && [ "$out" -nt "$0" ]; then return 0; fi
  clang "${CFLAGS[@]}" "${LDFLAGS[@]}" "-Wl,--global-base=$base" "-D$def" -o "$out.tmp" scripts/third-party/ringtest-glue.c ||
    { echo "third-party: building $3 failed" >&2; exit 1; }
  mv "$out.tmp" "$out"
  echo "third-party: built $out ($(wc -c <"$out") bytes)"
}
build driver RINGTEST_DRIVER ringtest-driver.wasm
build device RINGTEST_DEVICE ringtest-device.wasm
scripts/third-party/kernel-device.sh "$CACHE" "$TARBALL" || exit 1
# The kernel's drivers/virtio/virtio_ring.c as a driver (and its patched variants).
scripts/third-party/kernel-driver.sh "$CACHE" "$TARBALL" || exit 1
echo "third-party: ready in $CACHE"
