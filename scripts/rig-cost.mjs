#!/usr/bin/env node
// One-thread cost per buffer of each phase of a round and of the live checker's drain (bench/rig.ts:
// vqlab's driver, device and checker in one thread over real AtomicsMemory, no cross-core traffic):
// driver add + publish, device pop + process + use, driver reclaim, checker drain; median of 9
// timed slices of 200 ms after a 600 ms warm-up (both settable).
//   npm run build && node scripts/rig-cost.mjs [ring] [order] [check 0|1] [fault rate] [fault latency µs] [verify data 0|1] [warm-up ms] [slice ms]
// e.g. node scripts/rig-cost.mjs split partial 1 0.01 50
const [ring = 'split', order = 'in-order', check = '1', rate = '0', latency = '50', verify = '1', warm = '600', sliceMs = '200'] = process.argv.slice(2);
if (!(Number(warm) >= 0) || !(Number(sliceMs) > 0)) { console.error('usage: node scripts/rig-cost.mjs [ring] [order] [check 0|1] [fault rate] [fault latency µs] [verify data 0|1] [warm-up ms] [slice ms]'); process.exit(2); }
const { Rig } = await import('../dist/bench/rig.js');
const rig = new Rig({ ring, order, check: check === '1', verifyData: verify === '1', queueSize: 256, faultRate: Number(rate), faultLatencyUs: Number(latency) });
const slice = (ms) => { const t = rig.timeSlice(ms); return [t.add + t.reclaim, t.add, t.reclaim, t.device, t.checker]; };
slice(Number(warm));
const rows = [];
for (let i = 0; i < 9; i++) rows.push(slice(Number(sliceMs)));
const median = (k) => rows.map((r) => r[k]).sort((x, y) => x - y)[4].toFixed(1);
console.log(`${ring} ${order} check=${check} verify=${verify} fault rate ${rate} (${latency} µs): driver ${median(0)} (add ${median(1)}, reclaim ${median(2)})  device ${median(3)}  checker ${median(4)} ns/buffer`);
