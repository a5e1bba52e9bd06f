/**
 * Micro-benchmarks (tinybench): the hot paths of each side in ONE thread, per ring and ordering,
 * in ns per buffer: driver add + publish, device pop + process + use, driver reclaim (each timed
 * alone, through bench/rig.ts: vqlab's own sides over real AtomicsMemory). Each tinybench task is
 * one round of a batch; live checker off (nothing drains the logs in one thread), data patterns on.
 *   npm run bench:micro            (or: node dist/bench/micro.js [--json] [--time-ms MS], MS per task, default 300)
 */
import { Bench } from 'tinybench';
import { Rig } from './rig.js';

const json = process.argv.includes('--json');
const timeArg = process.argv.indexOf('--time-ms');
const timeMs = timeArg > 0 ? Number(process.argv[timeArg + 1]) : 300;
if (!(timeMs > 0)) { process.stderr.write('usage: node dist/bench/micro.js [--json] [--time-ms MS > 0]\n'); process.exit(2); }
const bench = new Bench({ time: timeMs, warmup: true, warmupTime: Math.min(100, timeMs) });
const shares = new Map<string, { add: number; dev: number; reclaim: number; buffers: number }>();
for (const ring of ['split', 'packed'] as const) {
  for (const order of ['none', 'in-order', 'partial'] as const) {
    const name = `${ring} ${order}`;
    const rig = new Rig({ ring, order, queueSize: 256, check: false, verifyData: true });
    const s = { add: 0, dev: 0, reclaim: 0, buffers: 0 };
    shares.set(name, s);
    bench.add(name, () => {
      const t0 = performance.now();
      rig.add();
      const t1 = performance.now();
      rig.use();
      const t2 = performance.now();
      s.buffers += rig.reclaim();
      const t3 = performance.now();
      s.add += t1 - t0;
      s.dev += t2 - t1;
      s.reclaim += t3 - t2;
    });
  }
}
await bench.run();
const rows = bench.tasks.map((t) => {
  const s = shares.get(t.name)!;
  const perBuf = (ms: number): number => Math.round((ms * 1e6) / Math.max(1, s.buffers) * 10) / 10;
  return {
    task: t.name,
    ns_per_buffer_add: perBuf(s.add), ns_per_buffer_reclaim: perBuf(s.reclaim), ns_per_buffer_driver: perBuf(s.add + s.reclaim),
    ns_per_buffer_device: perBuf(s.dev), ns_per_buffer_total: perBuf(s.add + s.dev + s.reclaim), buffers: s.buffers, rounds: t.runs,
  };
});
if (json) console.log(JSON.stringify({ node: process.version, rows }, null, 2));
else console.table(rows);
