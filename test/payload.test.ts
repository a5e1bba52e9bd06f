import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AtomicsMemory } from '../src/memory/ops.js';
import { checkPattern, checkPatternAt, directWords, fillPattern, fillPatterns, patternWord, SALT_IN, SALT_OUT } from '../src/device/payload.js';
import { SimWorld } from '../src/sim/memory.js';

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
  it('fillPatterns writes byte for byte what fillPattern writes for each buffer (seqs seq0, seq0+1, ...), aligned or not', () => {
    fc.assert(fc.property(fc.array(fc.record({ addr: fc.integer({ min: 0, max: 15 }), len: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 8 }), fc.nat(), (bufs, seq0) => {
      const a = new AtomicsMemory(new SharedArrayBuffer(1024));
      const b = new AtomicsMemory(new SharedArrayBuffer(1024));
      const addrs = new Float64Array(bufs.length), lens = new Uint32Array(bufs.length);
      bufs.forEach((x, j) => { addrs[j] = 64 + 64 * j + x.addr; lens[j] = x.len; });
      fillPatterns(a, addrs, lens, seq0, bufs.length, SALT_IN);
      bufs.forEach((_, j) => fillPattern(b, addrs[j], lens[j], (seq0 + j) >>> 0, SALT_IN, 0));
      expect(a.u8).toEqual(b.u8);
    }), { numRuns: 300 });
  });
  it('checkPatternAt (the word view of real memory, or a modelled memory) answers as checkPattern, and finds any one byte changed', () => {
    const real = new AtomicsMemory(new SharedArrayBuffer(1024));
    const sim = new SimWorld(new ArrayBuffer(1024), 'sc').side();
    expect(directWords(real)).toBe(real.i32);
    expect(directWords(sim)).toBeNull();
    fc.assert(fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 40 }), fc.nat(), fc.option(fc.nat(39)), (off, len, seq, flip) => {
      for (const mem of [real, sim]) {
        const addr = 128 + off;
        fillPattern(mem, addr, len, seq, SALT_IN, 0);
        if (flip !== null && flip < len) mem.st8(addr + flip, mem.ld8(addr + flip) ^ 0x10);
        const want = checkPattern(mem, addr, len, seq, SALT_IN, 0);
        expect(want).toBe(flip === null || flip >= len);
        expect(checkPatternAt(directWords(mem), mem, addr, len, seq, SALT_IN)).toBe(want);
      }
    }), { numRuns: 300 });
  });
  it('patterns of different buffers differ in their first word (seq → word is a bijection)', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 100_000; s++) seen.add(patternWord(s, 0, SALT_IN));
    expect(seen.size).toBe(100_000);
  });
});

describe('the driver finds the device\'s pattern wrong in exactly the buffer changed (reclaim, real memory)', () => {
  for (const order of ['none', 'in-order', 'partial'] as const) {
    for (const segments of [1, 3]) {
      it(`${order}, ${segments} segment(s): one flipped byte in the second buffer's writable bytes → one corruption, of its id`, async () => {
        const { buildOneThread } = await import('./helpers/onethread.js');
        const { Control, D_CORRUPTED } = await import('../src/harness/control.js');
        const { driver, device, shared } = buildOneThread({ queueSize: 8, buffers: 64, faultRate: 0, order, segments, segmentBytes: 16, publishBatch: 8, popBudget: 8 });
        const corrupt: number[] = [];
        const report = (driver as unknown as { report: { driverCorrupt: (id: number, seq: number) => void } }).report;
        const orig = report.driverCorrupt.bind(report);
        report.driverCorrupt = (id: number, seq: number): void => { corrupt.push(id); orig(id, seq); };
        driver.start(); device.start();
        const n = driver.step();
        expect(n).toBeGreaterThanOrEqual(2);
        device.step();
        // The last writable segment of the second buffer made available (the only one with one segment).
        const id = driver.tracker.idAtSeq(1);
        new Uint8Array(shared.guest)[driver.ring.segmentAddr(id, segments - 1) + 5] ^= 0x40;
        expect(driver.reclaim()).toBe(n);
        expect(corrupt).toEqual([id]);
        expect(new Control(shared.control).driver[D_CORRUPTED]).toBe(1);
      });
    }
  }
});
