#!/usr/bin/env node
// One-thread cost per buffer of each phase of a round (bench/rig.ts over real AtomicsMemory, no
// cross-core traffic): driver add + publish, device pop + process + use, driver reclaim; median of
// 9 timed slices of 200 ms after an 800 ms warm-up. Live checker off unless asked.
//   npm run build && node scripts/phase-cost.mjs [order] [check 0|1] [verify data 0|1] [ring]
// e.g. node scripts/phase-cost.mjs in-order 0 1
const [order = 'in-order', check = '0', verify = '1', ring = 'split'] = process.argv.slice(2);
const { Rig } = await import('../dist/bench/rig.js');
const rig = new Rig({ ring, order, check: check === '1', verifyData: verify === '1', queueSize: 256, faultRate: 0 });
function slice(ms) {
  let n = 0, tAdd = 0, tUse = 0, tReclaim = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 50; i++) {
      const a = performance.now(); rig.add();
      const b = performance.now(); rig.use();
      const c = performance.now(); n += rig.reclaim();
      const d = performance.now(); rig.drain();
      tAdd += b - a; tUse += c - b; tReclaim += d - c;
    }
  }
  return [tAdd, tUse, tReclaim].map((t) => (t * 1e6) / n);
}
slice(800);
const rows = [];
for (let i = 0; i < 9; i++) rows.push(slice(200));
const median = (k) => rows.map((r) => r[k]).sort((x, y) => x - y)[4].toFixed(1);
console.log(`${ring} ${order} check=${check} verify=${verify}: add ${median(0)}  use ${median(1)}  reclaim ${median(2)} ns/buffer`);
