/** `vqlab bench`: the throughput / latency matrix with the machine's ceiling and ringbuf.js in the same run. */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decisiveGroups, FULL_PLAN, partialGroups, QUICK_PLAN, runBench, targets, timingText, type BenchPlan, type BenchReport } from '../bench/matrix.js';
import { DEFAULT_CONFIG, validateConfig } from '../harness/config.js';
import { benchCharts, benchHtml, chartPaths, CHART_KINDS, ChartsUnavailableError, loadChartLibs } from '../bench/charts.js';
import { checkWritable, choice, EXIT_VIOLATION, floatArg, fromJsonKeys, intArg, listArg, orderArg, printJson, showProgress, table, toJsonKeys, UsageError } from './common.js';
import { checkFormat, formatStamp } from '../version.js';
import { PARTIAL_PLAN, PARTIAL_QUICK_PLAN, runPartial, type PartialPlan, type PartialReport } from '../bench/partial.js';
import { formatPartial, PARTIAL_CHART_KINDS, partialChartPaths, partialCharts, partialHtml } from '../bench/partial-report.js';

/** Write the charts of a report: `.html` one self-contained page, `.svg` one file per figure. */
export async function writeCharts(r: BenchReport, files: string[]): Promise<string[]> {
  const written: string[] = [];
  for (const f of files) {
    const p = chartPaths(f);
    if ('html' in p) {
      writeFileSync(p.html, await benchHtml(r, formatBench(r)));
      written.push(p.html);
    } else {
      const svgs = await benchCharts(r);
      for (const k of CHART_KINDS) { writeFileSync(p.svg[k], svgs[k]); written.push(p.svg[k]); }
    }
  }
  return written;
}

/** Checks every output path (and that the chart libraries are there) before anything runs. */
async function checkOutputs(o: BenchOptions): Promise<void> {
  if (o.out) {
    if (!/\.json$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the report is JSON; name it *.json`);
    checkWritable('--out', o.out);
  }
  for (const f of o.chart) {
    if (!/\.(html?|svg)$/i.test(f)) throw new UsageError(`--chart ${f}: charts are written as .html (one self-contained page) or .svg (one file per figure); other formats are not supported`);
    const p = chartPaths(f);
    for (const file of 'html' in p ? [p.html] : Object.values(p.svg)) checkWritable('--chart', file);
  }
  if (o.chart.length > 0) {
    try { await loadChartLibs(); } catch (e) { if (e instanceof ChartsUnavailableError) throw new UsageError(`--chart: ${e.message}`); throw e; }
  }
}

/**
 * Write the report (--out) and the charts (--chart) after a run, never losing the run: a write
 * that fails is reported (and the JSON report saved to a temporary file instead), and the caller
 * still prints the table. Returns false when something could not be written.
 */
export async function writeOutputs(r: BenchReport, o: BenchOptions, ran: boolean): Promise<boolean> {
  let ok = true;
  const report = JSON.stringify(toJsonKeys(benchJson(r)), null, 2) + '\n';
  if (o.out) {
    try {
      writeFileSync(o.out, report);
      process.stderr.write(`vqlab: wrote the report to ${o.out}\n`);
    } catch (e) {
      ok = false;
      process.stderr.write(`vqlab: could not write --out ${o.out}: ${(e as Error).message}\n`);
    }
  }
  for (const f of o.chart) {
    try {
      for (const w of await writeCharts(r, [f])) process.stderr.write(`vqlab: wrote chart ${w}\n`);
    } catch (e) {
      ok = false;
      process.stderr.write(`vqlab: could not write --chart ${f}: ${(e as Error).message}\n`);
    }
  }
  if (!ok && ran && !o.json) {
    // The run's figures exist only in memory: keep them somewhere rather than lose the run.
    try {
      const keep = join(mkdtempSync(join(tmpdir(), 'vqlab-bench-')), 'report.json');
      writeFileSync(keep, report);
      process.stderr.write(`vqlab: the JSON report was saved to ${keep} (chart it later with: vqlab bench --from ${keep} --chart <file>)\n`);
    } catch { /* the table below is all that is left */ }
  }
  return ok;
}

/** The report as `--json` prints it and `--out` writes it: format stamp, figures, targets. */
const benchJson = (r: BenchReport): object => ({ ...formatStamp('vqlab-bench'), ...r, targets: targets(r) });

/** A saved report for --from: JSON of this format kind, or one line of usage error. */
function readSaved(file: string, kind: 'vqlab-bench' | 'vqlab-bench-partial'): unknown {
  let r: unknown;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--from ${file}: ${(e as Error).message}`);
  }
  checkFormat(r, [kind], `--from ${file}`);
  return r;
}

