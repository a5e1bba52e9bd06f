/** `vqlab stress`: a campaign of threaded runs on a piscina pool; `vqlab stress merge` combines shards. */
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { DEFAULT_CAMPAIGN, parseShard, type CampaignSpec, type DrawSpec, type RunKind, type SimSpec } from '../stress/campaign.js';
import { defaultPairs, mergeReports, runStress, type StressReport } from '../stress/run.js';
import { isPowerOfTwo } from '../spec/layout.js';
import { bugByName } from '../sim/bugs.js';
import { MEMORY_MODELS } from '../sim/memory.js';
import { checkOutDir, choice, EXIT_OK, EXIT_VIOLATION, floatArg, intArg, listArg, orderArg, printJson, showProgress, table, toJsonKeys, UsageError } from './common.js';
import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { inspectWasmSide, isWasmPath, setWasmCompiler } from '../wasm/abi.js';
import { isVqError } from '../errors.js';

function onOff(name: string): (s: string) => boolean {
  return (s) => { if (s === 'on' || s === 'true') return true; if (s === 'off' || s === 'false') return false; throw new InvalidArgumentError(`${name} items must be on|off, got "${s}"`); };
}
const num = (name: string, lo: number, hi: number, int: boolean) => (s: string): number => {
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < lo || n > hi || (int && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} items must be ${int ? 'integers' : 'numbers'} in ${lo}..${hi}, got "${s}"`);
  return n;
};
const fmtList = (xs: unknown[]): string => xs.map((x) => (typeof x === 'boolean' ? (x ? 'on' : 'off') : String(x))).join(',');

export function stressCommand(): Command {
  const d = DEFAULT_CAMPAIGN;
  const cmd = new Command('stress')
    .description('a campaign of two-thread runs (and simulator runs) over seeds × configurations on a piscina pool sized by driver/device pairs')
    .option('--kinds <list>', 'threaded,sim: two-thread runs, and/or budgets of simulator schedules (src/sim: modelled memory, random/PCT scheduling)', listArg('--kinds', choice('--kinds', ['threaded', 'sim'] as const)), d.kinds)
    .option('--rings <list>', 'split,packed', listArg('--rings', choice('--rings', ['split', 'packed'] as const)), d.rings)
    .option('--orders <list>', 'none,in-order,partial,in-order+partial (an item joins both ordering features with +: IN_ORDER rules, FLUSH defined)', listArg('--orders', orderArg('--orders items', '+')), d.orders)
    .option('--event-idx <list>', 'off,on (default: drawn per run)', listArg('--event-idx', onOff('--event-idx')), d.eventIdx)
    .option('--indirect <list>', 'off,on (default: drawn per run)', listArg('--indirect', onOff('--indirect')), d.indirect)
    .option('--queue-sizes <list>', 'queue sizes, split ones powers of 2 (default: drawn per run from 1, 2, 3, odd and powers of 2)', listArg('--queue-sizes', num('--queue-sizes', 1, 32768, true)), d.queueSizes)
    .option('--segments <list>', 'descriptors per buffer (default: drawn per run, 1..4)', listArg('--segments', num('--segments', 1, 1024, true)), d.segments)
    .option('--fault-rates <list>', 'page-fault probabilities', listArg('--fault-rates', num('--fault-rates', 0, 1, false)), d.faultRates)
    .option('--notify <list>', 'poll,wait', listArg('--notify', choice('--notify', ['poll', 'wait'] as const)), d.notify)
    .option('--seeds <n>', 'runs per configuration, each with its own seed', intArg('--seeds', 1, 1_000_000), d.seeds)
    .option('--seed <n>', 'campaign seed (the run seeds derive from it)', intArg('--seed', 0, 0xffffffff), d.seedBase)
    .option('--buffers <n>', 'buffers per run', intArg('--buffers', 1, Number.MAX_SAFE_INTEGER), d.buffers)
    .option('--fault-latency-us <us>', 'fault resolve time (µs)', floatArg('--fault-latency-us', 0, 1e7), d.faultLatencyUs)
    .option('--timeout-s <s>', 'per-run time limit', floatArg('--timeout-s', 0.001, 7 * 24 * 3600), d.timeoutS)
    .option('--stall-timeout-ms <ms>', 'per-run stall bound (0: derived)', floatArg('--stall-timeout-ms', 0, 1e9), d.stallTimeoutMs)
    .option('--sim-models <list>', 'sim runs: sc,tso,relaxed,weak memory models', listArg('--sim-models', choice('--sim-models', MEMORY_MODELS)), d.sim.models)
    .option('--sim-strategies <list>', 'sim runs: random,pct scheduling', listArg('--sim-strategies', choice('--sim-strategies', ['random', 'pct'] as const)), d.sim.strategies)
    .option('--sim-queue-sizes <list>', 'sim runs: queue sizes (1..256; split: powers of 2; default: drawn per run)', listArg('--sim-queue-sizes', num('--sim-queue-sizes', 1, 256, true)), d.sim.queueSizes)
    .option('--sim-fault-rates <list>', 'sim runs: page-fault probabilities', listArg('--sim-fault-rates', num('--sim-fault-rates', 0, 1, false)), d.sim.faultRates)
    .option('--sim-buffers <n>', 'sim runs: buffers per schedule', intArg('--sim-buffers', 1, 100_000), d.sim.buffers)
    .option('--sim-budget-ms <ms>', 'sim runs: time each run explores schedules for', intArg('--sim-budget-ms', 1, 86_400_000), d.sim.budgetMs)
    .option('--sim-bug <name>', 'sim runs: plant a bug from the catalogue (vqlab bugs); configurations it cannot show in are skipped', (v: string) => {
      if (!bugByName(v)) throw new InvalidArgumentError(`unknown bug "${v}" (vqlab bugs lists them)`);
      return v;
    })
    .option('--bug <name>', 'threaded runs: plant a bug from the catalogue into the real threads\' memory layer; configurations it cannot show in are skipped', (v: string) => {
      if (!bugByName(v)) throw new InvalidArgumentError(`unknown bug "${v}" (vqlab bugs lists them)`);
      return v;
    })
    .option('--device <module>', 'threaded runs: your own device (an ES module exporting createDevice(ctx), or a .wasm: include/vqlab.h)')
    .option('--driver <module>', 'threaded runs: your own driver (an ES module exporting createDriver(ctx), or a .wasm)')
    .option('--pairs <n>', `runs at once (each is two busy threads; default max(1, floor(cores/2)) = ${defaultPairs()})`, intArg('--pairs', 1, 256))
    .option('--shard <i/n>', 'run only shard i of n (deterministic, disjoint, covering: for CI matrices)')
    .option('--out <dir>', 'directory for failure artifacts, created if need be (default: a new directory under the system temp directory, made only when a run fails); replay one with vqlab run --from <file>')
    .option('--json', 'print one JSON report (combine shards with vqlab stress merge)')
    .option('--quiet', 'no progress bar on stderr')
    .addHelpText('after', `
Queue size, segments, indirect and EVENT_IDX are drawn afresh for every run, threaded or sim, from its seed (queue
sizes 1, 2, 3, odd and powers of 2 up to 1024, split only powers of 2; sim runs up to 256) unless
pinned by --queue-sizes / --sim-queue-sizes, --segments, --indirect, --event-idx. The report
records every run's whole configuration ("config").

A sim run explores simulator schedules (seeds s, s+1, …) for --sim-budget-ms; a failing one writes an
artifact whose "replay" string \`vqlab replay <string>\` (or \`vqlab replay <artifact>\`) reproduces bit
for bit. Threaded failures replay with \`vqlab run --from <artifact>\`. A campaign of sim runs only
uses one pool thread per core (each run is one thread); otherwise one per driver/device pair.

Exit status: 0 when every run passed, 1 on any failure or interruption, 2 on bad usage.
Example (CI matrix of 4): vqlab stress --seeds 8 --shard \${{ matrix.shard }}/4 --json > shard.json
         vqlab stress --kinds threaded,sim --sim-models tso,relaxed --seeds 2`)
    .action(async (o: Record<string, unknown>, self: Command) => {
      // A dimension the user did not pin is drawn per run.
      const given = (k: string): boolean => self.getOptionValueSource(k) === 'cli';
      const draw: DrawSpec = { queueSize: !given('queueSizes'), segments: !given('segments'), indirect: !given('indirect'), eventIdx: !given('eventIdx'), simQueueSize: !given('simQueueSizes') };
      const sim: SimSpec = {
        models: o.simModels as SimSpec['models'], strategies: o.simStrategies as SimSpec['strategies'], queueSizes: o.simQueueSizes as number[],
        faultRates: o.simFaultRates as number[], buffers: o.simBuffers as number, budgetMs: o.simBudgetMs as number, bug: (o.simBug as string | undefined) ?? null,
      };
      const kinds = o.kinds as RunKind[];
      const spec: CampaignSpec = {
        kinds, sim,
        rings: o.rings as CampaignSpec['rings'], orders: o.orders as CampaignSpec['orders'], eventIdx: o.eventIdx as boolean[],
        indirect: o.indirect as boolean[], queueSizes: o.queueSizes as number[], segments: o.segments as number[],
        faultRates: o.faultRates as number[], notify: o.notify as CampaignSpec['notify'], seeds: o.seeds as number,
        seedBase: o.seed as number, buffers: o.buffers as number, faultLatencyUs: o.faultLatencyUs as number,
        timeoutS: o.timeoutS as number, stallTimeoutMs: o.stallTimeoutMs as number, draw, bug: (o.bug as string | undefined) ?? null,
      };
      await sideModules(spec, o.driver as string | undefined, o.device as string | undefined);
      if (kinds.includes('threaded') && !draw.queueSize && spec.rings.length === 1 && spec.rings[0] === 'split' && spec.queueSizes.every((q) => !isPowerOfTwo(q))) {
        throw new UsageError(`--queue-sizes ${fmtList(spec.queueSizes)}: a split queue size must be a power of 2`);
      }
      const shard = o.shard !== undefined ? parseShard(o.shard as string) : null;
      if (o.out !== undefined) checkOutDir('--out', o.out as string);
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      const bar = !o.json && showProgress(o.quiet as boolean | undefined)
        ? new cliProgress.SingleBar({ format: 'stress [{bar}] {value}/{total} runs | {rate} runs/s | {failures} failures | eta {eta_formatted}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
        : null;
      let report: StressReport;
      try {
        report = await runStress({
          spec, shard, pairs: o.pairs as number | undefined, outDir: o.out as string | undefined, signal: ac.signal,
          onProgress: (p) => {
            if (bar) { if (!bar.getTotal()) bar.start(p.total, 0, { rate: '0', failures: 0 }); bar.update(p.done, { rate: p.runsPerS.toFixed(2), failures: p.failures }); }
          },
        });
      } finally {
        bar?.stop();
        process.removeListener('SIGINT', onSigint);
      }
      if (report.runs_planned === 0 && report.skipped.length > 0 && !report.results.length) {
        throw new UsageError(`every configuration was rejected, e.g. ${report.skipped[0].key}: ${report.skipped[0].reason}`);
      }
      if (o.json) printJson(report);
      else process.stdout.write(formatStress(report) + '\n');
      process.exitCode = report.ok ? EXIT_OK : EXIT_VIOLATION;
    });
  // Options after `merge` are merge's own (both have --json), and merge exits through main() too.
  cmd.enablePositionalOptions();
  cmd.command('merge')
    .exitOverride()
    .description('combine the --json reports of shards of one campaign')
    .argument('<reports...>', 'vqlab stress --json outputs')
    .option('--json', 'print the merged JSON report instead of the summary')
    .option('--out <file>', 'also write the merged JSON report here')
    .action((files: string[], o: { json: boolean; out?: string }) => {
      const reports = files.map((f) => {
        try { return JSON.parse(readFileSync(f, 'utf8')) as StressReport; } catch (e) { throw new UsageError(`${f}: ${(e as Error).message.split('\n')[0]}`); }
      });
      const m = mergeReports(reports);
      if (o.out) {
        writeFileSync(o.out, JSON.stringify(toJsonKeys(m), null, 2) + '\n');
        process.stderr.write(`vqlab: wrote the merged report to ${o.out}\n`);
      }
      if (o.json) printJson(m); else process.stdout.write(formatStress(m) + '\n');
      process.exitCode = m.ok ? EXIT_OK : EXIT_VIOLATION;
    });
  return cmd;
}

/**
 * --driver / --device: absolute paths into the spec, checked once here (a .wasm against the ABI)
 * rather than failing every run. The simulator runs vqlab's own sides only.
 */
async function sideModules(spec: CampaignSpec, driver: string | undefined, device: string | undefined): Promise<void> {
  for (const [role, p] of [['driver', driver], ['device', device]] as const) {
    if (!p) continue;
    const abs = resolve(p);
    if (!existsSync(abs)) throw new UsageError(`--${role} ${p}: no such file`);
    if (spec.kinds.includes('sim')) {
      throw new UsageError(isWasmPath(abs)
        ? `--${role} ${p}: a WebAssembly side cannot run under the simulator (it schedules each memory access of vqlab's own sides through its modelled memory; a wasm side's accesses are machine instructions it cannot see). Use --kinds threaded.`
        : `--${role} ${p}: the simulator runs vqlab's own sides only; use --kinds threaded`);
    }
    if (isWasmPath(abs)) {
      setWasmCompiler(false);
      try { await inspectWasmSide(abs, role); } catch (e) { if (isVqError(e)) throw new UsageError(e.message); throw e; }
    }
    if (role === 'driver') spec.driverModule = abs; else spec.deviceModule = abs;
  }
}

const median = (xs: number[]): number => { if (!xs.length) return 0; const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

export function formatStress(r: StressReport): string {
  const groups = new Map<string, StressReport['results']>();
  for (const x of r.results) {
    const parts = x.key.split('/');
    const m = parts.findIndex((p) => (MEMORY_MODELS as readonly string[]).includes(p));
    // Threaded: ring/order. Sim: sim:ring/order model/strategy.
    const g = parts.slice(0, 2).join('/') + (x.kind === 'sim' && m > 0 ? ` ${parts[m]}/${parts[m + 1]}` : '');
    groups.set(g, [...(groups.get(g) ?? []), x]);
  }
  const anySim = r.results.some((x) => x.kind === 'sim');
  const rows = [...groups.entries()].map(([g, xs]) => {
    const row: (string | number)[] = [g, xs.length, xs.filter((x) => x.ok).length, xs.filter((x) => !x.ok && !x.aborted).length, xs.reduce((a, x) => a + x.buffers, 0), Math.round(median(xs.map((x) => x.buffers_per_s)))];
    if (anySim) row.push(xs.reduce((a, x) => a + (x.schedules ?? 0), 0));
    return row;
  });
  let s = `campaign ${r.campaign_id}${r.shard ? ` shard ${r.shard.index}/${r.shard.count}` : r.shards_merged?.length ? ` (${r.shards_merged.length} shards merged)` : ''}: ${r.results.length} of ${r.runs_total} runs, ${r.pool_pairs} ${r.results.length > 0 && r.results.every((x) => x.kind === 'sim') ? 'pool thread(s)' : 'pair(s)'} at once, ${(r.elapsed_ms / 1000).toFixed(1)} s (${r.runs_per_s} runs/s)\n`;
  s += table(rows, ['ring/order', 'runs', 'ok', 'failed', 'buffers', 'median buf/s', ...(anySim ? ['sim schedules'] : [])]);
  const drew = r.spec.draw && Object.values(r.spec.draw).some(Boolean);
  if (drew) {
    // What the draw gave: runs (and failed runs) per queue size.
    const byQ = new Map<number, [number, number]>();
    for (const x of r.results) {
      // A merged report was read back from JSON, where keys are snake_case.
      const cf = x.config as { queueSize?: number; queue_size?: number } | undefined;
      const q = cf?.queueSize ?? cf?.queue_size;
      if (q === undefined) continue;
      const c = byQ.get(q) ?? [0, 0];
      c[0]++;
      if (!x.ok && !x.aborted) c[1]++;
      byQ.set(q, c);
    }
    s += `\nqueue sizes drawn (runs${r.failed_runs ? ', failed' : ''}): ${[...byQ.entries()].sort((a, b) => a[0] - b[0]).map(([q, [n, f]]) => `q${q} ${n}${r.failed_runs ? `/${f}` : ''}`).join(', ')}`;
  }
  s += `\nlost ${r.lost}, duplicated ${r.duplicated}, corrupted ${r.corrupted}${r.skipped.length ? `; ${r.skipped.length} combinations skipped (not valid for the ring)` : ''}`;
  const dirs = [...new Set(r.failures.flatMap((f) => (f.artifact ? [dirname(f.artifact)] : [])))];
  if (dirs.length) s += `\nfailure artifacts in ${dirs.join(', ')}`;
  for (const f of r.failures.slice(0, 10)) {
    const how = f.replay ? `  → vqlab replay ${f.replay}` : f.artifact ? `  → vqlab run --from ${f.artifact}` : '';
    s += `\nFAILED ${f.key}: ${f.code}${how}${f.replay && f.artifact ? ` (artifact ${f.artifact})` : ''}`;
  }
  if (r.interrupted) s += `\ninterrupted: ${r.aborted_runs} runs aborted, partial results above`;
  s += `\nresult: ${r.ok ? 'OK' : 'FAILED'}`;
  return s;
}
