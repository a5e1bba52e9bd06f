/**
 * vqlab's public API: run a driver and a device in threads (runThreaded), check a trace
 * (checkTrace), search simulator schedules (explore / replay), the spec's layouts and features,
 * and the side contract for your own driver or device modules. vqlab's building blocks (ring
 * classes, memory layer, tracker) are in `vqlab/internals`: usable, but not a stable API.
 */
export * from './spec/constants.js';
export { splitRingLayout, packedRingLayout, vringNeedEvent, type SplitRingLayout, type PackedRingLayout, type Region } from './spec/layout.js';
export { negotiate, featureBits, featureNames, type Negotiated, type OrderMode, type RingKind } from './spec/features.js';
export { VqError, isVqError, type VqErrorCode, type VqSide } from './errors.js';
export { VQLAB_VERSION, FORMATS, type FormatKind } from './version.js';

// Runs in real threads.
export { runThreaded, type RunResult, type RunHooks, type RunProgress } from './harness/run.js';
export { DEFAULT_CONFIG, configOf, type RunConfig } from './harness/config.js';

// Traces from any implementation.
export { checkTrace, Checker, TRACE_FORMAT_VERSION, type TraceInput, type AvailItem, type UsedItem, type CheckResult, type Violation } from './check/checker.js';
export { parseLineTrace, formatLineTrace } from './check/lineformat.js';
export { checkQemuTrace, parseQueueSpec, parseSidecar, QemuTraceError, type QemuCheckResult, type QemuCheckOptions, type QueueSpec, type QueueVerdict, type ImportedTrace } from './trace/qemu.js';

// The deterministic simulator: schedule search, replay strings, the planted-bug catalogue.
export {
  explore, replay, shrink, simulate, configFor, decodeReplay, encodeReplay, DEFAULT_SIM,
  type SimConfig, type SimResult, type SimViolation, type ExploreOptions, type ExploreResult, type Strategy,
} from './sim/sim.js';
export type { MemoryModel } from './sim/memory.js';
export { BUGS, type BugSpec } from './sim/bugs.js';

// The side contract: what your driver or device module gets and returns.
export type { Side, SideContext, SideModule, Role } from './plugin/contract.js';
export type { MemoryOps } from './memory/ops.js';
export type { Reporter } from './plugin/reporter.js';
/** vqlab's own sides, built from a SideContext: for modules that wrap or extend them. */
export { createBuiltinDevice, createBuiltinDriver } from './plugin/builtin.js';
