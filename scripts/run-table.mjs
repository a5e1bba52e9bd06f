#!/usr/bin/env node
// The "vqlab run --json" table of docs/benchmarks.md: every ordering at fault rates 0 and 0.01, for
// each ring given (default split), each row with the exact command that produced it, and the
// commit, machine and Node it ran on. Prints markdown.
//   npm run build && node scripts/run-table.mjs [--rings split,packed] [--buffers N] [--repeat K]
//       [--orders none,in-order,partial] [--fault-rates 0,0.01]
// With --repeat K each row is the median (by buffers/s) of K runs.
import { execFileSync } from 'node:child_process';
import { machine } from './lib/machine.mjs';

const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const rings = opt('--rings', 'split').split(',');
const buffers = opt('--buffers', '1000000');
const repeat = Number(opt('--repeat', '3'));
const orders = opt('--orders', 'none,in-order,partial').split(',');
const rates = opt('--fault-rates', '0,0.01').split(',');
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
if (!(Number(buffers) >= 1) || !(repeat >= 1) || rings.some((r) => r !== 'split' && r !== 'packed')
  || orders.some((o) => !['none', 'in-order', 'partial'].includes(o)) || rates.some((p) => !(Number(p) >= 0 && Number(p) <= 1))) {
  console.error('usage: node scripts/run-table.mjs [--rings split,packed] [--buffers N ≥ 1] [--repeat K ≥ 1] [--orders none,in-order,partial] [--fault-rates 0,0.01]');
  process.exit(2);
}

const rows = [];
for (const ring of rings) {
  for (const rate of rates) {
    for (const order of orders) {
      const cmd = ['run', '--ring', ring, '--order', order, '--fault-rate', rate, '--buffers', buffers, '--json'];
      const runs = [];
      for (let k = 0; k < repeat; k++) {
        let out;
        try { out = execFileSync('node', [bin, ...cmd], { encoding: 'utf8', maxBuffer: 1 << 26 }); }
        catch (e) { out = e.stdout; }
        runs.push(JSON.parse(out));
      }
      runs.sort((a, b) => a.buffers_per_s - b.buffers_per_s);
      const r = runs[Math.floor(runs.length / 2)];
      rows.push({ cmd: `vqlab ${cmd.join(' ')}`, r, spread: [runs[0].buffers_per_s, runs[runs.length - 1].buffers_per_s] });
    }
  }
}
const M = (x) => (x / 1e6).toFixed(2);
console.log(`Measured at ${machine()}; median of ${repeat} runs (min–max in brackets).\n`);
console.log('| ring | order | fault rate | M buffers/s | p50 µs | p99 µs | used entries / buffer | FLUSH | faults | stall ms | violations | command |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const { cmd, r, spread } of rows) {
  console.log(`| ${r.ring} | ${r.order} | ${r.config.fault_rate ?? r.config.faultRate} | ${M(r.buffers_per_s)} [${M(spread[0])}–${M(spread[1])}] | ${r.latency_us.p50} | ${r.latency_us.p99} | ${r.used_entries_per_buffer} | ${r.flushes} | ${r.faults} | ${r.stall_ms} | ${r.violations.length} | \`${cmd}\` |`);
}
