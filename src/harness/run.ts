/**
 * The two-thread run: the driver and the device each in their own worker over one guest-memory
 * SharedArrayBuffer; the main thread only starts them, drains their event logs into the live
 * checker, watches progress, and ends the run — on completion, on a side's typed error, on a
 * checker violation, on a stall, on the time limit, or on abort (Ctrl-C). Nothing waits forever:
 * every wait in the workers has a timeout and re-checks the stop flag, and a worker that does not
 * stop within STOP_GRACE_MS (0.5 s) of being asked is terminated, so a run ends within 1 s.
 */
import { Worker } from 'node:worker_threads';
import { existsSync, writeFileSync } from 'node:fs';
import { TraceBuilder } from '../trace/perfetto.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';
import { configOf, fieldName, orderWindowOf, stallTimeoutMs, type FieldNaming, type RunConfig } from './config.js';
import { createShared, guestLayoutOf, type SideInit } from './sides.js';
import { inspectWasmSide, isWasmPath, setWasmCompiler } from '../wasm/abi.js';
import { bugByName } from '../sim/bugs.js';
import { Control, CTL_DEVICE_STATE, CTL_DRIVER_STATE, CTL_GO, CTL_STOP, D_CORRUPTED, D_KICKS, D_LOST_WAKEUPS, D_MADE, D_RECLAIMED, D_SLEEPS, D_PUBLISHES, V_BATCHED_ENTRIES, V_BUFFERS_IN_BATCHES, V_COMPLETED, V_CORRUPTED, V_FAULTS, V_FLUSHES, V_INTERRUPTS, V_LOST_WAKEUPS, V_MAX_FAULTS_PENDING, V_POPPED, V_SLEEPS, V_STALL_MS, V_USED_ENTRIES, V_USED_PUBLISHES } from './control.js';
import { DEVICE_MODEL_FEATURES, featureNames, negotiateRequest, orderSpecOf, parseFeatureList } from '../spec/features.js';
import { VqError } from '../errors.js';
import type { Violation } from '../check/checker.js';
import { EventLog } from '../check/events.js';
import { LiveChecker, type CheckerSummary } from '../check/live.js';
import { CheckerThread, newCheckerControl, type CheckerThreadInit } from './checker-thread.js';
import { Histogram } from '../util/histogram.js';
import { queueSnapshot } from './snapshot.js';
import type { SideDone, SideFailed } from './worker-main.js';
import type { Role as Side } from '../plugin/contract.js';

export interface RunProgress {
  elapsedMs: number;
  made: number;
  reclaimed: number;
  total: number;
  faults: number;
  violations: number;
}

export interface RunHooks {
  onProgress?: (p: RunProgress) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  /** @internal How configuration errors name settings: RunConfig fields (default) or `vqlab run`'s flags. */
  naming?: FieldNaming;
}

export interface RunResult {
  ok: boolean;
  ring: string;
  order: string;
  /** Negotiated feature names (offered ∩ accepted). */
  features: string[];
  offered_features: string[];
  accepted_features: string[];
  notify: string;
  queue_size: number;
  buffers: number;
  requested_buffers: number;
  used_entries: number;
  batched_entries: number;
  buffers_in_batches: number;
  used_entries_per_buffer: number;
  flushes: number;
  faults: number;
  max_faults_pending: number;
  stall_ms: number;
  kicks: number;
  interrupts: number;
  kicks_per_1000: number;
  interrupts_per_1000: number;
  driver_sleeps: number;
  device_sleeps: number;
  publishes: number;
  used_publishes: number;
  elapsed_ms: number;
  buffers_per_s: number;
  /** Throughput over the run's second half (start-up and JIT warm-up excluded); buffers_per_s when unknown. */
  steady_buffers_per_s: number;
  /**
   * Throughput between the driver's progress marks (the first reclaim, then each sixteenth of the
   * run), buffers/s, in run order: the warm-up curve. Empty when the side is a user's module.
   */
  progress_buffers_per_s: number[];
  /**
   * The warm-up, apart from the steady rate: throughput over the run's first half (from the first
   * reclaim to the mark at half the run, JIT tiering included) and the time from the driver's
   * start to its first reclaim (worker start-up, queue set-up, the first round trip). Null when
   * the side is a user's module (no progress marks) or the run did not complete.
   */
  warmup_buffers_per_s: number | null;
  first_reclaim_ms: number | null;
  latency_us: { p50: number; p99: number; max: number };
  check: boolean;
  violations: (Violation & { seed: number })[];
  lost: number;
  duplicated: number;
  corrupted: number;
  lost_wakeups: number;
  /** Used entries and reclaims the live checker verified as the run went (0 with --no-check). */
  checked_used_entries: number;
  /** The live checker ran in its own thread at the lower priority asked for (--checker-nice). */
  checker_niced: boolean;
  checked_reclaims: number;
  seed: number;
  /** Why the run ended when it did not complete: the typed error and both sides' queue state. */
  failure: null | {
    code: string;
    side: string;
    message: string;
    details?: Record<string, unknown>;
    driver: Record<string, unknown>;
    device: Record<string, unknown>;
    queue: Record<string, unknown>;
  };
  config: RunConfig;
}

