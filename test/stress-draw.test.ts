/**
 * Campaigns that vary the queue: queue size, segments, indirect and EVENT_IDX drawn per run from
 * the run's seed unless pinned; every run's configuration in the report; the device's EVENT_IDX
 * off-by-one (a catalogue bug) reached by the draw of queue size 1.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CAMPAIGN, DEFAULT_SIM_SPEC, DRAW_ALL, expandCampaign, type CampaignSpec, type ThreadedRun, type SimRun } from '../src/stress/campaign.js';
import { simulate } from '../src/sim/sim.js';
import { validateConfig } from '../src/harness/config.js';
import type { StressReport } from '../src/stress/run.js';

const drawn: CampaignSpec = { ...DEFAULT_CAMPAIGN, draw: DRAW_ALL, seeds: 40 };

describe('campaigns draw the queue per run', () => {
  const runs = expandCampaign(drawn).runs as ThreadedRun[];
  it('is seeded and reproducible; every drawn run is a valid configuration', () => {
    expect(expandCampaign(drawn).runs).toEqual(runs);
    expect(expandCampaign({ ...drawn, seedBase: 2 }).runs.map((r) => r.key)).not.toEqual(runs.map((r) => r.key));
    expect(expandCampaign(drawn).skipped).toEqual([]);
    for (const r of runs) expect(() => validateConfig({ ...r.cfg })).not.toThrow();
  });
  it('covers queue sizes 1, 2, 3, odd and powers of two (split: powers of two only), chains, indirect and EVENT_IDX', () => {
    const q = (ring: string) => new Set(runs.filter((r) => r.cfg.ring === ring).map((r) => r.cfg.queueSize));
    const split = [...q('split')];
    const packed = [...q('packed')];
    expect(split.every((n) => (n & (n - 1)) === 0)).toBe(true);
    expect(split).toEqual(expect.arrayContaining([1, 2]));
    expect(split.some((n) => n >= 4)).toBe(true);
    expect(packed).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(packed.some((n) => n > 3 && n % 2 === 1)).toBe(true);
    expect(packed.some((n) => n >= 4 && (n & (n - 1)) === 0)).toBe(true);
    expect(new Set(runs.map((r) => r.cfg.segments)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(runs.map((r) => r.cfg.indirect))).toEqual(new Set([false, true]));
    expect(new Set(runs.map((r) => r.cfg.eventIdx))).toEqual(new Set([false, true]));
    // Keys stay unique and say what was drawn.
    expect(new Set(runs.map((r) => r.key)).size).toBe(runs.length);
    for (const r of runs) expect(r.key).toContain(`/q${r.cfg.queueSize}/s${r.cfg.segments}/`);
  });
  it('a pinned dimension is crossed as given, the others still drawn', () => {
    const pinned = expandCampaign({ ...drawn, draw: { ...DRAW_ALL, queueSize: false }, queueSizes: [256], seeds: 5 }).runs as ThreadedRun[];
    expect(pinned.every((r) => r.cfg.queueSize === 256)).toBe(true);
    expect(new Set(pinned.map((r) => r.cfg.segments)).size).toBeGreaterThan(1);
    const none = expandCampaign({ ...DEFAULT_CAMPAIGN }).runs as ThreadedRun[];
    expect(none.every((r) => r.cfg.queueSize === 64 && r.cfg.segments === 1 && !r.cfg.indirect)).toBe(true);
  });
});

describe('the device EVENT_IDX off-by-one (avail-event-off-by-one)', () => {
  const bugSpec: CampaignSpec = { ...drawn, notify: ['wait'], bug: 'avail-event-off-by-one', seeds: 10 };
  it('a threaded campaign plants it where it can show: split, notify wait, EVENT_IDX on', () => {
    const { runs, skipped } = expandCampaign(bugSpec);
    const t = runs as ThreadedRun[];
    expect(t.length).toBe(3 * 2 * 10); // split × 3 orders × 2 fault rates × 10 seeds
    expect(t.every((r) => r.cfg.ring === 'split' && r.cfg.eventIdx && r.cfg.notify === 'wait' && r.cfg.plantBug === 'avail-event-off-by-one')).toBe(true);
    expect(skipped.every((s) => /needs ring split/.test(s.reason))).toBe(true);
    // Campaign seed 1 draws queue size 1 early (the size that shows the bug).
    const first = t.findIndex((r) => r.cfg.queueSize === 1);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(10);
  });
  it('in the simulator at the drawn queue size 1 it is a lost wake-up', () => {
    const sims = expandCampaign({ ...bugSpec, kinds: ['sim'], sim: { ...DEFAULT_SIM_SPEC, bug: 'avail-event-off-by-one', models: ['sc'], strategies: ['random'] } }).runs as SimRun[];
    const one = sims.find((r) => r.sim.queueSize === 1)!;
    expect(one).toBeDefined();
    // Deterministic: schedules are fixed by their seeds.
    const found = Array.from({ length: 20 }, (_, i) => simulate({ ...one.sim, seed: one.sim.seed + i })).filter((r) => r.violation);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((r) => r.violation!.rule === 'LOST_WAKEUP')).toBe(true);
    // The correct device at the same configuration: no lost wake-up in the same schedules.
    const clean = Array.from({ length: 20 }, (_, i) => simulate({ ...one.sim, bug: null, seed: one.sim.seed + i }));
    expect(clean.every((r) => r.violation === null && r.finished)).toBe(true);
  });
});

describe('vqlab stress records what it drew', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  it('every result carries its whole configuration; pinned flags are not drawn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-stress-draw-'));
    const r = spawnSync('node', [bin, 'stress', '--kinds', 'sim', '--rings', 'packed', '--orders', 'in-order', '--seeds', '4', '--sim-strategies', 'random',
      '--sim-budget-ms', '50', '--event-idx', 'off', '--out', dir, '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as StressReport;
    // (The JSON output spells keys in snake_case.)
    expect(rep.spec.draw).toMatchObject({ sim_queue_size: true, event_idx: false });
    expect(rep.results).toHaveLength(4);
    for (const x of rep.results) {
      expect(x.config).toMatchObject({ ring: 'packed', order: 'in-order', event_idx: false });
      expect(x.key).toContain(`/q${(x.config as unknown as { queue_size: number }).queue_size}/`);
    }
  });
});
