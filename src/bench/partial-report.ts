/**
 * The PARTIAL_ORDER map as text (a table per group, the groups that decide it checked and
 * unchecked, and a summary a spec author can quote) and as heat maps (vega-lite, rendered to SVG in
 * this process; a self-contained HTML page). Everything here is a function of a saved report:
 * the docs quote it without measuring again.
 */
import type { TopLevelSpec } from 'vega-lite';
import { crossovers, panelKey, panelsOf, type PartialGroup, type PartialReport, type RatioCI, type Verdict } from './partial.js';
import { renderSvg } from './charts.js';
import { table } from '../cli/common.js';

const ORDER_NAME: Record<string, string> = { partial: 'PARTIAL_ORDER', 'in-order': 'IN_ORDER', none: 'none' };
const M = (x: number): string => (Number.isFinite(x) ? (x / 1e6).toFixed(2) : '-');
/** A run's size, short: 4000 → 4k, 3 200 000 → 3.2M. */
const K = (n: number | undefined): string => (n === undefined ? '-' : n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : String(n));
const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
/** Two decimals; an unbounded-looking interval end (few repeats, wide spread) in powers of ten. */
const f2 = (x: number): string => (!Number.isFinite(x) ? '-' : x >= 1000 || (x > 0 && x < 0.01) ? x.toExponential(0) : x.toFixed(2));
/** "0.97 [0.91–1.03]", or the point alone with one repeat. */
export const ciText = (r: RatioCI | null): string => (!r ? '-' : r.lo === null || r.hi === null ? f2(r.mean) : `${f2(r.mean)} [${f2(r.lo)}–${f2(r.hi)}]`);
const pct = (p: number): string => `${+(p * 100).toFixed(2)} %`;
const cellOf = (g: PartialGroup, o: string) => g.cells.find((c) => c.order === o)!;

/** The report's provenance in one line: command, commit, machine, load, method. */
export function provenance(r: PartialReport): string {
  const m = r.machine;
  return `\`${r.command}\` at commit ${r.commit ?? 'unknown'}; ${m.cpus} × ${m.model}, Node ${m.node}, ${m.platform}; ` +
    `load average ${r.load_average.start[0]} at the start, ${r.load_average.end[0]} at the end; ${Math.round(r.elapsed_ms / 1000)} s`;
}

const violationsOf = (r: PartialReport): number =>
  r.groups.reduce((a, g) => a + g.cells.reduce((b, c) => b + c.violations + c.failures + c.checked.violations + c.checked.failures, 0), 0);

/** One row per group: figures, ratios with intervals, device costs, verdicts. */
export function formatPartial(r: PartialReport): string {
  const rows = r.groups.map((g) => {
    const [po, io, no] = ['partial', 'in-order', 'none'].map((o) => cellOf(g, o));
    return [
      panelKey(g), g.fault_rate, g.fault_rate === 0 ? '-' : g.fault_latency_us, `${K(po.buffers ?? g.buffers)} / ${K(io.buffers ?? g.buffers)} / ${K(no.buffers ?? g.buffers)}`,
      `${M(med(po.buffers_per_s))} / ${M(med(io.buffers_per_s))} / ${M(med(no.buffers_per_s))}`,
      ciText(g.throughput_ratio), ciText(g.p99_ratio),
      `${po.used_entries_per_buffer} / ${io.used_entries_per_buffer} / ${no.used_entries_per_buffer}`,
      `${po.interrupts_per_1000} / ${io.interrupts_per_1000} / ${no.interrupts_per_1000}`,
      g.verdict, ciText(g.checked_throughput_ratio),
      g.cells.reduce((a, c) => a + c.violations + c.checked.violations, 0),
    ];
  });
  const head = ['settings', 'p', 'L µs', 'buffers P / I / N', 'M buffers/s P / I / N', 'thr ratio [95% CI]', 'p99 ratio [95% CI]', 'used/buf P / I / N', 'irqs/1k P / I / N', 'verdict', 'checked ratio', 'viol'];
  return `${provenance(r)}\n` +
    `${r.plan.repeat} paired repeats per group (3 orderings × seed + k, back to back), ${r.plan.checked_repeat} checked run(s) per cell; ` +
    `timed runs without the live checker, throughput over each run's second half\n` +
    `P = PARTIAL_ORDER, I = IN_ORDER, N = none; thr ratio = P ÷ max(I, N), p99 ratio = P ÷ min(I, N), geometric means over the repeats\n\n` +
    table(rows, head) + '\n\n' + failedText(r) + formatDecisivePartial(r) + '\n\n' + summaryText(r);
}

