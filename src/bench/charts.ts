/**
 * Charts of a `vqlab bench` report: vega-lite specs compiled to vega and rendered to SVG on the
 * server (`renderer: 'none'`, no browser, no canvas), and a self-contained HTML page that inlines
 * them with the report's tables — nothing is fetched when it is viewed.
 *
 * Three figures, each one panel per ring (columns) and, when the plan has more than one, one row
 * per setting (queue size, notify mode, fault latency), with the orderings as coloured series over
 * the fault rates:
 *   - throughput: median buffers/s with min–max error bars;
 *   - p99 latency (log scale);
 *   - used entries written per buffer (log scale; batching efficiency).
 *
 * vega and vega-lite are optional dependencies, imported only when a chart is drawn: every other
 * command starts without them (they are most of the installed packages and ~0.3 s of start-up).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BenchReport, CellResult } from './matrix.js';

export type ChartKind = 'throughput' | 'p99' | 'used';
export const CHART_KINDS: readonly ChartKind[] = ['throughput', 'p99', 'used'];

/** One point of a series: a cell of the matrix, flattened for vega-lite. */
export interface ChartRow {
  ring: string;
  order: string;
  fault_rate: string;
  /** Position on the x axis: the fault rate's index among the plan's rates, nudged per order so error bars do not overlap. */
  x: number;
  setting: string;
  mbps: number;
  mbps_min: number;
  mbps_max: number;
  p99_us: number;
  used_per_buffer: number;
}

const ORDER_LABEL: Record<string, string> = { none: 'none', 'in-order': 'IN_ORDER', partial: 'PARTIAL_ORDER', 'in-order,partial': 'IN_ORDER+PARTIAL_ORDER' };
const ORDER_DOMAIN = ['none', 'IN_ORDER', 'PARTIAL_ORDER', 'IN_ORDER+PARTIAL_ORDER'];

const settingOf = (c: CellResult, latency: number | undefined): string =>
  `q=${c.config.queueSize} ${c.config.notify}${latency === undefined ? '' : ` L=${latency}µs`}`;

/**
 * The matrix cells as chart rows. The extra cells (checker off, wait next to poll) are not part of
 * the sweep and stay out. Without faults the fault latency is moot, so the matrix runs a fault-rate-0
 * cell once per setting; it is the first point of every latency's series.
 */
export function chartRows(r: BenchReport): ChartRow[] {
  const inSweep = (c: CellResult): boolean =>
    c.config.check !== false && r.plan.notify.includes(c.config.notify ?? 'poll');
  const cells = r.cells.filter(inSweep);
  const latencies = [...new Set(cells.map((c) => c.config.faultLatencyUs ?? 0))].sort((a, b) => a - b);
  const withLatency = latencies.length > 1;
  const rates = [...new Set(cells.map((c) => c.config.faultRate ?? 0))].sort((a, b) => a - b);
  const rows: ChartRow[] = [];
  const push = (c: CellResult, latency: number | undefined): void => {
    const order = ORDER_LABEL[c.config.order ?? ''] ?? String(c.config.order);
    const nudge = ORDER_DOMAIN.includes(order) ? (ORDER_DOMAIN.indexOf(order) - 1) * 0.08 : 0;
    rows.push({
      ring: c.config.ring ?? '?', order, fault_rate: String(c.config.faultRate), x: rates.indexOf(c.config.faultRate ?? 0) + nudge,
      setting: settingOf(c, latency),
      mbps: c.buffers_per_s.median / 1e6, mbps_min: c.buffers_per_s.min / 1e6, mbps_max: c.buffers_per_s.max / 1e6,
      p99_us: c.latency_p99_us, used_per_buffer: c.used_entries_per_buffer,
    });
  };
  for (const c of cells) {
    if (!withLatency) push(c, undefined);
    else if (c.config.faultRate === 0) for (const l of latencies) push(c, l);
    else push(c, c.config.faultLatencyUs);
  }
  return rows;
}

const TITLE: Record<ChartKind, string> = {
  throughput: 'Throughput vs fault rate (median, min–max over runs)',
  p99: 'p99 latency vs fault rate',
  used: 'Used entries written per buffer vs fault rate (batching)',
};

