import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { decisiveGroups, pairedRatios, partialGroups, runBench, targets, type BenchPlan } from '../src/bench/matrix.js';
import { formatBench, formatDecisive } from '../src/cli/bench.js';
import { tinyReport } from './helpers/bench-report.js';
import { runPeer } from '../src/bench/peers.js';

// The benchmark machinery works end to end (structure only: speed is measured in `vqlab bench`,
// never asserted in tests).
describe('vqlab bench machinery', () => {
  it('peers move every message intact: SPSC (every message, every 32), ringbuf.js, ping-pong', async () => {
    for (const k of ['spsc', 'spsc-batch32', 'ringbuf', 'pingpong'] as const) {
      const r = await runPeer(k, k === 'pingpong' ? 2000 : 50_000);
      expect(r.bad).toBe(0);
      expect(r.per_s).toBeGreaterThan(0);
    }
  });
  it('a tiny matrix yields medians, ratios, commands and the target table', async () => {
    const plan: BenchPlan = { rings: ['split', 'packed'], orders: ['in-order', 'partial', 'none'], faultRates: [0, 0.05], faultLatenciesUs: [20], queueSizes: [64], notify: ['poll'], buffers: 3000, repeat: 1, seed: 5, extras: true, peerMessages: 20_000 };
    const r = await runBench(plan);
    // The sweep and the wait extra: the checker's cost comes from each cell's checked twins, not an extra cell.
    expect(r.cells.length).toBe(2 * 3 * 2 + 1);
    expect(r.timing).toBe('unchecked');
    for (const c of r.cells) {
      expect(c.checked?.runs).toBe(1);
      expect(c.checked?.per_repeat.buffers_per_s).toHaveLength(1);
      expect(c.command).toMatch(/--no-check/);
    }
    for (const c of r.cells) {
      expect(c.violations).toBe(0);
      expect(c.buffers_per_s.median).toBeGreaterThan(0);
      expect(c.command).toMatch(/^vqlab run --ring (split|packed) --order /);
      // Ratios are rounded figures of a timed run: a loaded machine can round one to 0. Shape only.
      for (const x of [c.of_ceiling, c.vs_ringbuf]) { expect(Number.isFinite(x)).toBe(true); expect(x).toBeGreaterThanOrEqual(0); }
    }
    const t = targets(r);
    expect(t.some((x) => x.target.includes('ceiling'))).toBe(true);
    expect(t.some((x) => x.target.includes('PARTIAL_ORDER p99'))).toBe(true);
    expect(t.filter((x) => x.target.includes('checker on')).length).toBe(1);
    // Every PARTIAL_ORDER verdict shows the checked runs' ratio beside the timed one.
    const po = t.filter((x) => x.target.includes('PARTIAL_ORDER ≥ 0.95'));
    expect(po).toHaveLength(4);
    for (const x of po) expect(x.value).toMatch(/^[0-9.]+ ×.*; checked runs [0-9.]+ ×/);
    expect(t.find((x) => x.target.startsWith('every run conformant'))?.met).toBe(true);
    // A cell with violations fails that target, naming it.
    const broken = { ...r, cells: r.cells.map((c, i) => (i === 1 ? { ...c, violations: 3 } : c)) };
    const v = targets(broken).find((x) => x.target.startsWith('every run conformant'))!;
    expect(v.met).toBe(false);
    expect(v.value).toContain(r.cells[1].label);
    // Every cell and peer keeps its per-repeat figures; the ratios are also shown paired by repeat.
    for (const c of r.cells) expect(c.per_repeat?.buffers_per_s.length).toBe(plan.repeat);
    expect(r.peers['spsc-batch32'].per_repeat?.length).toBe(plan.repeat);
    expect(t.find((x) => x.target.includes('ceiling'))!.value).toMatch(/paired by repeat [0-9.]+ \[/);
    expect(t.find((x) => x.target.includes('PARTIAL_ORDER p99'))!.value).toMatch(/[01] of 1 repeats/);
    // A report written before per-repeat figures existed still answers (ratios of medians only).
    const old = { ...r, peers: Object.fromEntries(Object.entries(r.peers).map(([k, p]) => [k, { ...p, per_repeat: undefined }])), cells: r.cells.map((c) => ({ ...c, per_repeat: undefined, checked: c.checked && { ...c.checked, per_repeat: { buffers_per_s: [], p99_us: [] } } })) };
    const to = targets(old);
    expect(to.length).toBe(t.length);
    expect(to.some((x) => x.value.includes('paired'))).toBe(false);
    expect(to.map((x) => x.met)).toEqual(t.map((x) => x.met));
  });
  it('runs both ordering features together (vqlab bench --orders in-order+partial), as run and stress take them', () => {
    const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
    const r = spawnSync('node', [bin, 'bench', '--rings', 'split', '--orders', 'in-order+partial,none', '--fault-rates', '0.05', '--fault-latencies-us', '20',
      '--queue-sizes', '64', '--notify', 'poll', '--repeat', '1', '--buffers', '3000', '--peer-messages', '5000', '--json', '--quiet'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as { cells: { label: string; command: string; violations: number; config: { order: string } }[] };
    const both = rep.cells.find((c) => c.config.order === 'in-order,partial')!;
    expect(both.label).toMatch(/^split in-order,partial p=0.05/);
    expect(both.command).toMatch(/--order in-order,partial /);
    expect(both.violations).toBe(0);
    expect(rep.cells.some((c) => c.config.order === 'none')).toBe(true);
    const bad = spawnSync('node', [bin, 'bench', '--orders', 'in-order+none'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--orders/);
  });
  it('shows the groups that decide the PARTIAL_ORDER verdict checked and unchecked side by side', () => {
    const r = tinyReport();
    const unchecked = { ...r, timing: 'unchecked' as const, cells: r.cells.filter((c) => c.config.check !== false).map((c) => ({
      ...c,
      // Timed: PARTIAL_ORDER 3 M/s against 2 M/s; checked: the checker halves PARTIAL_ORDER's rate in the faulty group.
      checked: { command: 'vqlab run …', runs: 1, buffers_per_s: { median: c.config.order === 'partial' && c.config.faultRate ? c.buffers_per_s.median / 2 : c.buffers_per_s.median, min: 0, max: 0 }, latency_p99_us: 1, violations: 0, failures: 0, per_repeat: { buffers_per_s: [], p99_us: [] } },
    })) };
    const groups = partialGroups(unchecked);
    expect(groups).toHaveLength(4);
    const dec = decisiveGroups(unchecked);
    expect(dec.map((g) => g.key)).toEqual(['split p=0.05 L=20 q=64 poll', 'packed p=0.05 L=20 q=64 poll']);
    expect(dec[0].ratio).toBeCloseTo(1.5, 5);
    expect(dec[0].checked!.ratio).toBeCloseTo(0.75, 5);
    const text = formatDecisive(unchecked);
    expect(text).toMatch(/4 of 4 groups unchecked, 2 of 4 checked/);
    expect(text).toMatch(/split p=0\.05 L=20 q=64 poll\s+2\.25\s+1\.50\s+1\.50\s+-\s+1\.13\s+1\.50\s+0\.75/);
    expect(formatBench(unchecked)).toContain('timing: timed runs without the live checker');
    // A report whose timed runs were checked says so, and has no checked column.
    expect(formatBench(r)).toContain('timing: timed runs with the live checker on');
  });
  it('pairs ratios repeat by repeat, refusing unpaired or empty series', () => {
    expect(pairedRatios([10, 20, 30], [10, 10, 10])).toEqual({ median: 2, min: 1, max: 3 });
    // Paired, the ratio is steady even when both series drift by 3x across repeats.
    expect(pairedRatios([5, 10, 15], [10, 20, 30])).toEqual({ median: 0.5, min: 0.5, max: 0.5 });
    expect(pairedRatios([1, 2], [1])).toBeNull();
    expect(pairedRatios([], [])).toBeNull();
    expect(pairedRatios(undefined, [1])).toBeNull();
    expect(pairedRatios([1], [0])).toBeNull();
  });
});
