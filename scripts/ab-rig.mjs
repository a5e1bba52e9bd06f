#!/usr/bin/env node
// Two builds' one-thread phase costs, paired: both rigs live in one process and are timed in
// alternating 50 ms slices, so the host's noise (which moves this VM's speed by 1.5x over minutes)
// hits both alike; prints each build's median ns/buffer per phase and the ratio B/A per phase.
//   node scripts/ab-rig.mjs <checkout A> <checkout B> [ring] [order] [check 0|1] [fault rate] [slices]
// A checkout may carry its own ordering as <checkout>@<order> (two orderings side by side). Give two
// copies of the build (e.g. cp -r dist /tmp/copy/dist, with package.json): one checkout imported
// twice is one set of modules, whose JIT feedback the two rigs would then share.
//   node scripts/ab-rig.mjs .@in-order /tmp/copy@partial split
import { resolve } from 'node:path';
const [, , dirA, dirB, ring = 'split', order = 'in-order', check = '0', rate = '0', slicesArg = '40'] = process.argv;
if (!dirA || !dirB) { console.error('usage: node scripts/ab-rig.mjs <checkout A> <checkout B> [ring] [order] [check 0|1] [fault rate] [slices]'); process.exit(2); }
const over = { ring, order, check: check === '1', verifyData: true, queueSize: 256, faultRate: Number(rate), faultLatencyUs: 50 };
const specs = [dirA, dirB].map((s) => s.split('@'));
if (resolve(specs[0][0]) === resolve(specs[1][0])) console.error('ab-rig: both rigs come from one checkout: they share modules and JIT feedback (use a copy of the build)');
const rigs = [];
for (const [d, ord] of specs) {
  const { Rig } = await import(resolve(d) + '/dist/bench/rig.js');
  rigs.push(new Rig(ord ? { ...over, order: ord } : over));
}
for (const r of rigs) r.timeSlice(800); // warm-up: both JITs settle
const out = [[], []];
const slices = Number(slicesArg);
for (let s = 0; s < slices; s++) for (let j = 0; j < 2; j++) { const jj = s & 1 ? 1 - j : j; out[jj].push(rigs[jj].timeSlice(50)); }
const med = (xs) => { const v = [...xs].sort((a, b) => a - b); return v[v.length >> 1]; };
console.log(`${ring} ${order} check=${check} fault rate ${rate}: median of ${slices} paired 50 ms slices, ns/buffer`);
for (const k of ['add', 'device', 'reclaim', 'checker']) {
  const a = med(out[0].map((x) => x[k])), b = med(out[1].map((x) => x[k]));
  const ratios = out[0].map((x, i) => out[1][i][k] / x[k]);
  console.log(`  ${k.padEnd(8)} A ${a.toFixed(1).padStart(6)}  B ${b.toFixed(1).padStart(6)}  B/A ${med(ratios).toFixed(3)}`);
}
