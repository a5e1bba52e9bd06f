#!/usr/bin/env node
// The bare split ring classes alone, one thread: SplitDriverRing.add/publish/pollUsed/readUsed/
// consumeUsed/free and SplitDeviceRing.pollAvail/popChain/pushUsed/publishUsed, one 16-byte
// descriptor per buffer, IN_ORDER batches of 64, no tracker, no data patterns, no events, no checker.
// The floor under vqlab's own driver and device: compare with scripts/rig-cost.mjs split in-order 0 0.
//   npm run build && node scripts/bare-ring.mjs [warm-up ms] [slice ms]     (defaults 500 100; 15 slices)
const dist = new URL("../dist", import.meta.url).pathname;
const { SplitDriverRing } = await import(dist + '/src/split/driver.js');
const { SplitDeviceRing } = await import(dist + '/src/split/device.js');
const { Chain } = await import(dist + '/src/ring/chain.js');
const { AtomicsMemory } = await import(dist + '/src/memory/ops.js');
const { guestLayout } = await import(dist + '/src/memory/guest.js');
const { negotiate, featureBits } = await import(dist + '/src/spec/features.js');
const { DEFAULT_CONFIG, validateConfig } = await import(dist + '/src/harness/config.js');
const cfg = validateConfig({ ...DEFAULT_CONFIG, order: 'in-order', faultRate: 0 });
const bits = featureBits(cfg); const f = negotiate(bits, bits);
const gl = guestLayout({ ring: 'split', queueSize: 256, segments: 1, segmentBytes: 16, indirect: false });
const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
let inflight = 0;
const drv = new SplitDriverRing(mem, gl.ring, gl, f, { indirectMin: 2, segmentBytes: 16 }, () => inflight);
const dev = new SplitDeviceRing(mem, gl.ring, f, gl.dmaStart);
const chain = new Chain(64, gl.dmaStart, mem.size);
// The ids of the round's buffers, in available order: one IN_ORDER used entry (the last id, batch of
// n) returns all of them (2.8.21.1), and each is freed by its own id.
const ids = new Uint16Array(64);
function round() {
  let n = 0;
  while (n < 64 && drv.canAdd(1)) ids[n++] = drv.add(0, 1);
  inflight += n;
  drv.publish();
  let popped = 0, last = 0;
  while (popped < 64 && dev.pollAvail()) { dev.popChain(chain); last = chain.id; popped++; }
  if (popped) { dev.pushUsed(last, 16, false, popped); dev.publishUsed(); }
  let got = 0;
  while (drv.pollUsed()) {
    drv.readUsed();
    if (drv.usedId !== ids[popped - 1]) throw new Error(`used id ${drv.usedId}, expected the batch's last id ${ids[popped - 1]}`);
    drv.consumeUsed(popped);
    for (let i = 0; i < popped; i++) drv.free(ids[i]);
    got += popped;
  }
  inflight -= got;
  return got;
}
const [warmMs = 500, sliceMs = 100] = process.argv.slice(2).map(Number);
if (!(warmMs >= 0) || !(sliceMs > 0)) { console.error('usage: node scripts/bare-ring.mjs [warm-up ms] [slice ms]'); process.exit(2); }
function run(ms) { let n = 0; const t0 = performance.now(); do { for (let i = 0; i < 50; i++) n += round(); } while (performance.now() - t0 < ms); return (performance.now() - t0) * 1e6 / n; }
run(warmMs); const r = []; for (let i = 0; i < 15; i++) r.push(run(sliceMs)); r.sort((a,b)=>a-b);
console.log('bare vqlab split ring, one thread, both sides: min', r[0].toFixed(1), 'median', r[7].toFixed(1), 'ns/buffer');
