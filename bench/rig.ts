/**
 * A one-thread rig for micro-benchmarks: vqlab's own driver and device (split or packed, any
 * ordering) over real AtomicsMemory in one thread, built through the same side builders as the
 * worker threads, with a poll doorbell and the real clock. The phases of a round can be driven
 * one at a time, so each side's hot path is timed alone: driver add + publish, device pop + use,
 * driver reclaim, and the live checker's drain.
 */
import { DEFAULT_CONFIG, orderWindowOf, validateConfig, type RunConfig } from '../src/harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf, type SideInit } from '../src/harness/sides.js';
import { featureBits, negotiate } from '../src/spec/features.js';
import { EventLog } from '../src/check/events.js';
import { LiveChecker } from '../src/check/live.js';
import type { Doorbell } from '../src/memory/doorbell.js';
import type { VirtioDriver } from '../src/driver/driver.js';
import type { VirtioDevice } from '../src/device/device.js';

const pollBell: Doorbell = { mode: 'poll', ring() {}, read: () => 0, wait: () => false, wakeAll() {} };

export class Rig {
  readonly driver: VirtioDriver;
  readonly device: VirtioDevice;
  readonly live: LiveChecker | null;
  readonly cfg: RunConfig;

  constructor(over: Partial<RunConfig>) {
    // Effectively endless: the rig is stepped for as long as tinybench wants.
    this.cfg = validateConfig({ ...DEFAULT_CONFIG, notify: 'poll', faultRate: 0, buffers: Number.MAX_SAFE_INTEGER, eventLogRecords: 1 << 14, orderWindow: 1 << 10, ...over });
    const cfg = this.cfg;
    const bits = featureBits(cfg);
    const f = negotiate(bits, bits);
    const shared = createShared(cfg, guestLayoutOf(cfg));
    const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared };
    this.driver = buildDriver(init, undefined, { doorbell: pollBell });
    this.device = buildDevice(init, undefined, { doorbell: pollBell });
    this.live = cfg.check
      ? new LiveChecker({ ring: cfg.ring, order: f.order, flushAllowed: f.partialOrder, queueSize: cfg.queueSize, window: orderWindowOf(cfg), maxId: cfg.queueSize, pendingCapacity: cfg.eventLogRecords + 2 * orderWindowOf(cfg) },
        new EventLog(shared.driverLog), new EventLog(shared.deviceLog))
      : null;
    this.driver.start();
    this.device.start();
  }

  /** Driver: add and publish one batch (its reclaim finds nothing). Returns buffers added. */
  add(): number { return this.driver.step(); }
  /** Device: pop, process and use what is available. */
  use(): number { return this.device.step(); }
  /** Driver: reclaim what the device used. */
  reclaim(): number { return this.driver.reclaim(); }
  /** Checker: drain both event logs. */
  drain(): void {
    if (!this.live) return;
    this.live.drain();
    if (this.live.stop) throw new Error(`checker: ${this.live.checker.violations.map((v) => v.message).join('; ')}`);
  }
  /**
   * Rounds for `ms` milliseconds, each phase timed alone: ns per buffer completed of driver add +
   * publish, device pop + use, driver reclaim and the checker's drain (scripts/rig-cost.mjs).
   */
  timeSlice(ms: number): { add: number; device: number; reclaim: number; checker: number } {
    let n = 0, tAdd = 0, tDevice = 0, tReclaim = 0, tCheck = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      for (let i = 0; i < 50; i++) {
        const a = performance.now(); this.add();
        const b = performance.now(); this.use();
        const c = performance.now(); n += this.reclaim();
        const d = performance.now(); this.drain();
        const e = performance.now();
        tAdd += b - a; tDevice += c - b; tReclaim += d - c; tCheck += e - d;
      }
    }
    const k = 1e6 / n;
    return { add: tAdd * k, device: tDevice * k, reclaim: tReclaim * k, checker: tCheck * k };
  }

  /** One whole round; returns buffers completed. */
  round(): number {
    this.add();
    this.use();
    const n = this.reclaim();
    this.drain();
    return n;
  }
}
