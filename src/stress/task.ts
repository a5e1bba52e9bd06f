/**
 * One campaign run inside a piscina worker: a runThreaded (two more worker threads), with an abort
 * flag shared with the main thread so Ctrl-C ends the run cleanly with partial results instead
 * of tearing the pool down.
 */
import { runThreaded, type RunResult } from '../harness/run.js';
import type { RunConfig } from '../harness/config.js';
import { isVqError } from '../errors.js';

export interface CampaignTask {
  index: number;
  key: string;
  cfg: RunConfig;
  /** Int32 word 0 ≠ 0: abort (set by the main thread). */
  abort: SharedArrayBuffer;
}

export interface CampaignTaskResult {
  index: number;
  key: string;
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
  /** The whole result when the run failed (for the artifact); omitted when ok. */
  result?: RunResult;
  /** A configuration error (should not happen: the campaign validated it). */
  error?: string;
}

export async function runCampaignTask(t: CampaignTask): Promise<CampaignTaskResult> {
  const flag = new Int32Array(t.abort);
  const ac = new AbortController();
  const timer = setInterval(() => { if (Atomics.load(flag, 0) !== 0) ac.abort(); }, 25);
  const base = { index: t.index, key: t.key, buffers: 0, buffers_per_s: 0, elapsed_ms: 0, violations: 0, lost: 0, duplicated: 0, corrupted: 0, faults: 0, flushes: 0 };
  try {
    if (Atomics.load(flag, 0) !== 0) return { ...base, ok: false, code: 'ABORTED', aborted: true };
    const r = await runThreaded(t.cfg, { signal: ac.signal });
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
