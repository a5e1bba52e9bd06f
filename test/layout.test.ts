import { describe, expect, it } from 'vitest';
import { packedRingLayout, splitRingLayout, vringNeedEvent } from '../src/index.js';

describe('splitRingLayout (2.7, equals Linux vring_init(num, p, 4))', () => {
  it('queue size 256: offsets worked out by hand from the spec alignments', () => {
    const l = splitRingLayout(256);
    // desc: 16 * 256 = 4096 bytes at 0
    expect(l.desc).toEqual({ offset: 0, size: 4096 });
    // avail: flags, idx, ring[256], used_event = 6 + 512 = 518 bytes at 4096
    expect(l.avail).toEqual({ offset: 4096, size: 518 });
    expect(l.usedEvent).toEqual({ offset: 4096 + 4 + 512, size: 2 });
    // used: next multiple of 4 after 4096 + 518 = 4614 -> 4616; 6 + 8 * 256 = 2054 bytes
    expect(l.used).toEqual({ offset: 4616, size: 2054 });
    expect(l.availEvent).toEqual({ offset: 4616 + 4 + 2048, size: 2 });
    expect(l.totalSize).toBe(4616 + 2054);
  });
  it('queue size 1 and 2 (avail end not 4-aligned)', () => {
    expect(splitRingLayout(1)).toMatchObject({ desc: { offset: 0, size: 16 }, avail: { offset: 16, size: 8 }, used: { offset: 24, size: 14 } });
    // avail at 32, 6 + 4 = 10 bytes -> ends at 42 -> used at 44
    expect(splitRingLayout(2)).toMatchObject({ avail: { offset: 32, size: 10 }, used: { offset: 44, size: 22 }, availEvent: { offset: 64, size: 2 } });
  });
  it('rejects sizes that are not powers of two or too large', () => {
    for (const n of [0, 3, 100, 65536, 1.5, -4]) expect(() => splitRingLayout(n)).toThrow(/BAD_QUEUE_SIZE/);
    expect(splitRingLayout(32768).desc.size).toBe(16 * 32768);
  });
});

describe('packedRingLayout (2.8)', () => {
  it('descriptor ring then driver and device event suppression, 4 bytes each', () => {
    const l = packedRingLayout(3);
    expect(l.desc).toEqual({ offset: 0, size: 48 });
    expect(l.driverEvent).toEqual({ offset: 48, size: 4 });
    expect(l.deviceEvent).toEqual({ offset: 52, size: 4 });
    expect(l.totalSize).toBe(56);
    expect(() => packedRingLayout(0)).toThrow(/BAD_QUEUE_SIZE/);
    expect(() => packedRingLayout(32769)).toThrow(/BAD_QUEUE_SIZE/);
  });
});

describe('vringNeedEvent (Linux vring_need_event)', () => {
  const ref = (e: number, n: number, o: number): boolean => ((n - e - 1) & 0xffff) < ((n - o) & 0xffff);
  it('notifies exactly when event_idx lies in [old, new)', () => {
    expect(vringNeedEvent(5, 6, 5)).toBe(true);
    expect(vringNeedEvent(5, 5, 4)).toBe(false);
    expect(vringNeedEvent(4, 10, 4)).toBe(true);
    expect(vringNeedEvent(10, 10, 4)).toBe(false);
    expect(vringNeedEvent(3, 10, 4)).toBe(false);
  });
  it('wraps at 2^16', () => {
    expect(vringNeedEvent(0xffff, 2, 0xfffe)).toBe(true);
    expect(vringNeedEvent(1, 2, 0xfffe)).toBe(true);
    expect(vringNeedEvent(2, 2, 0xfffe)).toBe(false);
    for (let i = 0; i < 2000; i++) {
      const e = (i * 7919) & 0xffff, o = (i * 104729) & 0xffff, n = (o + (i % 300)) & 0xffff;
      expect(vringNeedEvent(e, n, o)).toBe(ref(e, n, o));
    }
  });
});
