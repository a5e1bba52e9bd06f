import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runOneThread } from './helpers/onethread.js';

describe('split ring, driver and device in one thread, random schedules and faults (fast-check)', () => {
  for (const order of ['none', 'in-order', 'partial'] as const) {
    it(`order ${order}: every buffer used once, data intact, no checker violation`, () => {
      let faults = 0, flushes = 0, batched = 0;
      fc.assert(fc.property(
        fc.record({
          queueSize: fc.constantFrom(1, 2, 4, 8, 16),
          segments: fc.integer({ min: 1, max: 4 }),
          segmentBytes: fc.integer({ min: 1, max: 40 }),
          eventIdx: fc.boolean(),
          indirect: fc.boolean(),
          faultRate: fc.constantFrom(0, 0.1, 0.3),
          publishBatch: fc.integer({ min: 1, max: 8 }),
          popBudget: fc.integer({ min: 1, max: 8 }),
          seed: fc.nat(),
        }),
        fc.nat(),
        (p, sched) => {
          if (p.segments > p.queueSize) return; // chains (and indirect tables) must fit the queue
          const r = runOneThread({ ...p, order, buffers: 300, faultLatencyUs: 20 }, sched);
          expect(r.violations).toEqual([]);
          expect(r.corrupted).toBe(0);
          expect(r.reclaimed).toBe(300);
          if (order === 'none') expect(r.batched).toBe(0);
          if (order !== 'partial') expect(r.flushes).toBe(0);
          faults += r.faults; flushes += r.flushes; batched += r.batched;
        },
      ), { numRuns: 60 });
      // The runs must have exercised what they claim to.
      expect(faults).toBeGreaterThan(0);
      if (order === 'partial') expect(flushes).toBeGreaterThan(0);
      if (order !== 'none') expect(batched).toBeGreaterThan(0);
    });
  }
});
