/**
 * Micro-benchmarks (tinybench): the hot paths of each side in one thread, in ns per buffer, for
 * each ring and ordering: driver add + publish, device pop + use, driver reclaim, the live
 * checker's drain, and a whole round. One thread means no cache line crosses a core: these are
 * the instruction costs; `vqlab bench` measures the two-thread figures.
 *
 *   npm run bench:phases                 # all rings × orders
 *   npm run bench:phases -- --json       # machine-readable
 *   npm run bench:phases -- --quick      # shorter time budget per task
 */
import { Bench, type Task } from 'tinybench';
import { Rig } from './rig.js';
import type { OrderMode, RingKind } from '../src/spec/features.js';

const BATCH = 64;

interface Row { ring: RingKind; order: OrderMode; phase: string; ns_per_buffer: number; rme_pct: number; samples: number }

function phaseTasks(bench: Bench, ring: RingKind, order: OrderMode, rows: Map<Task, Omit<Row, 'ns_per_buffer' | 'rme_pct' | 'samples'>>): void {
  const base = { ring, order, queueSize: 256, publishBatch: BATCH, popBudget: BATCH, segments: 1, segmentBytes: 16 };
  const off = new Rig({ ...base, check: false });
  const on = new Rig({ ...base, check: true });
  const name = (p: string): string => `${ring} ${order} ${p}`;
  const add = (phase: string, fn: () => unknown, before: () => void, after: () => void = () => {}): void => {
    const t = bench.add(name(phase), fn, { beforeEach: before, afterEach: after }).getTask(name(phase))!;
    rows.set(t, { ring, order, phase });
  };
  // Each phase alone; the hooks (untimed) bring the ring to the state the phase starts from.
  add('driver add+publish', () => off.add(), () => { off.use(); off.reclaim(); });
  add('device pop+use', () => off.use(), () => { off.add(); }, () => { off.reclaim(); });
  add('driver reclaim', () => off.reclaim(), () => { off.add(); off.use(); });
  add('checker drain', () => on.drain(), () => { on.add(); on.use(); on.reclaim(); });
  add('round, checker off', () => off.round(), () => {});
  add('round, checker on', () => on.round(), () => {});
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const json = args.includes('--json');
  const rings = (args.find((a) => a.startsWith('--ring='))?.slice(7).split(',') ?? ['split', 'packed']) as RingKind[];
  const orders = (args.find((a) => a.startsWith('--order='))?.slice(8).split(',') ?? ['none', 'in-order', 'partial']) as OrderMode[];
  const bench = new Bench({ time: quick ? 150 : 600, warmupTime: quick ? 50 : 200 });
  const rows = new Map<Task, Omit<Row, 'ns_per_buffer' | 'rme_pct' | 'samples'>>();
  for (const ring of rings) for (const order of orders) phaseTasks(bench, ring, order, rows);
  await bench.run();
  const out: Row[] = [];
  for (const t of bench.tasks) {
    const r = t.result;
    const meta = rows.get(t)!;
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`);
    // Every phase moves one batch per call (the queue holds 256, the batch is 64).
    out.push({ ...meta, ns_per_buffer: Math.round((r.latency.mean * 1e6) / BATCH * 10) / 10, rme_pct: Math.round(r.latency.rme * 10) / 10, samples: r.latency.samplesCount });
  }
  if (json) { process.stdout.write(JSON.stringify({ node: process.version, batch: BATCH, rows: out }, null, 2) + '\n'); return; }
  const phases = [...new Set(out.map((r) => r.phase))];
  const w = 26;
  process.stdout.write(`ns per buffer, one thread, 16-byte buffers, batches of ${BATCH}, queue 256 (mean ± rme)\n`);
  process.stdout.write('ring order'.padEnd(18) + phases.map((p) => p.padStart(w)).join('') + '\n');
  for (const ring of rings) for (const order of orders) {
    const cells = phases.map((p) => {
      const r = out.find((x) => x.ring === ring && x.order === order && x.phase === p)!;
      return `${r.ns_per_buffer.toFixed(1)} ±${r.rme_pct.toFixed(0)}%`.padStart(w);
    });
    process.stdout.write(`${ring} ${order}`.padEnd(18) + cells.join('') + '\n');
  }
}

main().catch((e: unknown) => { process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`); process.exit(1); });
