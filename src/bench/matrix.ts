/**
 * `vqlab bench`: the end-to-end matrix in real worker threads (ring × order × fault rate × fault
 * latency × queue size × notify mode), each cell run several times, with the machine's ceiling and
 * ringbuf.js measured in the same run on the same 16-byte messages, so every figure is also a ratio.
 */
import { cpus } from 'node:os';
import { DEFAULT_CONFIG, type RunConfig } from '../harness/config.js';
import { runThreaded, type RunResult } from '../harness/run.js';
import { runPeer, type PeerResult } from './peers.js';
import type { OrderMode, OrderSpec, RingKind } from '../spec/features.js';
import type { NotifyMode } from '../memory/doorbell.js';

export interface BenchPlan {
  rings: RingKind[];
  /** Orderings; 'in-order,partial' negotiates both features (IN_ORDER rules, FLUSH defined). */
  orders: OrderSpec[];
  faultRates: number[];
  faultLatenciesUs: number[];
  queueSizes: number[];
  notify: NotifyMode[];
  buffers: number;
  repeat: number;
  seed: number;
  /** Extra cell: wait mode next to split IN_ORDER without faults (when the plan has no wait). */
  extras: boolean;
  peerMessages: number;
  /**
   * Checked runs per cell: the same configuration and seed as the first timed repeats, with the
   * live checker on, each right after its timed twin. Timed runs never carry the checker (its
   * thread competes with the sides for the CPUs), so conformance comes from these. Absent in
   * reports whose timed runs were checked.
   */
  checkedRepeat?: number;
}

export const QUICK_PLAN: BenchPlan = {
  rings: ['split', 'packed'], orders: ['none', 'in-order', 'partial'], faultRates: [0, 0.01], faultLatenciesUs: [50],
  queueSizes: [256], notify: ['poll'], buffers: 1_500_000, repeat: 3, seed: 1, extras: true, peerMessages: 3_000_000, checkedRepeat: 2,
};

export const FULL_PLAN: BenchPlan = {
  rings: ['split', 'packed'], orders: ['none', 'in-order', 'partial'], faultRates: [0, 0.001, 0.01, 0.05], faultLatenciesUs: [10, 50],
  queueSizes: [64, 256], notify: ['poll', 'wait'], buffers: 2_000_000, repeat: 5, seed: 1, extras: true, peerMessages: 10_000_000, checkedRepeat: 2,
};

export interface Stat { median: number; min: number; max: number }
export const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)], min: s[0], max: s[s.length - 1] };
};

export interface CellResult {
  label: string;
  config: Partial<RunConfig>;
  command: string;
  runs: number;
  /** Throughput over each run's second half (warm-up excluded) when the report's basis is 'second-half'. */
  buffers_per_s: Stat;
  /** Throughput over each whole run (start-up and JIT warm-up included). */
  whole_run_buffers_per_s?: Stat;
  latency_p50_us: number;
  latency_p99_us: number;
  latency_max_us: number;
  used_entries_per_buffer: number;
  kicks_per_1000: number;
  interrupts_per_1000: number;
  stall_ms: number;
  violations: number;
  /** buffers/s ÷ the batched SPSC ceiling, and ÷ ringbuf.js (medians). */
  of_ceiling: number;
  vs_ringbuf: number;
  /**
   * Each repeat's figures, in repeat order: repeat k of every cell and peer ran within one pass
   * of the matrix, so ratios between them are paired (side by side in time on a drifting machine).
   */
  per_repeat?: { buffers_per_s: number[]; p99_us: number[] };
  /**
   * The checked runs of this cell (reports with timing 'unchecked'): the same configuration and
   * seeds with the live checker on. Their violations are the cell's verdict; their figures show
   * what the checker costs next to the timed runs.
   */
  checked?: CheckedRuns;
}

export interface CheckedRuns {
  command: string;
  runs: number;
  buffers_per_s: Stat;
  latency_p99_us: number;
  violations: number;
  /** Runs that ended without completing (stall, timeout, a side's failure). */
  failures: number;
  per_repeat: { buffers_per_s: number[]; p99_us: number[] };
}

export interface BenchReport {
  machine: { cpus: number; model: string; node: string; platform: string };
  command: string;
  seed: number;
  plan: BenchPlan;
  peers: Record<string, { per_s: Stat; whole_run_per_s?: Stat; bad: number; per_repeat?: number[] }>;
  cells: CellResult[];
  elapsed_ms: number;
  /**
   * What buffers_per_s / per_s measure: 'second-half' = each run's second half (the first half
   * carries worker start-up and JIT warm-up), for vqlab's cells and the peers alike; absent = whole runs.
   */
  throughput_basis?: 'second-half' | 'whole-run';
  /**
   * 'unchecked': every timed run ran without the live checker, and each cell's conformance comes
   * from separate checked runs of the same configuration (CellResult.checked). Absent: the timed
   * runs themselves were checked.
   */
  timing?: 'unchecked';
}

