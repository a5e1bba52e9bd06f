import { describe, expect, it } from 'vitest';
import { runFuzz } from '../src/fuzz/run.js';
import { SPLIT_DEVICE_CLASSES } from '../src/fuzz/split-device.js';
import { SPLIT_DRIVER_CLASSES } from '../src/fuzz/split-driver.js';
import { GuardedMemory, MemoryBreach } from '../src/fuzz/guarded.js';
import { AtomicsMemory } from '../src/memory/ops.js';
import { UsedTracker } from '../src/order/tracker.js';
import { Chain } from '../src/ring/chain.js';

// Hostile input in both directions on the split ring: every case must end in a typed,
// named error from the attacked side that the case's oracle allows — no other exception, no
// out-of-bounds or misaligned access, no write outside what the side may write, bounded loops.
const show = (r: ReturnType<typeof runFuzz>): string => JSON.stringify(r.failures.slice(0, 3), null, 1);

describe('a hostile driver against the split device: one campaign per class', () => {
  for (const cls of SPLIT_DEVICE_CLASSES) {
    it(cls, () => {
      const r = runFuzz({ ring: 'split', side: 'device', cases: 150, seed: 11, onlyClass: cls });
      expect(r.crashes, show(r)).toBe(0);
      expect(r.wrong_outcomes, show(r)).toBe(0);
      expect(r.passed).toBe(150);
    });
  }
});

describe('a hostile device against the split driver: one campaign per class', () => {
  for (const cls of SPLIT_DRIVER_CLASSES) {
    it(cls, () => {
      const r = runFuzz({ ring: 'split', side: 'driver', cases: 150, seed: 11, onlyClass: cls });
      expect(r.crashes, show(r)).toBe(0);
      expect(r.wrong_outcomes, show(r)).toBe(0);
    });
  }
});

describe('mixed campaigns', () => {
  it('20 000 cases per side, every rule reached, zero crashes, zero hangs', () => {
    const dev = runFuzz({ ring: 'split', side: 'device', cases: 20_000, seed: 2026 });
    const drv = runFuzz({ ring: 'split', side: 'driver', cases: 20_000, seed: 2026 });
    for (const r of [dev, drv]) {
      expect(r.crashes, show(r)).toBe(0);
      expect(r.wrong_outcomes, show(r)).toBe(0);
      expect(r.slowest_case_ms).toBeLessThan(30_000); // a hang, not a slow case on a loaded machine
    }
    expect(Object.keys(dev.errors_by_kind).sort()).toEqual([
      'AVAIL_BAD_HEAD', 'AVAIL_IDX_JUMP', 'DESC_ADDR_OUT_OF_RANGE', 'DESC_CHAIN_TOO_LONG', 'DESC_INDIRECT_AND_NEXT',
      'DESC_INDIRECT_BAD_LEN', 'DESC_INDIRECT_NOT_NEGOTIATED', 'DESC_IN_ORDER_NEXT', 'DESC_LOOP', 'DESC_NESTED_INDIRECT',
      'DESC_NEXT_OUT_OF_RANGE', 'DESC_WRITE_BEFORE_READ',
    ]);
    expect(Object.keys(drv.errors_by_kind).sort()).toEqual([
      'USED_BAD_FLAGS', 'USED_BAD_ID', 'USED_BAD_LEN', 'USED_BATCH_OVERRUN', 'USED_FLUSH_WITHOUT_FEATURE', 'USED_FLUSH_WITH_HOLE',
      'USED_IDX_JUMP', 'USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER',
    ]);
  });

  it('is deterministic: a seed replays the same campaign, and one case replays alone', () => {
    const a = runFuzz({ ring: 'split', side: 'device', cases: 500, seed: 5 });
    const b = runFuzz({ ring: 'split', side: 'device', cases: 500, seed: 5 });
    expect(b.errors_by_kind).toEqual(a.errors_by_kind);
    expect(b.cases_by_class).toEqual(a.cases_by_class);
    const one = runFuzz({ ring: 'split', side: 'driver', cases: 500, seed: 5, onlyCase: 123 });
    expect(one.cases).toBe(1);
  });
});

describe('the fuzzer catches a broken side (mutation checks)', () => {
  it('a tracker that ignores the used length is caught as wrong outcomes', () => {
    const orig = UsedTracker.prototype.onUsed;
    UsedTracker.prototype.onUsed = function (this: UsedTracker, id: number, flush: boolean) { return orig.call(this, id, flush, 0); };
    try {
      const r = runFuzz({ ring: 'split', side: 'driver', cases: 300, seed: 3, onlyClass: 'len-beyond-buffer' });
      expect(r.wrong_outcomes).toBeGreaterThan(0);
    } finally { UsedTracker.prototype.onUsed = orig; }
  });
  it('a device that reads a misaligned indirect table with the aligned loads is caught as a crash (misaligned access)', () => {
    const orig = Chain.tableAligned;
    Chain.tableAligned = () => true;
    try {
      const r = runFuzz({ ring: 'split', side: 'device', cases: 200, seed: 3, onlyClass: 'indirect-misaligned' });
      expect(r.crashes + r.wrong_outcomes).toBeGreaterThan(0);
      expect(r.failures.some((f) => /misaligned/.test(f.message))).toBe(true);
    } finally { Chain.tableAligned = orig; }
  });
});

describe('the guard', () => {
  it('flags out-of-bounds, misaligned and illegal accesses as MemoryBreach (not VqError)', () => {
    const g = new GuardedMemory(new AtomicsMemory(new SharedArrayBuffer(64)));
    g.writable = [[16, 32]];
    expect(() => g.ld16(64)).toThrow(MemoryBreach);
    expect(() => g.ld32(-4)).toThrow(MemoryBreach);
    expect(() => g.ld64(NaN)).toThrow(MemoryBreach);
    expect(() => g.ld16(3)).toThrow(/misaligned/);
    expect(() => g.ld64(6)).toThrow(/misaligned/);
    expect(() => g.st16(0, 1)).toThrow(/illegal-write/);
    expect(() => g.st32(30, 1)).toThrow(MemoryBreach);
    g.st32(16, 7);
    expect(g.ld32(16)).toBe(7);
  });
});