/** dist/workers/<side>.js, whether this module runs from dist/ (built) or src/ (vitest on sources). */
export function workerPath(side: Side | 'bench-peer' | 'litmus' | 'checker'): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, '../../workers', `${side}.js`),          // dist/src/harness → dist/workers
    resolve(here, '../../dist/workers', `${side}.js`),     // src/harness → dist/workers
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`vqlab: cannot find the ${side} worker (${candidates.join(' or ')}); run \`npm run build\` first`);
}

/** How long a side gets to stop on its own before its worker is terminated. */
export const STOP_GRACE_MS = 500;

/**
 * How long the checker thread may take for its last drain, at least (or the stall bound, if
 * longer): a full event log at ~100 ns a record is ~50 ms of CPU, but at nice 19 on a machine
 * busy with other work it gets a small share of one.
 */
const CHECKER_FINISH_MS = 20_000;
/** A failed run's checker only has to notice the request and post what it has. */
const CHECKER_ABANDON_MS = 2_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * User side modules: absolute paths for the workers, and the features a user device offers (its
 * optional `features` export: names like "IN_ORDER", or a wasm device's vqlab_features(); without
 * it, everything vqlab's device offers).
 */
async function resolveModules(cfg: RunConfig, naming: FieldNaming): Promise<{ driver?: string; device?: string; deviceOffers: bigint }> {
  const out: { driver?: string; device?: string; deviceOffers: bigint } = { deviceOffers: DEVICE_MODEL_FEATURES };
  for (const role of ['driver', 'device'] as const) {
    const p = role === 'driver' ? cfg.driverModule : cfg.deviceModule;
    if (!p) continue;
    const abs = resolve(p);
    const field = fieldName(role === 'driver' ? 'driverModule' : 'deviceModule', naming);
    if (!existsSync(abs)) throw new VqError('BAD_CONFIG', 'config', `${field} module not found: ${abs}`);
    out[role] = abs;
    if (isWasmPath(abs)) {
      // Checked here, before any worker starts: contract, imports, footprint (src/wasm/abi.ts).
      setWasmCompiler(cfg.wasmBaseline === true);
      if (cfg.plantBug && bugByName(cfg.plantBug)?.side === role) {
        throw new VqError('BAD_CONFIG', 'config', `--bug ${cfg.plantBug} wraps the ${role}'s memory layer, which a WebAssembly ${role} does not use`);
      }
      const info = await inspectWasmSide(abs, role);
      if (role === 'device' && info.offers !== null) out.deviceOffers = info.offers;
      continue;
    }
    if (role === 'device') {
      let mod: { features?: unknown };
      try { mod = (await import(pathToFileURL(abs).href)) as { features?: unknown }; } catch (e) {
        throw new VqError('BAD_CONFIG', 'config', `cannot load ${field} module ${abs}: ${(e as Error).message}`);
      }
      if (mod.features !== undefined) {
        if (!Array.isArray(mod.features) || !mod.features.every((x) => typeof x === 'string')) {
          throw new VqError('BAD_CONFIG', 'config', `${abs}: "features" must be an array of feature names`);
        }
        out.deviceOffers = parseFeatureList(mod.features.join(','));
      }
    }
  }
  return out;
}

/**
 * One run: vqlab's (or your) driver and device in two worker threads over one SharedArrayBuffer,
 * checked live. `config` holds the fields to change from DEFAULT_CONFIG; a bad one is a VqError
 * BAD_CONFIG naming the field (e.g. `BAD_CONFIG: ring must be one of split|packed, got circular`).
 */
export async function runThreaded(config: Partial<RunConfig> = {}, hooks: RunHooks = {}): Promise<RunResult> {
  const naming = hooks.naming ?? 'api';
  const cfg = configOf(config, naming);
  const modules = await resolveModules(cfg, naming);
  const { negotiated: f, offered, accepted } = negotiateRequest(cfg, parseFeatureList(cfg.deviceFeatures) & modules.deviceOffers);
  if (cfg.segments > cfg.queueSize && !f.indirect) {
    throw new VqError('FEATURE_CONFLICT', 'config', `buffers of ${cfg.segments} descriptors need VIRTIO_F_INDIRECT_DESC with a queue of ${cfg.queueSize}, and the device does not offer it`);
  }
  const gl = guestLayoutOf(cfg);
  const shared = createShared(cfg, gl);
  const epochMs = performance.timeOrigin + performance.now();
  const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared, epochMs, modules: { driver: modules.driver, device: modules.device } };
  const trace = cfg.traceOut ? new TraceBuilder(cfg.traceMaxEvents, { ring: cfg.ring, order: orderSpecOf(f), features: featureNames(f.bits), seed: cfg.seed, config: cfg }) : null;
  const control = new Control(shared.control);
  const driverLog = new EventLog(shared.driverLog);
  const deviceLog = new EventLog(shared.deviceLog);
  const checkerOpts = { ring: cfg.ring, order: f.order, flushAllowed: f.partialOrder, queueSize: cfg.queueSize, window: orderWindowOf(cfg), maxId: cfg.queueSize, pendingCapacity: cfg.eventLogRecords + 2 * orderWindowOf(cfg) };
  // The live checker runs in a low-priority thread of its own (checker-thread.ts: an observer
  // must not take the sides' CPUs), except when tracing: the trace is built from every record
  // on the main thread.
  const live = cfg.check && trace ? new LiveChecker(checkerOpts, driverLog, deviceLog, trace) : null;
  let checkerThread: CheckerThread | null = null;
  if (cfg.check && !trace) {
    const ck = newCheckerControl();
    const th = cfg.testHooks?.side === 'checker' ? cfg.testHooks : null;
    const data: CheckerThreadInit = { opts: checkerOpts, driverLog: shared.driverLog, deviceLog: shared.deviceLog, ck, nice: cfg.checkerNice, intervalMs: 2,
      testFault: th ? { fault: th.fault, after: th.afterBuffers, exitCode: th.exitCode } : null };
    checkerThread = new CheckerThread(new Worker(workerPath('checker'), { workerData: data }), ck);
  }
  const drain = (): void => { live?.drain(); };
  const checkerStop = (): boolean => (live?.stop ?? false) || (checkerThread?.stop ?? false);

  // --- start both sides -------------------------------------------------------------------
  const messages: Partial<Record<Side, SideDone | SideFailed>> = {};
  const exited: Partial<Record<Side, number>> = {};
  const exitWaiters: Promise<void>[] = [];
  const workers: Record<Side, Worker> = {} as Record<Side, Worker>;
  let ready = 0;
  let firstFailure: SideFailed | null = null;
  for (const side of ['device', 'driver'] as Side[]) {
    const w = new Worker(workerPath(side), { workerData: init });
    workers[side] = w;
    w.on('message', (m: { type: string }) => {
      if (m.type === 'ready') ready++;
      else if (m.type === 'done') messages[side] = m as SideDone;
      else if (m.type === 'error') {
        messages[side] = m as SideFailed;
        if (!firstFailure) firstFailure = m as SideFailed;
      }
    });
    w.on('error', (e: Error) => {
      const m: SideFailed = { type: 'error', side, error: { code: 'WORKER_DIED', side, message: `${e.name}: ${e.message}`, details: {} }, state: null };
      messages[side] ??= m;
      if (!firstFailure) firstFailure = m;
    });
    exitWaiters.push(new Promise((res) => w.on('exit', (code) => {
      exited[side] = code;
      // A worker the harness terminated (after a stall, timeout or abort) did not die on its own.
      if (!messages[side] && !stopping) {
        const m: SideFailed = { type: 'error', side, error: { code: 'WORKER_DIED', side, message: `${side} worker exited with code ${code} without reporting`, details: { exitCode: code } }, state: null };
        messages[side] = m;
        if (!firstFailure) firstFailure = m;
      }
      res();
    })));
  }

  let stopping = false;
  const stopAll = (): void => {
    stopping = true;
    Atomics.store(control.ctl, CTL_STOP, 1);
    Atomics.store(control.ctl, CTL_GO, 1);
    Atomics.notify(control.ctl, CTL_GO);
    const db = new Int32Array(shared.doorbells);
    for (let i = 0; i < db.length; i++) Atomics.notify(db, i);
  };

  const t0 = performance.now();
  const startDeadline = t0 + 30_000;
  while (ready < 2 && !firstFailure && !hooks.signal?.aborted && performance.now() < startDeadline && Object.keys(exited).length === 0) await sleep(1);
  Atomics.store(control.ctl, CTL_GO, 1);
  Atomics.notify(control.ctl, CTL_GO);

  // --- watch ------------------------------------------------------------------------------
  let harnessFailure: { code: string; message: string } | null = null;
  const stallMs = stallTimeoutMs(cfg);
  const deadline = t0 + cfg.timeoutS * 1000;
  let lastBeat = -1;
  let lastBeatAt = performance.now();
  let lastProgress = 0;
  const progressEvery = hooks.progressIntervalMs ?? 250;
  // An abort that came while the workers started (a Ctrl-C in the first second on a loaded
  // machine) has already fired: an 'abort' listener added now would never hear it.
  let aborted = hooks.signal?.aborted ?? false;
  const onAbort = (): void => { aborted = true; };
  hooks.signal?.addEventListener('abort', onAbort, { once: true });

  while (Object.keys(exited).length < 2) {
    await sleep(2);
    drain();
    const now = performance.now();
    // The checker's progress counts too: sides held back by full event logs while it catches up
    // (at nice 19 on a loaded machine) are not a stalled ring.
    const beat = control.driver[D_MADE] + control.driver[D_RECLAIMED] + control.device[V_POPPED] + control.device[V_COMPLETED] + control.device[V_USED_ENTRIES]
      + driverLog.readIndex() + deviceLog.readIndex();
    if (beat !== lastBeat) { lastBeat = beat; lastBeatAt = now; }
    if (hooks.onProgress && now - lastProgress >= progressEvery) {
      lastProgress = now;
      hooks.onProgress({ elapsedMs: now - t0, made: control.driver[D_MADE], reclaimed: control.driver[D_RECLAIMED], total: cfg.buffers, faults: control.device[V_FAULTS], violations: live ? live.checker.violations.length : checkerStop() ? 1 : 0 });
    }
    if (checkerThread?.failure && !harnessFailure) harnessFailure = { code: 'CHECKER_DIED', message: `live checker: ${checkerThread.failure}` };
    if (firstFailure || checkerStop() || harnessFailure || aborted) break;
    if (messages.driver?.type === 'done' && messages.device?.type === 'done') continue;
    if (now - lastBeatAt > stallMs) {
      const sides = `driver ${control.state(CTL_DRIVER_STATE)}, device ${control.state(CTL_DEVICE_STATE)}`;
      // A full log means a side waits for the observer, not for the other side: the harness's
      // failure, never a verdict on the ring (STALL is the ring's: a lost kick or interrupt).
      const full = [driverLog, deviceLog].filter((l) => l.isFull()).length;
      harnessFailure = full > 0 && cfg.check
        ? { code: 'CHECKER_STALL', message: `the live checker consumed nothing for ${Math.round(now - lastBeatAt)} ms with ${full === 2 ? 'both event logs' : 'an event log'} full (${sides}): it hung, or was starved of CPU` }
        : { code: 'STALL', message: `no progress for ${Math.round(now - lastBeatAt)} ms (${sides})` };
      break;
    }
    if (now > deadline) {
      harnessFailure = { code: 'TIMEOUT', message: `run exceeded --timeout-s ${cfg.timeoutS}` };
      break;
    }
  }
  hooks.signal?.removeEventListener('abort', onAbort);

  // --- stop -------------------------------------------------------------------------------
  const ended = Object.keys(exited).length === 2;
  const stopStart = performance.now();
  const queue = queueSnapshot(gl, shared.guest);
  const states = { driver: control.state(CTL_DRIVER_STATE), device: control.state(CTL_DEVICE_STATE) };
  if (!ended) {
    stopAll();
    // Half a second of grace (a cooperative side sees the stop flag within a step), then
    // terminate(): the run ends within 1 s of the failure even when a worker spins forever.
    const bound = sleep(STOP_GRACE_MS).then(() => 'late');
    const all = Promise.all(exitWaiters).then(() => 'ok');
    if ((await Promise.race([bound, all])) === 'late') {
      for (const side of ['driver', 'device'] as Side[]) if (exited[side] === undefined) await workers[side].terminate();
    }
    await Promise.all(exitWaiters);
  }
  const stopMs = round(performance.now() - stopStart, 3);
  drain();

  // --- result -----------------------------------------------------------------------------
  const D = control.driver;
  const V = control.device;
  const completed = messages.driver?.type === 'done' && messages.device?.type === 'done' && !aborted && !harnessFailure && D[D_RECLAIMED] === cfg.buffers;
  let checker: CheckerSummary | null = live ? live.summary(completed) : null;
  if (checkerThread) {
    // A side that failed (its own typed error, or its worker died) left its events up to the
    // failure in the logs, and they may name the cause (a used entry with a bad length written
    // just before a trap): the checker reads them too, as the in-process checker does. An
    // interrupted, stalled or timed-out run's backlog is abandoned (a checker at nice 19 on a busy
    // machine could take seconds over a full log).
    const drainLeft = completed || (firstFailure !== null && !aborted && harnessFailure === null);
    try { checker = await checkerThread.finish(completed, drainLeft ? Math.max(CHECKER_FINISH_MS, stallMs) : CHECKER_ABANDON_MS, drainLeft); } catch (e) {
      // An interrupted run's checker may still be starting (a loaded machine): no summary is then
      // the interruption's consequence, not a second failure that would hide it.
      if (!aborted) harnessFailure ??= { code: 'CHECKER_DIED', message: `live checker: ${(e as Error).message}` };
    }
  }
  const violations: (Violation & { seed: number })[] = (checker?.violations ?? []).map((v) => ({ ...v, seed: cfg.seed }));
  const ff = firstFailure as SideFailed | null;
  let failure: RunResult['failure'] = null;
  const sideInfo = (side: Side): Record<string, unknown> => {
    const m = messages[side];
    return { state: states[side], ring: m?.state ?? null, exit_code: exited[side] ?? null, stats: Array.from(side === 'driver' ? D : V).slice(0, 16), stop_ms: stopMs };
  };
  if (ff) {
    failure = { code: ff.error.code, side: ff.error.side, message: ff.error.message, details: ff.error.details, driver: sideInfo('driver'), device: sideInfo('device'), queue };
    violations.push({ rule: ff.error.code, message: ff.error.message, entry: null, id: typeof ff.error.details?.id === 'number' ? (ff.error.details.id as number) : null, seed: cfg.seed });
  } else if (checker && checker.violations.length > 0 && (checkerStop() || checker.violations[0].rule !== 'LOST_BUFFER')) {
    // The checker saw a violation before either side did (or, lagging behind, only after they
    // finished): same report, naming the rule.
    const v = checker.violations[0];
    failure = { code: v.rule, side: 'checker', message: v.message, details: { entry: v.entry, id: v.id }, driver: sideInfo('driver'), device: sideInfo('device'), queue };
  } else if (harnessFailure || aborted) {
    const hf = harnessFailure ?? { code: 'ABORTED', message: 'run interrupted' };
    failure = { code: hf.code, side: 'harness', message: hf.message, driver: sideInfo('driver'), device: sideInfo('device'), queue };
    if (hf.code !== 'ABORTED') violations.push({ rule: hf.code, message: hf.message, entry: null, id: null, seed: cfg.seed });
  }

  if (trace) {
    try { writeFileSync(cfg.traceOut, JSON.stringify(trace.toJSON())); } catch (e) {
      throw new VqError('BAD_CONFIG', 'config', `cannot write --trace-out ${cfg.traceOut}: ${(e as Error).message}`);
    }
  }

  const dm = messages.driver?.type === 'done' ? (messages.driver as SideDone) : null;
  const hist = new Float64Array(new Histogram().counts.length);
  let histTotal = 0;
  let histMax = 0;
  if (dm?.latency) {
    for (const [i, c] of dm.latency.buckets) hist[i] = c;
    histTotal = dm.latency.total;
    histMax = dm.latency.max;
  }
  const reclaimed = D[D_RECLAIMED];
  const elapsed = dm ? dm.elapsedMs : performance.now() - t0;
  const per1000 = (x: number): number => (reclaimed > 0 ? round((x * 1000) / reclaimed, 3) : 0);
  return {
    ok: violations.length === 0 && failure === null,
    ring: cfg.ring,
    // The ordering features negotiated (with both, IN_ORDER's rules hold and FLUSH is defined).
    order: orderSpecOf(f),
    features: featureNames(f.bits),
    offered_features: featureNames(offered),
    accepted_features: featureNames(accepted),
    notify: cfg.notify,
    queue_size: cfg.queueSize,
    buffers: reclaimed,
    requested_buffers: cfg.buffers,
    used_entries: V[V_USED_ENTRIES],
    batched_entries: V[V_BATCHED_ENTRIES],
    buffers_in_batches: V[V_BUFFERS_IN_BATCHES],
    used_entries_per_buffer: reclaimed > 0 ? round(V[V_USED_ENTRIES] / reclaimed, 4) : 0,
    flushes: V[V_FLUSHES],
    faults: V[V_FAULTS],
    max_faults_pending: V[V_MAX_FAULTS_PENDING],
    stall_ms: round(V[V_STALL_MS], 3),
    kicks: D[D_KICKS],
    interrupts: V[V_INTERRUPTS],
    kicks_per_1000: per1000(D[D_KICKS]),
    interrupts_per_1000: per1000(V[V_INTERRUPTS]),
    driver_sleeps: D[D_SLEEPS],
    device_sleeps: V[V_SLEEPS],
    publishes: D[D_PUBLISHES],
    used_publishes: V[V_USED_PUBLISHES],
    elapsed_ms: round(elapsed, 3),
    buffers_per_s: elapsed > 0 ? Math.round((reclaimed * 1000) / elapsed) : 0,
    steady_buffers_per_s: dm?.steady && dm.steady.ms > 0 ? Math.round((dm.steady.buffers * 1000) / dm.steady.ms) : (elapsed > 0 ? Math.round((reclaimed * 1000) / elapsed) : 0),
    progress_buffers_per_s: progressRates(dm?.progress ?? []),
    ...warmupOf(dm?.progress ?? [], dm?.steady ? dm.elapsedMs : null),
    latency_us: {
      // Quantiles to the buckets' precision (two significant digits); the maximum is kept exactly (ns).
      p50: Histogram.quantileUs(hist, histTotal, 0.5),
      p99: Histogram.quantileUs(hist, histTotal, 0.99),
      max: round(histMax / 1000, 3),
    },
    check: cfg.check,
    violations,
    lost: checker ? (completed ? checker.outstanding : Math.max(0, D[D_MADE] - D[D_RECLAIMED])) : Math.max(0, D[D_MADE] - D[D_RECLAIMED]),
    duplicated: checker?.duplicated ?? 0,
    corrupted: D[D_CORRUPTED] + V[V_CORRUPTED],
    lost_wakeups: D[D_LOST_WAKEUPS] + V[V_LOST_WAKEUPS],
    checked_used_entries: checker?.usedEntries ?? 0,
    checker_niced: checkerThread ? checkerThread.niced === 1 : false,
    checked_reclaims: checker?.reclaimEntries ?? 0,
    seed: cfg.seed,
    failure,
    config: cfg,
  };
}

