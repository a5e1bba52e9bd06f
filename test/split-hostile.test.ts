import { describe, expect, it } from 'vitest';
import { AtomicsMemory } from '../src/memory/ops.js';
import { guestLayout } from '../src/memory/guest.js';
import { featureBits, negotiate, type OrderSpec } from '../src/spec/features.js';
import type { SplitRingLayout } from '../src/spec/layout.js';
import { SplitDeviceRing } from '../src/split/device.js';
import type { SplitDriverRing } from '../src/split/driver.js';
import { makeDriverRing } from '../src/plugin/builtin.js';
import { DEFAULT_CONFIG } from '../src/harness/config.js';
import { Chain } from '../src/ring/chain.js';
import { UsedTracker } from '../src/order/tracker.js';
import { VqError } from '../src/errors.js';
import {
  AVAIL_IDX, AVAIL_RING, USED_IDX, USED_RING, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
} from '../src/spec/constants.js';

const N = 8;
function rig(indirect = true, order: OrderSpec = 'partial', chainMem = 0) {
  const gl = guestLayout({ ring: 'split', queueSize: N, segments: 4, segmentBytes: 16, indirect });
  const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
  const bits = featureBits({ ring: 'split', order, eventIdx: false, indirect });
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
  // chainMem: the chain sees that much memory (addresses past the real buffer are never read), so a
  // few long overlapping segments can pass the window and exceed 2^32 bytes.
  const chain = new Chain(64, gl.dmaStart, chainMem || mem.size);
  const pop = (): string => {
    try { expect(dev.pollAvail()).toBe(true); dev.popChain(chain); return 'none'; }
    catch (e) { if (e instanceof VqError) { expect(e.side).toBe('device'); return e.code; } throw e; }
  };
  /** An indirect table at `t` (any alignment), entries [addr, len, flags, next], written byte-exact. */
  const table = (t: number, entries: [number, number, number, number][]): void => {
    const dv = new DataView(mem.buffer);
    entries.forEach(([a, l, fl, nx], j) => { dv.setBigUint64(t + 16 * j, BigInt(a), true); dv.setUint32(t + 16 * j + 8, l, true); dv.setUint16(t + 16 * j + 12, fl, true); dv.setUint16(t + 16 * j + 14, nx, true); });
  };
  return { gl, mem, L, dev, desc, avail, pop, table, chain, buf: gl.poolBase, f };
}

// Every descriptor rule the device checks (2.7.5), each with a hand-made hostile driver: a typed,
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
  it('a chain of more than 2^32 bytes in total → DESC_CHAIN_TOO_BIG (2.7.5.2; overlapping segments)', () => {
    const r = rig(true, 'none', 2 ** 31);
    const len = 2 ** 31 - r.buf;
    r.desc(0, r.buf, len, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1); r.desc(1, r.buf, len, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    r.desc(2, r.buf, len, VIRTQ_DESC_F_WRITE); r.avail(0);
    expect(r.pop()).toBe('DESC_CHAIN_TOO_BIG');
    // Exactly 2^32 is allowed ("longer than 2^32" is what is forbidden).
    const ok = rig(true, 'none', 2 ** 31);
    for (let i = 0; i < 4; i++) ok.desc(i, ok.buf, 2 ** 30, VIRTQ_DESC_F_WRITE | (i < 3 ? VIRTQ_DESC_F_NEXT : 0), i + 1);
    ok.avail(0);
    expect(ok.pop()).toBe('none');
    expect(ok.chain.writeCapacity).toBe(2 ** 32);
  });
});

describe('split device: the bulk pop of lone writable descriptors (popLone) stops where popChain would reject', () => {
  it('an address whose high word is set (past 2^32) is not taken in bulk; popChain then names DESC_ADDR_OUT_OF_RANGE', () => {
    for (const high of [1, 0x80000000]) {
      const r = rig(true, 'in-order');
      r.desc(0, r.buf, 16, VIRTQ_DESC_F_WRITE); r.desc(1, r.buf + 16 + high * 2 ** 32, 16, VIRTQ_DESC_F_WRITE); r.avail(0, 1);
      expect(r.dev.pollAvail()).toBe(true);
      const ids = new Uint16Array(4), addrs = new Float64Array(4), lens = new Uint32Array(4);
      expect(r.dev.popLone(4, ids, addrs, lens, 0)).toBe(1);
      expect([ids[0], addrs[0], lens[0]]).toEqual([0, r.buf, 16]);
      expect(r.pop()).toBe('DESC_ADDR_OUT_OF_RANGE');
    }
  });
});

