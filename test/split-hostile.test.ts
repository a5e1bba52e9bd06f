import { describe, expect, it } from 'vitest';
import { AtomicsMemory } from '../src/memory/ops.js';
import { guestLayout } from '../src/memory/guest.js';
import { featureBits, negotiate } from '../src/spec/features.js';
import type { SplitRingLayout } from '../src/spec/layout.js';
import { SplitDeviceRing } from '../src/split/device.js';
import { SplitDriverRing } from '../src/split/driver.js';
import { Chain } from '../src/ring/chain.js';
import { UsedTracker } from '../src/order/tracker.js';
import { VqError } from '../src/errors.js';
import {
  AVAIL_IDX, AVAIL_RING, USED_IDX, USED_RING, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
} from '../src/spec/constants.js';

const N = 8;
function rig(indirect = true) {
  const gl = guestLayout({ ring: 'split', queueSize: N, segments: 4, segmentBytes: 16, indirect });
  const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
  const bits = featureBits({ ring: 'split', order: 'partial', eventIdx: false, indirect });
  const f = negotiate(bits, bits);
  const L = gl.ring as SplitRingLayout;
  const dev = new SplitDeviceRing(mem, L, f, gl.dmaStart);
  const desc = (i: number, addr: number, len: number, flags: number, next = 0): void => {
    const d = L.desc.offset + i * 16;
    mem.st64(d, addr); mem.st32(d + 8, len); mem.st16(d + 12, flags); mem.st16(d + 14, next);
  };
  const avail = (...heads: number[]): void => {
    heads.forEach((h, k) => mem.st16(L.avail.offset + AVAIL_RING + k * 2, h));
    mem.st16Release(L.avail.offset + AVAIL_IDX, heads.length);
  };
  const pop = (): string => {
    try { expect(dev.pollAvail()).toBe(true); dev.popChain(new Chain(64, gl.dmaStart, mem.size)); return 'none'; }
    catch (e) { if (e instanceof VqError) { expect(e.side).toBe('device'); return e.code; } throw e; }
  };
  return { gl, mem, L, dev, desc, avail, pop, buf: gl.poolBase, f };
}

// Every descriptor rule the device checks (digest), each with a hand-made hostile driver: a typed,
// named error from the device, and guest memory outside the queue untouched.
describe('split device against a hostile driver: one case per descriptor rule', () => {
  const cases: [string, string, (r: ReturnType<typeof rig>) => void][] = [
    ['a descriptor loop', 'DESC_LOOP', (r) => { r.desc(0, r.buf, 16, VIRTQ_DESC_F_NEXT, 1); r.desc(1, r.buf, 16, VIRTQ_DESC_F_NEXT, 0); r.avail(0); }],
    ['next out of range', 'DESC_NEXT_OUT_OF_RANGE', (r) => { r.desc(0, r.buf, 16, VIRTQ_DESC_F_NEXT, N); r.avail(0); }],
    ['a chain through every descriptor and on: longer than the queue', 'DESC_CHAIN_TOO_LONG', (r) => { for (let i = 0; i < N; i++) r.desc(i, r.buf, 1, VIRTQ_DESC_F_NEXT, (i + 1) % N); r.avail(0); }],
    ['writable before readable', 'DESC_WRITE_BEFORE_READ', (r) => { r.desc(0, r.buf, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1); r.desc(1, r.buf + 16, 16, 0); r.avail(0); }],
    ['INDIRECT and NEXT together', 'DESC_INDIRECT_AND_NEXT', (r) => { r.desc(0, r.gl.indirectBase, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1); r.avail(0); }],
    ['indirect inside indirect', 'DESC_NESTED_INDIRECT', (r) => {
      const t = r.gl.indirectBase; r.mem.st64(t, t); r.mem.st32(t + 8, 16); r.mem.st16(t + 12, VIRTQ_DESC_F_INDIRECT);
      r.desc(0, t, 16, VIRTQ_DESC_F_INDIRECT); r.avail(0);
    }],
    ['indirect table length not a multiple of 16', 'DESC_INDIRECT_BAD_LEN', (r) => { r.desc(0, r.gl.indirectBase, 24, VIRTQ_DESC_F_INDIRECT); r.avail(0); }],
    ['indirect table longer than the queue', 'DESC_CHAIN_TOO_LONG', (r) => { r.desc(0, r.gl.indirectBase, 16 * (N + 1), VIRTQ_DESC_F_INDIRECT); r.avail(0); }],
    ['address beyond guest memory', 'DESC_ADDR_OUT_OF_RANGE', (r) => { r.desc(0, r.mem.size - 8, 16, VIRTQ_DESC_F_WRITE); r.avail(0); }],
    ['address + length overflowing 64 bits (high word set)', 'DESC_ADDR_OUT_OF_RANGE', (r) => { r.desc(0, 2 ** 52, 16, VIRTQ_DESC_F_WRITE); r.avail(0); }],
    ['a buffer pointing into the ring itself', 'DESC_ADDR_OUT_OF_RANGE', (r) => { r.desc(0, r.L.used.offset, 8, VIRTQ_DESC_F_WRITE); r.avail(0); }],
    ['avail.idx more than a queue ahead', 'AVAIL_IDX_JUMP', (r) => { r.mem.st16Release(r.L.avail.offset + AVAIL_IDX, N + 1); }],
    ['a head beyond the queue', 'AVAIL_BAD_HEAD', (r) => { r.avail(N + 3); }],
  ];
  for (const [what, codeWant, setup] of cases) {
    it(`${what} → ${codeWant}`, () => {
      const r = rig();
      setup(r);
      const before = new Uint8Array(r.mem.u8.slice(r.gl.dmaStart));
      expect(r.pop()).toBe(codeWant);
      expect(new Uint8Array(r.mem.u8.slice(r.gl.dmaStart))).toEqual(before); // nothing outside the queue touched
    });
  }
  it('INDIRECT without the feature', () => {
    const r = rig(false);
    r.desc(0, r.gl.dmaStart, 16, VIRTQ_DESC_F_INDIRECT); r.avail(0);
    expect(r.pop()).toBe('DESC_INDIRECT_NOT_NEGOTIATED');
  });
});

