#!/usr/bin/env node
// Do correct queues ever end a simulator schedule unfinished? Random and PCT schedules over every
// ring × order × notify mode under tso, relaxed and weak, counting unfinished ones (STALL /
// LIVELOCK) and any other finding. Usage: node scripts/sim-sweep.mjs [--schedules N] [--json]
// (default 300 per row: 2 rings × 4 orders (none, in-order, partial, both) × 2 notify × 3 models ×
// 2 strategies × 300 = 28 800).
import { sweepUnfinished } from '../dist/src/sim/sweep.js';

const i = process.argv.indexOf('--schedules');
const schedules = i > 0 ? Number(process.argv[i + 1]) : 300;
const out = sweepUnfinished({ schedules, strategies: ['random', 'pct'] });
if (process.argv.includes('--json')) { console.log(JSON.stringify(out, null, 2)); process.exit(out.findings.length ? 1 : 0); }
for (const r of out.rows) console.log(`${r.ring.padEnd(6)} ${r.order.padEnd(8)} ${r.notify.padEnd(4)} ${r.model.padEnd(7)} ${r.strategy.padEnd(6)} ${String(r.schedules).padStart(5)}  ${r.finding ? `${r.finding} ${r.replay}` : 'finished'}`);
console.log(`${out.total} schedules in ${out.rows.length} rows: ${out.unfinished} rows with an unfinished schedule, ${out.findings.length} with any finding`);
process.exit(out.findings.length ? 1 : 0);
