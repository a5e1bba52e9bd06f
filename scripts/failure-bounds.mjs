#!/usr/bin/env node
// Measure the worker-failure bounds of `vqlab run`: each side throws, exits, hangs (busy,
// deaf to the stop flag) and goes idle (test hooks, cfg.testHooks); for each case, the time from the
// fault (the last time the run's counters moved, sampled every watch round, ~2 ms) to runThreaded
// returning its report, and the time the harness took to stop the workers (stop_ms). Plus SIGINT to
// a `vqlab run` process: time to exit with partial results.
// Usage: npm run build && node scripts/failure-bounds.mjs [--repeats 3] [--stall-ms 400] [--cases driver-throw,...,sigint] [--json]
// (--cases: a subset of <driver|device>-<throw|exit|hang|idle> and sigint; default all.)
import { spawn } from 'node:child_process';
import { runThreaded } from '../dist/src/harness/run.js';
import { DEFAULT_CONFIG } from '../dist/src/harness/config.js';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? Number(process.argv[i + 1]) : d; };
const repeats = arg('--repeats', 3);
const stallMs = arg('--stall-ms', 400);
const json = process.argv.includes('--json');
const ALL = [...['driver', 'device'].flatMap((side) => ['throw', 'exit', 'hang', 'idle'].map((f) => `${side}-${f}`)), 'sigint'];
const casesIdx = process.argv.indexOf('--cases');
const cases = casesIdx > 0 ? String(process.argv[casesIdx + 1] ?? '').split(',') : ALL;
const unknown = cases.filter((c) => !ALL.includes(c));
if (!(repeats >= 1) || !(stallMs > 0) || unknown.length || cases.length === 0) {
  console.error(`usage: node scripts/failure-bounds.mjs [--repeats N] [--stall-ms MS] [--cases ${ALL.join(',')}] [--json]${unknown.length ? ` (unknown case ${unknown.join(', ')})` : ''}`);
  process.exit(2);
}
const base = { ...DEFAULT_CONFIG, order: 'partial', faultRate: 0.01, buffers: 50_000_000, timeoutS: 60, stallTimeoutMs: stallMs, eventLogRecords: 1 << 14 };

const rows = [];
for (const side of ['driver', 'device']) for (const fault of ['throw', 'exit', 'hang', 'idle']) {
  if (!cases.includes(`${side}-${fault}`)) continue;
  const samples = [];
  for (let k = 0; k < repeats; k++) {
    let lastBeat = -1;
    let lastMoveAt = performance.now();
    const t0 = performance.now();
    const r = await runThreaded({ ...base, notify: fault === 'idle' ? 'wait' : 'poll', testHooks: { side, fault, afterBuffers: 20_000, exitCode: 9 } }, {
      progressIntervalMs: 0,
      onProgress: (p) => { const b = p.made + p.reclaimed; if (b !== lastBeat) { lastBeat = b; lastMoveAt = performance.now(); } },
    });
    const end = performance.now();
    samples.push({
      code: r.failure?.code, side: r.failure?.side, report_ms: end - lastMoveAt, total_ms: end - t0,
      stop_ms: r.failure?.driver?.stop_ms ?? null, exits: [r.failure?.driver?.exit_code, r.failure?.device?.exit_code],
      has_state: Boolean(r.failure?.queue && r.failure?.driver?.state && r.failure?.device?.state),
    });
    process.stderr.write(`${side} ${fault} #${k}: ${r.failure?.code} in ${Math.round(end - t0)} ms\n`);
  }
  const max = (f) => Math.round(Math.max(...samples.map(f)) * 10) / 10;
  rows.push({ side, fault, code: samples[0].code, reported_by: samples[0].side, runs: samples.length, report_ms_max: max((s) => s.report_ms), stop_ms_max: max((s) => s.stop_ms ?? 0), exits: samples[0].exits, state_in_report: samples.every((s) => s.has_state), codes: [...new Set(samples.map((s) => s.code))] });
}

// SIGINT to a vqlab run process.
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
const sig = [];
for (let k = 0; k < (cases.includes('sigint') ? repeats : 0); k++) {
  const child = spawn('node', [bin, 'run', '--buffers', '1000000000', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  await new Promise((res) => setTimeout(res, 1500));
  const t0 = performance.now();
  child.kill('SIGINT');
  const code = await new Promise((res) => child.on('exit', (c) => res(c)));
  if (!out.trim()) { console.error(`SIGINT came before the run printed anything (exit ${code}): the machine is too busy for this case; retry`); process.exit(1); }
  const r = JSON.parse(out);
  sig.push({ exit_ms: performance.now() - t0, code, failure: r.failure?.code, buffers: r.buffers });
}
const sigint = sig.length === 0 ? null : { runs: sig.length, exit_ms_max: Math.round(Math.max(...sig.map((s) => s.exit_ms)) * 10) / 10, exit_codes: [...new Set(sig.map((s) => s.code))], failure: sig[0].failure, partial_buffers_min: Math.min(...sig.map((s) => s.buffers)) };

if (json) process.stdout.write(JSON.stringify({ stall_timeout_ms: stallMs, repeats, cases: rows, sigint }, null, 2) + '\n');
else {
  process.stdout.write(`stall bound ${stallMs} ms, ${repeats} runs per case (max shown)\n`);
  for (const r of rows) process.stdout.write(`${r.side.padEnd(6)} ${r.fault.padEnd(5)} → ${r.codes.join('/')} (${r.reported_by})  fault→report ${r.report_ms_max} ms  stop ${r.stop_ms_max} ms  exit codes ${r.exits.join(',')}  state ${r.state_in_report}\n`);
  if (sigint) process.stdout.write(`SIGINT to vqlab run → ${sigint.failure}, exit ${sigint.exit_codes.join(',')} within ${sigint.exit_ms_max} ms, ${sigint.partial_buffers_min}+ buffers in the partial result\n`);
}
