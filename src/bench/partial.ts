/**
 * `vqlab bench --question partial`: where does VIRTIO_F_PARTIAL_ORDER pay? For every group of
 * settings (ring × queue size × batch budget × fault rate × fault latency) the three orderings run
 * with the same seeds, back to back (paired repeats; the order within a pass alternates so that a
 * drifting machine favours none of them), and each group gets
 *   - PARTIAL_ORDER's throughput ÷ max(IN_ORDER, none) and its p99 latency ÷ min(IN_ORDER, none),
 *     each a geometric mean over the paired repeats with a 95 % confidence interval;
 *   - the used entries each ordering writes per buffer and the interrupts per 1000 buffers (what
 *     a device and its driver pay, whatever a JavaScript harness's speed);
 *   - a verdict: PARTIAL_ORDER wins (interval above 1), stops paying (interval below 0.95), or is
 *     at par (neither).
 * Timed runs go without the live checker; a checked run of each cell (same configuration and seed)
 * gives the conformance verdict and, for the groups that decide the answer, the checked figures
 * side by side.
 *
 * The report is snake_case throughout (it is written as it is held).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, type RunConfig } from '../harness/config.js';
import { runThreaded, type RunResult } from '../harness/run.js';
import type { OrderMode, RingKind } from '../spec/features.js';
import type { NotifyMode } from '../memory/doorbell.js';
import { commandOf } from './matrix.js';

export interface PartialPlan {
  rings: RingKind[];
  fault_rates: number[];
  fault_latencies_us: number[];
  queue_sizes: number[];
  /** Batch budgets: the driver's publish batch and the device's pop budget, set alike. */
  budgets: number[];
  notify: NotifyMode[];
  /** Buffers per run for every cell (--buffers); null: each cell's runs are sized by time (run_s). */
  buffers: number | null;
  /**
   * Sizing by time: a cell's runs get about run_s seconds' worth of buffers at the cell's own steady
   * rate, found by untimed sizing runs (min_buffers first, then larger). A run of a fixed size
   * lasts 2 ms in a fast cell and seconds in IN_ORDER's stalled ones; a 2 ms window measures when
   * each thread happened to be woken, not the ordering.
   */
  run_s: number;
  /** The first sizing run's buffers, and the fewest buffers a run gets. */
  min_buffers: number;
  /** The most buffers a run gets. */
  max_buffers: number;
  repeat: number;
  checked_repeat: number;
  seed: number;
}

/**
 * The map: 2 rings × 2 queue sizes × 2 budgets × (no faults + 2 fault rates × 3 latencies) × 3
 * orderings, 5 timed repeats and 1 checked run per cell (1 008 runs, plus the sizing runs), in wait
 * mode (the mode in which a device interrupts, so interrupts per 1000 buffers mean something).
 * Each run lasts about 0.3 s at its cell's steady rate (20 000 to 20 000 000 buffers).
 */
export const PARTIAL_PLAN: PartialPlan = {
  rings: ['split', 'packed'], fault_rates: [0, 0.01, 0.1], fault_latencies_us: [1, 30, 500],
  queue_sizes: [64, 256], budgets: [16, 64], notify: ['wait'], buffers: null, run_s: 0.3, min_buffers: 20_000, max_buffers: 20_000_000,
  repeat: 5, checked_repeat: 1, seed: 1,
};

/** A smoke-sized map (seconds): both rings, two fault rates and latencies, one queue size and budget. */
export const PARTIAL_QUICK_PLAN: PartialPlan = {
  rings: ['split', 'packed'], fault_rates: [0, 0.05], fault_latencies_us: [10, 100],
  queue_sizes: [64], budgets: [64], notify: ['wait'], buffers: null, run_s: 0.05, min_buffers: 2_000, max_buffers: 2_000_000,
  repeat: 2, checked_repeat: 1, seed: 1,
};

const ORDERS: OrderMode[] = ['partial', 'in-order', 'none'];

export interface OrderCell {
  order: OrderMode;
  /** Buffers per run (timed and checked alike; absent in older reports, where the group has them). */
  buffers?: number;
  command: string;
  checked_command: string;
  /** Timed runs (no live checker), in repeat order. */
  buffers_per_s: number[];
  p99_us: number[];
  used_entries_per_buffer: number;
  interrupts_per_1000: number;
  kicks_per_1000: number;
  stall_ms: number;
  /** Checked runs: same configuration and seeds, live checker on. */
  checked: { buffers_per_s: number[]; p99_us: number[]; violations: number; failures: number };
  /** Violations and failed runs in the timed runs (data checks, lost or corrupted buffers). */
  violations: number;
  failures: number;
  /** What went wrong in each failed or violating run, timed or checked: "seed 1, timed: STALL: …" (absent in older reports). */
  failure_notes?: string[];
}

