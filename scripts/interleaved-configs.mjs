#!/usr/bin/env node
// Settings side by side on a shared, noisy machine: runs `vqlab run` of one build with each set of
// RunConfig overrides in turn (A, B, C, A, B, C, ...), each run in its own process, and prints each
// setting's median steady throughput (M buffers/s over the run's second half) with every run.
//   node scripts/interleaved-configs.mjs N <checkout> '<overrides A>' '<overrides B>' ...
// e.g. node scripts/interleaved-configs.mjs 4 . '{}' '{"notify":"wait"}'
// Defaults under the overrides: vqlab's run defaults with order in-order, fault rate 0, 3 000 000 buffers.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const [, , nArg, dirArg, ...cfgs] = process.argv;
if (process.env.VQ_CONFIGS_CHILD) {
  const dir = resolve(dirArg);
  const { runThreaded } = await import(`${dir}/dist/src/harness/run.js`);
  const { DEFAULT_CONFIG } = await import(`${dir}/dist/src/harness/config.js`);
  const r = await runThreaded({ ...DEFAULT_CONFIG, faultRate: 0, order: 'in-order', buffers: 3_000_000, ...JSON.parse(process.env.VQ_CONFIGS_CHILD) });
  console.log(JSON.stringify({ ok: r.ok, steady: r.steady_buffers_per_s, p99: r.latency_us.p99 }));
  process.exit(0);
}
const n = Number(nArg);
if (!(n > 0) || !dirArg || cfgs.length === 0) { console.error("usage: node scripts/interleaved-configs.mjs N <checkout> '{...}' ['{...}' ...]"); process.exit(2); }
cfgs.forEach((c) => JSON.parse(c));
const runs = cfgs.map(() => []);
const p99s = cfgs.map(() => []);
for (let i = 0; i < n; i++) {
  cfgs.forEach((c, j) => {
    const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, nArg, dirArg], { env: { ...process.env, VQ_CONFIGS_CHILD: c } }).toString();
    const r = JSON.parse(out.trim().split('\n').pop());
    runs[j].push(r.ok ? r.steady / 1e6 : NaN);
    p99s[j].push(r.p99);
  });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
cfgs.forEach((c, j) => console.log(`${c.padEnd(56)} median ${median(runs[j]).toFixed(2)} M/s   runs ${runs[j].map((x) => x.toFixed(2)).join(' ')}   p99 median ${median(p99s[j])} µs`));
