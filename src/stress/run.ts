/**
 * Running a campaign on a piscina pool sized by PAIRS: each task is one runThreaded, i.e. a driver
 * and a device worker busy-polling two cores, so the pool gets max(1, floor(cores / 2)) threads.
 * Failures become self-contained JSON artifacts that `vqlab run --from` replays.
 */
import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VqError } from '../errors.js';
import { checkFormat, formatStamp, VQLAB_VERSION, type FormatStamp } from '../version.js';
import { fromJsonKeys, toJsonKeys } from '../util/json.js';
import { DEFAULT_CONFIG, type RunConfig } from '../harness/config.js';
import { campaignId, expandCampaign, shardRuns, type CampaignSpec, type Shard } from './campaign.js';
import type { CampaignTask, CampaignTaskResult } from './task.js';

export interface StressOptions {
  spec: CampaignSpec;
  shard?: Shard | null;
  /**
   * Pool size in driver/device pairs (default max(1, floor(cores / 2))); a campaign of simulator
   * runs only (one thread each) defaults to one per core.
   */
  pairs?: number;
  /** Directory for failure artifacts (created when the first one is written); default: a new one under the system temp directory. */
  outDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; failures: number; runsPerS: number }) => void;
}

export interface StressFailure {
  index: number;
  key: string;
  code: string | null;
  artifact: string | null;
  /** Simulator runs: `vqlab replay <this>` reproduces the failing schedule. */
  replay?: string | null;
}

export interface StressReport extends Partial<FormatStamp> {
  vqlab_stress: 1;
  campaign_id: string;
  spec: CampaignSpec;
  /** null: the whole campaign (or a merge of shards, listed in shards_merged). */
  shard: Shard | null;
  shards_merged?: Shard[];
  versions: Record<string, string | number>;
  pool_pairs: number;
  runs_total: number;
  runs_planned: number;
  completed: number;
  ok_runs: number;
  failed_runs: number;
  aborted_runs: number;
  skipped: { key: string; reason: string }[];
  buffers_total: number;
  /** Simulator schedules explored (sim runs). */
  schedules_total: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  elapsed_ms: number;
  runs_per_s: number;
  interrupted: boolean;
  failures: StressFailure[];
  results: Omit<CampaignTaskResult, 'result'>[];
  ok: boolean;
}

export const defaultPairs = (): number => Math.max(1, Math.floor(availableParallelism() / 2));

function hereFile(rel: string[]): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const r of rel) { const p = resolve(here, r); if (existsSync(p)) return p; }
  return null;
}

export function versions(): Record<string, string | number> {
  const pisc = hereFile(['../../../node_modules/piscina/package.json', '../../node_modules/piscina/package.json']);
  return {
    vqlab: VQLAB_VERSION,
    node: process.version,
    v8: process.versions.v8,
    piscina: pisc ? (JSON.parse(readFileSync(pisc, 'utf8')) as { version: string }).version : 'unknown',
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
  };
}

function campaignWorker(): string {
  const p = hereFile(['../../workers/campaign.js', '../../dist/workers/campaign.js']);
  if (!p) throw new VqError('BAD_CONFIG', 'config', 'cannot find dist/workers/campaign.js; run `npm run build` first');
  return p;
}

/**
 * The self-contained record of a failed run: enough to reproduce it with `vqlab run --from <file>`,
 * or for a simulator run with `vqlab replay <file>` (its `replay` field is the simulator's replay string).
 */
