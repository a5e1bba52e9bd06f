/** vqlab's public API. */
export * from './spec/constants.js';
export { splitRingLayout, packedRingLayout, vringNeedEvent, type SplitRingLayout, type PackedRingLayout, type Region } from './spec/layout.js';
export { negotiate, featureBits, featureNames, type Negotiated, type OrderMode, type RingKind } from './spec/features.js';
export { VqError, isVqError, type VqErrorCode, type VqSide } from './errors.js';
export { AtomicsMemory, type MemoryOps } from './memory/ops.js';
export { UsedTracker } from './order/tracker.js';
export { Checker, checkTrace, type TraceInput, type CheckResult, type Violation } from './check/checker.js';
export { runThreaded, type RunResult } from './harness/run.js';
export { DEFAULT_CONFIG, type RunConfig } from './harness/config.js';
