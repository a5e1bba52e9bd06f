/**
 * Building each side from the shared regions: used by the worker entry points, and by anything
 * that runs a side in-thread over another MemoryOps (the simulator, tests).
 */
import { AtomicsMemory, type MemoryOps } from '../memory/ops.js';
import { Doorbells, type Doorbell } from '../memory/doorbell.js';
import { guestLayout, type GuestLayout } from '../memory/guest.js';
import { negotiate, type Negotiated } from '../spec/features.js';
import type { PackedRingLayout, SplitRingLayout } from '../spec/layout.js';
import { SplitDriverRing } from '../split/driver.js';
import { SplitDeviceRing } from '../split/device.js';
import type { DeviceRing, DriverRing } from '../ring/types.js';
import { UsedTracker } from '../order/tracker.js';
import { EventLog } from '../check/events.js';
import { Control } from './control.js';
import { orderWindowOf, segmentSplit, type RunConfig } from './config.js';
import { VirtioDriver } from '../driver/driver.js';
import { VirtioDevice } from '../device/device.js';
import { subSeed } from '../util/rng.js';
import { VqError } from '../errors.js';

/** Everything the two sides share, as plain transferable data (SharedArrayBuffers are shared, not copied). */
export interface SharedRegions {
  guest: SharedArrayBuffer;
  fence: SharedArrayBuffer;
  doorbells: SharedArrayBuffer;
  control: SharedArrayBuffer;
  driverLog: SharedArrayBuffer;
  deviceLog: SharedArrayBuffer;
}

export interface SideInit {
  cfg: RunConfig;
  /** Negotiated feature bits, hex (bigint does not cross structured clone everywhere). */
  features: string;
  shared: SharedRegions;
}

export function createShared(cfg: RunConfig, gl: GuestLayout): SharedRegions {
  const records = cfg.check ? cfg.eventLogRecords : 2;
  return {
    guest: new SharedArrayBuffer(gl.totalSize),
    fence: new SharedArrayBuffer(64),
    doorbells: Doorbells.create(cfg.notify).buffer,
    control: Control.create().buffer,
    driverLog: EventLog.create(records).buffer,
    deviceLog: EventLog.create(records).buffer,
  };
}

export function featuresOf(init: SideInit): Negotiated {
  const bits = BigInt(init.features);
  return negotiate(bits, bits);
}

/** Ids the driver hands out: split = head descriptor index; packed = buffer id < queue size. */
export const maxIdOf = (cfg: RunConfig): number => cfg.queueSize;

export function makeDriverRing(mem: MemoryOps, gl: GuestLayout, f: Negotiated, cfg: RunConfig, tracker: UsedTracker): DriverRing {
  if (f.ring === 'split') {
    return new SplitDriverRing(mem, gl.ring as SplitRingLayout, gl, f, { indirectMin: cfg.indirectMin, segmentBytes: cfg.segmentBytes }, () => tracker.inFlight);
  }
  void (gl.ring as PackedRingLayout);
  throw new VqError('BAD_CONFIG', 'config', 'the packed ring is not built yet');
}

export function makeDeviceRing(mem: MemoryOps, gl: GuestLayout, f: Negotiated): DeviceRing {
  if (f.ring === 'split') return new SplitDeviceRing(mem, gl.ring as SplitRingLayout, f, gl.dmaStart);
  throw new VqError('BAD_CONFIG', 'config', 'the packed ring is not built yet');
}

export function guestLayoutOf(cfg: RunConfig): GuestLayout {
  return guestLayout({ ring: cfg.ring, queueSize: cfg.queueSize, segments: cfg.segments, segmentBytes: cfg.segmentBytes, indirect: cfg.indirect });
}

/**
 * What surrounds a side besides guest memory. Threads use the defaults (Atomics doorbells, the
 * real clock, a busy-wait stall); the simulator and one-thread tests pass their own.
 */
export interface SideEnv {
  doorbell?: Doorbell;
  /** Milliseconds. */
  clock?: () => number;
  /** Device only: IN_ORDER head-of-line stall until a time. */
  stallUntil?: (t: number) => void;
}

export function buildDriver(init: SideInit, mem: MemoryOps = new AtomicsMemory(init.shared.guest, init.shared.fence), env: SideEnv = {}): VirtioDriver {
  const { cfg } = init;
  const f = featuresOf(init);
  const gl = guestLayoutOf(cfg);
  const tracker = new UsedTracker(orderWindowOf(cfg), maxIdOf(cfg), f.order, f.partialOrder, 'driver');
  const ring = makeDriverRing(mem, gl, f, cfg, tracker);
  const { readable, writable } = segmentSplit(cfg.segments);
  return new VirtioDriver(ring, mem, tracker, new EventLog(init.shared.driverLog, cfg.check),
    env.doorbell ?? new Doorbells(init.shared.doorbells, cfg.notify), new Control(init.shared.control),
    {
      buffers: cfg.buffers, readable, writable, segmentBytes: cfg.segmentBytes, publishBatch: cfg.publishBatch,
      spinBeforeWait: cfg.spinBeforeWait, wakeTimeoutMs: cfg.wakeTimeoutMs, verifyData: cfg.verifyData,
    }, cfg.queueSize, maxIdOf(cfg), env.clock);
}

export function buildDevice(init: SideInit, mem: MemoryOps = new AtomicsMemory(init.shared.guest, init.shared.fence), env: SideEnv = {}): VirtioDevice {
  const { cfg } = init;
  const f = featuresOf(init);
  const gl = guestLayoutOf(cfg);
  // The device learns buffer ids from the ring; split ids are head indexes < queue size, packed
  // ids are 16-bit and checked against the same bound (vqlab's driver never exceeds it).
  const tracker = new UsedTracker(orderWindowOf(cfg), f.ring === 'split' ? cfg.queueSize : 65536, f.order, f.partialOrder, 'device');
  const ring = makeDeviceRing(mem, gl, f);
  return new VirtioDevice(ring, mem, f, tracker, new EventLog(init.shared.deviceLog, cfg.check),
    env.doorbell ?? new Doorbells(init.shared.doorbells, cfg.notify), new Control(init.shared.control),
    {
      popBudget: cfg.popBudget, segMax: cfg.segMax, spinBeforeWait: cfg.notify === 'poll' ? 1 : cfg.spinBeforeWait,
      wakeTimeoutMs: cfg.wakeTimeoutMs, verifyData: cfg.verifyData, faultRate: cfg.faultRate,
      faultLatencyUs: cfg.faultLatencyUs, seed: subSeed(cfg.seed, 1),
    }, cfg.queueSize, gl.dmaStart, env.clock, env.stallUntil);
}