/** A ratio over paired repeats: geometric mean and 95 % interval (null with one repeat). */
export interface RatioCI { mean: number; lo: number | null; hi: number | null; per_repeat: number[] }

export type Verdict = 'wins' | 'par' | 'stops paying';

export interface PartialGroup {
  ring: RingKind; queue_size: number; budget: number; notify: NotifyMode;
  fault_rate: number; fault_latency_us: number;
  /** Older reports: one size for the group's runs (now each cell has its own). */
  buffers?: number;
  cells: OrderCell[];
  /** PARTIAL_ORDER ÷ max(IN_ORDER, none), timed runs. */
  throughput_ratio: RatioCI;
  /** PARTIAL_ORDER's p99 ÷ min(IN_ORDER's, none's), timed runs (below 1: PARTIAL_ORDER's tail is shorter). */
  p99_ratio: RatioCI;
  /** The throughput ratio from the checked runs (the live checker's share included). */
  checked_throughput_ratio: RatioCI | null;
  verdict: Verdict;
  checked_verdict: Verdict | null;
}

export interface PartialReport {
  format?: string;
  question: 'partial';
  command: string;
  commit: string | null;
  machine: { cpus: number; model: string; node: string; platform: string };
  load_average: { start: number[]; end: number[] };
  plan: PartialPlan;
  timing: 'unchecked';
  throughput_basis: 'second-half';
  groups: PartialGroup[];
  elapsed_ms: number;
}

/** Two-sided 95 % Student t quantiles by degrees of freedom (1..30; beyond: 1.96). */
const T95 = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * Geometric mean of paired ratios with a 95 % interval from Student's t on their logarithms
 * (ratios multiply, so their logs are what averages). Null bounds with fewer than two repeats.
 */
export function ratioCI(per: number[]): RatioCI {
  const ok = per.filter((x) => x > 0 && Number.isFinite(x));
  if (ok.length === 0) return { mean: NaN, lo: null, hi: null, per_repeat: per };
  const logs = ok.map(Math.log);
  const n = logs.length;
  const m = logs.reduce((a, x) => a + x, 0) / n;
  const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;
  if (n < 2) return { mean: r4(Math.exp(m)), lo: null, hi: null, per_repeat: per.map(r4) };
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1));
  const half = (T95[n - 1] ?? 1.96) * sd / Math.sqrt(n);
  return { mean: r4(Math.exp(m)), lo: r4(Math.exp(m - half)), hi: r4(Math.exp(m + half)), per_repeat: per.map(r4) };
}

/** Wins: the interval lies above 1; stops paying: it lies below 0.95; par otherwise (one repeat: the point). */
export function verdictOf(r: RatioCI): Verdict {
  const lo = r.lo ?? r.mean, hi = r.hi ?? r.mean;
  if (lo > 1) return 'wins';
  if (hi < 0.95) return 'stops paying';
  return 'par';
}

/**
 * Buffers per run for one cell: a fixed plan.buffers, or about run_s seconds at the cell's steady
 * rate. `run` does an untimed sizing run of n buffers and returns its steady rate (0 when it
 * failed) and how long it ran. A short run's rate is start-up, JIT warm-up and the first sleeps,
 * not the cell's (2 000 buffers of a 3.4 M/s cell ran at 0.03 M/s, in 25 ms), so a cell is sized
 * only by a run that lasted half of run_s and whose rate is within 25 % of the sizing run before it
 * (or at max_buffers). Runs grow 2 to 32 times until they last half of run_s, then are run_s long.
 */
export async function sizeCell(plan: Pick<PartialPlan, 'buffers' | 'run_s' | 'min_buffers' | 'max_buffers'>,
  run: (n: number) => Promise<{ rate: number; seconds: number }>): Promise<number> {
  if (plan.buffers !== null) return plan.buffers;
  const clamp = (x: number): number => Math.max(plan.min_buffers, Math.min(plan.max_buffers, Math.round(x / 1000) * 1000));
  let n = plan.min_buffers;
  let prev = NaN;
  for (let i = 0; i < 8; i++) {
    const { rate, seconds } = await run(n);
    if (!(rate > 0)) return n;
    const long = seconds >= plan.run_s / 2;
    if ((long && Math.abs(rate / prev - 1) <= 0.25) || n >= plan.max_buffers) return clamp(rate * plan.run_s);
    prev = rate;
    n = long ? clamp(rate * plan.run_s) : clamp(n * Math.max(2, Math.min(32, plan.run_s / Math.max(seconds, 1e-6))));
  }
  return n;
}

const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

/** The commit of the checkout vqlab runs from, when it is a git checkout (null otherwise). */
export function commitOf(): string | null {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return head ? `${head}${dirty ? '+changes' : ''}` : null;
  } catch {
    return null;
  }
}

