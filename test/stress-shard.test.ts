import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CAMPAIGN, expandCampaign, parseShard, shardRuns, campaignId, type CampaignSpec } from '../src/stress/campaign.js';
import { mergeReports, summarize, type StressReport } from '../src/stress/run.js';

const spec: CampaignSpec = { ...DEFAULT_CAMPAIGN, rings: ['split', 'packed'], queueSizes: [8, 100, 256], seeds: 3, indirect: [false, true], segments: [1, 2] };

describe('campaign expansion and shards', () => {
  const { runs, skipped } = expandCampaign(spec);
  it('expands deterministically, numbering runs 0..n-1, leaving out what the ring forbids', () => {
    expect(expandCampaign(spec).runs.map((r) => r.key)).toEqual(runs.map((r) => r.key));
    expect(runs.map((r) => r.index)).toEqual(runs.map((_, i) => i));
    expect(new Set(runs.map((r) => r.key)).size).toBe(runs.length);
    expect(skipped.length).toBeGreaterThan(0); // split with queue size 100
    expect(skipped.every((s) => s.key.startsWith('split/') && s.key.includes('/q100/'))).toBe(true);
    expect(runs.length + skipped.length).toBe(2 * 3 * 2 * 2 * 3 * 2 * 2 * 1 * 3);
  });
  for (const n of [1, 2, 3, 4, 7, 16, runs.length, runs.length + 5]) {
    it(`${n} shards are disjoint and cover the campaign, balanced to ±1`, () => {
      const parts = Array.from({ length: n }, (_, i) => shardRuns(runs, parseShard(`${i + 1}/${n}`)));
      const all = parts.flat().map((r) => r.index).sort((a, b) => a - b);
      expect(all).toEqual(runs.map((r) => r.index)); // covering, and no index twice (disjoint)
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      // Deterministic: the same shard twice is the same runs.
      expect(shardRuns(runs, { index: 1, count: n }).map((r) => r.key)).toEqual(parts[0].map((r) => r.key));
    });
  }
  it('rejects bad shard strings', () => {
    for (const s of ['0/2', '3/2', '1/0', 'a/b', '1', '1/2/3', '-1/2', '']) expect(() => parseShard(s)).toThrow(/--shard/);
  });
  it('a campaign id changes with the spec', () => {
    expect(campaignId(spec)).toBe(campaignId({ ...spec }));
    expect(campaignId({ ...spec, seeds: 4 })).not.toBe(campaignId(spec));
  });
});

describe('stress merge', () => {
  const { runs } = expandCampaign(spec);
  const fake = (shard: { index: number; count: number }): StressReport => summarize({
    vqlab_stress: 1, campaign_id: campaignId(spec), spec, shard, versions: {}, pool_pairs: 1, runs_total: runs.length,
    runs_planned: shardRuns(runs, shard).length, skipped: [], elapsed_ms: 10, interrupted: false, failures: [],
    results: shardRuns(runs, shard).map((r) => ({ index: r.index, key: r.key, ok: true, code: null, buffers: 10, buffers_per_s: 1, elapsed_ms: 1, violations: 0, lost: 0, duplicated: 0, corrupted: 0, faults: 0, flushes: 0, aborted: false })),
  });
  it('merging all shards gives the whole campaign', () => {
    const m = mergeReports([fake({ index: 2, count: 3 }), fake({ index: 1, count: 3 }), fake({ index: 3, count: 3 })]);
    expect(m.results.map((r) => r.index)).toEqual(runs.map((r) => r.index));
    expect(m.buffers_total).toBe(10 * runs.length);
    expect(m.ok).toBe(true);
    expect(m.shards_merged).toHaveLength(3);
  });
  it('refuses overlapping shards and different campaigns', () => {
    expect(() => mergeReports([fake({ index: 1, count: 2 }), fake({ index: 1, count: 2 })])).toThrow(/two reports/);
    const other = { ...fake({ index: 2, count: 2 }), campaign_id: 'something-else' };
    expect(() => mergeReports([fake({ index: 1, count: 2 }), other])).toThrow(/different campaigns/);
  });
});

describe('vqlab stress end to end (small, threaded)', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'vqlab-stress-'));
  const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  it('two shards run disjoint halves; merge covers the campaign; failures become artifacts that vqlab run --from reproduces', () => {
    // In-order with every buffer faulting for 2 s and a 300 ms stall bound: each run fails as STALL.
    const common = ['stress', '--rings', 'split,packed', '--orders', 'in-order', '--event-idx', 'off', '--fault-rates', '1',
      '--fault-latency-us', '2000000', '--stall-timeout-ms', '300', '--buffers', '500', '--out', dir, '--json'];
    const a = vqlab([...common, '--shard', '1/2']);
    const b = vqlab([...common, '--shard', '2/2']);
    expect(a.status).toBe(1);
    expect(b.status).toBe(1);
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    const ra = JSON.parse(a.stdout) as StressReport;
    const rb = JSON.parse(b.stdout) as StressReport;
    expect(ra.results.map((r) => r.index)).toEqual([0]);
    expect(rb.results.map((r) => r.index)).toEqual([1]);
    const m = vqlab(['stress', 'merge', join(dir, 'a.json'), join(dir, 'b.json'), '--json']);
    expect(m.status).toBe(1);
    const merged = JSON.parse(m.stdout) as StressReport;
    expect(merged.results).toHaveLength(2);
    expect(merged.failed_runs).toBe(2);
    const artifacts = readdirSync(dir).filter((f) => f.startsWith('failure-'));
    expect(artifacts).toHaveLength(2);
    const art = JSON.parse(readFileSync(join(dir, artifacts[0]), 'utf8'));
    expect(art).toMatchObject({ vqlab_artifact: 1, code: 'STALL', versions: { node: process.version } });
    expect(art.config.seed).toBe(art.seed);
    expect(art.failure.queue).toBeTruthy();
    const replay = vqlab(['run', '--from', join(dir, artifacts[0]), '--json']);
    expect(replay.status).toBe(1);
    expect(JSON.parse(replay.stdout).failure.code).toBe('STALL');
    // Flags on the command line override the artifact's config (the stall bound too: 300 ms is for
    // the planted 2 s faults, and a loaded machine can pause a clean run longer than that).
    const fixed = vqlab(['run', '--from', join(dir, artifacts[0]), '--fault-rate', '0', '--stall-timeout-ms', '0', '--json']);
    expect(fixed.status).toBe(0);
  });
});
