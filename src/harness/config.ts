/** Run configuration: defaults, validation with one clear message per problem. */
import { ORDER_SPECS, type OrderSpec, type RingKind } from '../spec/features.js';
import type { NotifyMode } from '../memory/doorbell.js';
import { checkPackedQueueSize, checkSplitQueueSize } from '../spec/layout.js';
import { VqError } from '../errors.js';
import { bugByName } from '../sim/bugs.js';

export interface RunConfig {
  ring: RingKind;
  /** Ordering features the driver asks for: none, one, or both (IN_ORDER's rules, FLUSH defined). */
  order: OrderSpec;
  eventIdx: boolean;
  indirect: boolean;
  queueSize: number;
  buffers: number;
  segments: number;
  segmentBytes: number;
  faultRate: number;
  faultLatencyUs: number;
  notify: NotifyMode;
  seed: number;
  timeoutS: number;
  /** Live conformance checker on (event recording + checking in a thread of its own). */
  check: boolean;
  /**
   * Nice value of the live checker's thread (0..19; Linux lowers the calling thread only). 19: it
   * runs on CPU time the sides leave idle and holds them back only through the event logs'
   * back-pressure; 0: it competes with the sides as an equal.
   */
  checkerNice: number;
  /** Data patterns written and verified on both sides. */
  verifyData: boolean;
  /** A side that makes no progress this long ends the run (0 = derive from the fault latency). */
  stallTimeoutMs: number;
  wakeTimeoutMs: number;
  publishBatch: number;
  popBudget: number;
  spinBeforeWait: number;
  /**
   * After a round that found nothing (poll mode, and wait mode's spin before sleeping), relax this
   * many iterations of register arithmetic before polling the ring again (0 = poll back to back).
   */
  pollBackoff: number;
  /**
   * Wait mode: an idle side goes on polling for at least this long (µs) before it sleeps. On a
   * shared 2-vCPU VM a side is often off-CPU for longer than a wake-up takes, and a peer that
   * sleeps sooner makes both sides take turns sleeping (split IN_ORDER, 1.5 M buffers: spin 50 µs
   * 0.8–1.3 M/s with ~4 500 sleeps per side; 200 µs 2.3–6.2 M/s; 1 000 µs 7.0–7.8 M/s, 31–52
   * sleeps). A count of rounds alone (spinBeforeWait) also shrinks as rounds get cheaper.
   */
  spinUs: number;
  indirectMin: number;
  segMax: number;
  /** Event log records per side (power of two). */
  eventLogRecords: number;
  /**
   * Ordering window: most buffers from the oldest outstanding one to the newest. Under
   * PARTIAL_ORDER (or none) a faulting buffer holds the oldest position while later buffers
   * complete and their descriptors are reused, so the span can exceed the queue size; both sides
   * stop taking new buffers when it reaches this bound.
   */
  orderWindow: number;
  /** Features the device offers (names, comma-separated, or "all"); the driver accepts what ring/order/eventIdx/indirect ask for. */
  deviceFeatures: string;
  /** A user's device / driver module to run instead of vqlab's own ('' = vqlab's): an ES module, or a WebAssembly module (.wasm, include/vqlab.h). */
  deviceModule: string;
  driverModule: string;
  /** Write a Chrome Trace Event / Perfetto JSON trace here ('' = no trace). */
  traceOut: string;
  /** Most trace events kept (a sliding window over the run's end). */
  traceMaxEvents: number;
  /** Test-only fault injection in a worker (absent / null in every real run: no cost, no wrapper). */
  testHooks?: TestHooks | null;
  /**
   * A bug from the planted-bug catalogue (src/sim/bugs.ts, `vqlab bugs`) wrapped around the
   * memory layer of the side it belongs to, in the real threads — to see which ordering bugs real
   * hardware shows. Absent / null: no wrapper.
   */
  plantBug?: string | null;
  /**
   * Test only: compile WebAssembly sides with V8's baseline compiler (Liftoff) alone, without the
   * workaround for its memory.atomic.wait32 bug (src/wasm/abi.ts). Absent / false in real runs.
   */
  wasmBaseline?: boolean;
}

/**
 * Make one side misbehave once it has done `afterBuffers` units of work (buffers added or reclaimed
 * by the driver, popped or completed by the device): throw, exit the worker thread, hang (a busy
 * loop that never looks at the stop flag, so the harness must terminate it), or go idle (stop
 * working but keep answering the stop flag).
 */
export interface TestHooks {
  /**
   * 'checker': the live checker's thread (fault after `afterBuffers` checked used entries; 'idle':
   * it stops reading the logs, as one starved of CPU does, but still answers the end of the run).
   */
  side: 'driver' | 'device' | 'checker';
  fault: 'throw' | 'exit' | 'hang' | 'idle';
  afterBuffers: number;
  exitCode?: number;
}

