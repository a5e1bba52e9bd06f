import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AtomicsMemory } from '../src/memory/ops.js';
import { guestLayout } from '../src/memory/guest.js';
import { negotiate, featureBits, type OrderMode } from '../src/spec/features.js';
import type { PackedRingLayout } from '../src/spec/layout.js';
import { PackedDriverRing } from '../src/packed/driver.js';
import { PackedDeviceRing } from '../src/packed/device.js';
import { Chain } from '../src/ring/chain.js';
import { UsedTracker } from '../src/order/tracker.js';
import { VqError } from '../src/errors.js';
import {
  PACKED_DESC_FLAGS, PACKED_DESC_ID, PACKED_DESC_LEN, PACKED_DESC_SIZE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_FLUSH,
  VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT, RING_EVENT_FLAGS_DESC,
} from '../src/spec/constants.js';
import { runOneThread } from './helpers/onethread.js';

function rig(n: number, order: OrderMode = 'none', opts: { indirect?: boolean; eventIdx?: boolean; segments?: number } = {}) {
  const segments = opts.segments ?? 4;
  const gl = guestLayout({ ring: 'packed', queueSize: n, segments, segmentBytes: 8, indirect: !!opts.indirect });
  const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
  const bits = featureBits({ ring: 'packed', order, eventIdx: !!opts.eventIdx, indirect: !!opts.indirect });
  const f = negotiate(bits, bits);
  const drv = new PackedDriverRing(mem, gl.ring as PackedRingLayout, gl, f, { indirectMin: 2, segmentBytes: 8 });
  const dev = new PackedDeviceRing(mem, gl.ring as PackedRingLayout, f, gl.dmaStart);
  const L = gl.ring as PackedRingLayout;
  const flagsAt = (slot: number): number => mem.ld16(L.desc.offset + slot * PACKED_DESC_SIZE + PACKED_DESC_FLAGS);
  return { gl, mem, drv, dev, L, flagsAt, chain: new Chain(64, gl.dmaStart, mem.size), f };
}
const code = (fn: () => unknown): string => { try { fn(); return 'none'; } catch (e) { if (e instanceof VqError) return e.code; throw e; } };

describe('packed ring: byte-exact descriptors and flags (2.8.1, 2.8.7, proposal)', () => {
  it('constants', () => {
    expect([VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_FLUSH, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_USED]).toEqual([1, 2, 4, 8, 0x80, 0x8000]);
    expect([PACKED_DESC_LEN, PACKED_DESC_ID, PACKED_DESC_FLAGS, PACKED_DESC_SIZE]).toEqual([8, 12, 14, 16]);
  });
  it('a chain straddling the end: AVAIL/USED from each slot\'s lap, the Buffer ID in every descriptor, head flags written last', () => {
    const { drv, dev, mem, L, flagsAt, chain } = rig(3);
    // Fill two slots and return them, so the next chain starts at slot 2.
    for (let i = 0; i < 2; i++) drv.add(0, 1);
    drv.publish();
    for (let i = 0; i < 2; i++) { expect(dev.pollAvail()).toBe(true); dev.popChain(chain); dev.pushUsed(chain.id, 8, false, 1); }
    for (let i = 0; i < 2; i++) { expect(drv.pollUsed()).toBe(true); drv.readUsed(); drv.consumeUsed(1); drv.free(drv.usedId); }
    const id = drv.add(1, 1); // slots 2 (wrap 1) and 0 (wrap 0)
    expect(flagsAt(2)).toBe(0); // the head's flags are held back until publish(): slot 2 is untouched
    expect(flagsAt(0)).toBe(VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE); // lap 0: AVAIL=0 USED=1
    expect(dev.pollAvail()).toBe(false);
    drv.publish();
    expect(flagsAt(2)).toBe(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT); // lap 1: AVAIL=1 USED=0
    expect(mem.ld16(L.desc.offset + 2 * 16 + PACKED_DESC_ID)).toBe(id);
    expect(mem.ld16(L.desc.offset + 0 * 16 + PACKED_DESC_ID)).toBe(id);
    expect(dev.pollAvail()).toBe(true);
    dev.popChain(chain);
    expect([chain.id, chain.weight, chain.n, chain.nWrite]).toEqual([id, 2, 2, 1]);
    dev.pushUsed(chain.id, 8, true, 2); // the used descriptor goes at slot 2 with the device's lap-1 bits
    // WRITE: the device wrote data (2.8.4), so the length means something.
    expect(flagsAt(2)).toBe(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_FLUSH);
    expect(dev.state()).toMatchObject({ used_pos: 1, used_wrap: 0, next_avail: 1, avail_wrap: 0 });
  });
});

