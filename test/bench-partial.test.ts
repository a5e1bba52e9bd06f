import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crossovers, failureNotes, PARTIAL_PLAN, ratioCI, ratiosOf, sizeCell, verdictOf, type OrderCell, type PartialGroup, type PartialReport } from '../src/bench/partial.js';
import { decisivePartial, formatPartial, partialCharts, partialHtml, summaryText } from '../src/bench/partial-report.js';

// The PARTIAL_ORDER map: its statistics and crossover lines on hand-made figures, its text and
// heat maps from a hand-made report, and `vqlab bench --question partial --quick` end to end.
// Structure only: no figure measured here is asserted (speed is never asserted in tests).
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;

function cell(order: OrderCell['order'], bps: number[], p99: number[], checked = bps): OrderCell {
  return {
    order, command: 'vqlab run …', checked_command: 'vqlab run …', buffers_per_s: bps, p99_us: p99,
    used_entries_per_buffer: order === 'none' ? 1 : 0.02, interrupts_per_1000: order === 'none' ? 3 : 1, kicks_per_1000: 0, stall_ms: 0,
    checked: { buffers_per_s: checked, p99_us: p99, violations: 0, failures: 0 }, violations: 0, failures: 0,
  };
}
/** A group whose PARTIAL_ORDER runs at `f` × the better of the other two in every repeat (checked: `fc` ×). */
function group(ring: 'split' | 'packed', p: number, l: number, f: number, fc = f): PartialGroup {
  const io = [4e6, 5e6, 6e6], no = [3e6, 5.5e6, 5e6];
  const best = io.map((x, k) => Math.max(x, no[k]));
  const cells = [cell('partial', best.map((b) => b * f), [50, 60, 70], best.map((b) => b * fc)), cell('in-order', io, [100, 100, 100]), cell('none', no, [80, 90, 100])];
  return { ring, queue_size: 64, budget: 64, notify: 'wait', fault_rate: p, fault_latency_us: l, buffers: 1000, cells, ...ratiosOf(cells) };
}
function report(): PartialReport {
  const groups: PartialGroup[] = [];
  for (const ring of ['split', 'packed'] as const) {
    groups.push(group(ring, 0, 10, 1));
    // Wins at short faults, par in between, stops paying at long and frequent ones (checked: worse).
    groups.push(group(ring, 0.01, 10, 1.3), group(ring, 0.01, 100, 1.0), group(ring, 0.1, 10, 0.97, 0.8), group(ring, 0.1, 100, 0.6));
  }
  return {
    question: 'partial', command: 'vqlab bench --question partial --test', commit: 'abc1234', machine: { cpus: 2, model: 'Test CPU', node: 'v20.0.0', platform: 'linux x64' },
    load_average: { start: [0.5, 0.4, 0.3], end: [0.6, 0.5, 0.4] },
    plan: { ...PARTIAL_PLAN, rings: ['split', 'packed'], fault_rates: [0, 0.01, 0.1], fault_latencies_us: [10, 100], queue_sizes: [64], budgets: [64] },
    timing: 'unchecked', throughput_basis: 'second-half', groups, elapsed_ms: 5000,
  };
}