/** The failed or violating runs, named (their figures are not a measurement of a working queue). */
function failedText(r: PartialReport): string {
  const notes = r.groups.flatMap((g) => g.cells.flatMap((c) => (c.failure_notes ?? []).map((n) => `${panelKey(g)} p=${g.fault_rate} L=${g.fault_latency_us}µs ${c.order}, ${n}`)));
  return notes.length ? `Runs that failed or broke a rule:\n${notes.map((n) => `  ${n}`).join('\n')}\n\n` : '';
}

/**
 * Whether the live checker turns the matrix's verdict (PARTIAL_ORDER ≥ 0.95 × the better of the
 * others) for a group: the timed runs' ratio and the checked runs' on opposite sides of 0.95. Point
 * figures both (a group has one checked run per cell by default, so no interval to compare).
 */
export const checkerTurns = (g: PartialGroup): boolean =>
  g.checked_throughput_ratio !== null && (g.throughput_ratio.mean >= 0.95) !== (g.checked_throughput_ratio.mean >= 0.95);

/** The groups that decide the answer (a verdict other than par, or one the checker turns), unchecked and checked side by side. */
export function decisivePartial(r: PartialReport): PartialGroup[] {
  return r.groups.filter((g) => g.fault_rate > 0 && (g.verdict !== 'par' || checkerTurns(g)));
}

export function formatDecisivePartial(r: PartialReport): string {
  const dec = decisivePartial(r);
  if (dec.length === 0) return 'Decisive groups: none (PARTIAL_ORDER at par everywhere, and the checker turns no ≥ 0.95 verdict).';
  const yes = (x: number | undefined): string => (x === undefined ? '-' : x >= 0.95 ? 'yes' : 'no');
  const rows = dec.map((g) => {
    const [po, io, no] = ['partial', 'in-order', 'none'].map((o) => cellOf(g, o));
    const bestU = Math.max(med(io.buffers_per_s), med(no.buffers_per_s));
    const bestC = Math.max(med(io.checked.buffers_per_s), med(no.checked.buffers_per_s));
    return [`${panelKey(g)} p=${g.fault_rate} L=${g.fault_latency_us}µs`, M(med(po.buffers_per_s)), M(bestU), ciText(g.throughput_ratio), g.verdict, yes(g.throughput_ratio.mean),
      M(med(po.checked.buffers_per_s)), M(bestC), ciText(g.checked_throughput_ratio), yes(g.checked_throughput_ratio?.mean)];
  });
  return `Decisive groups (PARTIAL_ORDER wins or stops paying, or the live checker turns "≥ 0.95 × the better"), M buffers/s, unchecked | checked:\n` +
    table(rows, ['group', 'P', 'best of I, N', 'ratio [95% CI]', 'verdict', '≥ 0.95', 'P checked', 'best checked', 'ratio checked', '≥ 0.95 checked']);
}

/** (p, L) points, each with how many panels gave it a verdict, as "p = 1 %, L = 100 µs (4 of 8)". */
function wherePoints(r: PartialReport, v: Verdict): string {
  const panels = panelsOf(r).length;
  const count = new Map<string, { p: number; l: number; n: number }>();
  for (const g of r.groups) if (g.fault_rate > 0 && g.verdict === v) {
    const k = `${g.fault_rate}/${g.fault_latency_us}`;
    const e = count.get(k) ?? { p: g.fault_rate, l: g.fault_latency_us, n: 0 };
    e.n++;
    count.set(k, e);
  }
  const es = [...count.values()].sort((a, b) => b.n - a.n || a.p - b.p || a.l - b.l);
  if (es.length === 0) return 'nowhere';
  return es.map((e) => `p = ${pct(e.p)}, L = ${e.l} µs (${e.n} of ${panels})`).join('; ');
}

