/**
 * A stress campaign: seeds × configurations, expanded into a deterministic list of runs, split
 * into shards, and merged back. Nothing here starts a thread (see src/stress/run.ts).
 */
import { createHash } from 'node:crypto';
import { DEFAULT_CONFIG, validateConfig, type RunConfig } from '../harness/config.js';
import type { OrderSpec, RingKind } from '../spec/features.js';
import type { NotifyMode } from '../memory/doorbell.js';
import { isVqError, VqError } from '../errors.js';
import { Rng, subSeed } from '../util/rng.js';
import { DEFAULT_SIM, configFor as configForSim, type SimConfig, type Strategy } from '../sim/sim.js';
import { bugByName } from '../sim/bugs.js';

/** What a campaign run is: a two-thread run, or a budget of simulator schedules (src/sim). */
export type RunKind = 'threaded' | 'sim';
export type SimModel = SimConfig['model'];

/** The simulator's own dimensions (rings, orders, EVENT_IDX, notify and seeds are the campaign's). */
export interface SimSpec {
  models: SimModel[];
  strategies: Exclude<Strategy, 'exhaustive'>[];
  queueSizes: number[];
  faultRates: number[];
  /** Buffers per schedule. */
  buffers: number;
  /** Time each sim run explores schedules for (seeds seed, seed+1, … until a violation). */
  budgetMs: number;
  /** A planted bug from the catalogue (vqlab bugs), e.g. to check that a campaign catches it. */
  bug: string | null;
}

export const DEFAULT_SIM_SPEC: SimSpec = {
  models: [DEFAULT_SIM.model], strategies: ['random', 'pct'], queueSizes: [DEFAULT_SIM.queueSize], faultRates: [DEFAULT_SIM.faultRate],
  buffers: DEFAULT_SIM.buffers, budgetMs: 2000, bug: null,
};

/**
 * Queue dimensions a campaign draws afresh for every run (from the run's seed) instead of crossing
 * the lists: one budget of runs then covers queue sizes 1, 2, 3, odd and powers of two, chains,
 * indirect tables and EVENT_IDX, where a list covers the few points it names.
 */
export interface DrawSpec {
  /** Threaded runs' queue size (then `queueSizes` is ignored). */
  queueSize: boolean;
  segments: boolean;
  indirect: boolean;
  eventIdx: boolean;
  /** Simulator runs' queue size (then `sim.queueSizes` is ignored). */
  simQueueSize: boolean;
}
export const DRAW_ALL: DrawSpec = { queueSize: true, segments: true, indirect: true, eventIdx: true, simQueueSize: true };

/** The dimensions of a campaign; every combination runs with every seed. */
export interface CampaignSpec {
  /** Kinds of run; threaded runs come first in the campaign order, then simulator runs. */
  kinds: RunKind[];
  sim: SimSpec;
  rings: RingKind[];
  orders: OrderSpec[];
  eventIdx: boolean[];
  indirect: boolean[];
  queueSizes: number[];
  segments: number[];
  faultRates: number[];
  notify: NotifyMode[];
  /** Runs per configuration; run k of a configuration uses subSeed(seedBase, k). */
  seeds: number;
  seedBase: number;
  buffers: number;
  faultLatencyUs: number;
  timeoutS: number;
  stallTimeoutMs: number;
  /** Dimensions drawn per run instead of crossed (absent: none; `vqlab stress` draws every one it is not given). */
  draw?: DrawSpec;
  /** Threaded runs: a bug from the catalogue wrapped around the real threads' memory layer (runs it cannot show in are skipped). */
  bug?: string | null;
  /** A user's side module (an ES module or a .wasm, absolute path) in every threaded run, instead of vqlab's own. */
  driverModule?: string;
  deviceModule?: string;
}

/** Largest queue a drawn power of two reaches (threaded runs; the simulator stops at 256). */
export const DRAW_MAX_QUEUE = 1024;

/**
 * A queue size drawn uniformly over its classes: 1, 2, 3, an odd size in 5..max-1 and a power of
 * two in 4..max; a split ring (2.7: a power of two) draws from 1, 2 and the powers of two.
 */
export function drawQueueSize(rng: Rng, ring: RingKind, max = DRAW_MAX_QUEUE): number {
  const classes = ring === 'split' ? ['1', '2', 'pow2'] : ['1', '2', '3', 'odd', 'pow2'];
  const c = classes[rng.int(classes.length)];
  if (c === 'odd') return 5 + 2 * rng.int(Math.max(1, (max - 5) >> 1));
  if (c === 'pow2') return 1 << (2 + rng.int(Math.log2(max) - 1));
  return Number(c);
}

/**
 * The drawn dimensions of one run. Segments: 1 half the time, else 2..4, never more than the queue
 * holds (a chain, or an indirect table, of k descriptors needs k ≤ queue size).
 */
