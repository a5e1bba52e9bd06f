/**
 * vqlab's own driver and device, created from a SideContext exactly as a user's module is: the
 * same context, the same reporter, the same runner. Only the ring layout (split / packed) is chosen
 * here, from the negotiated features.
 */
import type { SideContext } from './contract.js';
import { UsedTracker } from '../order/tracker.js';
import { VirtioDriver } from '../driver/driver.js';
import { VirtioDevice } from '../device/device.js';
import { makeDeviceRing, makeDriverRing, maxIdOf } from '../harness/sides.js';
import { orderWindowOf, segmentSplit } from '../harness/config.js';
import type { Control } from '../harness/control.js';

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
