import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFor, decodeReplay, DEFAULT_SIM, encodeReplay, explore, replay, shrink, simulate, type SimConfig } from '../src/sim/sim.js';
import { BUGS } from '../src/sim/bugs.js';
import type { MemoryModel } from '../src/sim/memory.js';

const STRONGER: Record<MemoryModel, MemoryModel | null> = { sc: null, tso: 'sc', relaxed: 'tso', weak: 'relaxed' };
// Searches are bounded by a schedule count, not by time: what they cover must not depend on the
// machine's speed or load (the time budget is only a backstop).
const SCHEDULES = (n: number) => ({ budgetMs: 600_000, maxSchedules: n });
const small = (c: Partial<SimConfig>): SimConfig => configFor({ ...DEFAULT_SIM, queueSize: 2, buffers: 3, faultRate: 0, strategy: 'exhaustive', ...c });

describe('planted bugs: every one is found, and only under the models that allow it', () => {
  for (const b of BUGS) {
    it(`${b.name}: random search finds it under ${b.model}`, () => {
      const r = explore(configFor({ ...DEFAULT_SIM, bug: b.name, model: b.model }), SCHEDULES(1000));
      expect(r.found, `${b.name} not found in ${r.schedules} schedules`).toBe(true);
      expect(r.violation?.rule).toMatch(/^[A-Z_]+$/);
      expect(r.replay).toMatch(/^vqsim3:/);
      expect(replay(r.replay!).violation?.rule).toBe(r.violation?.rule);
    });
    const stronger = STRONGER[b.model];
    if (stronger) {
      it(`${b.name}: exhaustive search proves it absent under ${stronger} (small case, bound 2)`, () => {
        const r = explore(small({ bug: b.name, model: stronger }), { budgetMs: 600_000, preemptionBound: 2 });
        expect(r.found).toBe(false);
        expect(r.complete).toBe(true);
        expect(r.schedules).toBeGreaterThan(10);
      });
    }
  }
});

describe('the correct ring under relaxed memory', () => {
  for (const ring of ['split', 'packed'] as const) for (const order of ['none', 'in-order', 'partial'] as const) for (const notify of ['poll', 'wait'] as const) {
    it(`${ring} ${order} ${notify}: random and PCT find nothing, and the runs finish`, () => {
      for (const strategy of ['random', 'pct'] as const) {
        const c: SimConfig = { ...DEFAULT_SIM, ring, order, notify, eventIdx: notify === 'wait', strategy, model: 'relaxed', queueSize: ring === 'packed' ? 3 : 4 };
        const r = explore(c, SCHEDULES(60));
        expect(r.found, r.violation?.message).toBe(false);
        expect(r.schedules).toBe(60);
        expect(simulate(c).finished).toBe(true);
      }
    });
  }
  it('exhaustive search with bound 2 covers every schedule of a small case and finds nothing', () => {
    for (const ring of ['split', 'packed'] as const) {
      const r = explore(small({ ring, order: 'partial', faultRate: 0.5 }), { budgetMs: 600_000, preemptionBound: 2 });
      expect(r.found).toBe(false);
      expect(r.complete).toBe(true);
      // Bound 1 is a strict subset of bound 2.
      const r1 = explore(small({ ring, order: 'partial', faultRate: 0.5 }), { budgetMs: 600_000, preemptionBound: 1 });
      expect(r1.complete).toBe(true);
      expect(r1.schedules).toBeLessThan(r.schedules);
    }
  });
});

describe('both ordering features negotiated (in-order,partial) in the simulator', () => {
  for (const ring of ['split', 'packed'] as const) {
    it(`${ring}: random and PCT find nothing under relaxed memory, with faults`, () => {
      for (const strategy of ['random', 'pct'] as const) {
        const c: SimConfig = { ...DEFAULT_SIM, ring, order: 'in-order,partial', strategy, model: 'relaxed', queueSize: ring === 'packed' ? 3 : 4, faultRate: 0.3 };
        const r = explore(c, SCHEDULES(60));
        expect(r.found, r.violation?.message).toBe(false);
        expect(r.schedules).toBe(60);
        expect(simulate(c).finished).toBe(true);
      }
    });
  }
  it('an IN_ORDER violation is still caught with both negotiated (planted bug batch-off-by-one, not moved to in-order alone)', () => {
    const r = explore({ ...DEFAULT_SIM, ring: 'split', order: 'in-order,partial', bug: 'batch-off-by-one', model: 'sc' }, SCHEDULES(200));
    expect(r.found).toBe(true);
    // The replay string carries both features and reproduces the failure.
    expect(r.replay).toMatch(/^vqsim3:split,in-order\+partial,/);
    expect(decodeReplay(r.replay!).config.order).toBe('in-order,partial');
    expect(replay(r.replay!).violation?.rule).toBe(r.violation?.rule);
  });
  it('a bug that needs IN_ORDER keeps both features when both are asked for; one that needs PARTIAL_ORDER alone gets it', () => {
    expect(configFor({ ...DEFAULT_SIM, order: 'in-order,partial', bug: 'batch-off-by-one' }).order).toBe('in-order,partial');
    expect(configFor({ ...DEFAULT_SIM, order: 'none', bug: 'batch-off-by-one' }).order).toBe('in-order');
    expect(configFor({ ...DEFAULT_SIM, order: 'in-order,partial', bug: 'flush-with-hole' }).order).toBe('partial');
  });
});

