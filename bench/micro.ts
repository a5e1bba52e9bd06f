/**
 * Micro-benchmarks (tinybench): the hot paths of each side in ONE thread, per ring and ordering,
 * in ns per buffer. Each task is one round trip of a batch: driver.step() (add + publish + reclaim
 * the previous batch) then device.step() (pop + process + use), over real AtomicsMemory; the two
 * sides' shares are timed separately. Live checker off (nothing drains the logs in one thread),
 * data patterns on.
 *   npm run bench:micro            (or: node dist/bench/micro.js --json)
 */
import { Bench } from 'tinybench';
import { DEFAULT_CONFIG, validateConfig, type RunConfig } from '../src/harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf } from '../src/harness/sides.js';
import { featureBits, negotiate } from '../src/spec/features.js';
import type { Doorbell } from '../src/memory/doorbell.js';

const bell: Doorbell = { mode: 'poll', ring() {}, read: () => 0, wait: () => false, wakeAll() {} };

function pair(over: Partial<RunConfig>) {
  const cfg = validateConfig({ ...DEFAULT_CONFIG, check: false, faultRate: 0, buffers: Number.MAX_SAFE_INTEGER, ...over });
  const bits = featureBits(cfg);
  const f = negotiate(bits, bits);
  const init = { cfg, features: '0x' + f.bits.toString(16), shared: createShared(cfg, guestLayoutOf(cfg)) };
  const env = { doorbell: bell };
  const driver = buildDriver(init, undefined, env);
  const device = buildDevice(init, undefined, env);
  driver.start();
  device.start();
  return { driver, device };
}

const json = process.argv.includes('--json');
const bench = new Bench({ time: 300, warmup: true, warmupTime: 100 });
const shares = new Map<string, { drv: number; dev: number; buffers: number }>();
for (const ring of ['split', 'packed'] as const) {
  for (const order of ['none', 'in-order', 'partial'] as const) {
    const name = `${ring} ${order}`;
    const { driver, device } = pair({ ring, order, queueSize: 256 });
    const s = { drv: 0, dev: 0, buffers: 0 };
    shares.set(name, s);
    bench.add(name, () => {
      const before = driver.reclaimedCount;
      const t0 = performance.now();
      driver.step();
      const t1 = performance.now();
      device.step();
      const t2 = performance.now();
      s.drv += t1 - t0;
      s.dev += t2 - t1;
      s.buffers += driver.reclaimedCount - before;
    });
  }
}
await bench.run();
const rows = bench.tasks.map((t) => {
  const s = shares.get(t.name)!;
  const perBuf = (ms: number): number => Math.round((ms * 1e6) / Math.max(1, s.buffers) * 10) / 10;
  return { task: t.name, ns_per_buffer_driver: perBuf(s.drv), ns_per_buffer_device: perBuf(s.dev), ns_per_buffer_total: perBuf(s.drv + s.dev), buffers: s.buffers, rounds: t.runs };
});
if (json) console.log(JSON.stringify({ node: process.version, rows }, null, 2));
else console.table(rows);
