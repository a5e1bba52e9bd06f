import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig } from '../src/harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf, type SideInit } from '../src/harness/sides.js';
import { featureBits, negotiate } from '../src/spec/features.js';
import type { Doorbell } from '../src/memory/doorbell.js';
import type { UsedTracker } from '../src/order/tracker.js';

const pollBell: Doorbell = { mode: 'poll', ring() {}, read: () => 0, wait: () => false, wakeAll() {} };

describe('the device sets FLUSH wherever it is valid (PARTIAL_ORDER)', () => {
  // The device skips asking the tracker while a buffer is parked (the parked one is an older
  // hole): this checks, entry by entry, that no entry goes out without FLUSH where FLUSH was valid.
  for (const ring of ['split', 'packed'] as const) {
    for (const faultLatencyUs of [2, 5]) {
      it(`${ring}, fault rate 0.05, latency ${faultLatencyUs} µs: every entry without FLUSH had a hole behind it`, () => {
        const cfg = validateConfig({ ...DEFAULT_CONFIG, ring, order: 'partial', notify: 'poll', buffers: 20_000, queueSize: 32, faultRate: 0.05, faultLatencyUs, popBudget: 8, publishBatch: 8, eventLogRecords: 1 << 12, orderWindow: 1 << 10, check: false });
        const f = negotiate(featureBits(cfg), featureBits(cfg));
        const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared: createShared(cfg, guestLayoutOf(cfg)) };
        let now = 0;
        const env = { doorbell: pollBell, clock: () => now, stallUntil: (t: number) => { if (t > now) now = t; } };
        const driver = buildDriver(init, undefined, env);
        const device = buildDevice(init, undefined, env);
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
        for (let i = 0; i < 1_000_000 && !driver.finished; i++) { driver.step(); device.step(); now += 0.001; }
        expect(driver.finished).toBe(true);
        expect(plain).toBeGreaterThan(1000);
        expect(flushes).toBeGreaterThan(100);
        expect(missed).toBe(0);
      });
    }
  }
});