export function writeArtifact(outDir: string, id: string, r: CampaignTaskResult, cfg: RunConfig | null, vers: Record<string, string | number>): string {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `failure-${id}-${String(r.index).padStart(5, '0')}.json`);
  if (r.kind === 'sim') {
    const f = r.sim_failure;
    writeFileSync(path, JSON.stringify(toJsonKeys({
      ...formatStamp('vqlab-failure'),
      vqlab_artifact: 1,
      vqlab_sim_artifact: 1,
      kind: 'sim-failure',
      campaign_id: id,
      index: r.index,
      key: r.key,
      versions: vers,
      seed: f?.config.seed ?? null,
      code: r.code,
      violation: f?.violation ?? null,
      failure: f ? null : { code: r.code, message: r.error ?? 'simulator run failed' },
      replay: f?.replay ?? null,
      replay_command: f ? `vqlab replay ${f.replay}` : null,
      sim_config: f?.config ?? null,
      schedules: r.schedules ?? null,
      steps: f?.steps ?? null,
      preemptions: f?.preemptions ?? null,
      tail: f?.tail ?? [],
    }), null, 2) + '\n');
    return path;
  }
  const res = r.result;
  const artifact = {
    ...formatStamp('vqlab-failure'),
    vqlab_artifact: 1,
    kind: 'run-failure',
    campaign_id: id,
    index: r.index,
    key: r.key,
    versions: vers,
    seed: cfg?.seed ?? null,
    config: cfg,
    code: r.code,
    violation: res?.violations[0] ?? null,
    failure: res?.failure ?? (r.error ? { code: r.code, message: r.error } : null),
    result: res ?? null,
    replay: `vqlab run --from ${path}`,
  };
  writeFileSync(path, JSON.stringify(toJsonKeys(artifact), null, 2) + '\n');
  return path;
}

