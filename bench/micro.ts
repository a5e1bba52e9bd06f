/**
 * Micro-benchmarks (tinybench): the hot paths of each side in ONE thread, per ring and ordering,
 * in ns per buffer: driver add + publish, device pop + process + use, driver reclaim (each timed
 * alone, through bench/rig.ts: vqlab's own sides over real AtomicsMemory). Each tinybench task is
 * one round of a batch; live checker off (nothing drains the logs in one thread), data patterns on.
 * Each phase is reported as the median over rounds of its ns per buffer (a round that the machine
 * preempted is an outlier, not a share of the mean: on a shared machine the mean moves with the
 * load, the median much less), and the total also as the mean over all rounds.
 *   npm run bench:micro            (or: node dist/bench/micro.js [--json] [--time-ms MS], MS per task, default 300)
 */
import { Bench } from 'tinybench';
import { Rig } from './rig.js';

const json = process.argv.includes('--json');
const timeArg = process.argv.indexOf('--time-ms');
const timeMs = timeArg > 0 ? Number(process.argv[timeArg + 1]) : 300;
if (!(timeMs > 0)) { process.stderr.write('usage: node dist/bench/micro.js [--json] [--time-ms MS > 0]\n'); process.exit(2); }
const bench = new Bench({ time: timeMs, warmup: true, warmupTime: Math.min(100, timeMs) });
/** Per task: sums for the mean, and each round's ns per buffer of each phase (the last ROUNDS rounds) for the medians. */
const ROUNDS = 1 << 16;
interface Shares { add: number; dev: number; reclaim: number; buffers: number; n: number; rAdd: Float64Array; rDev: Float64Array; rReclaim: Float64Array }
const shares = new Map<string, Shares>();
for (const ring of ['split', 'packed'] as const) {
  for (const order of ['none', 'in-order', 'partial'] as const) {
    const name = `${ring} ${order}`;
    const rig = new Rig({ ring, order, queueSize: 256, check: false, verifyData: true });
    const s: Shares = { add: 0, dev: 0, reclaim: 0, buffers: 0, n: 0, rAdd: new Float64Array(ROUNDS), rDev: new Float64Array(ROUNDS), rReclaim: new Float64Array(ROUNDS) };
    shares.set(name, s);
    bench.add(name, () => {
      const t0 = performance.now();
      rig.add();
      const t1 = performance.now();
      rig.use();
      const t2 = performance.now();
      const got = rig.reclaim();
      const t3 = performance.now();
      s.buffers += got;
      s.add += t1 - t0;
      s.dev += t2 - t1;
      s.reclaim += t3 - t2;
      if (got > 0) {
        const k = s.n++ & (ROUNDS - 1);
        const ns = 1e6 / got;
        s.rAdd[k] = (t1 - t0) * ns;
        s.rDev[k] = (t2 - t1) * ns;
        s.rReclaim[k] = (t3 - t2) * ns;
      }
    });
  }
}
await bench.run();
const median = (a: Float64Array, n: number): number => {
  const xs = a.slice(0, Math.min(n, a.length)).sort();
  return xs.length === 0 ? 0 : xs[xs.length >> 1];
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const rows = bench.tasks.map((t) => {
  const s = shares.get(t.name)!;
  const add = median(s.rAdd, s.n), dev = median(s.rDev, s.n), reclaim = median(s.rReclaim, s.n);
  return {
    task: t.name,
    ns_per_buffer_add: r1(add), ns_per_buffer_reclaim: r1(reclaim), ns_per_buffer_driver: r1(add + reclaim),
    ns_per_buffer_device: r1(dev), ns_per_buffer_total: r1(add + dev + reclaim),
    ns_per_buffer_total_mean: r1(((s.add + s.dev + s.reclaim) * 1e6) / Math.max(1, s.buffers)), buffers: s.buffers, rounds: t.runs,
  };
});
if (json) console.log(JSON.stringify({ node: process.version, rows }, null, 2));
else console.table(rows);