export async function runPartial(plan: PartialPlan, onProgress: (done: number, total: number, what: string) => void = () => {}): Promise<PartialReport> {
  const t0 = performance.now();
  const load0 = loadavg().map((x) => Math.round(x * 100) / 100);
  type G = { ring: RingKind; queue_size: number; budget: number; notify: NotifyMode; fault_rate: number; fault_latency_us: number };
  const gs: G[] = [];
  for (const ring of plan.rings) for (const queue_size of plan.queue_sizes) for (const budget of plan.budgets) for (const notify of plan.notify)
    for (const fault_rate of plan.fault_rates) for (const fault_latency_us of plan.fault_latencies_us) {
      if (fault_rate === 0 && fault_latency_us !== plan.fault_latencies_us[0]) continue; // latency is moot without faults
      gs.push({ ring, queue_size, budget, notify, fault_rate, fault_latency_us });
    }
  const cfgOf = (g: G, order: OrderMode, rep: number, buffers: number): RunConfig => ({
    ...DEFAULT_CONFIG, ring: g.ring, order, queueSize: g.queue_size, publishBatch: g.budget, popBudget: g.budget, notify: g.notify,
    faultRate: g.fault_rate, faultLatencyUs: g.fault_latency_us, buffers, seed: plan.seed + rep, timeoutS: 600,
  });
  const checkedRepeat = Math.min(plan.checked_repeat, plan.repeat);
  const total = gs.length * ORDERS.length * (plan.repeat + checkedRepeat);
  let done = 0;
  const timed: RunResult[][][] = gs.map(() => ORDERS.map(() => []));
  const checked: RunResult[][][] = gs.map(() => ORDERS.map(() => []));
  const sizes: number[][] = gs.map(() => ORDERS.map(() => 0));
  const label = (g: G): string => `${g.ring} q=${g.queue_size} budget ${g.budget} p=${g.fault_rate} L=${g.fault_latency_us}µs`;
  for (let rep = 0; rep < plan.repeat; rep++) {
    for (const [gi, g] of gs.entries()) {
      // The three orderings of a repeat run back to back with one seed; the order alternates by repeat.
      const seq = rep % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      if (rep === 0) for (const oi of seq) {
        sizes[gi][oi] = await sizeCell(plan, async (n) => {
          onProgress(done, total, `${label(g)} ${ORDERS[oi]}, sizing (${n} buffers)`);
          const r = await runThreaded({ ...cfgOf(g, ORDERS[oi], rep, n), check: false });
          return { rate: r.failure === null ? r.steady_buffers_per_s : 0, seconds: r.elapsed_ms / 1000 };
        });
      }
      for (const oi of seq) {
        onProgress(done++, total, `${label(g)} ${ORDERS[oi]} (${sizes[gi][oi]} buffers)`);
        timed[gi][oi].push(await runThreaded({ ...cfgOf(g, ORDERS[oi], rep, sizes[gi][oi]), check: false }));
      }
      if (rep < checkedRepeat) for (const oi of seq) {
        onProgress(done++, total, `${label(g)} ${ORDERS[oi]} (${sizes[gi][oi]} buffers), checked`);
        checked[gi][oi].push(await runThreaded({ ...cfgOf(g, ORDERS[oi], rep, sizes[gi][oi]), check: true }));
      }
    }
  }
  onProgress(done, total, 'done');
  const groups: PartialGroup[] = gs.map((g, gi) => {
    const cells: OrderCell[] = ORDERS.map((order, oi) => {
      const rs = timed[gi][oi], cs = checked[gi][oi];
      const cfg = cfgOf(g, order, 0, sizes[gi][oi]);
      return {
        order, buffers: sizes[gi][oi], command: commandOf({ ...cfg, check: false }), checked_command: commandOf(cfg),
        buffers_per_s: rs.map((r) => r.steady_buffers_per_s), p99_us: rs.map((r) => r.latency_us.p99),
        used_entries_per_buffer: med(rs.map((r) => r.used_entries_per_buffer)), interrupts_per_1000: med(rs.map((r) => r.interrupts_per_1000)),
        kicks_per_1000: med(rs.map((r) => r.kicks_per_1000)), stall_ms: med(rs.map((r) => r.stall_ms)),
        checked: { buffers_per_s: cs.map((r) => r.steady_buffers_per_s), p99_us: cs.map((r) => r.latency_us.p99), violations: cs.reduce((a, r) => a + r.violations.length, 0), failures: cs.filter((r) => r.failure !== null).length },
        violations: rs.reduce((a, r) => a + r.violations.length + r.corrupted + r.lost, 0), failures: rs.filter((r) => r.failure !== null).length,
        failure_notes: [...failureNotes(rs, 'timed'), ...failureNotes(cs, 'checked')],
      };
    });
    return { ...g, cells, ...ratiosOf(cells) };
  });
  return {
    question: 'partial', command: ['vqlab', ...process.argv.slice(2)].join(' '), commit: commitOf(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` },
    load_average: { start: load0, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    plan, timing: 'unchecked', throughput_basis: 'second-half', groups, elapsed_ms: Math.round(performance.now() - t0),
  };
}

/** One note per run that failed or broke a rule: its seed, timed or checked, and the first error's code and message. */
export function failureNotes(rs: Pick<RunResult, 'seed' | 'failure' | 'violations'>[], kind: 'timed' | 'checked'): string[] {
  const out: string[] = [];
  for (const r of rs) {
    const v = r.violations[0];
    if (r.failure) out.push(`seed ${r.seed}, ${kind}: ${r.failure.code}: ${r.failure.message.slice(0, 160)}`);
    else if (v) out.push(`seed ${r.seed}, ${kind}: ${v.rule}: ${v.message.slice(0, 160)}`);
  }
  return out;
}

/** A group's ratios and verdicts from its three orderings' paired repeats. */
export function ratiosOf(cells: OrderCell[]): Pick<PartialGroup, 'throughput_ratio' | 'p99_ratio' | 'checked_throughput_ratio' | 'verdict' | 'checked_verdict'> {
  const [po, io, no] = ORDERS.map((o) => cells.find((c) => c.order === o)!);
  const pairs = (a: number[], b: number[], c: number[], f: (p: number, x: number, y: number) => number): number[] =>
    a.slice(0, Math.min(a.length, b.length, c.length)).map((p, k) => f(p, b[k], c[k]));
  const throughput_ratio = ratioCI(pairs(po.buffers_per_s, io.buffers_per_s, no.buffers_per_s, (p, x, y) => p / Math.max(x, y)));
  const p99_ratio = ratioCI(pairs(po.p99_us, io.p99_us, no.p99_us, (p, x, y) => p / Math.min(x, y)));
  const cp = pairs(po.checked.buffers_per_s, io.checked.buffers_per_s, no.checked.buffers_per_s, (p, x, y) => p / Math.max(x, y));
  const checked_throughput_ratio = cp.length > 0 ? ratioCI(cp) : null;
  return { throughput_ratio, p99_ratio, checked_throughput_ratio, verdict: verdictOf(throughput_ratio), checked_verdict: checked_throughput_ratio ? verdictOf(checked_throughput_ratio) : null };
}

/** The panels of the map: one per ring × queue size × budget × notify mode, in plan order. */
export function panelsOf(r: PartialReport): { key: string; groups: PartialGroup[] }[] {
  const out = new Map<string, PartialGroup[]>();
  for (const g of r.groups) {
    const k = panelKey(g);
    out.set(k, [...(out.get(k) ?? []), g]);
  }
  return [...out].map(([key, groups]) => ({ key, groups }));
}
export const panelKey = (g: PartialGroup): string => `${g.ring} q=${g.queue_size} budget ${g.budget}${g.notify === 'wait' ? '' : ` ${g.notify}`}`;

/**
 * Crossover lines of one panel: the cell edges between a group where PARTIAL_ORDER stops paying
 * and one where it does not ('stops paying'), and between one where it wins and one where it does
 * not ('starts winning'). Cells sit at (fault-rate index, latency index); the fault-rate-0 group
 * spans every latency of its column.
 */
export interface Segment { line: 'stops paying' | 'starts winning'; x0: number; x1: number; y0: number; y1: number }
export function crossovers(groups: PartialGroup[], rates: number[], lats: number[], pick: (g: PartialGroup) => Verdict = (g) => g.verdict): Segment[] {
  const at = (xi: number, yi: number): Verdict | undefined => {
    const p = rates[xi];
    const g = groups.find((x) => x.fault_rate === p && (p === 0 || x.fault_latency_us === lats[yi]));
    return g && pick(g);
  };
  const segs: Segment[] = [];
  const edge = (a: Verdict | undefined, b: Verdict | undefined, s: Omit<Segment, 'line'>): void => {
    if (a === undefined || b === undefined) return;
    if ((a === 'stops paying') !== (b === 'stops paying')) segs.push({ line: 'stops paying', ...s });
    if ((a === 'wins') !== (b === 'wins')) segs.push({ line: 'starts winning', ...s });
  };
  for (let xi = 0; xi < rates.length; xi++) for (let yi = 0; yi < lats.length; yi++) {
    if (xi + 1 < rates.length) edge(at(xi, yi), at(xi + 1, yi), { x0: xi + 0.5, x1: xi + 0.5, y0: yi - 0.5, y1: yi + 0.5 });
    if (yi + 1 < lats.length && rates[xi] !== 0) edge(at(xi, yi), at(xi, yi + 1), { x0: xi - 0.5, x1: xi + 0.5, y0: yi + 0.5, y1: yi + 0.5 });
  }
  return segs;
}