const range = (xs: number[], d = 2): string => {
  const ok = xs.filter(Number.isFinite);
  if (ok.length === 0) return '-';
  const lo = Math.min(...ok), hi = Math.max(...ok);
  return lo === hi ? lo.toFixed(d) : `${lo.toFixed(d)}–${hi.toFixed(d)}`;
};

/** How the runs were sized: by time (each cell its own size) or one fixed size. */
function sizingText(r: PartialReport): string {
  const sizes = r.groups.flatMap((g) => g.cells.map((c) => c.buffers ?? g.buffers ?? NaN)).filter(Number.isFinite);
  const span = sizes.length ? `${K(Math.min(...sizes))}–${K(Math.max(...sizes))}` : '-';
  const runS = (r.plan as { run_s?: number }).run_s;
  return r.plan.buffers === null && runS !== undefined
    ? `Each cell's runs last about ${runS} s at its own steady rate (sized by untimed runs first): ${span} buffers per run.`
    : `Runs of ${span} buffers.`;
}

/** A short summary with figures, command, commit and machine: something to paste into a reply on the proposal. */
export function summaryText(r: PartialReport): string {
  const faulty = r.groups.filter((g) => g.fault_rate > 0);
  const clean = r.groups.filter((g) => g.fault_rate === 0);
  const n = (v: Verdict, gs = faulty): number => gs.filter((g) => g.verdict === v).length;
  const rates = r.plan.fault_rates.filter((p) => p > 0), lats = r.plan.fault_latencies_us;
  const p99Short = faulty.filter((g) => (g.p99_ratio.hi ?? g.p99_ratio.mean) < 1).length;
  const p99Long = faulty.filter((g) => (g.p99_ratio.lo ?? g.p99_ratio.mean) > 1).length;
  const used = (o: string, gs: PartialGroup[]): number[] => gs.map((g) => cellOf(g, o).used_entries_per_buffer);
  const irq = (o: string, gs: PartialGroup[]): number[] => gs.map((g) => cellOf(g, o).interrupts_per_1000);
  const turned = faulty.filter(checkerTurns);
  const rate = (o: string, gs: PartialGroup[]): number[] => gs.map((g) => med(cellOf(g, o).buffers_per_s) / 1e6);
  const lines = [
    `PARTIAL_ORDER against the better of IN_ORDER and no ordering feature, measured with vqlab:`,
    `${provenance(r)}.`,
    `Settings: ${r.plan.rings.join(' and ')} rings, queue sizes ${r.plan.queue_sizes.join(', ')}, batch budgets ${r.plan.budgets.join(', ')} ` +
      `(driver publish batch = device pop budget), notify ${r.plan.notify.join(', ')}; fault rate ${rates.map(pct).join(', ')} × fault latency ${lats.join(', ')} µs, and no faults. ` +
      `${sizingText(r)} ${r.plan.repeat} paired repeats per group (the three orderings with one seed, back to back), 95 % intervals on the geometric mean of the paired ratios. ` +
      `Timed runs without the live checker; every cell also ran checked: ${violationsOf(r)} violations or failed runs.`,
    `- No faults (${clean.length} settings): throughput ratio ${range(clean.map((g) => g.throughput_ratio.mean))} × (wins ${n('wins', clean)}, par ${n('par', clean)}, stops paying ${n('stops paying', clean)}); ` +
      `used entries per buffer ${range(used('partial', clean), 4)} against IN_ORDER's ${range(used('in-order', clean), 4)} and none's ${range(used('none', clean), 4)}.`,
    `- With faults (${faulty.length} groups): PARTIAL_ORDER wins (interval above 1) in ${n('wins')}, is at par in ${n('par')}, stops paying (interval below 0.95) in ${n('stops paying')}.`,
    `- Wins at: ${wherePoints(r, 'wins')}.`,
    `- Stops paying at: ${wherePoints(r, 'stops paying')}.`,
    `- p99 latency: shorter than the better of the other two (interval below 1) in ${p99Short} of ${faulty.length} groups, longer (interval above 1) in ${p99Long}.`,
    `- What a device pays, with faults: used entries per buffer PARTIAL_ORDER ${range(used('partial', faulty), 3)}, IN_ORDER ${range(used('in-order', faulty), 3)}, none ${range(used('none', faulty), 3)}; ` +
      `interrupts per 1000 buffers PARTIAL_ORDER ${range(irq('partial', faulty), 3)}, IN_ORDER ${range(irq('in-order', faulty), 3)}, none ${range(irq('none', faulty), 3)}.`,
    `- Absolute rates (medians of the timed runs, M buffers/s), with faults: PARTIAL_ORDER ${range(rate('partial', faulty))}, IN_ORDER ${range(rate('in-order', faulty))}, none ${range(rate('none', faulty))}.`,
    `- With the live checker on (${r.plan.checked_repeat} checked run per cell), "PARTIAL_ORDER ≥ 0.95 × the better" turns in ${turned.length} of ${faulty.length} groups` +
      `${turned.length ? ` (${turned.slice(0, 3).map((g) => `${panelKey(g)} p = ${pct(g.fault_rate)}, L = ${g.fault_latency_us} µs: ${f2(g.throughput_ratio.mean)} → ${f2(g.checked_throughput_ratio!.mean)}`).join('; ')}${turned.length > 3 ? '; …' : ''})` : ''}.`,
  ];
  return lines.join('\n');
}