export function drawQueueConfig(seed: number, ring: RingKind, max = DRAW_MAX_QUEUE): { queueSize: number; segments: number; indirect: boolean; eventIdx: boolean } {
  const rng = new Rng(subSeed(seed, 0xd7a3));
  const queueSize = drawQueueSize(rng, ring, max);
  const indirect = rng.int(2) === 1;
  const segments = Math.min(queueSize, rng.int(2) === 0 ? 1 : 2 + rng.int(3));
  const eventIdx = rng.int(2) === 1;
  return { queueSize, segments, indirect, eventIdx };
}

export const DEFAULT_CAMPAIGN: CampaignSpec = {
  kinds: ['threaded'],
  sim: DEFAULT_SIM_SPEC,
  rings: ['split', 'packed'],
  orders: ['none', 'in-order', 'partial'],
  eventIdx: [false, true],
  indirect: [false],
  queueSizes: [64],
  segments: [1],
  faultRates: [0, 0.01],
  notify: ['poll'],
  seeds: 1,
  seedBase: 1,
  buffers: 20_000,
  faultLatencyUs: 50,
  timeoutS: 60,
  stallTimeoutMs: 0,
};

export interface ThreadedRun {
  kind: 'threaded';
  /** Position in the whole campaign (stable across shards). */
  index: number;
  /** Short human key: ring/order/features/queue/fault/notify/seed. */
  key: string;
  cfg: RunConfig;
}

export interface SimRun {
  kind: 'sim';
  index: number;
  /** sim:ring/order/features/model/strategy/queue/fault/notify/seed. */
  key: string;
  /** The simulator configuration (configFor already applied: a planted bug's needs). */
  sim: SimConfig;
  budgetMs: number;
}

export type CampaignRun = ThreadedRun | SimRun;

export interface Shard { index: number; count: number }

