/** `vqlab run`: one two-thread run, summary table or JSON. */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { DEFAULT_CONFIG, type RunConfig } from '../harness/config.js';
import { runThreaded, type RunResult } from '../harness/run.js';
import { configFromArtifact } from '../stress/run.js';
import { SoakMonitor, soakLine, type SoakSummary } from '../harness/soak.js';
import { formatStamp } from '../version.js';
import { EXIT_OK, EXIT_VIOLATION, floatArg, intArg, orderArg, printJson, showProgress, table } from './common.js';

export function runCommand(): Command {
  const d = DEFAULT_CONFIG;
  return withHelpGroups(new Command('run')
    .description('run a virtio driver and device in two worker threads over shared memory, checked live')
    .addOption(new Option('--ring <kind>', 'ring layout').choices(['split', 'packed']).default(d.ring))
    .option('--order <list>', 'ordering features: none | in-order | partial | in-order,partial (VIRTIO_F_IN_ORDER / VIRTIO_F_PARTIAL_ORDER; both: IN_ORDER rules, FLUSH defined)', orderArg('--order'), d.order)
    .option('--event-idx', 'negotiate VIRTIO_F_EVENT_IDX')
    .option('--indirect', 'negotiate VIRTIO_F_INDIRECT_DESC (buffers of 2+ segments use a table)')
    .option('--device-features <list>', 'features the device offers: comma-separated names (IN_ORDER,PARTIAL_ORDER,EVENT_IDX,INDIRECT_DESC,RING_PACKED,VERSION_1) or all; negotiated = offered ∩ accepted', d.deviceFeatures)
    .option('--queue-size <n>', 'queue size (split: power of 2 up to 32768)', intArg('--queue-size', 1, 32768), d.queueSize)
    .option('--buffers <n>', 'buffers to move through the queue', intArg('--buffers', 1, Number.MAX_SAFE_INTEGER), RUN_DEFAULT_BUFFERS)
    .option('--segments <n>', 'descriptors per buffer (1: one writable; n>1: 1 readable + n-1 writable)', intArg('--segments', 1, 1024), d.segments)
    .option('--segment-bytes <n>', 'bytes per segment', intArg('--segment-bytes', 1, 1 << 20), d.segmentBytes)
    .option('--fault-rate <p>', 'probability a buffer page-faults in the device', floatArg('--fault-rate', 0, 1), d.faultRate)
    .option('--fault-latency-us <us>', 'time for a fault to resolve (µs)', floatArg('--fault-latency-us', 0, 1e7), d.faultLatencyUs)
    .addOption(new Option('--notify <mode>', 'poll: busy-poll; wait: Atomics.wait/notify doorbells').choices(['poll', 'wait']).default(d.notify))
    .option('--seed <n>', 'seed for the fault model', intArg('--seed', 0, 0xffffffff), d.seed)
    .option('--timeout-s <s>', 'end the run (as a failure) after this long', floatArg('--timeout-s', 0.001, 7 * 24 * 3600), d.timeoutS)
    .option('--stall-timeout-ms <ms>', 'a run with no progress this long fails as STALL (0: derived from the fault latency)', floatArg('--stall-timeout-ms', 0, 1e9), d.stallTimeoutMs)
    .option('--publish-batch <n>', 'most buffers the driver adds per publish', intArg('--publish-batch', 1, 65536), d.publishBatch)
    .option('--pop-budget <n>', 'most buffers the device takes per round before it publishes used entries (its batch budget)', intArg('--pop-budget', 1, 65536), d.popBudget)
    .option('--poll-backoff <n>', 'relax iterations after an idle round before polling the ring again (poll mode and wait mode\'s spin; 0: back to back)', intArg('--poll-backoff', 0, 1 << 20), d.pollBackoff)
    .option('--spin-us <us>', 'wait mode: how long an idle side keeps polling before it sleeps (µs)', intArg('--spin-us', 0, 1_000_000), d.spinUs)
    .option('--device <module>', "run your own device: an ES module exporting createDevice(ctx) (see docs/sides.md), or a WebAssembly module (.wasm; include/vqlab.h, docs/wasm-sides.md)")
    .option('--driver <module>', "run your own driver: an ES module exporting createDriver(ctx), or a WebAssembly module (.wasm)")
    .option('--trace-out <file>', 'write a Chrome Trace Event / Perfetto JSON trace (open in ui.perfetto.dev or chrome://tracing)')
    .option('--trace-max-events <n>', 'keep at most this many trace events (a window over the end of the run)', intArg('--trace-max-events', 100, 1 << 24), d.traceMaxEvents)
    .option('--no-check', 'turn the live conformance checker off (no event recording)')
    .option('--checker-nice <n>', 'nice value of the live checker\'s thread (0..19; 19: it uses only CPU the sides leave idle, holding them back only when its event logs fill)', intArg('--checker-nice', 0, 19), d.checkerNice)
    .option('--no-verify-data', 'do not write or check data patterns')
    .option('--bug <name>', 'plant a bug from the catalogue (vqlab bugs) into the real threads\' memory layer')
    .option('--json', 'print one JSON object')
    .option('--quiet', 'no progress bar or progress lines on stderr')
    .option('--from <artifact>', 'replay a failure artifact of vqlab stress (its config; flags given here override it)')
    .option('--soak', `soak mode (on by itself from --buffers ${SOAK_AUTO_BUFFERS.toExponential()}): RSS/heap sampled as the run goes, a soak summary, no default time limit`)
    .option('--progress-s <s>', 'print a progress line to stderr every s seconds (default in soak mode when stderr is not a terminal: 10; 0: off)', floatArg('--progress-s', 0, 86400))
    .addHelpText('after', `
Soak: with --soak, or any run of ${SOAK_AUTO_BUFFERS.toExponential()} buffers or more, vqlab samples the process's RSS (both
workers are threads of it) and the main thread's heap every second, prints a progress line every
--progress-s (10 s by default when stderr is not a terminal; a bar with RSS otherwise), lifts the
default --timeout-s to 7 days (the stall bound still ends a stuck run), and adds a "soak" row / JSON
object: rss_before_mb, rss_start_mb (after a 2 s warm-up), rss_end_mb, rss_peak_mb, rss_growth_mb,
heap_*_mb, window_rate_min/max (M buffers/s) and a bounded series of samples. The run itself keeps
constant memory whatever --buffers is: wrapping counters and event logs, the live checker's fixed
windows (checked_used_entries counts what it verified as it went), a fixed histogram.

Exit status: 0 when the run completed with no violation, 1 on a violation or failure, 2 on bad usage.
--order in-order,partial (or partial,in-order) negotiates both ordering features: IN_ORDER's rules
hold (the device stalls on a fault and batches in order), FLUSH is a defined bit, and vqlab's device
sets it on every used entry (each is an in-order prefix); "order" in the output is the negotiated set.

Example: vqlab run --order partial --fault-rate 0.01 --fault-latency-us 50 --json
         vqlab run --buffers 1e9 --order partial --fault-rate 0.001 --json > soak.json`)
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      let cfg: RunConfig = {
        ...DEFAULT_CONFIG,
        ring: o.ring as RunConfig['ring'],
        order: o.order as RunConfig['order'],
        eventIdx: o.eventIdx === true,
        indirect: o.indirect === true,
        queueSize: o.queueSize as number,
        buffers: o.buffers as number,
        segments: o.segments as number,
        segmentBytes: o.segmentBytes as number,
        faultRate: o.faultRate as number,
        faultLatencyUs: o.faultLatencyUs as number,
        notify: o.notify as RunConfig['notify'],
        seed: o.seed as number,
        timeoutS: o.timeoutS as number,
        stallTimeoutMs: o.stallTimeoutMs as number,
        publishBatch: o.publishBatch as number,
        popBudget: o.popBudget as number,
        pollBackoff: o.pollBackoff as number,
        spinUs: o.spinUs as number,
        check: o.check as boolean,
        checkerNice: o.checkerNice as number,
        verifyData: o.verifyData as boolean,
        deviceFeatures: o.deviceFeatures as string,
        deviceModule: (o.device as string | undefined) ?? '',
        driverModule: (o.driver as string | undefined) ?? '',
        traceOut: (o.traceOut as string | undefined) ?? '',
        traceMaxEvents: o.traceMaxEvents as number,
        plantBug: (o.bug as string | undefined) ?? null,
      };
      if (o.from) cfg = fromArtifact(o.from as string, cfg, cmd);
      const soak = o.soak === true || cfg.buffers >= SOAK_AUTO_BUFFERS;
      if (soak && cmd.getOptionValueSource('timeoutS') !== 'cli') cfg.timeoutS = 7 * 24 * 3600;
      const monitor = soak ? new SoakMonitor() : null;
      const progressS = (o.progressS as number | undefined) ?? (soak && !o.quiet && !showProgress() ? 10 : 0);
      let lastLine = 0;
      let lastLineBuffers = 0;
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      const bar = !o.json && showProgress(o.quiet as boolean | undefined) && progressS === 0
        ? new cliProgress.SingleBar({ format: `run [{bar}] {percentage}% | {value}/{total} buffers | {faults} faults | {violations} violations${soak ? ' | rss {rss} MB' : ''}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
        : null;
      bar?.start(cfg.buffers, 0, { faults: 0, violations: 0, rss: '-' });
      let result: RunResult;
      try {
        result = await runThreaded(cfg, {
          naming: 'cli',
          signal: ac.signal,
          onProgress: (p) => {
            const s = monitor?.sample(p.elapsedMs, p.reclaimed);
            bar?.update(p.reclaimed, { faults: p.faults, violations: p.violations, rss: s?.rss_mb ?? '-' });
            if (progressS > 0 && p.elapsedMs - lastLine >= progressS * 1000) {
              const rate = (p.reclaimed - lastLineBuffers) / Math.max(1e-3, p.elapsedMs - lastLine) / 1e3;
              lastLine = p.elapsedMs;
              lastLineBuffers = p.reclaimed;
              const m = process.memoryUsage();
              const line = s ?? { t_s: Math.round(p.elapsedMs / 100) / 10, buffers: p.reclaimed, rss_mb: Math.round(m.rss / 104857.6) / 10, heap_mb: Math.round(m.heapUsed / 104857.6) / 10 };
              process.stderr.write(soakLine({ ...line, buffers: p.reclaimed }, p.total, p.violations, rate) + '\n');
            }
          },
        });
      } finally {
        bar?.stop();
        process.removeListener('SIGINT', onSigint);
      }
      const out: RunResult & { soak?: SoakSummary } = monitor ? { ...result, soak: monitor.summary() } : result;
      if (o.json) printJson({ ...formatStamp('vqlab-run'), ...out });
      else process.stdout.write(formatRun(out) + '\n');
      process.exitCode = result.ok ? EXIT_OK : EXIT_VIOLATION;
    }));
}

/** `vqlab run --help` in groups, in this order. */
const RUN_HELP_GROUPS: [string, string[]][] = [
  ['Queue and features:', ['--ring', '--order', '--queue-size', '--event-idx', '--indirect', '--device-features']],
  ['Workload:', ['--buffers', '--segments', '--segment-bytes', '--fault-rate', '--fault-latency-us', '--seed', '--bug']],
  ['Notification and pacing:', ['--notify', '--publish-batch', '--pop-budget', '--poll-backoff', '--spin-us']],
  ['Your own driver or device:', ['--device', '--driver']],
  ['Checking and limits:', ['--no-check', '--checker-nice', '--no-verify-data', '--timeout-s', '--stall-timeout-ms']],
  ['Output and replay:', ['--json', '--quiet', '--progress-s', '--soak', '--trace-out', '--trace-max-events', '--from']],
];

function withHelpGroups(cmd: Command): Command {
  const groupOf = new Map(RUN_HELP_GROUPS.flatMap(([g, flags]) => flags.map((f) => [f, g] as const)));
  for (const o of cmd.options) o.helpGroup(groupOf.get(o.long ?? '') ?? 'Other options:');
  // Commander lists groups in the order their first option appears: order the options by group.
  const rank = (o: Option): number => { const i = RUN_HELP_GROUPS.findIndex(([g]) => g === o.helpGroupHeading); return i < 0 ? RUN_HELP_GROUPS.length : i; };
  (cmd.options as Option[]).sort((a, b) => rank(a) - rank(b));
  return cmd;
}

/** The artifact's config, with the flags given on this command line (not defaults) on top. */
function fromArtifact(path: string, flags: RunConfig, cmd: Command): RunConfig {
  const cfg: RunConfig = { ...DEFAULT_CONFIG, ...configFromArtifact(path) };
  const field: Record<string, keyof RunConfig> = { device: 'deviceModule', driver: 'driverModule' };
  for (const opt of cmd.options) {
    const name = opt.attributeName();
    if (name === 'from' || name === 'json' || cmd.getOptionValueSource(name) !== 'cli') continue;
    const k = field[name] ?? (name as keyof RunConfig);
    if (k in flags) (cfg as unknown as Record<string, unknown>)[k] = flags[k];
  }
  return cfg;
}

const notOffered = (r: RunResult): string[] => r.accepted_features.filter((n) => !r.offered_features.includes(n));

/**
 * `vqlab run`'s default size (the library's DEFAULT_CONFIG keeps 200 000 for quick API runs): long
 * enough that the summary's headline, the rate over the run's second half, is past JIT warm-up.
 * The default run (split PARTIAL_ORDER, p = 0.01, L = 50 µs, queue 256, poll) measured 2.46 M/s
 * over the second half of 200 000 buffers and 6.75 M/s over the second half of 2 000 000
 * (docs/benchmarks.md, the full sweep's cell): a 100 000-buffer half is still warming up.
 */
export const RUN_DEFAULT_BUFFERS = 2_000_000;

/** Runs of this many buffers or more are soak runs without --soak. */
export const SOAK_AUTO_BUFFERS = 1e8;

export function formatRun(r: RunResult & { soak?: SoakSummary }): string {
  const rows: (string | number)[][] = [
    ['ring / order', `${r.ring} / ${r.order}   notify ${r.notify}   queue ${r.queue_size}`],
    ['features', `${r.features.join(' ')}${notOffered(r).length ? `  (asked for but not offered: ${notOffered(r).join(' ')})` : ''}`],
    ['buffers', `${r.buffers} of ${r.requested_buffers}`],
    // The headline is the steady rate (the run's second half); start-up and JIT warm-up get a line of their own.
    ...(r.warmup_buffers_per_s !== null && r.first_reclaim_ms !== null
      ? [['throughput', `${(r.steady_buffers_per_s / 1e6).toFixed(3)} M buffers/s steady (the run's second half)`],
        ['warm-up', `${(r.warmup_buffers_per_s / 1e6).toFixed(3)} M buffers/s over the first half, after ${r.first_reclaim_ms.toFixed(1)} ms to the first buffer; whole run ${(r.buffers_per_s / 1e6).toFixed(3)} M/s in ${r.elapsed_ms.toFixed(1)} ms`]]
      : [['throughput', `${(r.buffers_per_s / 1e6).toFixed(3)} M buffers/s over the whole run, ${r.elapsed_ms.toFixed(1)} ms (no steady-state marks: a module's driver, or an unfinished run)`]]),
    ...(r.progress_buffers_per_s.length > 1 ? [['warm-up curve', `M buffers/s per sixteenth of the run: ${r.progress_buffers_per_s.map((x) => (x / 1e6).toFixed(1)).join(' ')}`]] : []),
    ['latency µs', `p50 ${r.latency_us.p50}   p99 ${r.latency_us.p99}   max ${r.latency_us.max}`],
    ['used entries', `${r.used_entries} (${r.used_entries_per_buffer} per buffer; ${r.batched_entries} batches covering ${r.buffers_in_batches} buffers; ${r.flushes} FLUSH)`],
    ['faults', `${r.faults} (device stalled ${r.stall_ms} ms; at most ${r.max_faults_pending} pending)`],
    ['notifications', `${r.kicks} kicks, ${r.interrupts} interrupts (${r.kicks_per_1000} / ${r.interrupts_per_1000} per 1000 buffers)`],
    ['checker', r.check ? `on${r.checker_niced ? ` (own thread, nice ${r.config.checkerNice})` : ''}: lost ${r.lost}, duplicated ${r.duplicated}, corrupted ${r.corrupted}, lost wake-ups ${r.lost_wakeups}` : 'off'],
    ['result', r.ok ? 'OK' : `FAILED (seed ${r.seed})`],
  ];
  if (r.soak) {
    const k = r.soak;
    rows.splice(rows.length - 1, 0,
      ['soak', `RSS start ${k.rss_start_mb} MB, end ${k.rss_end_mb} MB, peak ${k.rss_peak_mb} MB (growth ${k.rss_growth_mb >= 0 ? '+' : ''}${k.rss_growth_mb} MB; ${k.rss_before_mb} MB before the workers); heap ${k.heap_start_mb} → ${k.heap_end_mb} MB`],
      ['', `rate per window ${k.window_rate_min}–${k.window_rate_max} M buffers/s; checker verified ${r.checked_used_entries} used entries and ${r.checked_reclaims} reclaims as it went`]);
  }
  let s = table(rows);
  for (const v of r.violations.slice(0, 5)) {
    s += `\nviolation ${v.rule}${v.entry !== null ? ` at used entry ${v.entry}` : ''}${v.id !== null ? ` (id ${v.id})` : ''}: ${v.message} [seed ${v.seed}]`;
  }
  if (r.failure) {
    s += `\nfailure ${r.failure.code} (${r.failure.side}): ${r.failure.message}`;
    s += `\n  driver: ${JSON.stringify(r.failure.driver)}\n  device: ${JSON.stringify(r.failure.device)}\n  queue: ${JSON.stringify(r.failure.queue)}`;
  }
  return s;
}
