/**
 * The harness's own shared block (not guest memory): stop / done flags, each side's state, and
 * live counters the main thread reads for progress, stall detection and failure reports.
 * Counters are Float64 (exact to 2^53, so 1e9-buffer soaks do not overflow), written with plain
 * stores by their one owner.
 */
export const CTL_STOP = 0;        // main → both: stop now
export const CTL_DRIVER_DONE = 1; // driver → device: every buffer reclaimed, exit when idle
export const CTL_DRIVER_STATE = 2;
export const CTL_DEVICE_STATE = 3;
export const CTL_GO = 4;          // main → both: start (so both sides start together)
// Steps each side has finished (wrapping int32, plain stores by its owner): a sleeper that timed
// out with work pending waits for its peer to finish a step, whose notification decision is then made.
export const CTL_DRIVER_STEPS = 5;
export const CTL_DEVICE_STEPS = 6;
const CTL_WORDS = 16;

export const enum SideState { Init = 0, Running = 1, Waiting = 2, Stalled = 3, Done = 4, Failed = 5 }
export const SIDE_STATE_NAMES = ['init', 'running', 'waiting', 'stalled-on-fault', 'done', 'failed'];

// Driver counters
export const D_MADE = 0;
export const D_RECLAIMED = 1;
export const D_KICKS = 2;
export const D_USED_SEEN = 3;
export const D_SLEEPS = 4;
export const D_LOST_WAKEUPS = 5;
export const D_CORRUPTED = 6;
export const D_PUBLISHES = 7;
// Device counters
export const V_POPPED = 0;
export const V_USED_ENTRIES = 1;
export const V_BATCHED_ENTRIES = 2;
export const V_BUFFERS_IN_BATCHES = 3;
export const V_FLUSHES = 4;
export const V_FAULTS = 5;
export const V_STALL_MS = 6;
export const V_INTERRUPTS = 7;
export const V_SLEEPS = 8;
export const V_LOST_WAKEUPS = 9;
export const V_CORRUPTED = 10;
export const V_COMPLETED = 11;
export const V_MAX_FAULTS_PENDING = 12;
export const V_USED_PUBLISHES = 13;
const STAT_WORDS = 32;

export class Control {
  readonly ctl: Int32Array;
  readonly driver: Float64Array;
  readonly device: Float64Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.ctl = new Int32Array(buffer, 0, CTL_WORDS);
    this.driver = new Float64Array(buffer, CTL_WORDS * 4, STAT_WORDS);
    this.device = new Float64Array(buffer, CTL_WORDS * 4 + STAT_WORDS * 8, STAT_WORDS);
  }
  static create(): Control {
    return new Control(new SharedArrayBuffer(CTL_WORDS * 4 + 2 * STAT_WORDS * 8));
  }
  stopRequested(): boolean { return Atomics.load(this.ctl, CTL_STOP) !== 0; }
  driverDone(): boolean { return Atomics.load(this.ctl, CTL_DRIVER_DONE) !== 0; }
  setState(which: number, s: SideState): void { Atomics.store(this.ctl, which, s); }
  state(which: number): string { return SIDE_STATE_NAMES[Atomics.load(this.ctl, which)] ?? 'unknown'; }
}