function readReport(file: string): BenchReport {
  const r = readSaved(file, 'vqlab-bench') as BenchReport;
  if (!r || !Array.isArray(r.cells) || !r.peers || !r.plan || !r.machine) throw new UsageError(`--from ${file}: not a vqlab bench report (--json / --out)`);
  // The plan and each cell's configuration are written in snake_case (older reports: camelCase).
  return { ...r, plan: fromJsonKeys(r.plan), cells: r.cells.map((c) => ({ ...c, config: fromJsonKeys(c.config) })) };
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('end-to-end matrix (ring × order × fault rate × latency × queue size × notify) in real worker threads,\nwith an index-only SPSC ceiling, an Atomics ping-pong and ringbuf.js measured in the same run')
    .option('--quick', 'a CI-sized subset (under a minute)')
    .option('--repeat <n>', 'runs per cell (medians and min–max are reported)', intArg('--repeat', 1, 100))
    .option('--checked-repeat <n>', 'checked runs per cell (timed runs go without the live checker; these, same configuration and seed, give the verdict)', intArg('--checked-repeat', 1, 100))
    .option('--buffers <n>', 'buffers per run (--question partial: one size for every cell instead of sizing each by --run-s)', intArg('--buffers', 1000, Number.MAX_SAFE_INTEGER))
    .option('--run-s <s>', '--question partial: seconds each run lasts at its cell\'s steady rate (runs are sized by untimed runs first; default 0.3, --quick 0.05)', floatArg('--run-s', 0.001, 3600))
    .option('--peer-messages <n>', 'messages per peer run (ping-pong: a twentieth as many round trips)', intArg('--peer-messages', 1000, Number.MAX_SAFE_INTEGER))
    .option('--seed <n>', 'seed (run k of a cell uses seed + k)', intArg('--seed', 0, 0xffffffff), 1)
    .option('--json', 'print the whole report as JSON')
    .option('--quiet', 'no progress output on stderr')
    .option('--out <file.json>', 'also write the JSON report to this file (checked before the run)')
    .addOption(new Option('--chart <file>', 'also write charts: a self-contained .html page, or .svg (one file per figure: <stem>-throughput/-p99/-used.svg); repeatable; needs the optional packages vega and vega-lite')
      .argParser((v: string, prev: string[]) => [...prev, v]).default([], 'none'))
    .option('--from <report.json>', 'do not run: read a report written by --out (or --json) and print / chart it')
    // Narrowing the matrix: each list replaces that axis of the quick or full plan.
    .addOption(new Option('--question <name>', 'a named profile answering one question instead of the matrix: partial = where PARTIAL_ORDER pays (ratio heat maps over fault rate × latency × queue size × batch budget)').choices(['partial']))
    .option('--budgets <list>', '--question partial: only these batch budgets (driver publish batch = device pop budget), e.g. 16,64', listArg('--budgets', intArg('--budgets', 1, 65536)))
    .option('--rings <list>', 'only these rings: split,packed', listArg('--rings', choice('--rings', ['split', 'packed'] as const)))
    .option('--orders <list>', 'only these orderings: none,in-order,partial,in-order+partial (+ joins both features: IN_ORDER rules, FLUSH defined; the PARTIAL_ORDER targets need none, in-order and partial)', listArg('--orders', orderArg('--orders items', '+')))
    .option('--fault-rates <list>', 'only these fault rates, e.g. 0,0.001', listArg('--fault-rates', floatArg('--fault-rates', 0, 1)))
    .option('--fault-latencies-us <list>', 'only these fault latencies (µs), e.g. 10', listArg('--fault-latencies-us', floatArg('--fault-latencies-us', 0, 10_000_000)))
    .option('--queue-sizes <list>', 'only these queue sizes, e.g. 256', listArg('--queue-sizes', intArg('--queue-sizes', 1, 32768)))
    .option('--notify <list>', 'only these notify modes: poll,wait', listArg('--notify', choice('--notify', ['poll', 'wait'] as const)))
    .addHelpText('after', '\nNarrow the matrix with the list options, e.g. the split ring at p = 0.001 only:\n  vqlab bench --rings split --fault-rates 0,0.001 --fault-latencies-us 10 --queue-sizes 256 --notify poll\nThe peers and the extras (checker off, wait) run in every pass either way.')
    .action(async (o: BenchOptions) => {
      if (o.question === 'partial') return partialAction(o);
      if (o.budgets) throw new UsageError('--budgets: only with --question partial (the matrix runs the default batch budget)');
      if (o.runS !== undefined) throw new UsageError('--run-s: only with --question partial (the matrix runs --buffers per run)');
      if (o.from !== undefined) {
        const r = readReport(o.from);
        await checkOutputs({ ...o, out: '' });
        const wrote = await writeOutputs(r, { ...o, out: '' }, false);
        if (o.json) printJson(benchJson(r));
        else process.stdout.write(formatBench(r) + '\n');
        if (!wrote) process.exitCode = EXIT_VIOLATION;
        return;
      }
      const plan = planOf(o);
      await checkOutputs(o);
      const bar = showProgress(o.quiet) ? new cliProgress.SingleBar({ format: 'bench [{bar}] {value}/{total} {what}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      // Without a terminal (CI, nohup, a pipe): one plain line on stderr at most every 15 s.
      const t0 = Date.now();
      let lastLine = t0;
      const r = await runBench(plan, (done, total, what) => {
        if (o.quiet) return;
        if (!bar) {
          const now = Date.now();
          if (now - lastLine >= 15_000 || done === total) {
            lastLine = now;
            process.stderr.write(`bench: ${done}/${total} runs, ${Math.round((now - t0) / 1000)} s: ${what}\n`);
          }
          return;
        }
        if (!started) { bar.start(total, done, { what }); started = true; } else bar.update(done, { what });
      });
      bar?.stop();
      const wrote = await writeOutputs(r, o, true);
      if (o.json) printJson(benchJson(r));
      else process.stdout.write(formatBench(r) + '\n');
      const bad = r.cells.filter((c) => c.violations > 0);
      if (bad.length > 0) {
        process.stderr.write(`vqlab: ${bad.length} cell(s) had violations (${bad.map((c) => c.label).join('; ')}): their figures measure broken runs\n`);
      }
      if (bad.length > 0 || !wrote) process.exitCode = EXIT_VIOLATION;
    });
}

interface BenchOptions {
  question?: 'partial'; budgets?: number[]; runS?: number;
  quick: boolean; quiet: boolean; repeat?: number; checkedRepeat?: number; buffers?: number; peerMessages?: number; seed: number; json: boolean; out: string; chart: string[]; from?: string;
  rings?: BenchPlan['rings']; orders?: BenchPlan['orders']; faultRates?: number[]; faultLatenciesUs?: number[]; queueSizes?: number[]; notify?: BenchPlan['notify'];
}

/** The quick or full plan with the options' overrides; every cell's configuration checked before anything runs. */
function planOf(o: BenchOptions): BenchPlan {
  const plan: BenchPlan = { ...(o.quick ? QUICK_PLAN : FULL_PLAN), seed: o.seed };
  if (o.repeat !== undefined) plan.repeat = o.repeat;
  if (o.checkedRepeat !== undefined) plan.checkedRepeat = o.checkedRepeat;
  if (o.buffers !== undefined) plan.buffers = o.buffers;
  if (o.peerMessages !== undefined) plan.peerMessages = o.peerMessages;
  if (o.rings) plan.rings = o.rings;
  if (o.orders) plan.orders = o.orders;
  if (o.faultRates) plan.faultRates = o.faultRates;
  if (o.faultLatenciesUs) plan.faultLatenciesUs = o.faultLatenciesUs;
  if (o.queueSizes) plan.queueSizes = o.queueSizes;
  if (o.notify) plan.notify = o.notify;
  // A queue size one ring refuses (split: powers of two) is a usage error now, not a failed cell later.
  for (const ring of plan.rings) for (const queueSize of plan.queueSizes) {
    try { validateConfig({ ...DEFAULT_CONFIG, ring, queueSize, buffers: plan.buffers }, 'cli'); } catch (e) { throw new UsageError(`--queue-sizes: ${(e as Error).message} (ring ${ring})`); }
  }
  return plan;
}

const M = (x: number): string => (x / 1e6).toFixed(2);

export function formatBench(r: BenchReport): string {
  const p = r.peers;
  const basis = r.throughput_basis === 'second-half' ? 'throughput over each run\'s second half (start-up and JIT warm-up excluded; whole runs in the JSON)' : 'throughput over whole runs';
  let s = `machine: ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}; ${r.plan.repeat} runs per cell of ${r.plan.buffers} buffers, medians [min–max]; ${basis}\n`;
  s += `timing: ${timingText(r)}${r.timing === 'unchecked' ? ` (${r.plan.checkedRepeat ?? 1} per cell)` : ''}\n\n`;
  s += table([
    ['index-only SPSC, publish every message', `${M(p.spsc.per_s.median)} M msg/s [${M(p.spsc.per_s.min)}–${M(p.spsc.per_s.max)}]`],
    ['index-only SPSC, publish every 32 (ceiling)', `${M(p['spsc-batch32'].per_s.median)} M msg/s [${M(p['spsc-batch32'].per_s.min)}–${M(p['spsc-batch32'].per_s.max)}]`],
    ['ringbuf.js 0.4.0', `${M(p.ringbuf.per_s.median)} M msg/s [${M(p.ringbuf.per_s.min)}–${M(p.ringbuf.per_s.max)}]`],
    ['Atomics ping-pong', `${M(p.pingpong.per_s.median)} M round trips/s`],
  ], ['peer (16-byte messages, two workers)', 'throughput']) + '\n\n';
  s += table(r.cells.map((c) => [c.label, `${M(c.buffers_per_s.median)} [${M(c.buffers_per_s.min)}–${M(c.buffers_per_s.max)}]`, c.of_ceiling, c.vs_ringbuf, c.latency_p50_us, c.latency_p99_us, c.used_entries_per_buffer, c.kicks_per_1000, c.interrupts_per_1000, c.stall_ms, c.violations]),
    ['cell', 'M buffers/s', '× ceiling', '× ringbuf', 'p50 µs', 'p99 µs', 'used/buf', 'kicks/1k', 'irqs/1k', 'stall ms', 'viol']) + '\n\n';
  if (r.timing === 'unchecked') s += formatDecisive(r) + '\n\n';
  s += table(targets(r).map((t) => [t.met === null ? '?' : t.met ? 'met' : 'MISSED', t.target, t.value]), ['', 'target', 'measured']);
  return s;
}

/** The groups that decide the PARTIAL_ORDER verdict, timed (unchecked) and checked side by side. */
export function formatDecisive(r: BenchReport): string {
  const all = partialGroups(r);
  const dec = decisiveGroups(r);
  const head = `PARTIAL_ORDER ≥ 0.95 × max(IN_ORDER, none): ${all.filter((g) => g.ratio >= 0.95).length} of ${all.length} groups unchecked, ` +
    `${all.filter((g) => g.checked && g.checked.ratio >= 0.95).length} of ${all.filter((g) => g.checked).length} checked`;
  if (dec.length === 0) return `${head}; no group misses it in either view`;
  const pr = (p: { median: number; min: number; max: number } | null): string => (p ? `${p.median.toFixed(2)} [${p.min.toFixed(2)}–${p.max.toFixed(2)}]` : '-');
  return `${head}; the groups that decide it (a miss in either view), M buffers/s:\n` + table(dec.map((g) => [
    g.key, M(g.po.buffers_per_s.median), M(Math.max(g.io.buffers_per_s.median, g.no.buffers_per_s.median)), g.ratio.toFixed(2), pr(g.paired),
    g.checked ? M(g.checked.po) : '-', g.checked ? M(g.checked.best) : '-', g.checked ? g.checked.ratio.toFixed(2) : '-', g.checked ? pr(g.checked.paired) : '-',
  ]), ['group', 'partial', 'best other', 'ratio', 'paired', 'partial checked', 'best checked', 'ratio checked', 'paired checked']);
}

/** The PARTIAL_ORDER profile: its plan from --quick and the list options, every run's configuration checked first. */
function partialPlanOf(o: BenchOptions): PartialPlan {
  if (o.orders) throw new UsageError('--orders: --question partial always runs none, in-order and partial (it compares them)');
  if (o.peerMessages !== undefined) throw new UsageError('--peer-messages: --question partial runs no peers');
  const plan: PartialPlan = { ...(o.quick ? PARTIAL_QUICK_PLAN : PARTIAL_PLAN), seed: o.seed };
  if (o.repeat !== undefined) plan.repeat = o.repeat;
  if (o.checkedRepeat !== undefined) plan.checked_repeat = o.checkedRepeat;
  if (o.buffers !== undefined) plan.buffers = o.buffers;
  if (o.runS !== undefined) {
    if (o.buffers !== undefined) throw new UsageError('--run-s: runs are sized by time or by --buffers, not both');
    plan.run_s = o.runS;
  }
  if (o.rings) plan.rings = o.rings;
  if (o.faultRates) plan.fault_rates = [...o.faultRates].sort((a, b) => a - b);
  if (o.faultLatenciesUs) plan.fault_latencies_us = [...o.faultLatenciesUs].sort((a, b) => a - b);
  if (o.queueSizes) plan.queue_sizes = o.queueSizes;
  if (o.budgets) plan.budgets = o.budgets;
  if (o.notify) plan.notify = o.notify;
  for (const ring of plan.rings) for (const queueSize of plan.queue_sizes) for (const b of plan.budgets) {
    try { validateConfig({ ...DEFAULT_CONFIG, ring, queueSize, publishBatch: b, popBudget: b, buffers: plan.buffers ?? plan.min_buffers }, 'cli'); } catch (e) { throw new UsageError(`--queue-sizes / --budgets: ${(e as Error).message} (ring ${ring})`); }
  }
  return plan;
}

function readPartial(file: string): PartialReport {
  const r = readSaved(file, 'vqlab-bench-partial') as PartialReport;
  if (!r || r.question !== 'partial' || !Array.isArray(r.groups) || !r.plan || !r.machine) throw new UsageError(`--from ${file}: not a vqlab bench --question partial report`);
  return r;
}

async function partialAction(o: BenchOptions): Promise<void> {
  for (const f of o.chart) if (!/\.(html?|svg)$/i.test(f)) throw new UsageError(`--chart ${f}: charts are written as .html (one self-contained page) or .svg (<stem>-throughput.svg, <stem>-p99.svg)`);
  const r = o.from !== undefined ? readPartial(o.from) : null;
  const plan = r ? null : partialPlanOf(o);
  if (o.out) {
    if (!/\.json$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the report is JSON; name it *.json`);
    checkWritable('--out', o.out);
  }
  for (const f of o.chart) {
    const p = partialChartPaths(f);
    for (const file of 'html' in p ? [p.html] : Object.values(p.svg)) checkWritable('--chart', file);
  }
  if (o.chart.length > 0) {
    try { await loadChartLibs(); } catch (e) { if (e instanceof ChartsUnavailableError) throw new UsageError(`--chart: ${e.message}`); throw e; }
  }
  let report = r;
  if (!report) {
    const t0 = Date.now();
    let last = t0;
    report = await runPartial(plan!, (done, total, what) => {
      if (o.quiet) return;
      const now = Date.now();
      if (now - last >= 15_000 || done === total) {
        last = now;
        process.stderr.write(`bench --question partial: ${done}/${total} runs, ${Math.round((now - t0) / 1000)} s: ${what}\n`);
      }
    });
  }
  const doc = { ...formatStamp('vqlab-bench-partial'), ...report };
  let ok = true;
  if (o.out) {
    try { writeFileSync(o.out, JSON.stringify(doc, null, 2) + '\n'); process.stderr.write(`vqlab: wrote the report to ${o.out}\n`); } catch (e) { ok = false; process.stderr.write(`vqlab: could not write --out ${o.out}: ${(e as Error).message}\n`); }
  }
  for (const f of o.chart) {
    try {
      const p = partialChartPaths(f);
      if ('html' in p) { writeFileSync(p.html, await partialHtml(report)); process.stderr.write(`vqlab: wrote chart ${p.html}\n`); } else {
        const svgs = await partialCharts(report);
        for (const k of PARTIAL_CHART_KINDS) { writeFileSync(p.svg[k], svgs[k]); process.stderr.write(`vqlab: wrote chart ${p.svg[k]}\n`); }
      }
    } catch (e) { ok = false; process.stderr.write(`vqlab: could not write --chart ${f}: ${(e as Error).message}\n`); }
  }
  if (o.json) printJson(doc);
  else process.stdout.write(formatPartial(report) + '\n');
  const bad = report.groups.filter((g) => g.cells.some((c) => c.violations + c.failures + c.checked.violations + c.checked.failures > 0));
  if (bad.length > 0) process.stderr.write(`vqlab: ${bad.length} group(s) had violations or failed runs: their figures measure broken runs\n`);
  if (bad.length > 0 || !ok) process.exitCode = EXIT_VIOLATION;
}