// A hostile device: the driver reports it, with a typed error, instead of hanging or trusting it.
describe('split driver against a hostile device', () => {
  function drv(order: 'none' | 'partial' | 'in-order' = 'partial') {
    const gl = guestLayout({ ring: 'split', queueSize: N, segments: 1, segmentBytes: 16, indirect: false });
    const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
    const bits = featureBits({ ring: 'split', order, eventIdx: false, indirect: false });
    const f = negotiate(bits, bits);
    const t = new UsedTracker(N, N, f.order, f.partialOrder);
    const ring = new SplitDriverRing(mem, gl.ring as SplitRingLayout, gl, f, { indirectMin: 2, segmentBytes: 16 }, () => t.inFlight);
    const L = gl.ring as SplitRingLayout;
    for (let i = 0; i < 3; i++) { const id = ring.add(0, 1); t.makeAvailable(id, 1, 16); }
    ring.publish();
    let usedIdx = 0;
    const used = (id: number, len: number, flags = 0, advance = 1): void => {
      const e = L.used.offset + USED_RING + (usedIdx % N) * 8;
      mem.st16(e, id); mem.st16(e + 2, flags); mem.st32(e + 4, len);
      usedIdx += advance;
      mem.st16Release(L.used.offset + USED_IDX, usedIdx);
    };
    const reclaim = (): string => {
      try {
        while (ring.pollUsed()) { ring.readUsed(); const k = t.onUsed(ring.usedId, ring.usedFlush, ring.usedLen); ring.consumeUsed(t.weight); for (let i = 0; i < k; i++) ring.free(t.idAtSeq(t.firstSeq + i)); }
        return 'none';
      } catch (e) { if (e instanceof VqError) { expect(e.side).toBe('driver'); return e.code; } throw e; }
    };
    return { used, reclaim, mem, L };
  }
  it('an id out of range', () => { const d = drv(); d.used(N + 1, 16); expect(d.reclaim()).toBe('USED_BAD_ID'); });
  it('an id not outstanding (used twice)', () => { const d = drv(); d.used(1, 16); d.used(1, 16); expect(d.reclaim()).toBe('USED_ID_NOT_OUTSTANDING'); });
  it('a length beyond the buffer', () => { const d = drv(); d.used(0, 17); expect(d.reclaim()).toBe('USED_BAD_LEN'); });
  it('a FLUSH batch with a hole behind it', () => { const d = drv(); d.used(1, 16); d.used(2, 16, 0x8000); expect(d.reclaim()).toBe('USED_FLUSH_WITH_HOLE'); });
  it('FLUSH without PARTIAL_ORDER (the old le32 id ≥ 2^31)', () => { const d = drv('none'); d.used(0, 16, 0x8000); expect(d.reclaim()).toBe('USED_FLUSH_WITHOUT_FEATURE'); });
  it('undefined used flags', () => { const d = drv(); d.used(0, 16, 0x0100); expect(d.reclaim()).toBe('USED_BAD_FLAGS'); });
  it('used.idx jumping ahead of what is in flight', () => { const d = drv(); d.used(0, 16, 0, 5); expect(d.reclaim()).toBe('USED_IDX_JUMP'); });
  it('a batch that claims more than used.idx covers', () => { const d = drv('in-order'); d.used(2, 16, 0, 1); expect(d.reclaim()).toBe('USED_BATCH_OVERRUN'); });
  it('IN_ORDER entries out of order', () => { const d = drv('in-order'); d.used(1, 16, 0, 2); d.used(0, 16); expect(d.reclaim()).toBe('USED_OUT_OF_ORDER'); });
});
