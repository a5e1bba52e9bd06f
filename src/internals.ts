/**
 * `vqlab/internals`: the building blocks vqlab's own sides are made of, for experiments that go
 * below the side contract. Not a stable API: names and signatures change with vqlab's versions.
 */
export { AtomicsMemory, type MemoryOps } from './memory/ops.js';
export { UsedTracker } from './order/tracker.js';
export { Reporter } from './plugin/reporter.js';
export { SplitDriverRing } from './split/driver.js';
export { SplitDeviceRing } from './split/device.js';
export { PackedDriverRing } from './packed/driver.js';
export { PackedDeviceRing } from './packed/device.js';
export { VirtioDriver } from './driver/driver.js';
export { VirtioDevice } from './device/device.js';
export { checkPattern, fillPattern, SALT_IN, SALT_OUT } from './device/payload.js';
export { validateConfig } from './harness/config.js';
