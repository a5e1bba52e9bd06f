import { describe, expect, it } from 'vitest';
import { AtomicsMemory, type MemoryOps } from '../src/memory/ops.js';
import { guestLayout } from '../src/memory/guest.js';
import { featureBits, negotiate, type OrderMode } from '../src/spec/features.js';
import type { SplitRingLayout } from '../src/spec/layout.js';
import { SplitDeviceRing } from '../src/split/device.js';
import { SplitDriverRing } from '../src/split/driver.js';
import { Chain } from '../src/ring/chain.js';
import { UsedTracker } from '../src/order/tracker.js';
import { AVAIL_RING, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../src/spec/constants.js';

/** AtomicsMemory that counts the driver's plain accesses (reads and writes) inside [lo, hi). */
class Counting extends AtomicsMemory {
  lo = 0;
  hi = 0;
  touched = 0;
  private count(off: number): void { if (off >= this.lo && off < this.hi) this.touched++; }
  override ld16(off: number): number { this.count(off); return super.ld16(off); }
  override st16(off: number, v: number): void { this.count(off); super.st16(off, v); }
  override ld32(off: number): number { this.count(off); return super.ld32(off); }
  override st32(off: number, v: number): void { this.count(off); super.st32(off, v); }
  override ld64(off: number): number { this.count(off); return super.ld64(off); }
  override st64(off: number, v: number): void { this.count(off); super.st64(off, v); }
}

const N = 8;
function rig(order: OrderMode, segments: number) {
  const gl = guestLayout({ ring: 'split', queueSize: N, segments, segmentBytes: 16, indirect: false });
  const buffer = new SharedArrayBuffer(gl.totalSize);
  const mem = new Counting(buffer);
  const devMem: MemoryOps = new AtomicsMemory(buffer);
  const bits = featureBits({ ring: 'split', order, eventIdx: false, indirect: false });
  const f = negotiate(bits, bits);
  const L = gl.ring as SplitRingLayout;
  const t = new UsedTracker(N, N, f.order, f.partialOrder);
  const ring = new SplitDriverRing(mem, L, gl, f, { indirectMin: 99, segmentBytes: 16 }, () => t.outstanding);
  const dev = new SplitDeviceRing(devMem, L, f, gl.dmaStart);
  const chain = new Chain(8, gl.dmaStart, devMem.size);
  /** Add `count` buffers of `nWrite` writable segments and publish. */
  const add = (count: number, nWrite: number): number[] => {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) { const id = ring.add(0, nWrite); t.makeAvailable(id, 1, 16 * nWrite); ids.push(id); }
    ring.publish();
    return ids;
  };
  /** The device pops everything (checking each chain is what the driver meant) and uses it, one entry each; the driver reclaims. */
  const roundTrip = (nWrite: number): void => {
    const used: number[] = [];
    while (dev.pollAvail()) {
      dev.popChain(chain);
      expect(chain.n).toBe(nWrite);
      for (let k = 0; k < nWrite; k++) {
        expect(chain.addr[k]).toBe(ring.segmentAddr(chain.id, k));
        expect(chain.len[k]).toBe(16);
        expect(chain.write[k]).toBe(1);
      }
      used.push(chain.id);
    }
    for (const id of used) dev.pushUsed(id, 16, false, 1);
    dev.publishUsed();
    while (ring.pollUsed()) {
      ring.readUsed();
      const k = t.onUsed(ring.usedId, ring.usedFlush, ring.usedLen);
      ring.consumeUsed(t.weight);
      for (let i = 0; i < k; i++) ring.free(t.idAtSeq(t.firstSeq + i));
    }
  };
  return { mem, L, add, roundTrip };
}

describe('split driver: unchanged descriptors and avail.ring slots are not touched again', () => {
  it('IN_ORDER, fixed buffers: after the first lap the driver neither reads nor writes the descriptor table or avail.ring', () => {
    const r = rig('in-order', 1);
    r.mem.lo = r.L.desc.offset;
    r.mem.hi = r.L.desc.offset + r.L.desc.size;
    r.add(N, 1);
    expect(r.mem.touched).toBeGreaterThan(0); // the first lap writes them
    r.roundTrip(1);
    for (let lap = 0; lap < 3; lap++) {
      r.mem.touched = 0;
      r.add(N, 1);
      expect(r.mem.touched).toBe(0);
      r.roundTrip(1);
    }
    r.mem.lo = r.L.avail.offset + AVAIL_RING;
    r.mem.hi = r.mem.lo + 2 * N;
    r.mem.touched = 0;
    r.add(N, 1);
    expect(r.mem.touched).toBe(0);
    r.roundTrip(1);
  });

  it('a descriptor a chain used is written again when a one-descriptor buffer takes it (the device sees the right chain every time)', () => {
    const r = rig('none', 2);
    // Chains of two: every descriptor ends up as a chain's head or its NEXT-linked second one.
    for (let lap = 0; lap < 2; lap++) { r.add(N / 2, 2); r.roundTrip(2); }
    // Then one-descriptor buffers over the same descriptors: no stale NEXT flag or link may remain.
    for (let lap = 0; lap < 2; lap++) { r.add(N, 1); r.roundTrip(1); }
    // Chains again over descriptors last written as lone buffers, and lone buffers once more.
    r.add(N / 2, 2);
    r.roundTrip(2);
    for (let lap = 0; lap < 2; lap++) { r.add(N, 1); r.roundTrip(1); }
  });

  it('the descriptors hold exactly what a full write leaves', () => {
    const r = rig('in-order', 1);
    for (let lap = 0; lap < 3; lap++) { r.add(N, 1); r.roundTrip(1); }
    for (let i = 0; i < N; i++) {
      const d = r.L.desc.offset + i * 16;
      expect(r.mem.ld16(d + 12)).toBe(VIRTQ_DESC_F_WRITE);
      expect(r.mem.ld16(d + 12) & VIRTQ_DESC_F_NEXT).toBe(0);
      expect(r.mem.ld16(d + 14)).toBe(0);
      expect(r.mem.ld32(d + 8)).toBe(16);
    }
  });
});
