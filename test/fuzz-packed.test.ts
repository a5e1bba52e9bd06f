import { describe, expect, it } from 'vitest';
import { runFuzz } from '../src/fuzz/run.js';
import { PACKED_DEVICE_CLASSES } from '../src/fuzz/packed-device.js';
import { PACKED_DRIVER_CLASSES } from '../src/fuzz/packed-driver.js';
import { PackedDeviceRing } from '../src/packed/device.js';
import { PackedDriverRing } from '../src/packed/driver.js';

// Hostile input in both directions on the packed ring: every case must end in a typed,
// named error from the attacked side that the case's oracle allows (or, for the legal classes
// skip-ahead and valid-batch, exactly the reference's outcome and no error) — no other exception,
// no out-of-bounds or misaligned access, no write outside what the side may write, bounded loops.
const show = (r: ReturnType<typeof runFuzz>): string => JSON.stringify(r.failures.slice(0, 3), null, 1);

describe('a hostile driver against the packed device: one campaign per class', () => {
  for (const cls of PACKED_DEVICE_CLASSES) {
    it(cls, () => {
      const r = runFuzz({ ring: 'packed', side: 'device', cases: 150, seed: 11, onlyClass: cls });
      expect(r.crashes, show(r)).toBe(0);
      expect(r.wrong_outcomes, show(r)).toBe(0);
      expect(r.passed).toBe(150);
    });
  }
});

describe('a hostile device against the packed driver: one campaign per class', () => {
  for (const cls of PACKED_DRIVER_CLASSES) {
    it(cls, () => {
      const r = runFuzz({ ring: 'packed', side: 'driver', cases: 150, seed: 11, onlyClass: cls });
      expect(r.crashes, show(r)).toBe(0);
      expect(r.wrong_outcomes, show(r)).toBe(0);
      expect(r.passed).toBe(150);
    });
  }
});

describe('mixed packed campaigns', () => {
  it('10 000 cases per side, every rule reached, zero crashes, zero hangs', () => {
    const dev = runFuzz({ ring: 'packed', side: 'device', cases: 10_000, seed: 2026 });
    const drv = runFuzz({ ring: 'packed', side: 'driver', cases: 10_000, seed: 2026 });
    for (const r of [dev, drv]) {
      expect(r.crashes, show(r)).toBe(0);
      expect(r.wrong_outcomes, show(r)).toBe(0);
      expect(r.slowest_case_ms).toBeLessThan(30_000); // a hang, not a slow case on a loaded machine
    }
    expect(Object.keys(dev.errors_by_kind).sort()).toEqual([
      'AVAIL_BAD_HEAD', 'DESC_ADDR_OUT_OF_RANGE', 'DESC_BAD_FLAGS', 'DESC_CHAIN_TOO_LONG', 'DESC_INDIRECT_AND_NEXT',
      'DESC_INDIRECT_BAD_LEN', 'DESC_INDIRECT_IN_CHAIN', 'DESC_INDIRECT_NOT_NEGOTIATED', 'DESC_NESTED_INDIRECT',
      'DESC_WRITE_BEFORE_READ', 'PACKED_BAD_WRAP',
    ]);
    expect(Object.keys(drv.errors_by_kind).sort()).toEqual([
      'PACKED_BAD_WRAP', 'USED_BAD_ID', 'USED_BAD_LEN', 'USED_FLUSH_WITHOUT_FEATURE', 'USED_FLUSH_WITH_HOLE',
      'USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER',
    ]);
  });

  it('is deterministic: a seed replays the same campaign, and one case replays alone', () => {
    const a = runFuzz({ ring: 'packed', side: 'device', cases: 300, seed: 5 });
    const b = runFuzz({ ring: 'packed', side: 'device', cases: 300, seed: 5 });
    expect(b.errors_by_kind).toEqual(a.errors_by_kind);
    expect(b.cases_by_class).toEqual(a.cases_by_class);
    const c = runFuzz({ ring: 'packed', side: 'driver', cases: 300, seed: 5 });
    const d = runFuzz({ ring: 'packed', side: 'driver', cases: 300, seed: 5 });
    expect(d.errors_by_kind).toEqual(c.errors_by_kind);
    expect(runFuzz({ ring: 'packed', side: 'driver', cases: 300, seed: 5, onlyCase: 123 }).cases).toBe(1);
  });
});

describe('the packed fuzzer catches a broken side (mutation checks)', () => {
  it('a device that ignores undefined flag bits is caught as wrong outcomes', () => {
    const proto = PackedDeviceRing.prototype as unknown as { popChain: (c: unknown) => void };
    const orig = proto.popChain;
    // Strip undefined bits from every descriptor flags load inside popChain.
    proto.popChain = function (this: { mem: { ld16: (o: number) => number } }, c: unknown) {
      const mem = this.mem;
      const ld16 = mem.ld16;
      mem.ld16 = (o: number) => { const v = ld16.call(mem, o); return o % 16 === 14 ? v & 0x8087 : v; };
      try { return orig.call(this, c); } finally { mem.ld16 = ld16; }
    };
    try {
      const r = runFuzz({ ring: 'packed', side: 'device', cases: 100, seed: 3, onlyClass: 'bad-flags' });
      expect(r.wrong_outcomes).toBeGreaterThan(0);
    } finally { proto.popChain = orig; }
  });
  it('a driver that takes any AVAIL/USED combination for "used" is caught', () => {
    const proto = PackedDriverRing.prototype as unknown as { pollUsed: () => boolean };
    const orig = proto.pollUsed;
    proto.pollUsed = function (this: unknown) { try { return orig.call(this); } catch { return true; } };
    try {
      const r = runFuzz({ ring: 'packed', side: 'driver', cases: 100, seed: 3, onlyClass: 'wrong-wrap' });
      expect(r.crashes + r.wrong_outcomes).toBeGreaterThan(0);
    } finally { proto.pollUsed = orig; }
  });
});
