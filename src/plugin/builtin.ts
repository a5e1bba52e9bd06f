/**
 * vqlab's own driver and device, created from a SideContext exactly as a user's module is: the
 * same context, the same reporter, the same runner. Only the ring layout (split / packed) is chosen
 * here, from the negotiated features.
 */
import type { SideContext } from './contract.js';
import { UsedTracker } from '../order/tracker.js';
import { VirtioDriver } from '../driver/driver.js';
import { VirtioDevice } from '../device/device.js';
import { SplitDriverRing } from '../split/driver.js';
import { SplitDeviceRing } from '../split/device.js';
import { PackedDriverRing } from '../packed/driver.js';
import { PackedDeviceRing } from '../packed/device.js';
import type { MemoryOps } from '../memory/ops.js';
import type { GuestLayout } from '../memory/guest.js';
import type { Negotiated } from '../spec/features.js';
import type { PackedRingLayout, SplitRingLayout } from '../spec/layout.js';
import type { DeviceRing, DriverRing } from '../ring/types.js';
import { orderWindowOf, segmentSplit, type RunConfig } from '../harness/config.js';
import type { Control } from '../harness/control.js';

/** Ids the driver hands out: split = head descriptor index; packed = buffer id < queue size. */
export const maxIdOf = (cfg: RunConfig): number => cfg.queueSize;

export function makeDriverRing(mem: MemoryOps, gl: GuestLayout, f: Negotiated, cfg: RunConfig, tracker: UsedTracker): DriverRing {
  if (f.ring === 'split') {
    return new SplitDriverRing(mem, gl.ring as SplitRingLayout, gl, f, { indirectMin: cfg.indirectMin, segmentBytes: cfg.segmentBytes }, () => tracker.outstanding);
  }
  return new PackedDriverRing(mem, gl.ring as PackedRingLayout, gl, f, { indirectMin: cfg.indirectMin, segmentBytes: cfg.segmentBytes });
}

export function makeDeviceRing(mem: MemoryOps, gl: GuestLayout, f: Negotiated): DeviceRing {
  if (f.ring === 'split') return new SplitDeviceRing(mem, gl.ring as SplitRingLayout, f, gl.dmaStart);
  return new PackedDeviceRing(mem, gl.ring as PackedRingLayout, f, gl.dmaStart);
}

type BuiltinContext = SideContext & { control: Control; stallUntil: (t: number) => void };

export function createBuiltinDriver(ctx: BuiltinContext): VirtioDriver {
  const cfg = ctx.config;
  const f = ctx.features;
  const tracker = new UsedTracker(orderWindowOf(cfg), maxIdOf(cfg), f.order, f.partialOrder, 'driver');
  const ring = makeDriverRing(ctx.mem, ctx.guest, f, cfg, tracker);
  const { readable, writable } = segmentSplit(cfg.segments);
  return new VirtioDriver(ring, ctx.mem, tracker, ctx.report, ctx.doorbell, ctx.control,
    { buffers: cfg.buffers, readable, writable, segmentBytes: cfg.segmentBytes, publishBatch: cfg.publishBatch, verifyData: cfg.verifyData },
    cfg.queueSize, maxIdOf(cfg), ctx.clock);
}

export function createBuiltinDevice(ctx: BuiltinContext): VirtioDevice {
  const cfg = ctx.config;
  const f = ctx.features;
  // The device learns buffer ids from the ring; split ids are head indexes < queue size, packed
  // ids are 16-bit.
  const tracker = new UsedTracker(orderWindowOf(cfg), f.ring === 'split' ? cfg.queueSize : 65536, f.order, f.partialOrder, 'device');
  const ring = makeDeviceRing(ctx.mem, ctx.guest, f);
  return new VirtioDevice(ring, ctx.mem, f, tracker, ctx.report, ctx.faults, ctx.doorbell, ctx.control,
    { popBudget: cfg.popBudget, segMax: cfg.segMax, verifyData: cfg.verifyData },
    cfg.queueSize, ctx.guest.dmaStart, ctx.clock, ctx.stallUntil);
}