// ---- heat maps ----

export type PartialChartKind = 'throughput' | 'p99';
export const PARTIAL_CHART_KINDS: readonly PartialChartKind[] = ['throughput', 'p99'];

/** Cells and crossover segments of every panel, flattened for one faceted vega-lite spec. */
export function partialChartRows(r: PartialReport, kind: PartialChartKind): object[] {
  const rates = r.plan.fault_rates, lats = r.plan.fault_latencies_us;
  const rows: object[] = [];
  for (const { groups } of panelsOf(r)) {
    const g0 = groups[0];
    const row = `${g0.ring} q=${g0.queue_size}${g0.notify === 'wait' ? '' : ` ${g0.notify}`}`, col = `budget ${g0.budget}`;
    for (const g of groups) {
      const xi = rates.indexOf(g.fault_rate), yi = lats.indexOf(g.fault_latency_us);
      const ratio = kind === 'throughput' ? g.throughput_ratio : g.p99_ratio;
      const v = Number.isFinite(ratio.mean) ? Math.max(-2, Math.min(2, Math.log2(ratio.mean))) : 0;
      rows.push({
        kind: 'cell', row, col, x0: xi - 0.5, x1: xi + 0.5, y0: g.fault_rate === 0 ? -0.5 : yi - 0.5, y1: g.fault_rate === 0 ? lats.length - 0.5 : yi + 0.5,
        xm: xi, ym: g.fault_rate === 0 ? (lats.length - 1) / 2 : yi, v, text: f2(ratio.mean), ci: ciText(ratio), verdict: g.verdict,
        fault_rate: g.fault_rate, latency_us: g.fault_rate === 0 ? '-' : g.fault_latency_us,
      });
    }
    for (const s of crossovers(groups, rates, lats)) rows.push({ kind: 'line', row, col, ...s });
  }
  return rows;
}

