import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CAMPAIGN, DEFAULT_SIM_SPEC, expandCampaign, parseShard, shardRuns, type CampaignSpec } from '../src/stress/campaign.js';
import { configFromArtifact, runStress, type StressReport } from '../src/stress/run.js';

// Simulator runs in a stress campaign: sim schedules run on the pool next to threaded
// runs, shards stay deterministic, and a failing sim run leaves an artifact that vqlab replay
// reproduces.
const threaded: CampaignSpec = { ...DEFAULT_CAMPAIGN, rings: ['split', 'packed'], orders: ['in-order', 'partial'], seeds: 2 };
const mixed: CampaignSpec = {
  ...threaded, kinds: ['threaded', 'sim'],
  sim: { ...DEFAULT_SIM_SPEC, models: ['tso', 'relaxed'], strategies: ['random', 'pct'], queueSizes: [2, 3, 4] },
};

describe('campaigns with simulator runs', () => {
  const { runs, skipped } = expandCampaign(mixed);
  it('threaded runs first (unchanged), then sim runs; indices 0..n-1; keys unique', () => {
    const t = expandCampaign(threaded).runs;
    expect(runs.slice(0, t.length).map((r) => r.key)).toEqual(t.map((r) => r.key));
    expect(runs.slice(t.length).every((r) => r.kind === 'sim' && r.key.startsWith('sim:'))).toBe(true);
    expect(runs.map((r) => r.index)).toEqual(runs.map((_, i) => i));
    expect(new Set(runs.map((r) => r.key)).size).toBe(runs.length);
    // split with queue size 3 is not a ring: skipped and counted
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((s) => s.key.startsWith('sim:split/') && s.key.includes('/q3/'))).toBe(true);
    const sims = runs.filter((r) => r.kind === 'sim');
    // 2 rings × 2 orders × 2 event-idx × 2 models × 2 strategies × 3 queues × 2 seeds, minus split/q3
    expect(sims.length + skipped.length).toBe(2 * 2 * 2 * 2 * 2 * 3 * 2);
  });
  it('is deterministic and shards it disjointly and coveringly', () => {
    expect(expandCampaign(mixed).runs).toEqual(runs);
    for (const n of [1, 2, 3, 5, 8]) {
      const parts = Array.from({ length: n }, (_, i) => shardRuns(runs, parseShard(`${i + 1}/${n}`)));
      expect(parts.flat().map((r) => r.index).sort((a, b) => a - b)).toEqual(runs.map((r) => r.index));
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      // Each shard gets its share of sim runs too (they are interleaved by index).
      if (n <= 3) for (const p of parts) expect(p.some((r) => r.kind === 'sim')).toBe(true);
    }
  });
  it('sim runs take chains and indirect tables, crossed or drawn per run, as threaded runs do', () => {
    const crossed = expandCampaign({ ...mixed, kinds: ['sim'], segments: [1, 3], indirect: [false, true] }).runs.filter((r) => r.kind === 'sim');
    const seen = new Set(crossed.map((r) => r.kind === 'sim' ? `${r.sim.segments}/${r.sim.indirect}` : ''));
    expect([...seen].sort()).toEqual(['1/false', '1/true', '3/false', '3/true']);
    for (const r of crossed) if (r.kind === 'sim') {
      expect(r.key).toContain(`/s${r.sim.segments}/`);
      expect(r.key.includes('/indirect/')).toBe(r.sim.indirect);
      expect(r.sim.segments).toBeLessThanOrEqual(r.sim.queueSize); // 2.7.5.3.1: no chain longer than the queue
    }
    const drawn = expandCampaign({ ...mixed, kinds: ['sim'], seeds: 40, draw: { queueSize: false, simQueueSize: false, segments: true, indirect: true, eventIdx: false } }).runs;
    const sims = drawn.filter((r) => r.kind === 'sim').map((r) => (r.kind === 'sim' ? r.sim : null)!);
    expect(new Set(sims.map((c) => c.segments)).size).toBeGreaterThan(2);
    expect(new Set(sims.map((c) => c.indirect))).toEqual(new Set([false, true]));
  });
  it('a planted bug runs only where it can show; the rest is skipped with the reason', () => {
    const bugged = expandCampaign({ ...mixed, kinds: ['sim'], sim: { ...mixed.sim, bug: 'wrap-counter-not-flipped' } });
    expect(bugged.runs.length).toBeGreaterThan(0);
    expect(bugged.runs.every((r) => r.kind === 'sim' && r.sim.ring === 'packed' && r.sim.bug === 'wrap-counter-not-flipped')).toBe(true);
    expect(bugged.skipped.some((s) => /needs ring packed/.test(s.reason))).toBe(true);
  });
});

