/**
 * One campaign run inside a piscina worker: a runThreaded (two more worker threads) with an abort
 * flag shared with the main thread so Ctrl-C ends the run cleanly with partial results instead of
 * tearing the pool down; or a simulator run: explore() over schedules for a time budget, whose
 * failure carries the replay string that `vqlab replay` reproduces bit for bit.
 */
import { runThreaded, type RunResult } from '../harness/run.js';
import type { RunConfig } from '../harness/config.js';
import { explore, type SimConfig, type SimResult } from '../sim/sim.js';
import { isVqError } from '../errors.js';

export interface CampaignTask {
  index: number;
  key: string;
  kind?: 'threaded' | 'sim';
  /** Threaded runs. */
  cfg?: RunConfig;
  /** Simulator runs. */
  sim?: SimConfig;
  budgetMs?: number;
  /** Int32 word 0 ≠ 0: abort (set by the main thread). */
  abort: SharedArrayBuffer;
}

/** What a failed simulator run leaves for its artifact. */
export interface SimFailure {
  replay: string;
  violation: SimResult['violation'];
  config: SimConfig;
  steps: number;
  preemptions: number;
  tail: SimResult['tail'];
}

export interface CampaignTaskResult {
  index: number;
  key: string;
  kind?: 'threaded' | 'sim';
  ok: boolean;
  /** Failure or first violation code; null when ok. */
  code: string | null;
  buffers: number;
  buffers_per_s: number;
  elapsed_ms: number;
  violations: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  faults: number;
  flushes: number;
  aborted: boolean;
  /** Simulator runs: schedules explored, and the replay string of the failing one. */
  schedules?: number;
  replay?: string | null;
  /** The whole result when the run failed (for the artifact); omitted when ok. */
  result?: RunResult;
  sim_failure?: SimFailure;
  /** A configuration error (should not happen: the campaign validated it). */
  error?: string;
  /** The run's whole configuration (drawn dimensions included), as the report records it. */
  config?: RunConfig | SimConfig;
}

export async function runCampaignTask(t: CampaignTask): Promise<CampaignTaskResult> {
  const flag = new Int32Array(t.abort);
  const base = { index: t.index, key: t.key, kind: t.kind ?? 'threaded', buffers: 0, buffers_per_s: 0, elapsed_ms: 0, violations: 0, lost: 0, duplicated: 0, corrupted: 0, faults: 0, flushes: 0 };
  if (Atomics.load(flag, 0) !== 0) return { ...base, ok: false, code: 'ABORTED', aborted: true };
  if (t.kind === 'sim') return runSimTask(t, base);
  const ac = new AbortController();
  const timer = setInterval(() => { if (Atomics.load(flag, 0) !== 0) ac.abort(); }, 25);
  try {
    const r = await runThreaded(t.cfg!, { signal: ac.signal });
    const aborted = r.failure?.code === 'ABORTED';
    const code = r.ok ? null : r.failure?.code ?? r.violations[0]?.rule ?? 'FAILED';
    return {
      ...base, ok: r.ok, code, buffers: r.buffers, buffers_per_s: r.buffers_per_s, elapsed_ms: r.elapsed_ms,
      violations: r.violations.length, lost: r.lost, duplicated: r.duplicated, corrupted: r.corrupted, faults: r.faults,
      flushes: r.flushes, aborted, result: r.ok || aborted ? undefined : r,
    };
  } catch (e) {
    return { ...base, ok: false, code: isVqError(e) ? e.code : 'HARNESS_ERROR', aborted: false, error: e instanceof Error ? e.message : String(e) };
  } finally {
    clearInterval(timer);
  }
}

/** Schedules of the deterministic simulator for the task's budget (synchronous, bounded by it). */
function runSimTask(t: CampaignTask, base: Omit<CampaignTaskResult, 'ok' | 'code' | 'aborted'>): CampaignTaskResult {
  const sc = t.sim!;
  try {
    const flag = new Int32Array(t.abort);
    const r = explore(sc, { budgetMs: t.budgetMs ?? 1000, shouldStop: () => Atomics.load(flag, 0) !== 0 });
    const res = r.result;
    const out: CampaignTaskResult = {
      ...base, ok: !r.found && !r.stopped, code: r.found ? r.violation?.rule ?? 'VIOLATION' : r.stopped ? 'ABORTED' : null, aborted: r.stopped && !r.found,
      elapsed_ms: r.elapsed_ms, violations: r.found ? 1 : 0, schedules: r.schedules, replay: r.replay,
      // Buffers moved: every schedule runs sc.buffers (the failing one up to its violation).
      buffers: (r.schedules - (r.found ? 1 : 0)) * sc.buffers + (res?.reclaimed ?? 0),
    };
    out.buffers_per_s = r.elapsed_ms > 0 ? Math.round((out.buffers * 1000) / r.elapsed_ms) : 0;
    if (r.found && res) {
      out.sim_failure = { replay: res.replay, violation: res.violation, config: sc, steps: res.steps, preemptions: res.preemptions, tail: res.tail };
    }
    return out;
  } catch (e) {
    return { ...base, ok: false, code: isVqError(e) ? e.code : 'HARNESS_ERROR', aborted: false, error: e instanceof Error ? e.message : String(e) };
  }
}
