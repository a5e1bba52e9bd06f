#!/usr/bin/env node
// Per-run tails side by side: runs `vqlab run` of this checkout's build with each set of RunConfig
// overrides in turn, seeds 1..N, in one process, and prints every run's p99, steady throughput and
// the sides' sleep counts (wait mode), one line per setting. The p99 of a wait-mode run is bimodal
// on a shared VM; medians hide that, so this prints each run.
//   node scripts/run-tails.mjs N '<base overrides>' '<overrides A>' '<overrides B>' ...
// e.g. node scripts/run-tails.mjs 6 '{"order":"partial","faultRate":0.001,"faultLatencyUs":10,"notify":"wait"}' '{}' '{"spinUs":3000}'
const [, , nArg, baseArg, ...cfgs] = process.argv;
const n = Number(nArg);
if (!(n > 0) || !baseArg || cfgs.length === 0) { console.error("usage: node scripts/run-tails.mjs N '{base}' '{A}' ['{B}' ...]"); process.exit(2); }
const { runThreaded } = await import(new URL('../dist/src/harness/run.js', import.meta.url).href);
const { DEFAULT_CONFIG } = await import(new URL('../dist/src/harness/config.js', import.meta.url).href);
const base = { ...DEFAULT_CONFIG, buffers: 2_000_000, ...JSON.parse(baseArg) };
const out = cfgs.map(() => []);
for (let i = 0; i < n; i++) {
  for (let j = 0; j < cfgs.length; j++) {
    const r = await runThreaded({ ...base, ...JSON.parse(cfgs[j]), seed: 1 + i });
    out[j].push(r.ok ? `p99 ${(r.latency_us.p99 / 1000).toFixed(2)} ms ${(r.steady_buffers_per_s / 1e6).toFixed(1)} M/s sleeps ${r.driver_sleeps}+${r.device_sleeps}` : `FAILED ${r.failure?.code}`);
  }
}
cfgs.forEach((c, j) => console.log(`${c}\n  ${out[j].join('\n  ')}`));