export function partialChartSpec(r: PartialReport, kind: PartialChartKind): TopLevelSpec {
  const rates = r.plan.fault_rates, lats = r.plan.fault_latencies_us;
  const rowsOf = [...new Set(panelsOf(r).map((p) => `${p.groups[0].ring} q=${p.groups[0].queue_size}${p.groups[0].notify === 'wait' ? '' : ` ${p.groups[0].notify}`}`))];
  const colsOf = [...new Set(panelsOf(r).map((p) => `budget ${p.groups[0].budget}`))];
  const x = { field: 'x0', type: 'quantitative', title: 'fault rate', scale: { domain: [-0.5, rates.length - 0.5], nice: false, zero: false },
    axis: { values: rates.map((_, i) => i), labelExpr: `${JSON.stringify(rates.map(pct))}[round(datum.value)]`, grid: false } } as const;
  const y = { field: 'y0', type: 'quantitative', title: 'fault latency (µs)', scale: { domain: [-0.5, lats.length - 0.5], nice: false, zero: false },
    axis: { values: lats.map((_, i) => i), labelExpr: `${JSON.stringify(lats.map(String))}[round(datum.value)]`, grid: false } } as const;
  const title = kind === 'throughput'
    ? 'PARTIAL_ORDER throughput ÷ max(IN_ORDER, none)'
    : 'PARTIAL_ORDER p99 latency ÷ min(IN_ORDER, none)';
  // log2 of the ratio, clamped to ¼..4; blue is PARTIAL_ORDER better in both figures.
  const color = { field: 'v', type: 'quantitative', title: 'ratio', scale: { scheme: 'redblue', domain: [-2, 2], reverse: kind === 'p99' },
    legend: { values: [-2, -1, 0, 1, 2], labelExpr: "['¼','½','1','2','4'][datum.value + 2]" } } as const;
  const layer: object[] = [
    { transform: [{ filter: "datum.kind === 'cell'" }], mark: { type: 'rect', stroke: '#fff', strokeWidth: 0.5 },
      encoding: { x, x2: { field: 'x1' }, y, y2: { field: 'y1' }, color,
        tooltip: [{ field: 'fault_rate' }, { field: 'latency_us' }, { field: 'ci', title: 'ratio [95% CI]' }, { field: 'verdict' }] } },
    { transform: [{ filter: "datum.kind === 'cell'" }], mark: { type: 'text', fontSize: 9 },
      encoding: { x: { field: 'xm', type: 'quantitative' }, y: { field: 'ym', type: 'quantitative' }, text: { field: 'text' } } },
    { transform: [{ filter: "datum.kind === 'line'" }], mark: { type: 'rule', strokeWidth: 2.5 },
      encoding: { x: { field: 'x0', type: 'quantitative' }, x2: { field: 'x1' }, y: { field: 'y0', type: 'quantitative' }, y2: { field: 'y1' },
        strokeDash: { field: 'line', type: 'nominal', title: 'crossover', scale: { domain: ['stops paying', 'starts winning'], range: [[4, 2], [1, 0]] } },
        stroke: { field: 'line', type: 'nominal', title: 'crossover', scale: { domain: ['stops paying', 'starts winning'], range: ['#000', '#2ca02c'] } } } },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}; commit ${r.commit ?? 'unknown'}; ${r.plan.repeat} paired repeats; lines: where PARTIAL_ORDER stops paying (throughput interval below 0.95) and starts winning (above 1)`, anchor: 'start' },
    data: { values: partialChartRows(r, kind) },
    facet: { row: { field: 'row', type: 'nominal', title: null, sort: rowsOf }, column: { field: 'col', type: 'nominal', title: null, sort: colsOf } },
    spec: { width: 46 * rates.length, height: 26 * lats.length, layer },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
  } as unknown as TopLevelSpec;
}

export async function partialCharts(r: PartialReport): Promise<Record<PartialChartKind, string>> {
  const out = {} as Record<PartialChartKind, string>;
  for (const k of PARTIAL_CHART_KINDS) out[k] = await renderSvg(partialChartSpec(r, k));
  return out;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A self-contained page: both heat maps inline, the summary, the tables. Nothing is fetched. */
export async function partialHtml(r: PartialReport): Promise<string> {
  const svgs = await partialCharts(r);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vqlab bench --question partial</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1400px}pre{font-size:12px;overflow-x:auto;background:#f7f7f7;padding:1em;white-space:pre-wrap}figure{margin:1.5em 0}</style>
</head><body>
<h1>Where PARTIAL_ORDER pays</h1>
<pre>${esc(summaryText(r))}</pre>
${PARTIAL_CHART_KINDS.map((k) => `<figure id="${k}">\n${svgs[k]}\n</figure>`).join('\n')}
<h2>Every group</h2>
<pre>${esc(formatPartial(r))}</pre>
</body></html>
`;
}

/** `--chart x.svg` writes x-throughput.svg and x-p99.svg; `.html` one page. */
export function partialChartPaths(file: string): { html: string } | { svg: Record<PartialChartKind, string> } {
  if (/\.svg$/i.test(file)) {
    const stem = file.replace(/\.svg$/i, '');
    return { svg: { throughput: `${stem}-throughput.svg`, p99: `${stem}-p99.svg` } };
  }
  return { html: file };
}