/** The first half's rate and the time to the first reclaim, from the driver's progress marks. */
function warmupOf(marks: { reclaimed: number; ms: number }[], driverElapsedMs: number | null): { warmup_buffers_per_s: number | null; first_reclaim_ms: number | null } {
  if (marks.length < 2 || driverElapsedMs === null) return { warmup_buffers_per_s: null, first_reclaim_ms: null };
  const total = marks[marks.length - 1].reclaimed;
  const h = marks.findIndex((m) => m.reclaimed * 2 >= total);
  const first = marks[0], half = marks[h];
  const ms = half.ms - first.ms;
  return {
    warmup_buffers_per_s: ms > 0 ? Math.round(((half.reclaimed - first.reclaimed) * 1000) / ms) : null,
    // The last mark is the last reclaim, just before the driver returns: the rest of its time is before the first.
    first_reclaim_ms: round(Math.max(0, driverElapsedMs - (marks[marks.length - 1].ms - first.ms)), 1),
  };
}

/** Buffers/s between consecutive progress marks. */
function progressRates(marks: { reclaimed: number; ms: number }[]): number[] {
  const out: number[] = [];
  for (let k = 1; k < marks.length; k++) {
    const ms = marks[k].ms - marks[k - 1].ms;
    out.push(ms > 0 ? Math.round(((marks[k].reclaimed - marks[k - 1].reclaimed) * 1000) / ms) : 0);
  }
  return out;
}

function round(x: number, digits: number): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}