describe('vqlab stress --kinds sim end to end', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'vqlab-stress-sim-'));
  const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  it('a planted bug fails its sim runs; each artifact replays with vqlab replay; shards merge', () => {
    const common = ['stress', '--kinds', 'sim', '--rings', 'packed', '--orders', 'in-order,partial', '--event-idx', 'off',
      '--sim-models', 'sc', '--sim-strategies', 'random', '--sim-bug', 'wrap-counter-not-flipped', '--sim-queue-sizes', '4', '--sim-budget-ms', '3000', '--out', dir, '--json'];
    const a = vqlab([...common, '--shard', '1/2']);
    const b = vqlab([...common, '--shard', '2/2']);
    expect(a.status, a.stderr).toBe(1);
    expect(b.status, b.stderr).toBe(1);
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    const ra = JSON.parse(a.stdout) as StressReport;
    expect(ra.results.map((r) => r.index)).toEqual([0]);
    expect(ra.results[0]).toMatchObject({ kind: 'sim', ok: false });
    expect(ra.failures[0].replay).toMatch(/^vqsim3:packed,in-order,sc,random,wrap-counter-not-flipped,/);
    const m = vqlab(['stress', 'merge', join(dir, 'a.json'), join(dir, 'b.json'), '--json']);
    const merged = JSON.parse(m.stdout) as StressReport;
    expect(merged.results.map((r) => r.index)).toEqual([0, 1]);
    expect(merged.schedules_total).toBeGreaterThanOrEqual(2);
    const artifacts = readdirSync(dir).filter((f) => f.startsWith('failure-'));
    expect(artifacts).toHaveLength(2);
    for (const f of artifacts) {
      const art = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      expect(art).toMatchObject({ vqlab_artifact: 1, kind: 'sim-failure', versions: { node: process.version } });
      expect(art.replay_command).toBe(`vqlab replay ${art.replay}`);
      expect(art.tail.length).toBeGreaterThan(0);
      // The replay string reproduces the violation bit for bit, and so does the artifact file.
      for (const arg of [art.replay, join(dir, f)]) {
        const r = vqlab(['replay', arg, '--json']);
        expect(r.status).toBe(1);
        const out = JSON.parse(r.stdout);
        expect(out.violation.rule).toBe(art.violation.rule);
        expect(out.replay).toBe(art.replay);
      }
      expect(() => configFromArtifact(join(dir, f))).toThrow(/vqlab replay/);
    }
  });
  it('a sim campaign of indirect chains runs them clean', () => {
    const r = vqlab(['stress', '--kinds', 'sim', '--rings', 'split,packed', '--orders', 'in-order,partial', '--event-idx', 'off,on', '--segments', '3',
      '--indirect', 'on', '--sim-queue-sizes', '4', '--sim-budget-ms', '200', '--json']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as StressReport;
    expect(rep.results).toHaveLength(2 * 2 * 2 * 2); // × random and pct
    for (const x of rep.results) expect(x.config).toMatchObject({ segments: 3, indirect: true, queue_size: 4 });
    expect(rep.schedules_total).toBeGreaterThan(rep.results.length);
  });
  it('a campaign whose signal aborted before it began runs nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const rep = await runStress({ spec: { ...mixed, kinds: ['sim'], rings: ['split'], orders: ['partial'], eventIdx: [false] }, signal: ac.signal, pairs: 1 });
    expect(rep.results.length).toBeGreaterThan(0);
    expect(rep.results.every((x) => x.aborted)).toBe(true);
  });
  it('a clean sim campaign passes and reports schedules', () => {
    const r = vqlab(['stress', '--kinds', 'sim', '--rings', 'split', '--orders', 'partial', '--event-idx', 'off', '--sim-budget-ms', '300', '--out', dir]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sim:split\/partial relaxed\/random/);
    expect(r.stdout).toMatch(/result: OK/);
  });
});