describe('PARTIAL_ORDER map: statistics', () => {
  it('geometric mean of paired ratios with a Student-t interval on the logs', () => {
    expect(ratioCI([2, 2, 2])).toMatchObject({ mean: 2, lo: 2, hi: 2 });
    const r = ratioCI([1, 4]);
    expect(r.mean).toBe(2);
    // ln 4 / √2 spread, t(0.975, 1) = 12.706: the interval is wide with two repeats, and contains the mean.
    expect(r.lo!).toBeLessThan(0.01);
    expect(r.hi!).toBeGreaterThan(400);
    expect(ratioCI([1.5])).toMatchObject({ mean: 1.5, lo: null, hi: null });
    expect(verdictOf(ratioCI([1.2, 1.3, 1.25]))).toBe('wins');
    expect(verdictOf(ratioCI([0.5, 0.6, 0.55]))).toBe('stops paying');
    expect(verdictOf(ratioCI([0.9, 1.1, 1.0]))).toBe('par');
    expect(verdictOf(ratioCI([0.96]))).toBe('par');
  });
  it('pairs PARTIAL_ORDER with the better of the others repeat by repeat (max throughput, min p99)', () => {
    const g = group('split', 0.01, 10, 0.5);
    expect(g.throughput_ratio.per_repeat).toEqual([0.5, 0.5, 0.5]);
    // p99: 50 / min(100, 80), 60 / 90, 70 / 100
    expect(g.p99_ratio.per_repeat).toEqual([0.625, 0.6667, 0.7]);
    expect(g.verdict).toBe('stops paying');
    expect(group('split', 0.01, 10, 0.97, 1.2).checked_verdict).toBe('wins');
  });
  it('sizes each cell\'s runs by time: untimed runs grow until one lasts half the target and agrees with the one before', async () => {
    const plan = { ...PARTIAL_PLAN, buffers: null, run_s: 0.3, min_buffers: 5_000, max_buffers: 20_000_000 };
    // rate(n, k): the steady rate the k-th sizing run, of n buffers, shows; it lasts start + n / rate seconds.
    const sized = async (rate: (n: number, k: number) => number, p = plan, start = 0.01): Promise<[number, number[]]> => {
      const calls: number[] = [];
      const n = await sizeCell(p, async (m) => {
        const r = rate(m, calls.push(m) - 1);
        return { rate: r, seconds: r > 0 ? start + m / r : start };
      });
      return [n, calls];
    };
    // A fast cell whose short runs understate its rate (start-up): 5k (0.015 s, × 20) → 100k (0.013 s, × 22.5)
    // → 2.25M (0.085 s, × 3.53) → 7.94M (0.275 s, the rate of the run before): 0.3 s at 30 M/s.
    expect(await sized((n) => (n < 100_000 ? 1e6 : 30e6))).toEqual([9_000_000, [5_000, 100_000, 2_250_000, 7_941_000]]);
    // IN_ORDER stalled on long faults, 20 000 buffers/s: 5k (0.26 s) → 6k (agrees): 6 000 buffers.
    expect(await sized(() => 20_000)).toEqual([6_000, [5_000, 6_000]]);
    // A long run whose rate disagrees with the run before is not trusted: 10 M/s after 25, 20 after 10; 20 again settles it.
    expect(await sized((n, k) => [1e6, 25e6, 10e6, 20e6][Math.min(k, 3)])).toEqual([6_000_000, [5_000, 100_000, 2_143_000, 3_000_000, 6_000_000]]);
    // Slower than min_buffers per run_s: the floor.
    expect(await sized(() => 1_000)).toEqual([5_000, [5_000, 5_000]]);
    // Faster than the ceiling allows: max_buffers.
    expect((await sized(() => 1e9))[0]).toBe(20_000_000);
    // A sizing run that failed (rate 0): no estimate, the size it had.
    expect(await sized(() => 0)).toEqual([5_000, [5_000]]);
    // --buffers: one fixed size, no sizing runs.
    expect(await sized(() => 30e6, { ...plan, buffers: 4_000 })).toEqual([4_000, []]);
  });
  it('draws crossover lines on the edges between verdicts, the fault-free column spanning every latency', () => {
    const r = report();
    const split = r.groups.filter((g) => g.ring === 'split');
    const segs = crossovers(split, [0, 0.01, 0.1], [10, 100]);
    // Grid (x = rate index, y = latency index): x0 par (both rows); x1: wins (y0), par (y1); x2: par (y0), stops paying (y1).
    expect(segs).toContainEqual({ line: 'starts winning', x0: 0.5, x1: 0.5, y0: -0.5, y1: 0.5 });
    expect(segs).toContainEqual({ line: 'starts winning', x0: 1.5, x1: 1.5, y0: -0.5, y1: 0.5 });
    expect(segs).toContainEqual({ line: 'starts winning', x0: 0.5, x1: 1.5, y0: 0.5, y1: 0.5 });
    expect(segs).toContainEqual({ line: 'stops paying', x0: 1.5, x1: 1.5, y0: 0.5, y1: 1.5 });
    expect(segs).toContainEqual({ line: 'stops paying', x0: 1.5, x1: 2.5, y0: 0.5, y1: 0.5 });
    expect(segs).toHaveLength(5);
  });
});

