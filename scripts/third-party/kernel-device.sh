#!/usr/bin/env bash
# The Linux kernel's drivers/vhost/vringh.c (6.1, GPL-2.0) as a vqlab WebAssembly device, built
# into the cache directory and never committed: scripts/third-party/kernel/vringh-glue.c (vqlab's
# own) on top of vringh.c, compiled against tools/virtio's userspace headers with vqlab's wasm32
# shims in scripts/third-party/kernel/ taking precedence (libc, asm/*, spinlock; shared with
# scripts/third-party/kernel-driver.sh).
# Called by scripts/third-party.sh, which has checked clang, wasm-ld and the tarball.
#
#   scripts/third-party/kernel-device.sh CACHE TARBALL
set -uo pipefail
cd "$(dirname "$0")/../.."
CACHE=$1
TARBALL=$2
OUT="$CACHE/vringh-device.wasm"
# Exactly what vringh.c reaches through tools/virtio's headers (clang -MD lists them).
FILES=(
  drivers/vhost/vringh.c
  include/linux/byteorder/generic.h include/linux/irqreturn.h include/linux/kconfig.h
  include/linux/kern_levels.h include/linux/uio.h include/linux/virtio_byteorder.h
  include/linux/virtio_ring.h include/linux/vringh.h
  include/uapi/linux/virtio_config.h include/uapi/linux/virtio_ring.h include/uapi/linux/virtio_types.h
  tools/include/asm-generic/bitops.h tools/include/asm-generic/bitops/__ffs.h
  tools/include/asm-generic/bitops/__ffz.h tools/include/asm-generic/bitops/__fls.h
  tools/include/asm-generic/bitops/arch_hweight.h tools/include/asm-generic/bitops/atomic.h
  tools/include/asm-generic/bitops/const_hweight.h tools/include/asm-generic/bitops/fls.h
  tools/include/asm-generic/bitops/fls64.h tools/include/asm-generic/bitops/hweight.h
  tools/include/asm-generic/bitops/non-atomic.h tools/include/asm-generic/bitsperlong.h
  tools/include/asm/bug.h tools/include/linux/bitops.h tools/include/linux/bits.h
  tools/include/linux/const.h tools/include/linux/list.h tools/include/linux/log2.h
  tools/include/linux/overflow.h tools/include/linux/poison.h tools/include/linux/types.h
  tools/include/uapi/asm-generic/bitsperlong.h tools/include/uapi/linux/const.h
  tools/include/vdso/bits.h tools/include/vdso/const.h
  tools/virtio/generated/autoconf.h tools/virtio/linux/bug.h tools/virtio/linux/build_bug.h
  tools/virtio/linux/compiler.h tools/virtio/linux/export.h tools/virtio/linux/irqreturn.h
  tools/virtio/linux/kernel.h tools/virtio/linux/mm_types.h tools/virtio/linux/module.h
  tools/virtio/linux/printk.h tools/virtio/linux/ratelimit.h tools/virtio/linux/slab.h
  tools/virtio/linux/thread_info.h tools/virtio/linux/uaccess.h tools/virtio/linux/uio.h
  tools/virtio/linux/virtio_byteorder.h tools/virtio/linux/virtio_ring.h tools/virtio/linux/vringh.h
  tools/virtio/uapi/linux/uio.h tools/virtio/uapi/linux/virtio_config.h
  tools/virtio/uapi/linux/virtio_ring.h tools/virtio/uapi/linux/virtio_types.h
)
. scripts/third-party/extract.sh
extract_sources "$CACHE" "$TARBALL" vringh "${FILES[@]}"
case $? in 0) ;; 2) echo "third-party: SKIPPED vringh, $TARBALL is missing"; exit 0 ;; *) exit 1 ;; esac

SHIM=scripts/third-party/kernel
GLUE=scripts/third-party/kernel/vringh-glue.c
newer=1
[ -f "$OUT" ] && newer=0
for dep in "$GLUE" "$SHIM"/*.h "$SHIM"/*/*.h include/vqlab.h "$0"; do [ "$dep" -nt "$OUT" ] && newer=1; done
[ $newer = 0 ] && exit 0

# tools/virtio/Makefile's flags where they matter (kconfig.h first; no CONFIG_VHOST_IOTLB, so the
# IOTLB accessors are left out), for wasm32 with threads (include/vqlab.h).
S="$CACHE/src"
CFLAGS=(--target=wasm32 -O2 -nostdlib -ffreestanding -matomics -mbulk-memory -mmutable-globals
  -fno-strict-overflow -fno-strict-aliasing -fno-common -Dloff_t='long long'
  -ffile-prefix-map="$S/"= -ffile-prefix-map="$CACHE/"=
  -include "$S/include/linux/kconfig.h"
  -I "$SHIM" -I "$S/tools/virtio" -I "$S/tools/include" -I "$S/include/uapi" -I include
  -Wall -Wno-pointer-sign -Wno-unused-function -Wno-unused-variable -Wno-gnu-variable-sized-type-not-at-end)
LDFLAGS=(-Wl,--no-entry,--import-memory,--shared-memory,--max-memory=4294967296,--global-base=1048576
  -Wl,--export=__global_base,--export=__data_end,--export=__heap_base,--export=__stack_pointer)
tmp=$(mktemp -d "$CACHE/build.XXXXXX")
clang "${CFLAGS[@]}" -c -o "$tmp/vringh.o" "$S/drivers/vhost/vringh.c" &&
  clang "${CFLAGS[@]}" -c -o "$tmp/glue.o" "$GLUE" &&
  clang "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$OUT.tmp" "$tmp/vringh.o" "$tmp/glue.o" ||
  { rm -rf "$tmp"; echo "third-party: building vringh-device.wasm failed" >&2; exit 1; }
rm -rf "$tmp"
mv "$OUT.tmp" "$OUT"
echo "third-party: built $OUT ($(wc -c <"$OUT") bytes)"