/** The vega-lite spec of one figure over the given rows. */
export function chartSpec(kind: ChartKind, rows: ChartRow[], subtitle = ''): TopLevelSpec {
  // The fault rates are the plan's few discrete values (0 among them, so no log scale): equally
  // spaced positions on a numeric axis labelled with the rates.
  const rates = [...new Set(rows.map((r) => Number(r.fault_rate)))].sort((a, b) => a - b).map(String);
  const settings = [...new Set(rows.map((r) => r.setting))];
  const rings = ['split', 'packed'].filter((k) => rows.some((r) => r.ring === k));
  const x = {
    field: 'x', type: 'quantitative', title: 'fault rate', scale: { domain: [-0.4, rates.length - 0.6], nice: false, zero: false },
    axis: { values: rates.map((_, i) => i), labelExpr: `${JSON.stringify(rates)}[round(datum.value)]`, grid: false },
  } as const;
  const color = { field: 'order', type: 'nominal', title: 'order', scale: { domain: ORDER_DOMAIN, range: ['#7f7f7f', '#1f77b4', '#d62728', '#2ca02c'] } } as const;
  const y = kind === 'throughput'
    ? { field: 'mbps', type: 'quantitative', title: 'M buffers/s', scale: { zero: true } } as const
    : kind === 'p99'
      ? { field: 'p99_us', type: 'quantitative', title: 'p99 latency (µs)', scale: { type: 'log' } } as const
      : { field: 'used_per_buffer', type: 'quantitative', title: 'used entries / buffer', scale: { type: 'log' } } as const;
  const tooltip = [{ field: 'order' }, { field: 'fault_rate' }, { field: y.field, type: 'quantitative', format: '.4~g' }];
  const layer: object[] = [
    { mark: { type: 'line', point: { filled: true, size: 36 }, strokeWidth: 1.5 }, encoding: { x, y, color, tooltip } },
  ];
  if (kind === 'throughput') {
    layer.push({
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: { x, y: { field: 'mbps_min', type: 'quantitative' }, y2: { field: 'mbps_max' }, color },
    });
  }
  const facet = settings.length > 1
    ? { column: { field: 'ring', type: 'nominal', title: 'ring', sort: rings }, row: { field: 'setting', type: 'nominal', title: null, sort: settings } }
    : { column: { field: 'ring', type: 'nominal', title: null, sort: rings, header: { labelExpr: `datum.value + ' ring · ${settings[0] ?? ''}'`, labelFontSize: 12 } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: TITLE[kind], subtitle: subtitle || undefined, anchor: 'start' },
    data: { values: rows },
    facet,
    spec: { width: 240, height: 150, layer },
    resolve: { scale: { y: kind === 'throughput' ? 'independent' : 'shared' } },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { grid: true, gridColor: '#eee' } },
  } as unknown as TopLevelSpec;
}

/** Thrown when vega / vega-lite are not installed (they are optional dependencies). */
export class ChartsUnavailableError extends Error {}

let chartLibs: Promise<{ vega: typeof import('vega'); compile: typeof import('vega-lite').compile }> | null = null;

/** vega and vega-lite, imported on first use; a ChartsUnavailableError naming them when absent. */
export function loadChartLibs(): Promise<{ vega: typeof import('vega'); compile: typeof import('vega-lite').compile }> {
  chartLibs ??= (async () => {
    try {
      const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
      return { vega, compile: vl.compile };
    } catch (e) {
      chartLibs = null;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new ChartsUnavailableError('charts need the optional packages vega and vega-lite, which are not installed (npm install vega vega-lite)');
      }
      throw e;
    }
  })();
  return chartLibs;
}

/** Render a vega-lite spec to an SVG string in this process (no browser, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, compile } = await loadChartLibs();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const subtitleOf = (r: BenchReport): string =>
  `${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}; ${r.plan.repeat} runs per cell of ${r.plan.buffers} buffers; ` +
  (r.throughput_basis === 'second-half' ? 'throughput over each run\'s second half' : 'throughput over whole runs');

/** The three figures of a report as SVG strings. */
export async function benchCharts(r: BenchReport): Promise<Record<ChartKind, string>> {
  const rows = chartRows(r);
  const out = {} as Record<ChartKind, string>;
  for (const k of CHART_KINDS) out[k] = await renderSvg(chartSpec(k, rows, subtitleOf(r)));
  return out;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A self-contained HTML page: the figures inline, then the text report (tables and targets). */
export async function benchHtml(r: BenchReport, text: string): Promise<string> {
  const svgs = await benchCharts(r);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vqlab bench</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1400px}pre{font-size:12px;overflow-x:auto;background:#f7f7f7;padding:1em}figure{margin:1.5em 0}</style>
</head><body>
<h1>vqlab bench</h1>
<p><code>${esc(r.command)}</code> — ${esc(subtitleOf(r))}; ${esc(r.machine.platform)}; ${(r.elapsed_ms / 1000).toFixed(0)} s.</p>
${CHART_KINDS.map((k) => `<figure id="${k}">\n${svgs[k]}\n</figure>`).join('\n')}
<h2>Report</h2>
<pre>${esc(text)}</pre>
</body></html>
`;
}

/**
 * Where `--chart <file>` writes: a `.html` file is the self-contained page; a `.svg` name is a stem,
 * one file per figure (`full.svg` → `full-throughput.svg`, `full-p99.svg`, `full-used.svg`).
 */
export function chartPaths(file: string): { html: string } | { svg: Record<ChartKind, string> } {
  if (/\.svg$/i.test(file)) {
    const stem = file.replace(/\.svg$/i, '');
    return { svg: { throughput: `${stem}-throughput.svg`, p99: `${stem}-p99.svg`, used: `${stem}-used.svg` } };
  }
  return { html: file };
}
