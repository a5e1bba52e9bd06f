/** vqlab's public API. */
export * from './spec/constants.js';
export { splitRingLayout, packedRingLayout, vringNeedEvent, type SplitRingLayout, type PackedRingLayout, type Region } from './spec/layout.js';
export { negotiate, featureBits, featureNames, type Negotiated, type OrderMode, type RingKind } from './spec/features.js';
export { VqError, isVqError, type VqErrorCode, type VqSide } from './errors.js';
export { AtomicsMemory, type MemoryOps } from './memory/ops.js';
export { UsedTracker } from './order/tracker.js';
export { Checker, checkTrace, TRACE_FORMAT_VERSION, type TraceInput, type AvailItem, type UsedItem, type CheckResult, type Violation } from './check/checker.js';
export { runThreaded, type RunResult } from './harness/run.js';
export { DEFAULT_CONFIG, type RunConfig } from './harness/config.js';
export type { Side, SideContext, SideModule, Role } from './plugin/contract.js';
export { Reporter } from './plugin/reporter.js';
/** vqlab's own sides, built from a SideContext: for modules that wrap or extend them. */
export { createBuiltinDevice, createBuiltinDriver } from './plugin/builtin.js';
export { SplitDriverRing } from './split/driver.js';
export { SplitDeviceRing } from './split/device.js';
export { PackedDriverRing } from './packed/driver.js';
export { PackedDeviceRing } from './packed/device.js';
export { VirtioDriver } from './driver/driver.js';
export { VirtioDevice } from './device/device.js';
export { checkPattern, fillPattern, SALT_IN, SALT_OUT } from './device/payload.js';
export { parseLineTrace, formatLineTrace } from './check/lineformat.js';
