import { describe, expect, it } from 'vitest';
import { runBench, targets, type BenchPlan } from '../src/bench/matrix.js';
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
    expect(r.cells.length).toBe(2 * 3 * 2 + 2);
    for (const c of r.cells) {
      expect(c.violations).toBe(0);
      expect(c.buffers_per_s.median).toBeGreaterThan(0);
      expect(c.command).toMatch(/^vqlab run --ring (split|packed) --order /);
      expect(c.of_ceiling).toBeGreaterThan(0);
    }
    const t = targets(r);
    expect(t.some((x) => x.target.includes('ceiling'))).toBe(true);
    expect(t.some((x) => x.target.includes('PARTIAL_ORDER p99'))).toBe(true);
    expect(t.filter((x) => x.target.includes('checker on')).length).toBe(1);
    expect(t.find((x) => x.target.startsWith('every run conformant'))?.met).toBe(true);
    // A cell with violations fails that target, naming it.
    const broken = { ...r, cells: r.cells.map((c, i) => (i === 1 ? { ...c, violations: 3 } : c)) };
    const v = targets(broken).find((x) => x.target.startsWith('every run conformant'))!;
    expect(v.met).toBe(false);
    expect(v.value).toContain(r.cells[1].label);
  });
});