describe('replay and shrinking', () => {
  const found = explore(configFor({ ...DEFAULT_SIM, bug: 'no-wmb-before-avail-idx', model: 'relaxed', buffers: 40 }), SCHEDULES(1000));
  it('a replay string reproduces the run bit for bit', () => {
    expect(found.found).toBe(true);
    const a = replay(found.replay!);
    const b = replay(found.replay!);
    expect(a.violation).toEqual(found.violation);
    expect(a.steps).toBe(found.result!.steps);
    expect(a.ops).toBe(found.result!.ops);
    expect(a.tail).toEqual(found.result!.tail);
    expect(b.tail).toEqual(a.tail);
    expect(a.replay).toBe(found.replay);
  });
  it('encodes and decodes configurations and schedules', () => {
    const d = decodeReplay(found.replay!);
    expect(encodeReplay(d.config, d.choices)).toBe(found.replay);
    expect(() => decodeReplay('vqsim3:nonsense')).toThrow(/replay string/);
    expect(() => decodeReplay('hello')).toThrow(/replay string/);
  });
  it('shrinking returns a smaller case that still fails the same way', () => {
    const start = decodeReplay(found.replay!);
    const s = shrink(start);
    expect(s.result.found).toBe(true);
    expect(s.result.violation?.rule).toBe(found.violation?.rule);
    const before = found.result!;
    expect(s.config.buffers < start.config.buffers || s.result.preemptions < before.preemptions).toBe(true);
    expect(s.config.buffers).toBeLessThanOrEqual(start.config.buffers);
    expect(s.result.preemptions).toBeLessThanOrEqual(before.preemptions);
    // The shrunk case replays on its own.
    expect(replay(s.result.replay).violation?.rule).toBe(found.violation?.rule);
  });
  it('shouldStop ends a search before its next schedule (Ctrl-C in a campaign)', () => {
    let n = 0;
    for (const strategy of ['random', 'exhaustive'] as const) {
      const r = explore({ ...DEFAULT_SIM, strategy }, { budgetMs: 60_000, shouldStop: () => ++n > 3 });
      expect(r.stopped).toBe(true);
      expect(r.found).toBe(false);
      expect(r.schedules).toBeLessThanOrEqual(3);
      n = 0;
    }
  });
  it('exhaustive search is deterministic', () => {
    const c = small({ order: 'in-order' });
    const a = explore(c, { budgetMs: 600_000, preemptionBound: 1 });
    const b = explore(c, { budgetMs: 600_000, preemptionBound: 1 });
    expect(a.complete).toBe(true);
    expect(a.schedules).toBe(b.schedules);
  });
});

describe('vqlab explore / replay / bugs', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'vqlab-sim-'));
  const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  it('explore --json finds a planted bug, exits 1, writes an artifact that replay reproduces', () => {
    const art = join(dir, 'f.json');
    const r = vqlab(['explore', '--bug', 'no-mb-before-kick-check', '--model', 'tso', '--budget-s', '600', '--max-schedules', '1000', '--artifact', art, '--json']);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ found: true, bug: 'no-mb-before-kick-check', violation: { rule: 'LOST_WAKEUP' } });
    expect(out.schedules).toBeGreaterThan(0);
    expect(typeof out.elapsed_ms).toBe('number');
    expect(out.replay).toMatch(/^vqsim3:/);
    expect(JSON.parse(readFileSync(art, 'utf8')).replay).toBe(out.replay);
    for (const arg of [out.replay, art]) {
      const p = vqlab(['replay', arg]);
      expect(p.status).toBe(1);
      expect(p.stdout).toContain('VIOLATION LOST_WAKEUP');
      expect(p.stdout).toMatch(/driver\s+device/);
    }
  });
  it('exhaustive explore of the correct ring reports the schedules it covered, exit 0', () => {
    const r = vqlab(['explore', '--strategy', 'exhaustive', '--queue-size', '2', '--buffers', '2', '--fault-rate', '0', '--preemption-bound', '1', '--budget-s', '600', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ found: false, complete: true, preemption_bound: 1 });
    expect(out.schedules).toBeGreaterThan(1);
  });
  it('bad input: one line, exit 2', () => {
    for (const args of [['replay', 'vqsim3:garbage'], ['replay', 'vqsim2:garbage'], ['explore', '--bug', 'nope'], ['explore', '--model', 'arm'], ['explore', '--queue-size', '3'],
      ['explore', '--segments', '3', '--queue-size', '2'], ['explore', '--vary', 'colour'], ['explore', '--vary', 'segments', '--strategy', 'exhaustive']]) {
      const r = vqlab(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
  it('bugs lists the catalogue', () => {
    const r = vqlab(['bugs', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).length).toBeGreaterThanOrEqual(10);
  });
});
