#!/usr/bin/env bash
# The Linux kernel's virtqueue driver, drivers/virtio/virtio_ring.c (6.1), as a vqlab WebAssembly
# driver side: extracts only the files it needs from Debian's kernel source tarball into the cache
# (GPL-2.0: never committed), builds kernel-driver.wasm with vqlab's glue and shims
# (scripts/third-party/kernel/), and the variants with a patch of scripts/third-party/kernel/
# applied (kernel-driver-<patch>.wasm). Called by scripts/third-party.sh, which has checked for
# clang, wasm-ld and the tarball.
#
#   scripts/third-party/kernel-driver.sh CACHE TARBALL
set -uo pipefail
cd "$(dirname "$0")/../.."
CACHE=$1
TARBALL=$2
K=scripts/third-party/kernel
# What virtio_ring.c includes, through tools/virtio's userspace headers and tools/include
# (the list clang -MD gives for the build below, minus vqlab's own shims).
FILES=(
  drivers/virtio/virtio_ring.c
  include/linux/kconfig.h include/linux/byteorder/generic.h include/linux/virtio_byteorder.h
  include/linux/irqreturn.h include/linux/kern_levels.h include/linux/virtio_ring.h
  include/uapi/linux/virtio_types.h include/uapi/linux/virtio_config.h include/uapi/linux/virtio_ring.h
  tools/include/asm/bug.h
  tools/include/asm-generic/bitops.h tools/include/asm-generic/bitsperlong.h
  tools/include/asm-generic/bitops/__ffs.h tools/include/asm-generic/bitops/__ffz.h
  tools/include/asm-generic/bitops/__fls.h tools/include/asm-generic/bitops/arch_hweight.h
  tools/include/asm-generic/bitops/atomic.h tools/include/asm-generic/bitops/const_hweight.h
  tools/include/asm-generic/bitops/fls.h tools/include/asm-generic/bitops/fls64.h
  tools/include/asm-generic/bitops/hweight.h tools/include/asm-generic/bitops/non-atomic.h
  tools/include/linux/bitops.h tools/include/linux/bits.h tools/include/linux/const.h
  tools/include/linux/list.h tools/include/linux/log2.h tools/include/linux/overflow.h
  tools/include/linux/poison.h tools/include/linux/types.h
  tools/include/uapi/asm-generic/bitsperlong.h tools/include/uapi/linux/const.h
  tools/include/vdso/bits.h tools/include/vdso/const.h
  tools/virtio/generated/autoconf.h tools/virtio/xen/xen.h
  tools/virtio/uapi/linux/virtio_config.h tools/virtio/uapi/linux/virtio_ring.h tools/virtio/uapi/linux/virtio_types.h
)
for h in bug build_bug compiler cpumask device dma-mapping export gfp hrtimer irqreturn kernel kmsan module \
  printk scatterlist slab topology virtio virtio_byteorder virtio_config virtio_ring; do
  FILES+=("tools/virtio/linux/$h.h")
done

. scripts/third-party/extract.sh
extract_sources "$CACHE" "$TARBALL" "drivers/virtio/virtio_ring.c" "${FILES[@]}"
case $? in 0) ;; 2) echo "third-party: kernel driver SKIPPED, $TARBALL is missing (the tests that need it will skip)"; exit 0 ;; *) exit 1 ;; esac

S="$CACHE/src"
# vqlab's shims first (libc stand-ins, asm/*.h for wasm32, the spinlock), then tools/virtio's
# userspace headers and tools/include, as tools/virtio/Makefile orders them (its -I ../../usr/include,
# the installed uapi headers, is the uapi source directory here). The glue includes virtio_ring.c.
CFLAGS=(--target=wasm32 -O2 -nostdlib -ffreestanding -matomics -mbulk-memory -mmutable-globals
  -fno-strict-aliasing -fno-strict-overflow -ffile-prefix-map="$S/"= -ffile-prefix-map="$CACHE/"=
  -I "$K" -I "$S/tools/virtio" -I "$S/tools/include" -I "$S/include/uapi" -I include
  -include "$S/include/linux/kconfig.h" -Dloff_t='long long'
  -Wno-unused-parameter -Wno-sign-compare -Wno-unused-function)
LDFLAGS=(-Wl,--no-entry,--import-memory,--shared-memory,--max-memory=4294967296,--global-base=65536
  -Wl,--export=__global_base,--export=__data_end,--export=__heap_base,--export=__stack_pointer)

# build NAME [PATCH]: the driver, or the driver with PATCH applied to a copy of virtio_ring.c.
build() {
  local name=$1 patch=${2:-} out="$CACHE/$1.wasm" dir="$S/drivers/virtio"
  local newest=$K/driver-glue.c
  for f in "$K"/*.h "$K"/*/*.h include/vqlab.h "$0" $patch; do [ "$f" -nt "$newest" ] && newest=$f; done
  if [ -f "$out" ] && [ "$out" -nt "$newest" ]; then return 0; fi
  if [ -n "$patch" ]; then
    dir="$CACHE/patched/$name"
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$S/drivers/virtio/virtio_ring.c" "$dir/"
    patch -s -p1 -d "$dir" <"$patch" || { echo "third-party: $patch does not apply to virtio_ring.c" >&2; exit 1; }
  fi
  clang "${CFLAGS[@]}" -I "$dir" "${LDFLAGS[@]}" -o "$out.tmp" "$K/driver-glue.c" ||
    { echo "third-party: building $name.wasm failed" >&2; exit 1; }
  mv "$out.tmp" "$out"
  echo "third-party: built $out ($(wc -c <"$out") bytes)"
}
build kernel-driver
for p in "$K"/*.patch; do
  [ -f "$p" ] || continue
  build "kernel-driver-$(basename "$p" .patch)" "$p"
done