/** Identity of a campaign: shards of the same campaign have the same id (merge checks it). */
export function campaignId(spec: CampaignSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/**
 * Every run of the campaign, in a fixed order. Combinations the ring forbids (a split queue that
 * is not a power of two, buffers longer than the queue without indirect) are left out and counted.
 */
export function expandCampaign(spec: CampaignSpec): { runs: CampaignRun[]; skipped: { key: string; reason: string }[] } {
  const runs: CampaignRun[] = [];
  const skipped: { key: string; reason: string }[] = [];
  let index = 0;
  const kinds = spec.kinds ?? ['threaded'];
  const draw = spec.draw;
  // A drawn dimension is one placeholder in the product; each run fills it from its own draw.
  const dim = <T>(drawn: boolean | undefined, xs: T[]): (T | null)[] => (drawn ? [null] : xs);
  const bug = spec.bug ? bugByName(spec.bug) : undefined;
  if (spec.bug && !bug) throw new VqError('BAD_CONFIG', 'config', `unknown bug ${spec.bug} (vqlab bugs lists them)`);
  let combo = 0;
  if (kinds.includes('threaded')) for (const ring of spec.rings) for (const order of spec.orders) for (const eventIdxP of dim(draw?.eventIdx, spec.eventIdx))
  for (const indirectP of dim(draw?.indirect, spec.indirect)) for (const queueSizeP of dim(draw?.queueSize, spec.queueSizes)) for (const segmentsP of dim(draw?.segments, spec.segments))
  for (const faultRate of spec.faultRates) for (const notify of spec.notify) for (let k = 0; k < spec.seeds; k++) {
    const seed = spec.seeds === 1 && k === 0 ? spec.seedBase : subSeed(spec.seedBase, k);
    const d = drawQueueConfig(subSeed(seed, combo++), ring);
    const queueSize = queueSizeP ?? d.queueSize;
    const indirect = indirectP ?? d.indirect;
    // A planted bug's needs decide a drawn EVENT_IDX; a crossed one that contradicts them is skipped below.
    const eventIdx = eventIdxP ?? bug?.needs.eventIdx ?? d.eventIdx;
    const segments = segmentsP ?? Math.min(d.segments, queueSize);
    const key = `${ring}/${order.replace(',', '+')}${eventIdx ? '/event-idx' : ''}${indirect ? '/indirect' : ''}/q${queueSize}/s${segments}/p${faultRate}/${notify}${bug ? `/bug-${bug.name}` : ''}/seed${seed}`;
    if (bug) {
      const off = ([['ring', ring], ['order', order], ['notify', notify], ['eventIdx', eventIdx]] as const).filter(([f, v]) => bug.needs[f] !== undefined && bug.needs[f] !== v);
      if (off.length) { skipped.push({ key, reason: `bug ${bug.name} needs ${off.map(([f]) => `${f} ${String(bug.needs[f])}`).join(', ')}` }); continue; }
    }
    const cfg: RunConfig = {
      ...DEFAULT_CONFIG, ring, order, eventIdx, indirect, queueSize, segments, faultRate, notify, seed,
      buffers: spec.buffers, faultLatencyUs: spec.faultLatencyUs, timeoutS: spec.timeoutS, stallTimeoutMs: spec.stallTimeoutMs,
      driverModule: spec.driverModule ?? '', deviceModule: spec.deviceModule ?? '',
      // Small event logs: a campaign runs many pairs; the checker drains them continuously.
      eventLogRecords: 1 << 16, orderWindow: 1 << 16, plantBug: bug?.name ?? null,
    };
    try {
      validateConfig({ ...cfg });
    } catch (e) {
      if (!isVqError(e)) throw e;
      skipped.push({ key, reason: e.message });
      continue;
    }
    runs.push({ kind: 'threaded', index: index++, key, cfg });
  }
  if (kinds.includes('sim')) {
    const sp = spec.sim ?? DEFAULT_SIM_SPEC;
    // Chains and indirect tables are the campaign's dimensions, as for threaded runs: the
    // simulator runs the same ring code, so a campaign covers them under every schedule too.
    for (const ring of spec.rings) for (const order of spec.orders) for (const eventIdxP of dim(draw?.eventIdx, spec.eventIdx))
    for (const indirectP of dim(draw?.indirect, spec.indirect)) for (const segmentsP of dim(draw?.segments, spec.segments))
    for (const model of sp.models) for (const strategy of sp.strategies) for (const queueSizeP of dim(draw?.simQueueSize, sp.queueSizes))
    for (const faultRate of sp.faultRates) for (const notify of spec.notify) for (let k = 0; k < spec.seeds; k++) {
      const seed = spec.seeds === 1 && k === 0 ? spec.seedBase : subSeed(spec.seedBase, k);
      const d = drawQueueConfig(subSeed(seed, combo++), ring, 256);
      const queueSize = queueSizeP ?? d.queueSize;
      const eventIdx = eventIdxP ?? (sp.bug ? bugByName(sp.bug)?.needs.eventIdx : undefined) ?? d.eventIdx;
      const indirect = indirectP ?? d.indirect;
      const segments = segmentsP ?? Math.min(d.segments, queueSize);
      const key = `sim:${ring}/${order.replace(',', '+')}${eventIdx ? '/event-idx' : ''}${indirect ? '/indirect' : ''}/${model}/${strategy}/q${queueSize}/s${segments}/p${faultRate}/${notify}${sp.bug ? `/bug-${sp.bug}` : ''}/seed${seed}`;
      if (ring === 'split' && (queueSize & (queueSize - 1)) !== 0) { skipped.push({ key, reason: `split queue size must be a power of 2, got ${queueSize}` }); continue; }
      if (!(queueSize >= 1 && queueSize <= 256)) { skipped.push({ key, reason: `simulator queue size must be in 1..256, got ${queueSize}` }); continue; }
      const base: SimConfig = { ...DEFAULT_SIM, ring, order, eventIdx, model, strategy, queueSize, faultRate, notify, seed, buffers: sp.buffers, bug: sp.bug, segments, indirect };
      const sim = configForSim(base);
      // A planted bug shows only in some configurations: run those, skip (and count) the others.
      const off = (['ring', 'order', 'notify', 'eventIdx'] as const).filter((f) => sim[f] !== base[f]);
      if (off.length) { skipped.push({ key, reason: `bug ${sp.bug} needs ${off.map((f) => `${f} ${String(sim[f])}`).join(', ')}` }); continue; }
      try { // the rules a threaded run's queue obeys (2.7.5.3.1: no chain longer than the queue)
        validateConfig({ ...DEFAULT_CONFIG, ring, order, queueSize, segments: sim.segments, indirect, eventIdx, notify });
      } catch (e) {
        if (!isVqError(e)) throw e;
        skipped.push({ key, reason: e.message });
        continue;
      }
      runs.push({ kind: 'sim', index: index++, key, sim, budgetMs: sp.budgetMs });
    }
  }
  return { runs, skipped };
}

/** "i/n" with 1 ≤ i ≤ n. */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(i >= 1 && i <= n)) throw new VqError('BAD_CONFIG', 'config', `--shard must be i/n with 1 <= i <= n, got "${s}"`);
  return { index: i, count: n };
}

/** Shard i of n: runs whose campaign index ≡ i-1 (mod n). Disjoint, covering, balanced to ±1. */
export function shardRuns<T extends { index: number }>(runs: T[], shard: Shard): T[] {
  return runs.filter((r) => r.index % shard.count === shard.index - 1);
}