describe('packed ring: many laps round odd-sized rings, chains straddling the end (one thread)', () => {
  for (const n of [1, 3, 100, 257]) {
    it(`queue size ${n}`, () => {
      const { drv, dev, chain } = rig(n, 'none', { segments: 4 });
      const dt = new UsedTracker(n, n, 'none', false);
      const vt = new UsedTracker(n, 65536, 'none', false);
      let done = 0, seq = 0;
      const total = n * 12 + 50;
      while (done < total) {
        let added = 0;
        while (seq < total && drv.canAdd(Math.min(3, n))) {
          const segs = 1 + ((seq * 7) % Math.min(3, n));
          const id = drv.add(segs > 1 ? 1 : 0, segs > 1 ? segs - 1 : 1);
          dt.makeAvailable(id, drv.weightOf(id), 1 << 20);
          seq++; added++;
        }
        if (added) drv.publish();
        while (dev.pollAvail()) { dev.popChain(chain); vt.makeAvailable(chain.id, chain.weight, chain.writeCapacity); vt.onUsed(chain.id, false, 0); dev.pushUsed(chain.id, 0, false, vt.weight); }
        while (drv.pollUsed()) { drv.readUsed(); const k = dt.onUsed(drv.usedId, drv.usedFlush, drv.usedLen); drv.consumeUsed(dt.weight); for (let i = 0; i < k; i++) drv.free(dt.idAtSeq(dt.firstSeq + i)); done += k; }
      }
      expect(done).toBe(total);
      expect(drv.numFree).toBe(n);
    });
  }
});

describe('packed ring, driver and device in one thread: every ordering mode (fast-check)', () => {
  for (const order of ['none', 'in-order', 'partial'] as const) {
    it(`order ${order}`, () => {
      fc.assert(fc.property(
        fc.record({
          queueSize: fc.constantFrom(1, 2, 3, 5, 7, 100), segments: fc.integer({ min: 1, max: 4 }), eventIdx: fc.boolean(), indirect: fc.boolean(),
          faultRate: fc.constantFrom(0, 0.1, 0.3), publishBatch: fc.integer({ min: 1, max: 8 }), popBudget: fc.integer({ min: 1, max: 8 }), seed: fc.nat(),
        }), fc.nat(),
        (p, sched) => {
          if (p.segments > p.queueSize) return;
          const r = runOneThread({ ...p, ring: 'packed', order, buffers: 300, faultLatencyUs: 20 }, sched);
          expect(r.violations).toEqual([]);
          expect(r.corrupted).toBe(0);
          expect(r.reclaimed).toBe(300);
        }), { numRuns: 50 });
    });
  }
});

