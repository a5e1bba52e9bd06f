import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { configFor, decodeReplay, DEFAULT_SIM, explore, replay, shrink, simulate, varyConfig, VARY_DIMS, type SimConfig } from '../src/sim/sim.js';
import { sweepUnfinished } from '../src/sim/sweep.js';

// Searches are bounded by schedule counts (the time budgets are only backstops), so what they
// cover does not depend on the machine's load. The weak (load-reordering) model, the consumer-side bugs it exposes, unfinished schedules as
// findings, configurations with chains / indirect tables / varied per schedule, and versioned
// replay strings.
const small = (c: Partial<SimConfig>): SimConfig => configFor({ ...DEFAULT_SIM, queueSize: 2, buffers: 2, faultRate: 0, strategy: 'exhaustive', ...c });
const CONSUMER = ['device-plain-avail-idx', 'driver-plain-used-idx', 'device-plain-avail-flags', 'driver-plain-used-flags'];

describe('the weak model on the correct rings', () => {
  it('exhaustive search of every ring and order stays complete and clean (small case, bound 2)', () => {
    for (const ring of ['split', 'packed'] as const) for (const order of ['none', 'in-order', 'partial'] as const) {
      const r = explore(small({ ring, order, model: 'weak' }), { budgetMs: 600_000, preemptionBound: 2 });
      expect(r.found, `${ring} ${order}: ${r.violation?.message}`).toBe(false);
      expect(r.complete).toBe(true);
      expect(r.schedules).toBeGreaterThan(10);
    }
  });
});

describe('consumer-side bugs: a plain load where the acquire belongs', () => {
  for (const bug of CONSUMER) {
    it(`${bug}: exhaustive search finds it under weak; the replay reproduces it`, () => {
      const r = explore(small({ bug, model: 'weak' }), { budgetMs: 600_000, preemptionBound: 2 });
      expect(r.found).toBe(true);
      const again = replay(r.replay!);
      expect(again.violation).toEqual(r.violation);
      // Only a version choice (a load reading older than memory) can show it: with every load reading
      // the newest, the same schedule is clean.
      const d = decodeReplay(r.replay!);
      const newest = d.choices.map((c, i) => (r.result!.kinds[i] === 4 ? 0 : c));
      expect(replay({ config: d.config, choices: newest }).violation?.rule ?? null).not.toBe(r.violation?.rule);
    });
  }
});

describe('unfinished schedules are findings', () => {
  it('packed-head-flags-early: random search reports a STALL with both sides\' state; the shrunk case replays', () => {
    const r = explore(configFor({ ...DEFAULT_SIM, bug: 'packed-head-flags-early', model: 'tso' }), { budgetMs: 600_000, maxSchedules: 100 });
    expect(r.found).toBe(true);
    expect(r.violation?.rule).toBe('STALL');
    expect(r.result!.finished).toBe(false);
    expect(r.result!.end.queue).toHaveProperty('desc[0].avail/used');
    expect(r.result!.end.driver).toHaveProperty('reclaimed');
    const s = shrink(decodeReplay(r.replay!));
    expect(s.result.violation?.rule).toBe('STALL');
    expect(s.config.maxSteps).toBeLessThan(r.result!.steps);
    const again = replay(s.result.replay);
    expect(again.violation).toEqual(s.result.violation);
    expect(again.end).toEqual(s.result.end);
  });
  it('a correct queue never ends unfinished: every ring × order (both features too) × notify under tso, relaxed and weak', () => {
    const out = sweepUnfinished({ schedules: 6, models: ['tso', 'relaxed', 'weak'] });
    // 2 rings × 4 orders (none, in-order, partial, both) × 2 notify modes × 3 models.
    expect(out.rows).toHaveLength(2 * 4 * 2 * 3);
    expect(out.total).toBe(2 * 4 * 2 * 3 * 6);
    expect(out.unfinished).toBe(0);
    expect(out.findings).toEqual([]);
  });
  it('a schedule cut short by its step limit while still progressing is a LIVELOCK, stuck is a STALL', () => {
    const busy = simulate({ ...DEFAULT_SIM, buffers: 200, maxSteps: 30 });
    expect(busy.violation?.rule).toBe('LIVELOCK');
    const stuck = simulate(configFor({ ...DEFAULT_SIM, bug: 'packed-head-flags-early', model: 'tso', queueSize: 1, buffers: 2, faultRate: 0, maxSteps: 200 }));
    expect(stuck.violation?.rule).toBe('STALL');
  });
});

