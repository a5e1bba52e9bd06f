/**
 * The reference model beside running rings: in the simulator (every used entry it sees also goes
 * to the reference; a disagreement is a REFERENCE_DISAGREES finding), and over a one-thread run of
 * packed chains, where a planted tracker weight bug is invisible to the checker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsedTracker } from '../src/order/tracker.js';
import { DEFAULT_SIM, simulate } from '../src/sim/sim.js';
import { attachReferenceHook } from '../src/sim/reference-hook.js';
import { EventLog } from '../src/check/events.js';
import { buildOneThread } from './helpers/onethread.js';
import { plantWeightBug } from './helpers/planted-tracker.js';
import { Rng } from '../src/util/rng.js';

afterEach(() => { vi.restoreAllMocks(); });

/** A one-thread run with the hook reading both logs after every step; the first finding, or null. */
function hookedRun(over: Parameters<typeof buildOneThread>[0], seed: number): { finding: string | null; reclaimed: number; error?: string } {
  const { cfg, f, shared, driver, device, advance } = buildOneThread(over);
  const hook = attachReferenceHook(cfg, f, driver, device);
  const logs = [new EventLog(shared.driverLog), new EventLog(shared.deviceLog)];
  const rng = new Rng(seed);
  driver.start();
  device.start();
  let finding: string | null = null;
  for (let steps = 0; steps < 20_000 && !driver.finished && finding === null; steps++) {
    try {
      if (rng.u32() & 1) driver.step(); else device.step();
    } catch (e) { return { finding, reclaimed: driver.reclaimedCount, error: String(e) }; }
    if ((rng.u32() & 3) === 0) advance(rng.float() * cfg.faultLatencyUs / 1000);
    for (let s = 0; s < 2; s++) logs[s].drain(logs[s].written(), (w0, w1) => hook.record(s, w0, w1));
    finding = hook.compare(null);
  }
  return { finding, reclaimed: driver.reclaimedCount };
}

describe('reference model beside running rings', () => {
  const packedChains = { ring: 'packed' as const, order: 'in-order' as const, queueSize: 16, segments: 3, buffers: 400, faultRate: 0 };

  it('packed chains of 3 descriptors, IN_ORDER: the reference agrees with both sides on every entry', () => {
    for (const seed of [1, 2, 3]) expect(hookedRun(packedChains, seed)).toEqual({ finding: null, reclaimed: 400 });
    expect(hookedRun({ ...packedChains, order: 'partial', faultRate: 0.1 }, 4)).toEqual({ finding: null, reclaimed: 400 });
    expect(hookedRun({ ...packedChains, ring: 'split', order: 'partial', faultRate: 0.1 }, 5)).toEqual({ finding: null, reclaimed: 400 });
  });

  it('a tracker whose batch weight leaves out the named chain: the reference names the slots at the first batch', () => {
    plantWeightBug();
    const r = hookedRun(packedChains, 1);
    expect(r.finding).toMatch(/the device moved its used position \d+ slot\(s\) for used entry \d+ .*the reference says \d+/);
    const [, moved, said] = /position (\d+) slot.*says (\d+)/.exec(r.finding!)!;
    expect(Number(said) - Number(moved)).toBe(3); // exactly the named chain's own slots
  });

  it('in the simulator: correct rings raise no REFERENCE_DISAGREES; a tracker slot bug does', () => {
    for (const ring of ['split', 'packed'] as const) for (const order of ['none', 'in-order', 'partial'] as const) {
      for (let seed = 1; seed <= 5; seed++) {
        const r = simulate({ ...DEFAULT_SIM, ring, order, seed });
        expect(r.violation, `${ring} ${order} seed ${seed}`).toBeNull();
      }
    }
    // Every batch skips one slot too few (the simulator's chains are one descriptor: unit weights).
    // Driver and device share the tracker, so they agree with each other; the checker counts no slots.
    const onUsed = UsedTracker.prototype.onUsed;
    vi.spyOn(UsedTracker.prototype, 'onUsed').mockImplementation(function (this: UsedTracker, id: number, flush: boolean, len: number) {
      const n = onUsed.call(this, id, flush, len);
      if (n > 1) this.weight -= 1;
      return n;
    });
    const r = simulate({ ...DEFAULT_SIM, ring: 'packed', order: 'in-order', seed: 1, faultRate: 0 });
    expect(r.violation?.rule).toBe('REFERENCE_DISAGREES');
    expect(r.violation?.message).toMatch(/the device moved its used position (\d+) slot\(s\).*the reference says/);
  });
});
