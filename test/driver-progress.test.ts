import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig } from '../src/harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf, type SideInit } from '../src/harness/sides.js';
import { featureBits, negotiate } from '../src/spec/features.js';
import type { Doorbell } from '../src/memory/doorbell.js';

const pollBell: Doorbell = { mode: 'poll', ring() {}, read: () => 0, wait: () => false, wakeAll() {} };

/** Driver and device in one thread to completion, on a clock that advances 1 ms per read. */
function run(buffers: number, publishBatch: number) {
  const cfg = validateConfig({ ...DEFAULT_CONFIG, notify: 'poll', order: 'in-order', faultRate: 0, check: false, buffers, publishBatch, popBudget: publishBatch });
  const bits = featureBits(cfg);
  const f = negotiate(bits, bits);
  const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared: createShared(cfg, guestLayoutOf(cfg)) };
  let now = 0;
  const clock = (): number => ++now;
  const driver = buildDriver(init, undefined, { doorbell: pollBell, clock });
  const device = buildDevice(init, undefined, { doorbell: pollBell, clock });
  driver.start();
  device.start();
  for (let i = 0; i < 10 * buffers && !driver.finished; i++) { driver.step(); device.step(); }
  return driver;
}

describe('the driver\'s progress marks and steady window', () => {
  for (const [buffers, batch] of [[10_000, 64], [1_000, 1], [5, 64], [1, 1]] as const) {
    it(`${buffers} buffers, batch ${batch}: first reclaim, each sixteenth, the end; steady = the second half`, () => {
      const d = run(buffers, batch);
      expect(d.finished).toBe(true);
      const p = d.progress();
      expect(p.length).toBeGreaterThan(0);
      expect(p.length).toBeLessThanOrEqual(17);
      expect(p[p.length - 1].reclaimed).toBe(buffers);
      for (let k = 1; k < p.length; k++) {
        expect(p[k].reclaimed).toBeGreaterThan(p[k - 1].reclaimed);
        expect(p[k].ms).toBeGreaterThan(p[k - 1].ms);
        // No sixteenth is skipped by more than one round's reclaim.
        expect(p[k].reclaimed - p[k - 1].reclaimed).toBeLessThanOrEqual(Math.ceil(buffers / 16) + batch);
        // A mark is taken at the first reclaim at or past each sixteenth.
        expect(Math.floor((p[k].reclaimed * 16) / buffers)).toBeGreaterThan(Math.floor((p[k - 1].reclaimed * 16) / buffers));
      }
      const s = d.steady()!;
      expect(s).not.toBeNull();
      const half = p.find((m) => m.reclaimed * 2 >= buffers)!;
      expect(s.buffers).toBe(buffers - half.reclaimed);
      expect(s.ms).toBe(p[p.length - 1].ms - half.ms);
      if (buffers >= 1000) {
        // The window starts at half the run, give or take a round's reclaim.
        expect(half.reclaimed).toBeLessThan(buffers / 2 + batch);
        expect(p.length).toBeGreaterThanOrEqual(16);
      }
    });
  }

  it('no steady window before the run is complete', () => {
    const cfg = validateConfig({ ...DEFAULT_CONFIG, notify: 'poll', order: 'in-order', faultRate: 0, check: false, buffers: 1000 });
    const bits = featureBits(cfg);
    const f = negotiate(bits, bits);
    const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared: createShared(cfg, guestLayoutOf(cfg)) };
    const driver = buildDriver(init, undefined, { doorbell: pollBell });
    const device = buildDevice(init, undefined, { doorbell: pollBell });
    driver.start(); device.start();
    for (let i = 0; i < 5; i++) { driver.step(); device.step(); }
    expect(driver.reclaimedCount).toBeGreaterThan(0);
    expect(driver.steady()).toBeNull();
  });
});
