/**
 * A stress campaign: seeds × configurations, expanded into a deterministic list of runs, split
 * into shards, and merged back. Nothing here starts a thread (see src/stress/run.ts).
 */
import { createHash } from 'node:crypto';
import { DEFAULT_CONFIG, validateConfig, type RunConfig } from '../harness/config.js';
import type { OrderMode, RingKind } from '../spec/features.js';
import type { NotifyMode } from '../memory/doorbell.js';
import { isVqError, VqError } from '../errors.js';
import { subSeed } from '../util/rng.js';

/** The dimensions of a campaign; every combination runs with every seed. */
export interface CampaignSpec {
  rings: RingKind[];
  orders: OrderMode[];
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
}

export const DEFAULT_CAMPAIGN: CampaignSpec = {
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

export interface CampaignRun {
  /** Position in the whole campaign (stable across shards). */
  index: number;
  /** Short human key: ring/order/features/queue/fault/notify/seed. */
  key: string;
  cfg: RunConfig;
}

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
  for (const ring of spec.rings) for (const order of spec.orders) for (const eventIdx of spec.eventIdx)
  for (const indirect of spec.indirect) for (const queueSize of spec.queueSizes) for (const segments of spec.segments)
  for (const faultRate of spec.faultRates) for (const notify of spec.notify) for (let k = 0; k < spec.seeds; k++) {
    const seed = spec.seeds === 1 && k === 0 ? spec.seedBase : subSeed(spec.seedBase, k);
    const key = `${ring}/${order}${eventIdx ? '/event-idx' : ''}${indirect ? '/indirect' : ''}/q${queueSize}/s${segments}/p${faultRate}/${notify}/seed${seed}`;
    const cfg: RunConfig = {
      ...DEFAULT_CONFIG, ring, order, eventIdx, indirect, queueSize, segments, faultRate, notify, seed,
      buffers: spec.buffers, faultLatencyUs: spec.faultLatencyUs, timeoutS: spec.timeoutS, stallTimeoutMs: spec.stallTimeoutMs,
      // Small event logs: a campaign runs many pairs; the checker drains them continuously.
      eventLogRecords: 1 << 16, orderWindow: 1 << 16,
    };
    try {
      validateConfig({ ...cfg });
    } catch (e) {
      if (!isVqError(e)) throw e;
      skipped.push({ key, reason: e.message });
      continue;
    }
    runs.push({ index: index++, key, cfg });
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
