import { describe, expect, it } from 'vitest';
import { AtomicsMemory } from '../src/memory/ops.js';
import { guestLayout } from '../src/memory/guest.js';
import { featureBits, negotiate } from '../src/spec/features.js';
import type { PackedRingLayout } from '../src/spec/layout.js';
import { PackedDeviceRing } from '../src/packed/device.js';
import { Chain } from '../src/ring/chain.js';
import { VqError } from '../src/errors.js';
import { VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../src/spec/constants.js';

// The packed twin of split-hostile: each descriptor rule broken by a hand-made driver, in a ring of
// 5 slots (not a power of two); a typed device error and memory outside the queue untouched.
const N = 5;
function rig(indirect = true, chainMem = 0) {
  const gl = guestLayout({ ring: 'packed', queueSize: N, segments: 4, segmentBytes: 16, indirect });
  const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
  const bits = featureBits({ ring: 'packed', order: 'partial', eventIdx: false, indirect });
  const f = negotiate(bits, bits);
  const L = gl.ring as PackedRingLayout;
  const dev = new PackedDeviceRing(mem, L, f, gl.dmaStart);
  /** A ring descriptor made available in lap 1 (AVAIL=1, USED=0). */
  const desc = (slot: number, addr: number, len: number, flags: number, id = 0): void => {
    const d = L.desc.offset + slot * 16;
    mem.st64(d, addr); mem.st32(d + 8, len); mem.st16(d + 12, id); mem.st16Release(d + 14, flags | VIRTQ_DESC_F_AVAIL);
  };
  const table = (entries: [number, number, number][]): number => {
    const t = gl.indirectBase;
    entries.forEach(([a, l, fl], j) => { mem.st64(t + 16 * j, a); mem.st32(t + 16 * j + 8, l); mem.st16(t + 16 * j + 14, fl); });
    return t;
  };
  // chainMem: the chain sees that much memory (addresses past the real buffer are never read), so a
  // few long overlapping segments can pass the window and exceed 2^32 bytes.
  const chain = new Chain(64, gl.dmaStart, chainMem || mem.size);
  const pop = (): string => {
    try { expect(dev.pollAvail()).toBe(true); dev.popChain(chain); return 'none'; }
    catch (e) { if (e instanceof VqError) { expect(e.side).toBe('device'); return e.code; } throw e; }
  };
  return { gl, mem, desc, table, pop, chain, buf: gl.poolBase };
}

describe('packed device against a hostile driver: one case per descriptor rule', () => {
  const cases: [string, string, (r: ReturnType<typeof rig>) => void][] = [
    ['a chain longer than the queue (NEXT on every slot, round the ring)', 'DESC_CHAIN_TOO_LONG', (r) => { for (let i = 0; i < N; i++) r.desc(i, r.buf, 1, VIRTQ_DESC_F_NEXT); }],
    ['NEXT into a slot that is not available', 'PACKED_BAD_WRAP', (r) => { r.desc(0, r.buf, 16, VIRTQ_DESC_F_NEXT); }],
    ['writable before readable', 'DESC_WRITE_BEFORE_READ', (r) => { r.desc(0, r.buf, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT); r.desc(1, r.buf + 16, 16, 0); }],
    ['INDIRECT and NEXT together', 'DESC_INDIRECT_AND_NEXT', (r) => { r.desc(0, r.gl.indirectBase, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT); }],
    ['indirect inside indirect', 'DESC_NESTED_INDIRECT', (r) => { const t = r.table([[r.gl.indirectBase, 16, VIRTQ_DESC_F_INDIRECT]]); r.desc(0, t, 16, VIRTQ_DESC_F_INDIRECT); }],
    ['NEXT inside a packed indirect table', 'DESC_BAD_FLAGS', (r) => { const t = r.table([[r.buf, 16, VIRTQ_DESC_F_NEXT]]); r.desc(0, t, 16, VIRTQ_DESC_F_INDIRECT); }],
    ['indirect table length not a multiple of 16', 'DESC_INDIRECT_BAD_LEN', (r) => { r.desc(0, r.gl.indirectBase, 20, VIRTQ_DESC_F_INDIRECT); }],
    ['indirect table longer than the queue', 'DESC_CHAIN_TOO_LONG', (r) => { r.desc(0, r.gl.indirectBase, 16 * (N + 1), VIRTQ_DESC_F_INDIRECT); }],
    ['address beyond guest memory', 'DESC_ADDR_OUT_OF_RANGE', (r) => { r.desc(0, r.mem.size - 4, 16, VIRTQ_DESC_F_WRITE); }],
    ['64-bit address with the high word set', 'DESC_ADDR_OUT_OF_RANGE', (r) => { r.desc(0, 2 ** 40, 16, VIRTQ_DESC_F_WRITE); }],
    ['a buffer pointing into the ring itself', 'DESC_ADDR_OUT_OF_RANGE', (r) => { r.desc(0, 0, 16, VIRTQ_DESC_F_WRITE); }],
    ['undefined flags', 'DESC_BAD_FLAGS', (r) => { r.desc(0, r.buf, 16, 0x40); }],
    // 2.8.19: one type of descriptor per list; split allows this shape (2.7.5.3.2), packed does not.
    ['a list linked by NEXT ending in an INDIRECT descriptor', 'DESC_INDIRECT_IN_CHAIN', (r) => {
      const t = r.table([[r.buf + 16, 16, VIRTQ_DESC_F_WRITE]]);
      r.desc(1, t, 16, VIRTQ_DESC_F_INDIRECT, 3); r.desc(0, r.buf, 16, VIRTQ_DESC_F_NEXT, 3);
    }],
  ];
  for (const [what, codeWant, setup] of cases) {
    it(`${what} → ${codeWant}`, () => {
      const r = rig();
      setup(r);
      const before = new Uint8Array(r.mem.u8.slice(r.gl.dmaStart));
      expect(r.pop()).toBe(codeWant);
      expect(new Uint8Array(r.mem.u8.slice(r.gl.dmaStart))).toEqual(before);
    });
  }
  it('INDIRECT without the feature', () => {
    const r = rig(false);
    r.desc(0, r.gl.dmaStart, 16, VIRTQ_DESC_F_INDIRECT);
    expect(r.pop()).toBe('DESC_INDIRECT_NOT_NEGOTIATED');
  });
});

describe('packed device: what the spec allows', () => {
  it('an indirect table at any alignment is read byte-exact (no alignment rule for tables)', () => {
    for (const shift of [0, 1, 2, 3, 4, 6, 8, 13]) {
      const r = rig();
      const t = r.gl.indirectBase + shift;
      const dv = new DataView(r.mem.buffer);
      const entries: [number, number, number][] = [[r.buf + 3, 5, 0], [r.buf + 40, 7, VIRTQ_DESC_F_WRITE], [r.buf + 64, 9, VIRTQ_DESC_F_WRITE]];
      entries.forEach(([a, l, f], j) => { dv.setBigUint64(t + 16 * j, BigInt(a), true); dv.setUint32(t + 16 * j + 8, l, true); dv.setUint16(t + 16 * j + 14, f, true); });
      r.desc(0, t, 48, VIRTQ_DESC_F_INDIRECT, 2);
      expect(r.pop(), `table at +${shift}`).toBe('none');
      expect([r.chain.id, r.chain.n, r.chain.nWrite, r.chain.writeCapacity]).toEqual([2, 3, 2, 16]);
      expect(Array.from(r.chain.addr.subarray(0, 3))).toEqual([r.buf + 3, r.buf + 40, r.buf + 64]);
      expect(Array.from(r.chain.len.subarray(0, 3))).toEqual([5, 7, 9]);
    }
  });
  it('a chain of more than 2^32 bytes in total → DESC_CHAIN_TOO_BIG (2.7.5.2; overlapping segments)', () => {
    const r = rig(true, 2 ** 31);
    const len = 2 ** 31 - r.buf;
    r.desc(2, r.buf, len, VIRTQ_DESC_F_WRITE, 1); r.desc(1, r.buf, len, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    r.desc(0, r.buf, len, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    expect(r.pop()).toBe('DESC_CHAIN_TOO_BIG');
  });
  it('a chain of exactly 2^32 bytes is accepted', () => {
    const r = rig(true, 2 ** 31);
    const len = 2 ** 30;
    for (let i = 3; i >= 0; i--) r.desc(i, r.buf, len, VIRTQ_DESC_F_WRITE | (i < 3 ? VIRTQ_DESC_F_NEXT : 0), 1);
    expect(r.pop()).toBe('none');
    expect(r.chain.writeCapacity).toBe(2 ** 32);
  });
});
