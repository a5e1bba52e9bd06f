#!/bin/sh
# Record real virtqueue traces: QEMU's virtio devices serving a Linux guest, under TCG (no KVM
# needed; a few seconds per run), for `vqlab check --format qemu`. See docs/qemu-traces.md.
#
#   scripts/qemu/record.sh [--dry-run] [--work DIR] [--out DIR] [--no-shim] [--timeout S] [VARIANT...]
#
# --dry-run   check the prerequisites and print the plan (every command), run nothing; exit 0
# --work DIR  kernels, initramfs images, disk and shim are kept here (default ~/.cache/vqlab-qemu)
# --out DIR   where NAME.log.gz, NAME.cmd, NAME.vq and NAME.console go (default ./qemu-traces)
# --no-shim   record without the vqhead preload shim (no real heads or capacities in the trace)
# VARIANT     any of the names below (default: all)
#
# Needs: qemu-system-x86_64 (10.x for in_order=on; on Debian 12 from bookworm-backports), gcc,
# busybox (static), cpio, xz, gzip, timeout; apt-get to fetch the guest kernels (files only,
# through a private apt state under --work: the host's apt configuration is not touched).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=${VQ_WORK:-${HOME:-/tmp}/.cache/vqlab-qemu}
out=./qemu-traces
shim=1
dry=0
tmo=120
variants=
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --work) work=$2; shift ;;
    --out) out=$2; shift ;;
    --no-shim) shim=0 ;;
    --timeout) tmo=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "record.sh: unknown option $1" >&2; exit 2 ;;
    *) variants="$variants $1" ;;
  esac
  shift
done

# Guest kernels: Debian cloud kernels. 6.12 does not negotiate VIRTIO_F_IN_ORDER; 7.3 does.
K612_PKG=${K612_PKG:-linux-image-6.12.95+deb12-cloud-amd64}
K612_SUITE=${K612_SUITE:-bookworm-backports}
K73_PKGS=${K73_PKGS:-linux-binary-7.3.4+deb13-cloud-amd64 linux-modules-7.3.4+deb13-cloud-amd64}
K73_SUITE=${K73_SUITE:-trixie-backports}

# name | kernel (612|73) | cpus | -device virtio-blk-pci properties | -drive options | other QEMU args | kernel command-line words
table='split|612|1|||-nic none|
packed|612|1|,packed=on||-nic none|
smp2|612|2|||-nic none|
net|612|1|||-netdev user,id=n0 -device virtio-net-pci,netdev=n0|vqnet
slow|612|1||,throttling.iops-write=2|-nic none|vqslow
k73-split|73|1|||-nic none|
k73-inorder|73|1|,in_order=on||-nic none|
k73-packed-inorder|73|1|,packed=on,in_order=on||-nic none|'
all=$(echo "$table" | cut -d'|' -f1 | tr '\n' ' ')
[ -n "$variants" ] || variants=$all
for v in $variants; do
  case " $all " in *" $v "*) ;; *) echo "record.sh: unknown variant $v (one of: $all)" >&2; exit 2 ;; esac
done

missing=
for c in qemu-system-x86_64 gcc busybox cpio xz gzip timeout apt-get dpkg-deb; do
  command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
echo "prerequisites: ${missing:+missing:$missing}${missing:-all present}"
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
  echo "qemu: $(qemu-system-x86_64 --version | head -1)"
  qemu-system-x86_64 -device virtio-blk-pci,help 2>/dev/null | grep -q 'in_order' || echo "qemu: no in_order property (QEMU < 8?): the k73-*inorder variants will fail"
fi
echo "work: $work; out: $out; shim: $([ $shim = 1 ] && echo on || echo off); timeout: ${tmo}s per run"

run() { if [ $dry = 1 ]; then echo "  $*"; else sh -c "$*"; fi; }