describe('packed ring: hostile peers end in typed errors', () => {
  it('a device that writes a used descriptor with the wrong wrap bits', () => {
    const { drv, mem, L } = rig(4);
    drv.add(0, 1); drv.publish();
    // AVAIL=0 USED=1 at slot 0 in lap 1: neither available nor used.
    mem.st16(L.desc.offset + PACKED_DESC_FLAGS, VIRTQ_DESC_F_USED);
    expect(code(() => drv.pollUsed())).toBe('PACKED_BAD_WRAP');
  });
  it('a device that does not flip its wrap counter (writes lap-0 used bits in lap 1) is never taken as used, and AVAIL=USED=W ahead of the device is rejected', () => {
    const { drv, dev, mem, L } = rig(4);
    drv.add(0, 1); drv.publish();
    mem.st16(L.desc.offset + PACKED_DESC_FLAGS, 0); // AVAIL=USED=0: stale used bits
    expect(code(() => drv.pollUsed())).toBe('PACKED_BAD_WRAP');
    const r2 = rig(4);
    r2.mem.st16(r2.L.desc.offset + PACKED_DESC_FLAGS, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
    expect(code(() => r2.dev.pollAvail())).toBe('PACKED_BAD_WRAP');
    void dev;
  });
  it('a device that sets INDIRECT or a reserved bit in a used descriptor (USED_BAD_FLAGS); WRITE is defined there, NEXT ignored (2.8.6)', () => {
    for (const bad of [VIRTQ_DESC_F_INDIRECT, 1 << 4, 1 << 10]) {
      const { drv, mem, L } = rig(4);
      drv.add(0, 1); drv.publish();
      mem.st16(L.desc.offset + PACKED_DESC_FLAGS, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | bad);
      expect(drv.pollUsed()).toBe(true);
      expect(code(() => drv.readUsed())).toBe('USED_BAD_FLAGS');
    }
    const { drv, mem, L } = rig(4);
    drv.add(0, 1); drv.publish();
    mem.st16(L.desc.offset + PACKED_DESC_FLAGS, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    expect(drv.pollUsed()).toBe(true);
    drv.readUsed();
    expect(drv.usedFlush).toBe(false);
  });
  it('the driver reads FLUSH from a packed used descriptor; FLUSH with a hole and ids not outstanding are rejected', () => {
    const { drv, mem, L } = rig(4, 'partial');
    const a = drv.add(0, 1); const b = drv.add(0, 1); const c = drv.add(0, 1); drv.publish();
    const t = new UsedTracker(4, 4, 'partial', true);
    for (const id of [a, b, c]) t.makeAvailable(id, 1, 8);
    // The device uses b first (plain), then writes c with FLUSH while a is still outstanding.
    const put = (slot: number, id: number, flush: boolean): void => {
      const d = L.desc.offset + slot * 16;
      mem.st16(d + PACKED_DESC_ID, id); mem.st32(d + PACKED_DESC_LEN, 8);
      mem.st16(d + PACKED_DESC_FLAGS, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | (flush ? VIRTQ_DESC_F_FLUSH : 0));
    };
    put(0, b, false); put(1, c, true);
    expect(drv.pollUsed()).toBe(true); drv.readUsed();
    t.onUsed(drv.usedId, drv.usedFlush, drv.usedLen); drv.consumeUsed(t.weight);
    expect(drv.pollUsed()).toBe(true); drv.readUsed();
    expect([drv.usedId, drv.usedFlush]).toEqual([c, true]);
    expect(code(() => t.onUsed(drv.usedId, drv.usedFlush, drv.usedLen))).toBe('USED_FLUSH_WITH_HOLE');
    expect(code(() => new UsedTracker(4, 4, 'partial', true).onUsed(3, false, 0))).toBe('USED_ID_NOT_OUTSTANDING');
  });
  it('a driver that publishes a chain whose NEXT runs into a slot it did not make available', () => {
    const { drv, dev, mem, L, chain } = rig(4);
    drv.add(0, 1); drv.publish();
    // Turn the single descriptor into a chain head: NEXT into slot 1, which is not available.
    mem.st16(L.desc.offset + PACKED_DESC_FLAGS, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    expect(dev.pollAvail()).toBe(true);
    expect(code(() => dev.popChain(chain))).toBe('PACKED_BAD_WRAP');
  });
  it('EVENT_IDX suppression: the driver kicks exactly when the device\'s event offset (with its wrap bit) is crossed', () => {
    const { drv, mem, L } = rig(4, 'none', { eventIdx: true });
    const setEvent = (off: number, wrap: number): void => {
      mem.st16(L.deviceEvent.offset, off | (wrap << 15)); mem.st16(L.deviceEvent.offset + 2, RING_EVENT_FLAGS_DESC);
    };
    setEvent(1, 1);
    drv.add(0, 1); drv.publish();
    expect(drv.needKick()).toBe(false); // moved 0 -> 1; event at 1 not yet passed
    drv.add(0, 1); drv.publish();
    expect(drv.needKick()).toBe(true);  // moved 1 -> 2 past event 1
    setEvent(3, 0);                     // next lap: far ahead
    drv.add(0, 1); drv.publish();
    expect(drv.needKick()).toBe(false);
  });
});

describe('packed ring against other implementations\' readings of the spec', () => {
  it('the driver writes the Buffer ID in every descriptor of a chain (2.8.21.1), byte by byte; the device reads the last one', () => {
    const { drv, dev, mem, L, chain } = rig(8);
    drv.add(0, 1); // id 0, slot 0: the chain below gets another id
    const id = drv.add(1, 3); // slots 1..4
    expect(id).not.toBe(0);
    drv.publish();
    for (let slot = 1; slot <= 4; slot++) {
      const d = L.desc.offset + slot * PACKED_DESC_SIZE + PACKED_DESC_ID;
      expect([mem.u8[d], mem.u8[d + 1]], `slot ${slot}`).toEqual([id & 0xff, id >>> 8]);
    }
    // A device that takes the id from the first descriptor (as QEMU does) and one that takes it from
    // the last (2.8.7, vqlab) agree.
    expect(mem.ld16(L.desc.offset + 1 * PACKED_DESC_SIZE + PACKED_DESC_ID)).toBe(id);
    expect(dev.pollAvail()).toBe(true); dev.popChain(chain);
    expect(dev.pollAvail()).toBe(true); dev.popChain(chain);
    expect([chain.id, chain.weight, chain.n]).toEqual([id, 4, 4]);
  });

  it('the device sets WRITE in a used descriptor exactly when it reports written bytes (2.8.4)', () => {
    const { drv, dev, flagsAt, chain } = rig(4);
    drv.add(0, 1); drv.add(1, 0); drv.publish();
    dev.pollAvail(); dev.popChain(chain); dev.pushUsed(chain.id, 8, false, 1);
    dev.pollAvail(); dev.popChain(chain); dev.pushUsed(chain.id, 0, false, 1);
    expect(flagsAt(0)).toBe(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE);
    expect(flagsAt(1)).toBe(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
  });

  it('without WRITE the used length is reserved: the driver takes junk there as 0 bytes written; with WRITE it is checked', () => {
    for (const write of [false, true]) {
      const { drv, mem, L } = rig(4);
      const id = drv.add(0, 1); drv.publish();
      const t = new UsedTracker(4, 4, 'none', false);
      t.makeAvailable(id, 1, 8);
      const d = L.desc.offset;
      mem.st16(d + PACKED_DESC_ID, id); mem.st32(d + PACKED_DESC_LEN, 0xdeadbeef);
      mem.st16(d + PACKED_DESC_FLAGS, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | (write ? VIRTQ_DESC_F_WRITE : 0));
      expect(drv.pollUsed()).toBe(true);
      drv.readUsed();
      expect(drv.usedLen).toBe(write ? 0xdeadbeef : 0);
      expect(code(() => t.onUsed(drv.usedId, drv.usedFlush, drv.usedLen))).toBe(write ? 'USED_BAD_LEN' : 'none');
    }
  });

  it('reserved bits in the other side\'s event suppression flags do not turn DISABLE or DESC into ENABLE (2.8.10)', () => {
    // Driver reading the device's structure (kick decision).
    for (const [flags, eventIdx, kick] of [[1 | 0x100, false, false], [1 | 0xfffc, true, false], [2 | 0x8000, true, false], [0 | 0x4, false, true]] as const) {
      const { drv, mem, L } = rig(8, 'none', { eventIdx });
      mem.st16(L.deviceEvent.offset, 5 | (1 << 15)); // DESC: an event at slot 5 of lap 1, not reached
      mem.st16(L.deviceEvent.offset + 2, flags);
      drv.add(0, 1); drv.publish();
      expect(drv.needKick(), `flags 0x${flags.toString(16)}`).toBe(kick);
    }
    // Device reading the driver's structure (interrupt decision).
    const { drv, dev, mem, L, chain } = rig(8);
    drv.add(0, 1); drv.publish();
    dev.pollAvail(); dev.popChain(chain); dev.pushUsed(chain.id, 8, false, 1);
    mem.st16(L.driverEvent.offset + 2, 1 | 0x40);
    expect(dev.needInterrupt()).toBe(false);
  });
});
