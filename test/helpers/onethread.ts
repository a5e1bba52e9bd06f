/**
 * Run vqlab's own driver and device in ONE thread, alternating their step() under a seeded
 * schedule with a virtual clock, over real AtomicsMemory, with the live checker after every step.
 */
import { DEFAULT_CONFIG, validateConfig, type RunConfig } from '../../src/harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf, type SideInit } from '../../src/harness/sides.js';
import { featureBits, negotiate } from '../../src/spec/features.js';
import { EventLog } from '../../src/check/events.js';
import { LiveChecker } from '../../src/check/live.js';
import { Control, D_CORRUPTED, V_CORRUPTED, V_FAULTS, V_FLUSHES, V_BATCHED_ENTRIES, V_USED_ENTRIES } from '../../src/harness/control.js';
import { orderWindowOf } from '../../src/harness/config.js';
import type { Doorbell } from '../../src/memory/doorbell.js';
import { Rng } from '../../src/util/rng.js';

const pollBell: Doorbell = { mode: 'poll', ring() {}, read: () => 0, wait: () => false, wakeAll() {} };

export interface OneThreadResult {
  reclaimed: number;
  violations: string[];
  corrupted: number;
  faults: number;
  flushes: number;
  batched: number;
  usedEntries: number;
  steps: number;
}

/**
 * vqlab's own driver and device over one shared guest memory, for driving by hand in one thread:
 * poll doorbells and a virtual clock (`advance(ms)`; an IN_ORDER stall moves it forward).
 */
export function buildOneThread(over: Partial<RunConfig>) {
  const cfg = validateConfig({ ...DEFAULT_CONFIG, notify: 'poll', eventLogRecords: 1 << 12, orderWindow: 1 << 10, ...over });
  const bits = featureBits(cfg);
  const f = negotiate(bits, bits);
  const shared = createShared(cfg, guestLayoutOf(cfg));
  const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared };
  let now = 0;
  const env = { doorbell: pollBell, clock: () => now, stallUntil: (t: number) => { if (t > now) now = t; } };
  return {
    cfg, f, shared,
    driver: buildDriver(init, undefined, env),
    device: buildDevice(init, undefined, env),
    advance(ms: number): void { now += ms; },
  };
}

export function runOneThread(over: Partial<RunConfig>, schedSeed: number, maxSteps = 200_000): OneThreadResult {
  const { cfg, f, shared, driver, device, advance } = buildOneThread(over);
  const live = new LiveChecker({ ring: cfg.ring, order: f.order, flushAllowed: f.partialOrder, queueSize: cfg.queueSize, window: orderWindowOf(cfg), maxId: cfg.queueSize, pendingCapacity: (1 << 12) + 2 * orderWindowOf(cfg) },
    new EventLog(shared.driverLog), new EventLog(shared.deviceLog));
  const rng = new Rng(schedSeed);
  driver.start();
  device.start();
  let steps = 0;
  while (!driver.finished && steps < maxSteps && !live.stop) {
    // Random interleaving, random passage of virtual time (so faults resolve in varied places).
    if (rng.u32() & 1) driver.step(); else device.step();
    if ((rng.u32() & 3) === 0) advance(rng.float() * cfg.faultLatencyUs / 1000);
    live.drain();
    steps++;
  }
  driver.finish();
  device.step();
  device.finish();
  live.drain();
  if (driver.finished && live.checker.ok) live.checker.finish(true);
  const c = new Control(shared.control);
  return {
    reclaimed: driver.reclaimedCount,
    violations: live.checker.violations.map((v) => v.rule),
    corrupted: c.driver[D_CORRUPTED] + c.device[V_CORRUPTED],
    faults: c.device[V_FAULTS],
    flushes: c.device[V_FLUSHES],
    batched: c.device[V_BATCHED_ENTRIES],
    usedEntries: c.device[V_USED_ENTRIES],
    steps,
  };
}