# The guest kernels, initramfs images, disk and shim (once).
apt_private() {  # apt_private SUITE DIR: apt-get options for a private state with one Debian suite
  printf '%s' "-o Dir::Etc::SourceList=$2/sources.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$2/lists -o Dir::Cache=$2/cache -o Debug::NoLocking=1"
}
prepare_kernel() {  # prepare_kernel 612|73
  k=$1
  [ -f "$work/vmlinuz$k" ] && [ -f "$work/initramfs$k.cpio.gz" ] && return 0
  if [ $k = 612 ]; then suite=$K612_SUITE; pkgs=$K612_PKG; else suite=$K73_SUITE; pkgs=$K73_PKGS; fi
  a="$work/apt-$suite"
  echo "kernel $k: download $pkgs ($suite) into $work"
  run "mkdir -p '$a/lists/partial' '$a/cache/archives/partial' '$work/k$k' && echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main' > '$a/sources.list'"
  run "apt-get $(apt_private "$suite" "$a") -qq update && cd '$work' && apt-get $(apt_private "$suite" "$a") -qq download $pkgs"
  for p in $pkgs; do run "dpkg-deb -x '$work'/${p}_*.deb '$work/k$k'"; done
  run "cp \$(find '$work/k$k' -name 'vmlinuz-*' -o -name vmlinuz -type f | head -1) '$work/vmlinuz$k'"
  echo "kernel $k: initramfs with busybox, the guest init and the virtio modules"
  r="$work/root$k"
  run "rm -rf '$r' && mkdir -p '$r/bin' '$r/dev' '$r/proc' '$r/sys' '$r/lib' '$r/tmp' && cp \$(command -v busybox) '$r/bin/busybox' && cp '$here/init' '$r/init' && chmod +x '$r/init'"
  run "for a in sh mount insmod dd cat ls sleep echo poweroff sync taskset ip ping grep wc head basename; do ln -sf busybox '$r/bin/'\$a; done"
  # busybox insmod reads plain .ko files only.
  run "for m in virtio_blk virtio_net net_failover failover; do f=\$(find '$work/k$k' -name \$m.ko.xz -o -name \$m.ko | head -1); case \$f in *.xz) xz -dc \$f ;; *) cat \$f ;; esac > '$r/lib/'\$m.ko; done"
  run "cd '$r' && find . | cpio -o -H newc 2>/dev/null | gzip -9 > '$work/initramfs$k.cpio.gz'"
}

if [ $dry = 0 ] && [ -n "$missing" ]; then echo "record.sh: missing prerequisites:$missing" >&2; exit 1; fi
run "mkdir -p '$work' '$out'"
[ -f "$work/disk.img" ] || run "head -c 16M /dev/urandom > '$work/disk.img'"
[ $shim = 0 ] || [ -f "$work/vqhead.so" ] || run "gcc -shared -fPIC -O2 -Wall -o '$work/vqhead.so' '$here/vqhead.c' -ldl"
kernels=
for v in $variants; do
  k=$(echo "$table" | grep "^$v|" | cut -d'|' -f2)
  case " $kernels " in *" $k "*) ;; *) kernels="$kernels $k"; prepare_kernel "$k" ;; esac
done

for v in $variants; do
  IFS='|' read -r name k cpus props driveopts extra append <<EOF
$(echo "$table" | grep "^$v|")
EOF
  disk="$work/disk-$name.img"
  pre=
  [ $shim = 0 ] || pre="env LD_PRELOAD=$work/vqhead.so "
  # -d guest_errors puts QEMU's own diagnostics (e.g. virtqueue_ordered_fill) in the same log.
  cmd="timeout $tmo ${pre}qemu-system-x86_64 -machine q35 -accel tcg -smp $cpus -m 256 -nographic -no-reboot -kernel $work/vmlinuz$k -initrd $work/initramfs$k.cpio.gz -append 'console=ttyS0 panic=-1 quiet $append' -drive file=$disk,if=none,id=d0,format=raw$driveopts -device virtio-blk-pci,drive=d0$props $extra -trace 'virtqueue_*' -trace 'virtio_*' -d guest_errors -D $out/$name.log"
  echo "variant $name:"
  run "cp '$work/disk.img' '$disk'"
  if [ $dry = 1 ]; then echo "  $cmd"; continue; fi
  echo "$cmd" > "$out/$name.cmd"
  set +e
  sh -c "$cmd" > "$out/$name.console" 2>&1
  rc=$?
  set -e
  rm -f "$disk"
  echo "  exit $rc$([ $rc = 124 ] && echo ' (timed out: the guest hung)')"
  # The sidecar: queue sizes (QEMU's defaults: virtio-blk 256; virtio-net rx/tx 256, ctrl 64) and
  # the features each driver negotiated, as the guest printed them.
  {
    echo "# $name: queue sizes (QEMU defaults) and the features the guest's drivers negotiated"
    grep -a '^vq: virtio[0-9]* device ' "$out/$name.console" | tr -d '\r' | while read -r _ _ _ dev _ bits; do
      case $dev in
        0x0002) echo "blk,size=256,features=$bits" ;;
        0x0001) echo "dev,size=256,features=$bits"; echo "dev:2,size=64" ;;
      esac
    done
  } > "$out/$name.vq"
  gzip -9f "$out/$name.log"
  echo "  $out/$name.log.gz ($(wc -c < "$out/$name.log.gz") bytes), $out/$name.vq"
done
[ $dry = 0 ] || echo "dry run: nothing recorded"
