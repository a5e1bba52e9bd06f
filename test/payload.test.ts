import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AtomicsMemory } from '../src/memory/ops.js';
import { checkPattern, fillPattern, fillPatterns, patternWord, SALT_IN, SALT_OUT } from '../src/device/payload.js';

describe('data patterns', () => {
  it('fill then check round-trips at any alignment and length; another seq, salt or word offset does not match', () => {
    const mem = new AtomicsMemory(new SharedArrayBuffer(4096));
    fc.assert(fc.property(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(8), (addr, len, seq, first) => {
      fillPattern(mem, 512 + addr, len, seq, SALT_IN, first);
      expect(checkPattern(mem, 512 + addr, len, seq, SALT_IN, first)).toBe(true);
      // A whole 32-bit word always tells patterns apart (shorter regions compare fewer bits).
      if (len >= 4) {
        expect(checkPattern(mem, 512 + addr, len, (seq + 1) >>> 0, SALT_IN, first)).toBe(false);
        expect(checkPattern(mem, 512 + addr, len, seq, SALT_OUT, first)).toBe(false);
        expect(checkPattern(mem, 512 + addr, len, seq, SALT_IN, first + 1)).toBe(false);
      }
    }), { numRuns: 500 });
  });
  it('fillPatterns writes byte for byte what fillPattern writes for each buffer, aligned or not', () => {
    fc.assert(fc.property(fc.array(fc.record({ addr: fc.integer({ min: 0, max: 15 }), len: fc.integer({ min: 0, max: 40 }), seq: fc.nat() }), { minLength: 1, maxLength: 8 }), (bufs) => {
      const a = new AtomicsMemory(new SharedArrayBuffer(1024));
      const b = new AtomicsMemory(new SharedArrayBuffer(1024));
      const addrs = new Float64Array(bufs.length), lens = new Uint32Array(bufs.length), seqs = new Uint32Array(bufs.length);
      bufs.forEach((x, j) => { addrs[j] = 64 + 64 * j + x.addr; lens[j] = x.len; seqs[j] = x.seq; });
      fillPatterns(a, addrs, lens, seqs, bufs.length, SALT_IN);
      bufs.forEach((_, j) => fillPattern(b, addrs[j], lens[j], seqs[j], SALT_IN, 0));
      expect(a.u8).toEqual(b.u8);
    }), { numRuns: 300 });
  });
  it('patterns of different buffers differ in their first word (seq → word is a bijection)', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 100_000; s++) seen.add(patternWord(s, 0, SALT_IN));
    expect(seen.size).toBe(100_000);
  });
});
