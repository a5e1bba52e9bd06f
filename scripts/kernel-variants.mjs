#!/usr/bin/env node
// What vqlab catches, in real threads on this machine, of the kernel's virtio_ring.c built with a
// barrier removed or an index store moved (scripts/third-party/kernel/*.patch, built by
// scripts/third-party.sh): each variant, and the unpatched driver beside them, run --repeats times
// in poll and in wait mode against vqlab's device under the live checker; per cell, how many runs
// ended clean and the rule each other run ended with.
//   npm run build && scripts/third-party.sh && node scripts/kernel-variants.mjs [--buffers N] [--repeats R] [--third-party DIR]
import { existsSync, readdirSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../dist/src/harness/run.js';
import { DEFAULT_CONFIG } from '../dist/src/harness/config.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const buffers = Number(arg('--buffers', '100000'));
const repeats = Number(arg('--repeats', '5'));
const tp = arg('--third-party', process.env.VQLAB_THIRD_PARTY_DIR ?? join(homedir(), '.cache', 'vqlab-third-party'));
const patches = new URL('./third-party/kernel/', import.meta.url).pathname;
const variants = [['(unpatched)', 'kernel-driver.wasm']];
for (const f of readdirSync(patches).filter((f) => f.endsWith('.patch')).sort()) variants.push([f.replace(/\.patch$/, ''), `kernel-driver-${f.replace(/\.patch$/, '')}.wasm`]);
if (!existsSync(join(tp, 'kernel-driver.wasm'))) {
  console.log(`no kernel driver modules in ${tp}: run scripts/third-party.sh first`);
  process.exit(0);
}
console.log(`node ${process.version}, ${buffers} buffers of 3 segments per run, queue 256, EVENT_IDX, fault rate 0.01, ${repeats} runs per cell (seeds 1..${repeats}), live checker on; load average at the start ${loadavg()[0].toFixed(1)}`);
console.log('| variant | ring | poll | wait |');
console.log('|---|---|---|---|');
for (const [name, file] of variants) {
  const path = join(tp, file);
  if (!existsSync(path)) continue;
  const ring = name.startsWith('packed') ? 'packed' : 'split';
  const rings = name === '(unpatched)' ? ['split', 'packed'] : [ring];
  for (const r of rings) {
    const cells = [];
    for (const notify of ['poll', 'wait']) {
      const seen = new Map();
      for (let k = 1; k <= repeats; k++) {
        const res = await runThreaded({ ...DEFAULT_CONFIG, driverModule: path, ring: r, order: 'none', eventIdx: true, segments: 3, faultRate: 0.01, buffers, notify, seed: k, timeoutS: 300 });
        const verdict = res.ok ? 'clean' : (res.violations[0]?.rule ?? res.failure?.code ?? 'failed');
        seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
      }
      cells.push([...seen].map(([v, n]) => `${v} ${n}/${repeats}`).join(', '));
    }
    console.log(`| ${name} | ${r} | ${cells[0]} | ${cells[1]} |`);
  }
}
console.log(`load average at the end ${loadavg()[0].toFixed(1)}`);