describe('PARTIAL_ORDER map: failed runs are named, not only counted', () => {
  it('notes each failed or violating run with its seed, kind, code and message; the table lists them', () => {
    const ok = { seed: 1, failure: null, violations: [] };
    const stall = { seed: 2, failure: { code: 'STALL', message: 'no progress for 5000 ms', side: 'driver', driver: {}, device: {}, queue: {} }, violations: [] };
    const rule = { seed: 3, failure: null, violations: [{ rule: 'USED_FLUSH_WITH_HOLE', message: 'FLUSH over a hole', entry: 7, id: 2, seed: 3 }] };
    expect(failureNotes([ok, stall, rule] as never, 'timed')).toEqual(['seed 2, timed: STALL: no progress for 5000 ms', 'seed 3, timed: USED_FLUSH_WITH_HOLE: FLUSH over a hole']);
    expect(failureNotes([ok] as never, 'checked')).toEqual([]);
    const r = report();
    expect(formatPartial(r)).not.toContain('Runs that failed');
    r.groups[1].cells[0] = { ...r.groups[1].cells[0], failures: 1, failure_notes: ['seed 2, timed: STALL: no progress for 5000 ms'] };
    expect(formatPartial(r)).toContain('Runs that failed or broke a rule:\n  split q=64 budget 64 p=0.01 L=10µs partial, seed 2, timed: STALL: no progress for 5000 ms');
  });
});

