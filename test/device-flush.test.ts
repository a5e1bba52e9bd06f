import { describe, expect, it } from 'vitest';
import type { UsedTracker } from '../src/order/tracker.js';
import { buildOneThread } from './helpers/onethread.js';

describe('the device sets FLUSH wherever it is valid (PARTIAL_ORDER)', () => {
  // The device skips asking the tracker while a buffer is parked (the parked one is an older
  // hole): this checks, entry by entry, that no entry goes out without FLUSH where FLUSH was valid.
  for (const ring of ['split', 'packed'] as const) {
    for (const faultLatencyUs of [2, 5]) {
      it(`${ring}, fault rate 0.05, latency ${faultLatencyUs} µs: every entry without FLUSH had a hole behind it`, () => {
        const { driver, device, advance } = buildOneThread({ ring, order: 'partial', buffers: 20_000, queueSize: 32, faultRate: 0.05, faultLatencyUs, popBudget: 8, publishBatch: 8, check: false });
        const tr: UsedTracker = device.tracker;
        const onUsed = tr.onUsed.bind(tr);
        let plain = 0, missed = 0, flushes = 0;
        tr.onUsed = (id: number, flush: boolean, len: number): number => {
          if (flush) flushes++;
          else { plain++; if (tr.flushValidAfter(id)) missed++; }
          return onUsed(id, flush, len);
        };
        driver.start();
        device.start();
        for (let i = 0; i < 1_000_000 && !driver.finished; i++) { driver.step(); device.step(); advance(0.001); }
        expect(driver.finished).toBe(true);
        expect(plain).toBeGreaterThan(1000);
        expect(flushes).toBeGreaterThan(100);
        expect(missed).toBe(0);
      });
    }
  }
});