describe('split device: what the spec allows, and the IN_ORDER driver rules (2.7.5.2, 2.7.5.3)', () => {
  it('direct descriptors then one INDIRECT at the end of the chain are valid in a split ring (2.7.5.3.2)', () => {
    const r = rig(true, 'none');
    r.table(r.gl.indirectBase, [[r.buf + 32, 16, VIRTQ_DESC_F_WRITE, 0]]);
    r.desc(0, r.buf, 16, VIRTQ_DESC_F_NEXT, 1); r.desc(1, r.gl.indirectBase, 16, VIRTQ_DESC_F_INDIRECT); r.avail(0);
    expect(r.pop()).toBe('none');
    expect([r.chain.n, r.chain.nWrite]).toEqual([2, 1]);
  });
  it('an indirect table at any alignment is read byte-exact (no alignment rule for tables)', () => {
    for (const shift of [0, 1, 2, 3, 4, 6, 8, 13]) {
      const r = rig(true, 'none');
      const t = r.gl.indirectBase + shift;
      r.table(t, [[r.buf + 3, 5, VIRTQ_DESC_F_NEXT, 2], [r.buf + 64, 9, VIRTQ_DESC_F_WRITE, 0], [r.buf + 40, 7, VIRTQ_DESC_F_NEXT, 1]]);
      // A table read from entry 0 and linked 0 -> 2 -> 1 (no IN_ORDER: any order).
      r.desc(0, t, 48, VIRTQ_DESC_F_INDIRECT); r.avail(0);
      expect(r.pop(), `table at +${shift}`).toBe('none');
      expect([r.chain.n, r.chain.nWrite, r.chain.writeCapacity]).toEqual([3, 1, 9]);
      expect(Array.from(r.chain.addr.subarray(0, 3))).toEqual([r.buf + 3, r.buf + 40, r.buf + 64]);
      expect(Array.from(r.chain.len.subarray(0, 3))).toEqual([5, 7, 9]);
    }
  });
  for (const order of ['in-order', 'in-order,partial'] as const) {
    it(`${order}: a chain whose next is not x + 1 → DESC_IN_ORDER_NEXT; x + 1, and 0 after N - 1, are accepted`, () => {
      const bad = rig(true, order);
      bad.desc(2, bad.buf, 16, VIRTQ_DESC_F_NEXT, 4); bad.desc(4, bad.buf, 16, VIRTQ_DESC_F_WRITE); bad.avail(2);
      expect(bad.pop()).toBe('DESC_IN_ORDER_NEXT');
      const good = rig(true, order);
      good.desc(N - 2, good.buf, 16, VIRTQ_DESC_F_NEXT, N - 1); good.desc(N - 1, good.buf, 16, VIRTQ_DESC_F_NEXT, 0); good.desc(0, good.buf, 16, VIRTQ_DESC_F_WRITE);
      good.avail(N - 2);
      expect(good.pop()).toBe('none');
      expect(good.chain.n).toBe(3);
      // The same chain without IN_ORDER may link any way.
      const free = rig(true, 'partial');
      free.desc(2, free.buf, 16, VIRTQ_DESC_F_NEXT, 4); free.desc(4, free.buf, 16, VIRTQ_DESC_F_WRITE); free.avail(2);
      expect(free.pop()).toBe('none');
    });
    it(`${order}: indirect entries not numbered sequentially → DESC_IN_ORDER_NEXT; 0, 1, 2 accepted`, () => {
      const bad = rig(true, order);
      bad.table(bad.gl.indirectBase, [[bad.buf, 16, VIRTQ_DESC_F_NEXT, 2], [bad.buf, 16, VIRTQ_DESC_F_WRITE, 0], [bad.buf, 16, VIRTQ_DESC_F_NEXT, 1]]);
      bad.desc(0, bad.gl.indirectBase, 48, VIRTQ_DESC_F_INDIRECT); bad.avail(0);
      expect(bad.pop()).toBe('DESC_IN_ORDER_NEXT');
      const good = rig(true, order);
      good.table(good.gl.indirectBase, [[good.buf, 16, VIRTQ_DESC_F_NEXT, 1], [good.buf, 16, VIRTQ_DESC_F_NEXT, 2], [good.buf, 16, VIRTQ_DESC_F_WRITE, 0]]);
      good.desc(0, good.gl.indirectBase, 48, VIRTQ_DESC_F_INDIRECT); good.avail(0);
      expect(good.pop()).toBe('none');
    });
  }
});

// A hostile device: the driver reports it, with a typed error, instead of hanging or trusting it.
describe('split driver against a hostile device', () => {
  function drv(order: 'none' | 'partial' | 'in-order' = 'partial') {
    const gl = guestLayout({ ring: 'split', queueSize: N, segments: 1, segmentBytes: 16, indirect: false });
    const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
    const bits = featureBits({ ring: 'split', order, eventIdx: false, indirect: false });
    const f = negotiate(bits, bits);
    const t = new UsedTracker(N, N, f.order, f.partialOrder);
    // Built as the harness builds it: the used.idx check gets its bound from the tracker there.
    const ring = makeDriverRing(mem, gl, f, { ...DEFAULT_CONFIG, ring: 'split', queueSize: N, segments: 1, segmentBytes: 16, indirectMin: 2 }, t) as SplitDriverRing;
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
  for (const order of ['none', 'partial'] as const) {
    it(`${order}: used.idx moving past the outstanding buffers (one completed ahead of a hole is in flight, not outstanding) → USED_IDX_JUMP at once`, () => {
      const d = drv(order);
      d.used(1, 16);
      expect(d.reclaim()).toBe('none');
      d.used(2, 16, 0, 3); // 2 outstanding (ids 0 and 2), 3 in flight: an advance of 3 is impossible
      expect(d.reclaim()).toBe('USED_IDX_JUMP');
    });
  }
  it('a batch that claims more than used.idx covers', () => { const d = drv('in-order'); d.used(2, 16, 0, 1); expect(d.reclaim()).toBe('USED_BATCH_OVERRUN'); });
  it('IN_ORDER entries out of order', () => { const d = drv('in-order'); d.used(1, 16, 0, 2); d.used(0, 16); expect(d.reclaim()).toBe('USED_OUT_OF_ORDER'); });
});