describe('PARTIAL_ORDER map: text and heat maps of a report', () => {
  it('summary with figures, command, commit, machine and load; decisive groups checked and unchecked', () => {
    const r = report();
    const s = summaryText(r);
    for (const x of ['vqlab bench --question partial --test', 'commit abc1234', '2 × Test CPU', 'load average 0.5', 'wins (interval above 1) in 2', 'stops paying (interval below 0.95) in 2',
      'Wins at: p = 1 %, L = 10 µs (2 of 2)', 'Stops paying at: p = 10 %, L = 100 µs (2 of 2)', 'interrupts per 1000 buffers', '"PARTIAL_ORDER ≥ 0.95 × the better" turns in 2 of 8 groups', 'Absolute rates']) expect(s, x).toContain(x);
    const dec = decisivePartial(r);
    // wins ×2, stops paying ×2, and the two the checker turns (0.97 × timed, 0.8 × checked).
    expect(dec).toHaveLength(6);
    const t = formatPartial(r);
    expect(t).toMatch(/split q=64 budget 64 p=0\.1 L=10µs\s+.*par\s+yes\s+.*0\.80 \[0\.80–0\.80\]\s+no$/m);
    expect(t).toContain('thr ratio [95% CI]');
  });
  it('renders both heat maps as SVG with cells, ratios and crossover lines, and one self-contained page', async () => {
    const svgs = await partialCharts(report());
    for (const k of ['throughput', 'p99'] as const) {
      const s = svgs[k];
      expect(s.startsWith('<svg')).toBe(true);
      for (const label of ['split q=64', 'packed q=64', 'budget 64', 'fault rate', 'fault latency (µs)', '10 %', 'stops paying', 'starts winning']) expect(s, `${k}: ${label}`).toContain(label);
      // The ratio is written in its cell: PARTIAL_ORDER at 1.3 × in throughput; its p99 at 50/80, 60/90, 70/100 of the better.
      expect(s).toContain(k === 'throughput' ? '>1.30</text>' : '>0.66</text>');
      // The crossover lines: 5 edges per panel, 2 panels.
      expect((s.match(/crossover: (stops paying|starts winning)/g) ?? []).length).toBe(10);
      expect(s).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
    const html = await partialHtml(report());
    expect(html).toMatch(/^<!doctype html>/);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('commit abc1234');
    expect(html).not.toMatch(/<script|<link/);
  });
});

describe('vqlab bench --question partial (CLI)', () => {
  it('--quick runs end to end: JSON report, table, summary, SVG and HTML; --from renders the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-partial-'));
    try {
      const out = join(dir, 'p.json');
      const r = spawnSync('node', [bin, 'bench', '--question', 'partial', '--quick', '--buffers', '4000', '--quiet', '--out', out, '--chart', join(dir, 'p.svg'), '--chart', join(dir, 'p.html')], { encoding: 'utf8', timeout: 600_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('PARTIAL_ORDER against the better of IN_ORDER and no ordering feature');
      expect(r.stdout).toMatch(/thr ratio \[95% CI\]/);
      const rep = JSON.parse(readFileSync(out, 'utf8'));
      expect(rep.format).toBe('vqlab-bench-partial');
      expect(rep.timing).toBe('unchecked');
      expect(rep.command).toMatch(/^vqlab bench --question partial --quick/);
      // 2 rings × (no faults + 1 fault rate × 2 latencies), each with the three orderings.
      expect(rep.groups).toHaveLength(6);
      for (const g of rep.groups) {
        expect(g.cells.map((c: OrderCell) => c.order)).toEqual(['partial', 'in-order', 'none']);
        for (const c of g.cells) {
          expect(c.buffers_per_s).toHaveLength(rep.plan.repeat);
          expect(c.checked.buffers_per_s).toHaveLength(1);
          expect(c.violations + c.failures + c.checked.violations + c.checked.failures, c.failure_notes.join('; ')).toBe(0);
          expect(c.failure_notes).toEqual([]);
          expect(c.command).toMatch(/--no-check/);
          expect(c.checked_command).not.toMatch(/--no-check/);
          expect(c.command).toMatch(/--notify wait/);
        }
        expect(g.throughput_ratio.per_repeat).toHaveLength(rep.plan.repeat);
        expect(['wins', 'par', 'stops paying']).toContain(g.verdict);
      }
      for (const k of ['throughput', 'p99']) expect(readFileSync(join(dir, `p-${k}.svg`), 'utf8')).toMatch(/^<svg/);
      expect(readFileSync(join(dir, 'p.html'), 'utf8')).toMatch(/^<!doctype html>/);
      const again = spawnSync('node', [bin, 'bench', '--question', 'partial', '--from', out], { encoding: 'utf8', timeout: 60_000 });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toBe(r.stdout);
      // A matrix report is not a map, and the map's options are refused elsewhere: exit 2 with a reason.
      writeFileSync(join(dir, 'other.json'), JSON.stringify({ format: 'vqlab-bench', format_version: 1, cells: [] }));
      for (const [args, msg] of [
        [['--from', join(dir, 'other.json')], /vqlab-bench/],
        [['--orders', 'none'], /--orders/],
        [['--peer-messages', '5000'], /--peer-messages/],
        [['--run-s', '0.2', '--buffers', '5000'], /--run-s: runs are sized by time or by --buffers, not both/],
        [['--run-s', '0'], /--run-s/],
        [['--run-s', 'soon'], /--run-s/],
      ] as const) {
        const bad = spawnSync('node', [bin, 'bench', '--question', 'partial', ...args], { encoding: 'utf8', timeout: 60_000 });
        expect(bad.status, bad.stderr).toBe(2);
        expect(bad.stderr).toMatch(msg);
      }
      for (const opt of [['--budgets', '16'], ['--run-s', '0.2']]) {
        const matrix = spawnSync('node', [bin, 'bench', ...opt], { encoding: 'utf8', timeout: 60_000 });
        expect(matrix.status, opt[0]).toBe(2);
        expect(matrix.stderr).toMatch(/--question partial/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 620_000); // seconds on an idle machine; the bound only catches a hang
});