export const DEFAULT_CONFIG: RunConfig = {
  ring: 'split',
  order: 'partial',
  eventIdx: false,
  indirect: false,
  queueSize: 256,
  buffers: 200_000,
  segments: 1,
  segmentBytes: 16,
  faultRate: 0.01,
  faultLatencyUs: 50,
  notify: 'poll',
  seed: 1,
  timeoutS: 60,
  check: true,
  checkerNice: 19,
  verifyData: true,
  stallTimeoutMs: 0,
  wakeTimeoutMs: 250,
  publishBatch: 64,
  popBudget: 64,
  spinBeforeWait: 200,
  pollBackoff: 200,
  spinUs: 1000,
  indirectMin: 2,
  segMax: 64,
  eventLogRecords: 1 << 18,
  orderWindow: 1 << 18,
  deviceFeatures: 'all',
  deviceModule: '',
  driverModule: '',
  traceOut: '',
  traceMaxEvents: 200_000,
};

const RINGS: readonly RingKind[] = ['split', 'packed'];
const NOTIFY: readonly NotifyMode[] = ['poll', 'wait'];

/** Readable / writable split of a buffer's segments: one readable header segment when there are two or more. */
export function segmentSplit(segments: number): { readable: number; writable: number } {
  return segments >= 2 ? { readable: 1, writable: segments - 1 } : { readable: 0, writable: 1 };
}

/**
 * How messages name a setting: by its RunConfig field (`ring`, the library's name) or by the
 * command-line flag that sets it (`--ring`, for `vqlab run`). Fields no flag sets keep their name.
 */
export type FieldNaming = 'api' | 'cli';

const FLAG_OF: Partial<Record<keyof RunConfig, string>> = {
  deviceModule: '--device', driverModule: '--driver', plantBug: '--bug', check: '--no-check', verifyData: '--no-verify-data',
};
/** Fields that `vqlab run` has a flag for (the rest are set through the API or an artifact only). */
const CLI_FIELDS = new Set<keyof RunConfig>(['ring', 'order', 'eventIdx', 'indirect', 'queueSize', 'buffers', 'segments', 'segmentBytes', 'faultRate',
  'faultLatencyUs', 'notify', 'seed', 'timeoutS', 'stallTimeoutMs', 'publishBatch', 'pollBackoff', 'spinUs', 'check', 'checkerNice', 'verifyData',
  'deviceFeatures', 'deviceModule', 'driverModule', 'traceOut', 'traceMaxEvents', 'plantBug']);

