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
function rig(indirect = true) {
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
  const pop = (): string => {
    try { expect(dev.pollAvail()).toBe(true); dev.popChain(new Chain(64, gl.dmaStart, mem.size)); return 'none'; }
    catch (e) { if (e instanceof VqError) { expect(e.side).toBe('device'); return e.code; } throw e; }
  };
  return { gl, mem, desc, table, pop, buf: gl.poolBase };
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