/** Load a run configuration from an artifact (or any JSON with a `config` object). */
export function configFromArtifact(path: string): RunConfig {
  let o: { config?: unknown };
  try { o = JSON.parse(readFileSync(path, 'utf8')) as { config?: unknown }; } catch (e) {
    throw new VqError('BAD_CONFIG', 'config', `--from ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  checkFormat(o, ['vqlab-failure', 'vqlab-run'], `--from ${path}`);
  if (o && typeof o === 'object' && ((o as { kind?: unknown }).kind === 'sim-failure' || (o as { vqlab_sim_artifact?: unknown }).vqlab_sim_artifact !== undefined)) {
    throw new VqError('BAD_CONFIG', 'config', `--from ${path}: a simulator artifact; reproduce it with: vqlab replay ${path}`);
  }
  if (!o || typeof o !== 'object' || !o.config || typeof o.config !== 'object') {
    throw new VqError('BAD_CONFIG', 'config', `--from ${path}: no "config" object (expected a vqlab failure artifact)`);
  }
  // Written in snake_case (queue_size); files from before the key style was fixed: camelCase.
  // Settings this version no longer has are dropped (the defaults fill what is missing).
  const cfg = fromJsonKeys<Record<string, unknown>>(o.config);
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => k in DEFAULT_CONFIG || k === 'plantBug')) as unknown as RunConfig;
}

export function summarize(report: Omit<StressReport, 'ok' | 'completed' | 'ok_runs' | 'failed_runs' | 'aborted_runs' | 'buffers_total' | 'schedules_total' | 'lost' | 'duplicated' | 'corrupted' | 'runs_per_s'>): StressReport {
  const rs = report.results;
  const r: StressReport = {
    ...report,
    completed: rs.filter((x) => !x.aborted).length,
    ok_runs: rs.filter((x) => x.ok).length,
    failed_runs: rs.filter((x) => !x.ok && !x.aborted).length,
    aborted_runs: rs.filter((x) => x.aborted).length,
    buffers_total: rs.reduce((a, x) => a + x.buffers, 0),
    schedules_total: rs.reduce((a, x) => a + (x.schedules ?? 0), 0),
    lost: rs.reduce((a, x) => a + x.lost, 0),
    duplicated: rs.reduce((a, x) => a + x.duplicated, 0),
    corrupted: rs.reduce((a, x) => a + x.corrupted, 0),
    runs_per_s: report.elapsed_ms > 0 ? Math.round((rs.length * 1000 * 100) / report.elapsed_ms) / 100 : 0,
    ok: false,
  };
  r.ok = r.failed_runs === 0 && !r.interrupted && r.aborted_runs === 0;
  return r;
}

export async function runStress(o: StressOptions): Promise<StressReport> {
  const id = campaignId(o.spec);
  const { runs: all, skipped } = expandCampaign(o.spec);
  const runs = o.shard ? shardRuns(all, o.shard) : all;
  const simOnly = runs.length > 0 && runs.every((r) => r.kind === 'sim');
  const pairs = o.pairs ?? (simOnly ? availableParallelism() : defaultPairs());
  const vers = versions();
  // Created at the first failure: a campaign that passes leaves nothing behind.
  let outDir = o.outDir;
  const artifactDir = (): string => (outDir ??= mkdtempSync(join(tmpdir(), 'vqlab-stress-')));
  const abort = new SharedArrayBuffer(4);
  const flag = new Int32Array(abort);
  const onAbort = (): void => { Atomics.store(flag, 0, 1); };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) onAbort(); // fired already: the listener would never hear it
  const pool = new Piscina({ filename: campaignWorker(), minThreads: pairs, maxThreads: pairs, idleTimeout: 1000 });
  const results: CampaignTaskResult[] = [];
  const failures: StressFailure[] = [];
  const t0 = performance.now();
  let done = 0;
  try {
    await Promise.all(runs.map(async (run) => {
      const task: CampaignTask = run.kind === 'sim'
        ? { index: run.index, key: run.key, kind: 'sim', sim: run.sim, budgetMs: run.budgetMs, abort }
        : { index: run.index, key: run.key, kind: 'threaded', cfg: run.cfg, abort };
      const r = (await pool.run(task)) as CampaignTaskResult;
      done++;
      if (!r.ok && !r.aborted) {
        let artifact: string | null = null;
        try { artifact = writeArtifact(artifactDir(), id, r, run.kind === 'threaded' ? run.cfg : null, vers); } catch (e) {
          r.error = `${r.error ?? ''} (artifact not written: ${(e as Error).message})`;
        }
        failures.push({ index: r.index, key: r.key, code: r.code, artifact, ...(r.kind === 'sim' ? { replay: r.sim_failure?.replay ?? null } : {}) });
      }
      delete r.result;
      delete r.sim_failure;
      // Every run's configuration, passing or not: a campaign that draws its queues must say what it drew.
      r.config = run.kind === 'sim' ? run.sim : run.cfg;
      results.push(r);
      o.onProgress?.({ done, total: runs.length, failures: failures.length, runsPerS: done / ((performance.now() - t0) / 1000) });
    }));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await pool.destroy();
  }
  results.sort((a, b) => a.index - b.index);
  failures.sort((a, b) => a.index - b.index);
  return summarize({
    ...formatStamp('vqlab-stress'), vqlab_stress: 1, campaign_id: id, spec: o.spec, shard: o.shard ?? null, versions: vers, pool_pairs: pairs,
    runs_total: all.length, runs_planned: runs.length, skipped, elapsed_ms: Math.round(performance.now() - t0),
    interrupted: Atomics.load(flag, 0) !== 0, failures, results,
  });
}

/** Combine the JSON reports of shards of one campaign (disjoint, same campaign id). */
export function mergeReports(reports: StressReport[]): StressReport {
  if (reports.length === 0) throw new VqError('BAD_CONFIG', 'config', 'stress merge needs at least one report');
  const id = reports[0].campaign_id;
  reports.forEach((r, i) => checkFormat(r, ['vqlab-stress'], `stress merge: report ${i + 1}`));
  for (const r of reports) {
    if (r?.vqlab_stress !== 1 || !Array.isArray(r.results)) throw new VqError('BAD_CONFIG', 'config', 'stress merge: an input is not a `vqlab stress --json` report');
    if (r.campaign_id !== id) throw new VqError('BAD_CONFIG', 'config', `stress merge: reports from different campaigns (${id} and ${r.campaign_id})`);
  }
  const seen = new Set<number>();
  const results: StressReport['results'] = [];
  for (const r of reports) for (const x of r.results) {
    if (seen.has(x.index)) throw new VqError('BAD_CONFIG', 'config', `stress merge: run ${x.index} (${x.key}) appears in two reports (overlapping shards?)`);
    seen.add(x.index);
    results.push(x);
  }
  results.sort((a, b) => a.index - b.index);
  const shards = reports.flatMap((r) => (r.shard ? [r.shard] : r.shards_merged ?? []));
  return summarize({
    ...formatStamp('vqlab-stress'), vqlab_stress: 1, campaign_id: id, spec: reports[0].spec, shard: null, shards_merged: shards, versions: reports[0].versions,
    pool_pairs: Math.max(...reports.map((r) => r.pool_pairs)), runs_total: reports[0].runs_total,
    runs_planned: reports.reduce((a, r) => a + r.runs_planned, 0), skipped: reports[0].skipped,
    elapsed_ms: Math.max(...reports.map((r) => r.elapsed_ms)), interrupted: reports.some((r) => r.interrupted),
    failures: reports.flatMap((r) => r.failures).sort((a, b) => a.index - b.index), results,
  });
}
