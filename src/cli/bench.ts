/** `vqlab bench`: the throughput / latency matrix with the machine's ceiling and ringbuf.js in the same run. */
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { readFileSync, writeFileSync } from 'node:fs';
import { FULL_PLAN, QUICK_PLAN, runBench, targets, type BenchPlan, type BenchReport } from '../bench/matrix.js';
import { DEFAULT_CONFIG, validateConfig } from '../harness/config.js';
import { benchCharts, benchHtml, chartPaths, CHART_KINDS } from '../bench/charts.js';
import { choice, floatArg, intArg, listArg, printJson, table, UsageError } from './common.js';

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

function readReport(file: string): BenchReport {
  let r: BenchReport;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  } catch (e) {
    throw new UsageError(`--from ${file}: ${(e as Error).message}`);
  }
  if (!r || !Array.isArray(r.cells) || !r.peers || !r.plan || !r.machine) throw new UsageError(`--from ${file}: not a vqlab bench report (--json / --out)`);
  return r;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('end-to-end matrix (ring × order × fault rate × latency × queue size × notify) in real worker threads,\nwith an index-only SPSC ceiling, an Atomics ping-pong and ringbuf.js measured in the same run')
    .option('--quick', 'a CI-sized subset (under a minute)', false)
    .option('--repeat <n>', 'runs per cell (medians and min–max are reported)', intArg('--repeat', 1, 100))
    .option('--buffers <n>', 'buffers per run', intArg('--buffers', 1000, Number.MAX_SAFE_INTEGER))
    .option('--seed <n>', 'seed (run k of a cell uses seed + k)', intArg('--seed', 0, 0xffffffff), 1)
    .option('--json', 'print the whole report as JSON', false)
    .option('--out <file>', 'also write the JSON report to a file', '')
    .option('--chart <file>', 'also write charts: a self-contained .html page, or .svg (one file per figure: <stem>-throughput/-p99/-used.svg); repeatable',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--from <report.json>', 'do not run: read a report written by --out (or --json) and print / chart it')
    // Narrowing the matrix: each list replaces that axis of the quick or full plan.
    .option('--rings <list>', 'only these rings: split,packed', listArg('--rings', choice('--rings', ['split', 'packed'] as const)))
    .option('--orders <list>', 'only these orderings: none,in-order,partial (the PARTIAL_ORDER targets need all three)', listArg('--orders', choice('--orders', ['none', 'in-order', 'partial'] as const)))
    .option('--fault-rates <list>', 'only these fault rates, e.g. 0,0.001', listArg('--fault-rates', floatArg('--fault-rates', 0, 1)))
    .option('--fault-latencies-us <list>', 'only these fault latencies (µs), e.g. 10', listArg('--fault-latencies-us', floatArg('--fault-latencies-us', 0, 10_000_000)))
    .option('--queue-sizes <list>', 'only these queue sizes, e.g. 256', listArg('--queue-sizes', intArg('--queue-sizes', 1, 32768)))
    .option('--notify <list>', 'only these notify modes: poll,wait', listArg('--notify', choice('--notify', ['poll', 'wait'] as const)))
    .addHelpText('after', '\nNarrow the matrix with the list options, e.g. the split ring at p = 0.001 only:\n  vqlab bench --rings split --fault-rates 0,0.001 --fault-latencies-us 10 --queue-sizes 256 --notify poll\nThe peers and the extras (checker off, wait) run in every pass either way.')
    .action(async (o: BenchOptions) => {
      if (o.from !== undefined) {
        const r = readReport(o.from);
        await writeCharts(r, o.chart);
        if (o.json) printJson({ ...r, targets: targets(r) });
        else process.stdout.write(formatBench(r) + '\n');
        return;
      }
      const plan = planOf(o);
      const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'bench [{bar}] {value}/{total} {what}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      // Without a terminal (CI, nohup, a pipe): one plain line on stderr at most every 15 s.
      const t0 = Date.now();
      let lastLine = t0;
      const r = await runBench(plan, (done, total, what) => {
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
      if (o.out) writeFileSync(o.out, JSON.stringify({ ...r, targets: targets(r) }, null, 2));
      await writeCharts(r, o.chart);
      if (o.json) printJson({ ...r, targets: targets(r) });
      else process.stdout.write(formatBench(r) + '\n');
      const bad = r.cells.filter((c) => c.violations > 0);
      if (bad.length > 0) {
        process.stderr.write(`vqlab bench: ${bad.length} cell(s) had violations (${bad.map((c) => c.label).join('; ')}): their figures measure broken runs\n`);
        process.exitCode = 1;
      }
    });
}

interface BenchOptions {
  quick: boolean; repeat?: number; buffers?: number; seed: number; json: boolean; out: string; chart: string[]; from?: string;
  rings?: BenchPlan['rings']; orders?: BenchPlan['orders']; faultRates?: number[]; faultLatenciesUs?: number[]; queueSizes?: number[]; notify?: BenchPlan['notify'];
}

/** The quick or full plan with the options' overrides; every cell's configuration checked before anything runs. */
function planOf(o: BenchOptions): BenchPlan {
  const plan: BenchPlan = { ...(o.quick ? QUICK_PLAN : FULL_PLAN), seed: o.seed };
  if (o.repeat !== undefined) plan.repeat = o.repeat;
  if (o.buffers !== undefined) plan.buffers = o.buffers;
  if (o.rings) plan.rings = o.rings;
  if (o.orders) plan.orders = o.orders;
  if (o.faultRates) plan.faultRates = o.faultRates;
  if (o.faultLatenciesUs) plan.faultLatenciesUs = o.faultLatenciesUs;
  if (o.queueSizes) plan.queueSizes = o.queueSizes;
  if (o.notify) plan.notify = o.notify;
  // A queue size one ring refuses (split: powers of two) is a usage error now, not a failed cell later.
  for (const ring of plan.rings) for (const queueSize of plan.queueSizes) {
    try { validateConfig({ ...DEFAULT_CONFIG, ring, queueSize, buffers: plan.buffers }); } catch (e) { throw new UsageError(`--queue-sizes: ${(e as Error).message} (ring ${ring})`); }
  }
  return plan;
}

const M = (x: number): string => (x / 1e6).toFixed(2);

export function formatBench(r: BenchReport): string {
  const p = r.peers;
  const basis = r.throughput_basis === 'second-half' ? 'throughput over each run\'s second half (start-up and JIT warm-up excluded; whole runs in the JSON)' : 'throughput over whole runs';
  let s = `machine: ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}; ${r.plan.repeat} runs per cell of ${r.plan.buffers} buffers, medians [min–max]; ${basis}\n\n`;
  s += table([
    ['index-only SPSC, publish every message', `${M(p.spsc.per_s.median)} M msg/s [${M(p.spsc.per_s.min)}–${M(p.spsc.per_s.max)}]`],
    ['index-only SPSC, publish every 32 (ceiling)', `${M(p['spsc-batch32'].per_s.median)} M msg/s [${M(p['spsc-batch32'].per_s.min)}–${M(p['spsc-batch32'].per_s.max)}]`],
    ['ringbuf.js 0.4.0', `${M(p.ringbuf.per_s.median)} M msg/s [${M(p.ringbuf.per_s.min)}–${M(p.ringbuf.per_s.max)}]`],
    ['Atomics ping-pong', `${M(p.pingpong.per_s.median)} M round trips/s`],
  ], ['peer (16-byte messages, two workers)', 'throughput']) + '\n\n';
  s += table(r.cells.map((c) => [c.label, `${M(c.buffers_per_s.median)} [${M(c.buffers_per_s.min)}–${M(c.buffers_per_s.max)}]`, c.of_ceiling, c.vs_ringbuf, c.latency_p50_us, c.latency_p99_us, c.used_entries_per_buffer, c.kicks_per_1000, c.interrupts_per_1000, c.stall_ms, c.violations]),
    ['cell', 'M buffers/s', '× ceiling', '× ringbuf', 'p50 µs', 'p99 µs', 'used/buf', 'kicks/1k', 'irqs/1k', 'stall ms', 'viol']) + '\n\n';
  s += table(targets(r).map((t) => [t.met === null ? '?' : t.met ? 'met' : 'MISSED', t.target, t.value]), ['', 'target (issue 4)', 'measured']);
  return s;
}