describe('chains, indirect tables, every feature, varied per schedule', () => {
  it('tracker-batch-weight shows only with multi-slot batches (packed IN_ORDER, 2 segments)', () => {
    const found = explore(configFor({ ...DEFAULT_SIM, bug: 'tracker-batch-weight', model: 'sc' }), { budgetMs: 600_000, maxSchedules: 20 });
    expect(found.found).toBe(true);
    expect(decodeReplay(found.replay!).config).toMatchObject({ ring: 'packed', order: 'in-order', segments: 2 });
    // One descriptor per buffer: every weight is 1 and the bug has nothing to leave out.
    const one = explore({ ...DEFAULT_SIM, bug: 'tracker-batch-weight', ring: 'packed', order: 'in-order', segments: 1, model: 'sc' }, { budgetMs: 600_000, maxSchedules: 40 });
    expect(one.found).toBe(false);
    expect(one.schedules).toBe(40);
  });
  it('--vary draws a configuration per schedule from its seed; the replay string re-creates it', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const c = varyConfig({ ...DEFAULT_SIM, seed }, VARY_DIMS, seed);
      expect(varyConfig({ ...DEFAULT_SIM, seed }, VARY_DIMS, seed)).toEqual(c);
      if (c.ring === 'split') expect(c.queueSize & (c.queueSize - 1)).toBe(0);
      expect(c.queueSize).toBeGreaterThanOrEqual(c.indirect && c.segments >= 2 ? 1 : c.segments);
      seen.add(`${c.ring}/${c.segments}/${c.indirect}/${c.queueSize}`);
      const r = simulate(c);
      expect(r.found, r.violation?.message).toBe(false);
      expect(decodeReplay(r.replay).config).toEqual(c);
    }
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].some((k) => k.endsWith('/1'))).toBe(true);
  });
});

describe('versioned replay strings', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  // A pinned case: if the simulator's choice points or encoding change, this outcome changes too —
  // and the prefix must be bumped with it (sim.ts REPLAY_VERSION).
  const PINNED = 'vqsim3:packed,partial,weak,random,packed-head-flags-early,1,1,0,poll,0,2,3,40,1,0:3:1~1.0~1';
  it('a pinned vqsim3 string replays to the same outcome', () => {
    const r = replay(PINNED);
    expect(r.violation?.rule).toBe('STALL');
    expect({ steps: r.steps, ops: r.ops, choices: r.choices.length, lastProgress: r.end.last_progress_step }).toEqual({ steps: 40, ops: 64, choices: 82, lastProgress: 2 });
  });
  it('a string of another version is refused with exit 2 and says why', () => {
    const old = 'vqsim2:split,partial,tso,random,no-mb-before-kick-check,4,5,0,wait,0.2,2,3,12:p:1~1.0~1.5~1.5~1.5~1.3~1';
    expect(() => decodeReplay(old)).toThrow(/version vqsim2.*vqsim3/);
    const p = vqlab(['replay', old]);
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/simulator version vqsim2/);
    expect(p.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('explore --model weak --bug <consumer bug> --json finds it; its replay string reproduces it (exit 1)', () => {
    const r = vqlab(['explore', '--model', 'weak', '--bug', 'device-plain-avail-idx', '--budget-s', '600', '--max-schedules', '50', '--json', '--artifact', '/dev/null']);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ found: true, model: 'weak' });
    const p = vqlab(['replay', out.replay]);
    expect(p.status).toBe(1);
    expect(p.stdout).toContain(`VIOLATION ${out.violation.rule}`);
  });
});
