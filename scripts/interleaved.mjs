#!/usr/bin/env node
// Before/after on a shared, noisy machine: runs `vqlab run` of two (or more) builds interleaved (A, B,
// A, B, ...), each run in its own process, and prints each build's median steady throughput (M
// buffers/s over the run's second half) with every run, and its median p99 latency. A build is a
// checkout with dist/ built.
//   node scripts/interleaved.mjs N '<RunConfig overrides as JSON>' <checkoutA> <checkoutB> ...
// e.g. node scripts/interleaved.mjs 8 '{}' /tmp/before /tmp/after    (split IN_ORDER, no faults, 3 M buffers)
// Defaults under the overrides: vqlab's run defaults with order in-order, fault rate 0, 3 000 000 buffers.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const [, , nArg, overArg, ...dirArgs] = process.argv;
// Checkouts are paths as the user typed them: relative to the working directory, not to this script.
const dirs = dirArgs.map((d) => resolve(d));
if (process.env.VQ_INTERLEAVED_CHILD) {
  const [dir, over] = [process.env.VQ_INTERLEAVED_CHILD, JSON.parse(process.env.VQ_OVER)];
  const { runThreaded } = await import(`${dir}/dist/src/harness/run.js`);
  const { DEFAULT_CONFIG } = await import(`${dir}/dist/src/harness/config.js`);
  const r = await runThreaded({ ...DEFAULT_CONFIG, faultRate: 0, order: 'in-order', buffers: 3_000_000, ...over });
  console.log(JSON.stringify({ ok: r.ok, steady: r.steady_buffers_per_s, p99: r.latency_us.p99 }));
  process.exit(0);
}
const n = Number(nArg);
if (!(n > 0) || dirs.length === 0) { console.error("usage: node scripts/interleaved.mjs N '{...}' <checkout> [<checkout> ...]"); process.exit(2); }
JSON.parse(overArg);
const runs = dirs.map(() => []);
const p99s = dirs.map(() => []);
for (let i = 0; i < n; i++) {
  dirs.forEach((d, j) => {
    const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname], { env: { ...process.env, VQ_INTERLEAVED_CHILD: d, VQ_OVER: overArg } }).toString();
    const r = JSON.parse(out.trim().split('\n').pop());
    runs[j].push(r.ok ? r.steady / 1e6 : NaN);
    p99s[j].push(r.p99);
  });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
dirs.forEach((d, j) => console.log(`${dirArgs[j].padEnd(24)} median ${median(runs[j]).toFixed(2)} M/s   runs ${runs[j].map((x) => x.toFixed(2)).join(' ')}   p99 median ${median(p99s[j])} µs`));