/** How a report's timing and conformance were obtained, in one line. */
export function timingText(r: { timing?: 'unchecked' }): string {
  return r.timing === 'unchecked'
    ? 'timed runs without the live checker; conformance from separate checked runs of the same configuration and seed'
    : 'timed runs with the live checker on (they measure the sides plus the checker)';
}

export function commandOf(c: Partial<RunConfig>): string {
  const parts = ['vqlab run', `--ring ${c.ring}`, `--order ${c.order}`, `--fault-rate ${c.faultRate}`, `--fault-latency-us ${c.faultLatencyUs}`,
    `--queue-size ${c.queueSize}`, `--notify ${c.notify}`, `--buffers ${c.buffers}`, `--seed ${c.seed}`];
  if (c.publishBatch !== undefined && c.publishBatch !== DEFAULT_CONFIG.publishBatch) parts.push(`--publish-batch ${c.publishBatch}`);
  if (c.popBudget !== undefined && c.popBudget !== DEFAULT_CONFIG.popBudget) parts.push(`--pop-budget ${c.popBudget}`);
  if (c.check === false) parts.push('--no-check');
  return parts.join(' ') + ' --json';
}

export async function runBench(plan: BenchPlan, onProgress: (done: number, total: number, what: string) => void = () => {}): Promise<BenchReport> {
  const t0 = performance.now();
  const cellsCfg: { label: string; cfg: Partial<RunConfig> }[] = [];
  for (const ring of plan.rings) for (const queueSize of plan.queueSizes) for (const notify of plan.notify)
    for (const faultLatencyUs of plan.faultLatenciesUs) for (const faultRate of plan.faultRates) for (const order of plan.orders) {
      if (faultRate === 0 && faultLatencyUs !== plan.faultLatenciesUs[0]) continue; // latency is moot without faults
      cellsCfg.push({ label: `${ring} ${order} p=${faultRate} L=${faultLatencyUs}µs q=${queueSize} ${notify}`, cfg: { ring, order, faultRate, faultLatencyUs, queueSize, notify } });
    }
  // The cell the peers and the extras are compared with: split IN_ORDER, no faults, queue 256.
  const base = { ring: 'split' as const, order: 'in-order' as const, faultRate: 0, faultLatencyUs: plan.faultLatenciesUs[0], queueSize: 256 };
  // The checker's cost is read from the base cell's checked runs next to its timed ones: no extra cell.
  if (plan.extras && !plan.notify.includes('wait')) cellsCfg.push({ label: 'split in-order p=0 q=256 wait', cfg: { ...base, notify: 'wait' } });
  const checkedRepeat = Math.min(plan.checkedRepeat ?? 1, plan.repeat);
  const peerKinds = ['spsc', 'spsc-batch32', 'ringbuf', 'pingpong'] as const;
  const total = cellsCfg.length * (plan.repeat + checkedRepeat) + peerKinds.length * plan.repeat;
  let done = 0;
  const peerRuns: Record<string, PeerResult[]> = {};
  const cellRuns: RunResult[][] = cellsCfg.map(() => []);
  const checkedRuns: RunResult[][] = cellsCfg.map(() => []);
  // Interleave repeats (peers, then every cell, then again) so slow drift of a shared machine
  // spreads over all cells instead of biasing whichever ran last. Within a pass, the cells the
  // peers are compared with (split IN_ORDER without faults, and its checker-off and wait twins)
  // run right after the peers: this VM's speed moves by half over minutes, and a full pass lasts
  // minutes. The cells compared with each other (the orders of one group) are neighbours already.
  const headline = (c: Partial<RunConfig>): boolean => c.ring === base.ring && c.order === base.order && c.faultRate === base.faultRate && c.queueSize === base.queueSize;
  const runOrder = [...cellsCfg.keys()].sort((a, b) => Number(headline(cellsCfg[b].cfg)) - Number(headline(cellsCfg[a].cfg)) || a - b);
  for (let rep = 0; rep < plan.repeat; rep++) {
    for (const k of peerKinds) {
      onProgress(done, total, `peer ${k}`);
      (peerRuns[k] ??= []).push(await runPeer(k, k === 'pingpong' ? Math.max(1000, plan.peerMessages / 20) : plan.peerMessages));
      done++;
    }
    for (const i of runOrder) {
      const cfg: RunConfig = { ...DEFAULT_CONFIG, buffers: plan.buffers, seed: plan.seed + rep, timeoutS: 600, ...cellsCfg[i].cfg };
      onProgress(done, total, cellsCfg[i].label);
      // Timed without the checker: its thread would take CPU from the sides whenever they wait for log space.
      cellRuns[i].push(await runThreaded({ ...cfg, check: false }));
      done++;
      if (rep < checkedRepeat) {
        onProgress(done, total, `${cellsCfg[i].label}, checked`);
        checkedRuns[i].push(await runThreaded({ ...cfg, check: true }));
        done++;
      }
    }
  }
  onProgress(done, total, 'done');
  const peers: BenchReport['peers'] = {};
  for (const k of peerKinds) peers[k] = { per_s: stat(peerRuns[k].map((r) => r.steady_per_s)), whole_run_per_s: stat(peerRuns[k].map((r) => r.per_s)), bad: peerRuns[k].reduce((a, r) => a + r.bad, 0), per_repeat: peerRuns[k].map((r) => r.steady_per_s) };
  const ceiling = peers['spsc-batch32'].per_s.median;
  const rb = peers.ringbuf.per_s.median;
  const med = (xs: number[]): number => stat(xs).median;
  const cells: CellResult[] = cellsCfg.map(({ label, cfg }, i) => {
    const rs = cellRuns[i];
    const cs = checkedRuns[i];
    const bps = stat(rs.map((r) => r.steady_buffers_per_s));
    const checked: CheckedRuns = {
      command: commandOf({ ...cfg, buffers: plan.buffers, seed: plan.seed }), runs: cs.length,
      buffers_per_s: stat(cs.map((r) => r.steady_buffers_per_s)), latency_p99_us: med(cs.map((r) => r.latency_us.p99)),
      violations: cs.reduce((a, r) => a + r.violations.length, 0), failures: cs.filter((r) => r.failure !== null).length,
      per_repeat: { buffers_per_s: cs.map((r) => r.steady_buffers_per_s), p99_us: cs.map((r) => r.latency_us.p99) },
    };
    return {
      label, config: cfg, command: commandOf({ ...cfg, buffers: plan.buffers, seed: plan.seed, check: false }), runs: rs.length,
      buffers_per_s: bps,
      whole_run_buffers_per_s: stat(rs.map((r) => r.buffers_per_s)),
      latency_p50_us: med(rs.map((r) => r.latency_us.p50)),
      latency_p99_us: med(rs.map((r) => r.latency_us.p99)),
      latency_max_us: Math.max(...rs.map((r) => r.latency_us.max)),
      used_entries_per_buffer: med(rs.map((r) => r.used_entries_per_buffer)),
      kicks_per_1000: med(rs.map((r) => r.kicks_per_1000)),
      interrupts_per_1000: med(rs.map((r) => r.interrupts_per_1000)),
      stall_ms: med(rs.map((r) => r.stall_ms)),
      // Unchecked runs still verify data and count lost or corrupted buffers; the checked runs add the rules.
      violations: rs.reduce((a, r) => a + r.violations.length, 0) + checked.violations,
      of_ceiling: Math.round((bps.median / ceiling) * 1000) / 1000,
      vs_ringbuf: Math.round((bps.median / rb) * 100) / 100,
      per_repeat: { buffers_per_s: rs.map((r) => r.steady_buffers_per_s), p99_us: rs.map((r) => r.latency_us.p99) },
      checked,
    };
  });
  return {
    machine: { cpus: cpus().length, model: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` },
    command: ['vqlab', ...process.argv.slice(2)].join(' '),
    seed: plan.seed, plan, peers, cells, elapsed_ms: Math.round(performance.now() - t0), throughput_basis: 'second-half', timing: 'unchecked',
  };
}

/**
 * Ratios a[k] / b[k] of the same repeat k (null when a report predates per-repeat figures or a
 * repeat is missing): the paired view of a comparison, next to the ratio of medians.
 */
export function pairedRatios(a: number[] | undefined, b: number[] | undefined): Stat | null {
  if (!a || !b || a.length === 0 || a.length !== b.length || b.some((x) => !(x > 0))) return null;
  return stat(a.map((x, k) => x / b[k]));
}

const pairedText = (p: Stat | null, digits = 2): string =>
  p ? `; paired by repeat ${p.median.toFixed(digits)} [${p.min.toFixed(digits)}–${p.max.toFixed(digits)}]` : '';

/**
 * The benchmark's questions, answered from one report: ratios, not only absolute numbers. Whether a
 * target is met is judged on the ratio of medians (as the targets state them); each ratio also
 * shows the median and range of the same ratio taken repeat by repeat, where both figures of a
 * pair ran close in time: on a shared machine whose speed drifts, a gap between the two views
 * says a verdict is within the noise.
 */
export function targets(r: BenchReport): { target: string; value: string; met: boolean | null }[] {
  const find = (pred: (c: CellResult) => boolean): CellResult | undefined => r.cells.find(pred);
  const cfgOf = (c: CellResult): Partial<RunConfig> => c.config;
  const out: { target: string; value: string; met: boolean | null }[] = [];
  const ceiling = r.peers['spsc-batch32'].per_s.median;
  // A figure from a run that broke a rule measures broken code: every cell must be clean first.
  const bad = r.cells.filter((c) => c.violations > 0);
  out.push({ target: 'every run conformant (no violation in any cell)', value: bad.length === 0 ? `0 violations in ${r.cells.length} cells` : `${bad.reduce((a, c) => a + c.violations, 0)} violations in ${bad.length} cells (${bad.slice(0, 3).map((c) => c.label).join('; ')})`, met: bad.length === 0 });
  // The base cell of the extras (checker off, wait): split IN_ORDER, no faults, poll, at their queue size.
  const offCell = find((c) => cfgOf(c).check === false);
  const isIo = (c: CellResult): boolean => cfgOf(c).ring === 'split' && cfgOf(c).order === 'in-order' && cfgOf(c).faultRate === 0 && cfgOf(c).notify === 'poll' && cfgOf(c).check === undefined;
  const io = find((c) => isIo(c) && cfgOf(c).queueSize === (offCell ? cfgOf(offCell).queueSize : 256)) ?? find(isIo);
  if (io) {
    const ioReps = io.per_repeat?.buffers_per_s;
    out.push({ target: 'split IN_ORDER 16 B poll ≥ 0.5 × batched SPSC ceiling', value: `${io.of_ceiling} × (${(io.buffers_per_s.median / 1e6).toFixed(2)} M/s vs ${(ceiling / 1e6).toFixed(2)} M/s)${pairedText(pairedRatios(ioReps, r.peers['spsc-batch32'].per_repeat), 3)}`, met: io.of_ceiling >= 0.5 });
    out.push({ target: 'split IN_ORDER ≥ 4 × ringbuf.js', value: `${io.vs_ringbuf} ×${pairedText(pairedRatios(ioReps, r.peers.ringbuf.per_repeat))}`, met: io.vs_ringbuf >= 4 });
    const off = offCell;
    if (off) out.push({ target: 'live checker on ≥ 0.67 × off', value: `${(io.buffers_per_s.median / off.buffers_per_s.median).toFixed(2)} × (${(io.buffers_per_s.median / 1e6).toFixed(2)} vs ${(off.buffers_per_s.median / 1e6).toFixed(2)} M/s)${pairedText(pairedRatios(ioReps, off.per_repeat?.buffers_per_s))}`, met: io.buffers_per_s.median >= 0.67 * off.buffers_per_s.median });
    else if (io.checked && io.checked.runs > 0) {
      // Timed runs are unchecked: the checked twins (same seeds, run right after) give the checker's cost.
      const on = io.checked.buffers_per_s.median;
      out.push({ target: 'live checker on ≥ 0.67 × off', value: `${(on / io.buffers_per_s.median).toFixed(2)} × (${(on / 1e6).toFixed(2)} vs ${(io.buffers_per_s.median / 1e6).toFixed(2)} M/s)${pairedText(pairedRatios(io.checked.per_repeat.buffers_per_s, ioReps?.slice(0, io.checked.runs)))}`, met: on >= 0.67 * io.buffers_per_s.median });
    }
    const wait = find((c) => cfgOf(c).ring === 'split' && cfgOf(c).order === 'in-order' && cfgOf(c).faultRate === 0 && cfgOf(c).notify === 'wait' && cfgOf(c).queueSize === cfgOf(io).queueSize);
    if (wait) out.push({ target: 'wait mode ≥ 0.8 × poll (split IN_ORDER, no faults)', value: `${(wait.buffers_per_s.median / io.buffers_per_s.median).toFixed(2)} ×${pairedText(pairedRatios(wait.per_repeat?.buffers_per_s, ioReps))}`, met: wait.buffers_per_s.median >= 0.8 * io.buffers_per_s.median });
  }
  for (const g of partialGroups(r)) {
    const { key: k, po, io: io2 } = g;
    const checkedText = g.checked ? `; checked runs ${g.checked.ratio.toFixed(2)} ×${pairedText(g.checked.paired)}` : '';
    out.push({ target: `${k}: PARTIAL_ORDER ≥ 0.95 × max(IN_ORDER, none)`, value: `${g.ratio.toFixed(2)} ×${pairedText(g.paired)}${checkedText}`, met: g.ratio >= 0.95 });
    if ((cfgOf(po).faultRate ?? 0) > 0) {
      const pp = po.per_repeat?.p99_us, ip = io2.per_repeat?.p99_us;
      const wins = pp && ip && pp.length === ip.length ? `; ${pp.filter((x, j) => x <= ip[j]).length} of ${pp.length} repeats` : '';
      out.push({ target: `${k}: PARTIAL_ORDER p99 ≤ IN_ORDER p99`, value: `${po.latency_p99_us} vs ${io2.latency_p99_us} µs${wins}`, met: po.latency_p99_us <= io2.latency_p99_us });
    } else out.push({ target: `${k}: used entries/buffer PARTIAL_ORDER within 10% of IN_ORDER`, value: `${po.used_entries_per_buffer} vs ${io2.used_entries_per_buffer}`, met: Math.abs(po.used_entries_per_buffer - io2.used_entries_per_buffer) <= 0.1 * io2.used_entries_per_buffer });
  }
  return out;
}

/** One group of settings with all three orderings: PARTIAL_ORDER against the better of the other two. */
export interface PartialGroup {
  key: string;
  po: CellResult; io: CellResult; no: CellResult;
  /** PARTIAL_ORDER ÷ max(IN_ORDER, none), medians of the timed runs, and paired by repeat. */
  ratio: number; paired: Stat | null;
  /** The same from the checked runs (reports with timing 'unchecked'). */
  checked: { ratio: number; paired: Stat | null; po: number; best: number } | null;
}

/** Paired best of two series (max per repeat), or undefined when they are not paired. */
const bestOf = (a: number[] | undefined, b: number[] | undefined): number[] | undefined =>
  a && b && a.length === b.length ? a.map((x, j) => Math.max(x, b[j])) : undefined;

/** The groups of a report that hold PARTIAL_ORDER, IN_ORDER and none under the same settings. */
export function partialGroups(r: BenchReport): PartialGroup[] {
  const groups = new Map<string, CellResult[]>();
  for (const c of r.cells) {
    const f = c.config;
    if (f.check === false && r.timing !== 'unchecked') continue; // an older report's checker-off extra
    const k = `${f.ring} p=${f.faultRate} L=${f.faultLatencyUs} q=${f.queueSize} ${f.notify}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out: PartialGroup[] = [];
  for (const [key, cs] of groups) {
    const by = (o: OrderMode): CellResult | undefined => cs.find((c) => c.config.order === o);
    const po = by('partial'), io = by('in-order'), no = by('none');
    if (!po || !io || !no) continue;
    const best = Math.max(io.buffers_per_s.median, no.buffers_per_s.median);
    const ratio = po.buffers_per_s.median / best;
    const paired = pairedRatios(po.per_repeat?.buffers_per_s, bestOf(io.per_repeat?.buffers_per_s, no.per_repeat?.buffers_per_s));
    let checked: PartialGroup['checked'] = null;
    if (po.checked && io.checked && no.checked && po.checked.runs > 0 && io.checked.runs > 0 && no.checked.runs > 0) {
      const cBest = Math.max(io.checked.buffers_per_s.median, no.checked.buffers_per_s.median);
      checked = {
        ratio: po.checked.buffers_per_s.median / cBest, po: po.checked.buffers_per_s.median, best: cBest,
        paired: pairedRatios(po.checked.per_repeat.buffers_per_s, bestOf(io.checked.per_repeat.buffers_per_s, no.checked.per_repeat.buffers_per_s)),
      };
    }
    out.push({ key, po, io, no, ratio, paired, checked });
  }
  return out;
}

/**
 * The groups that decide the PARTIAL_ORDER verdict (≥ 0.95 × the better of the others): those
 * that miss it in the timed runs or in the checked runs. Shown with both views side by side, so
 * a verdict the checker's own cost turns is visible as such.
 */
export const decisiveGroups = (r: BenchReport): PartialGroup[] =>
  partialGroups(r).filter((g) => g.ratio < 0.95 || (g.checked !== null && g.checked.ratio < 0.95));