/** A field's name in messages under the given naming. */
export function fieldName(field: keyof RunConfig, naming: FieldNaming): string {
  if (naming === 'api' || !CLI_FIELDS.has(field)) return field;
  return FLAG_OF[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function bad(msg: string, field?: keyof RunConfig): never {
  throw new VqError('BAD_CONFIG', 'config', msg, field ? { field } : {});
}

/**
 * Check a complete configuration, one clear message per problem, naming each setting as the
 * caller knows it (`naming`: the RunConfig field for the library, the flag for the CLI).
 */
export function validateConfig(c: RunConfig, naming: FieldNaming = 'api'): RunConfig {
  const n = (f: keyof RunConfig): string => fieldName(f, naming);
  const intIn = (f: keyof RunConfig, lo: number, hi: number): void => {
    const v = c[f] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) bad(`${n(f)} must be an integer in ${lo}..${hi}, got ${String(v)}`, f);
  };
  if (!RINGS.includes(c.ring)) bad(`${n('ring')} must be one of ${RINGS.join('|')}, got ${String(c.ring)}`, 'ring');
  if (!ORDER_SPECS.includes(c.order)) bad(`${n('order')} must be one of ${ORDER_SPECS.join(' | ')}, got ${String(c.order)}`, 'order');
  if (!NOTIFY.includes(c.notify)) bad(`${n('notify')} must be one of ${NOTIFY.join('|')}, got ${String(c.notify)}`, 'notify');
  for (const f of ['eventIdx', 'indirect', 'check', 'verifyData'] as const) if (typeof c[f] !== 'boolean') bad(`${n(f)} must be true or false, got ${String(c[f])}`, f);
  for (const f of ['deviceFeatures', 'deviceModule', 'driverModule', 'traceOut'] as const) if (typeof c[f] !== 'string') bad(`${n(f)} must be a string, got ${String(c[f])}`, f);
  if (!Number.isInteger(c.queueSize)) bad(`${n('queueSize')} must be an integer, got ${String(c.queueSize)}`, 'queueSize');
  if (c.ring === 'split') checkSplitQueueSize(c.queueSize); else checkPackedQueueSize(c.queueSize);
  if (!Number.isInteger(c.buffers) || c.buffers < 1 || c.buffers > Number.MAX_SAFE_INTEGER) bad(`${n('buffers')} must be a positive integer, got ${c.buffers}`, 'buffers');
  // These bounds keep a buffer below 2^30 bytes: far inside the 2^32 a chain may hold (2.7.5.2),
  // so the driver's capacity (segments x bytes) is exact in the tracker's Uint32Array and in st32.
  intIn('segments', 1, 1024);
  intIn('segmentBytes', 1, 1 << 20);
  if (!(c.faultRate >= 0 && c.faultRate <= 1)) bad(`${n('faultRate')} must be in [0, 1], got ${c.faultRate}`, 'faultRate');
  if (!(c.faultLatencyUs >= 0 && c.faultLatencyUs <= 10_000_000)) bad(`${n('faultLatencyUs')} must be in [0, 1e7], got ${c.faultLatencyUs}`, 'faultLatencyUs');
  intIn('seed', 0, 0xffffffff);
  if (!(c.timeoutS > 0 && c.timeoutS <= 7 * 24 * 3600)) bad(`${n('timeoutS')} must be positive (at most 7 days), got ${c.timeoutS}`, 'timeoutS');
  intIn('publishBatch', 1, 1 << 16);
  intIn('popBudget', 1, 1 << 16);
  intIn('spinBeforeWait', 1, 1 << 30);
  intIn('pollBackoff', 0, 1 << 20);
  if (c.checkerNice === undefined) c.checkerNice = DEFAULT_CONFIG.checkerNice; // configs saved before the option
  intIn('checkerNice', 0, 19);
  if (!(c.spinUs >= 0 && c.spinUs <= 1_000_000)) bad(`${n('spinUs')} must be in [0, 1e6], got ${c.spinUs}`, 'spinUs');
  if (!(c.wakeTimeoutMs > 0)) bad(`${n('wakeTimeoutMs')} must be positive, got ${c.wakeTimeoutMs}`, 'wakeTimeoutMs');
  if (!(c.stallTimeoutMs >= 0)) bad(`${n('stallTimeoutMs')} must be >= 0, got ${c.stallTimeoutMs}`, 'stallTimeoutMs');
  const usesIndirect = c.indirect && c.segments >= c.indirectMin;
  if (!usesIndirect && c.segments > c.queueSize) {
    bad(`a buffer of ${c.segments} descriptors cannot fit a queue of ${c.queueSize} (use ${n('indirect')} or fewer ${n('segments')})`, 'segments');
  }
  if (c.segments > c.segMax) bad(`${n('segments')} ${c.segments} exceeds the device's seg_max ${c.segMax}`, 'segments');
  if (usesIndirect && c.segments > c.queueSize) bad(`an indirect table of ${c.segments} descriptors exceeds the queue size ${c.queueSize}`, 'segments');
  if (!Number.isInteger(Math.log2(c.eventLogRecords))) bad(`${n('eventLogRecords')} must be a power of two`, 'eventLogRecords');
  intIn('orderWindow', 1, 1 << 24);
  if (c.traceOut && !c.check) bad(`${n('traceOut')} records what the live checker reads: it cannot be used with ${naming === 'cli' ? '--no-check' : 'check: false'}`, 'traceOut');
  intIn('traceMaxEvents', 100, 1 << 24);
  if (c.plantBug && !bugByName(c.plantBug)) bad(`unknown bug ${c.plantBug} (vqlab bugs lists them)`, 'plantBug');
  if (c.testHooks) {
    const h = c.testHooks;
    if (!['driver', 'device', 'checker'].includes(h.side) || !['throw', 'exit', 'hang', 'idle'].includes(h.fault) || !(h.afterBuffers >= 0)) {
      bad(`testHooks must be { side: driver|device|checker, fault: throw|exit|hang|idle, afterBuffers >= 0 }, got ${JSON.stringify(h)}`, 'testHooks');
    }
  }
  return c;
}

const KNOWN_FIELDS = new Set<string>([...Object.keys(DEFAULT_CONFIG), 'testHooks', 'plantBug', 'wasmBaseline']);

/** A complete configuration from the defaults and the fields given (the library's way to configure a run). */
export function configOf(partial: Partial<RunConfig> = {}, naming: FieldNaming = 'api'): RunConfig {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) bad(`a run configuration must be an object of RunConfig fields, got ${String(partial)}`);
  // A misspelt field would otherwise be ignored silently and the run use the default.
  const unknown = Object.keys(partial).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) bad(`unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (RunConfig has ${[...KNOWN_FIELDS].join(', ')})`);
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<RunConfig>;
  return validateConfig({ ...DEFAULT_CONFIG, ...defined }, naming);
}

/** Stall bound: generous enough that an IN_ORDER stall on one fault never looks like a dead worker. */
export function stallTimeoutMs(c: RunConfig): number {
  return c.stallTimeoutMs > 0 ? c.stallTimeoutMs : Math.max(5000, (c.faultLatencyUs / 1000) * 20 + 4 * c.wakeTimeoutMs);
}

/** The ordering window in use: never smaller than the queue. */
export const orderWindowOf = (c: RunConfig): number => Math.max(c.queueSize, c.orderWindow);
