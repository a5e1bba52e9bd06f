#!/usr/bin/env node
// The results table of docs/wasm-sides.md: each implementation against vqlab's other side (and
// vqlab against itself), one after the other in one invocation, under the live checker.
//   npm run build && node scripts/wasm-table.mjs [--buffers N] [--third-party DIR]
// Third-party rows need scripts/third-party.sh first; they are left out when its modules are absent.
// A row's last element, when there is one, is merged into its run's config (ring, segments, indirect).
import { existsSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../dist/src/harness/run.js';
import { DEFAULT_CONFIG } from '../dist/src/harness/config.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const buffers = Number(arg('--buffers', '1000000'));
const tp = arg('--third-party', process.env.VQLAB_THIRD_PARTY_DIR ?? join(homedir(), '.cache', 'vqlab-third-party'));
const ex = (f) => new URL(`../examples/c/${f}`, import.meta.url).pathname;
const rows = [
  ['vqlab JS driver × vqlab JS device', {}, 'none', false],
  ['vqlab JS driver × vqlab JS device', {}, 'partial', false, 0.01],
  ['vqlab JS driver × C split device (examples/c)', { deviceModule: ex('split-device.wasm') }, 'none', false],
  ['vqlab JS driver × C split device (examples/c)', { deviceModule: ex('split-device.wasm') }, 'partial', false, 0.01],
  ['C split driver (examples/c) × vqlab JS device', { driverModule: ex('split-driver.wasm') }, 'none', false],
  ['C split driver (examples/c) × vqlab JS device', { driverModule: ex('split-driver.wasm') }, 'partial', false, 0.01],
  ['vqlab JS driver × vqlab JS device', {}, 'none', true],
  ['Linux ringtest virtio_ring_0_9 driver × vqlab JS device', { driverModule: join(tp, 'ringtest-driver.wasm') }, 'none', true],
  ['vqlab JS driver × Linux ringtest virtio_ring_0_9 device', { deviceModule: join(tp, 'ringtest-device.wasm') }, 'none', true],
  ['Linux ringtest driver × Linux ringtest device', { driverModule: join(tp, 'ringtest-driver.wasm'), deviceModule: join(tp, 'ringtest-device.wasm') }, 'none', true],
  // Buffers of 3 segments (1 readable + 2 writable): chained, or one indirect table when negotiated.
  ['vqlab JS driver × vqlab JS device, 3 segments', {}, 'none', false, 0.01, { segments: 3 }],
  ['vqlab JS driver × vqlab JS device, 3 segments', {}, 'none', true, 0.01, { segments: 3, indirect: true }],
  ['vqlab JS driver × Linux vringh device, 3 segments', { deviceModule: join(tp, 'vringh-device.wasm') }, 'none', false, 0.01, { segments: 3 }],
  ['vqlab JS driver × Linux vringh device, 3 segments', { deviceModule: join(tp, 'vringh-device.wasm') }, 'none', false, 0.01, { segments: 3, indirect: true }],
  ['vqlab JS driver × Linux vringh device, 3 segments', { deviceModule: join(tp, 'vringh-device.wasm') }, 'none', true, 0.01, { segments: 3 }],
  ['vqlab JS driver × Linux vringh device, 3 segments', { deviceModule: join(tp, 'vringh-device.wasm') }, 'none', true, 0.01, { segments: 3, indirect: true }],
  // The kernel's virtio_ring.c driver in the same shape as vqlab's driver above (split), and both
  // on the packed ring.
  ['Linux virtio_ring.c driver × vqlab JS device, 3 segments', { driverModule: join(tp, 'kernel-driver.wasm') }, 'none', true, 0.01, { segments: 3, indirect: true }],
  ['vqlab JS driver × vqlab JS device, 3 segments', {}, 'none', true, 0.01, { ring: 'packed', segments: 3, indirect: true }],
  ['Linux virtio_ring.c driver × vqlab JS device, 3 segments', { driverModule: join(tp, 'kernel-driver.wasm') }, 'none', true, 0.01, { ring: 'packed', segments: 3, indirect: true }],
];
console.log(`node ${process.version}, ${buffers} buffers per run, split ring unless the features say RING_PACKED, queue 256, poll, live checker on; load average at the start ${loadavg()[0].toFixed(1)}`);
console.log('| implementation | features | faults | verdict | M buffers/s (second half) |');
console.log('|---|---|---|---|---|');
for (const [name, mods, order, eventIdx, faultRate = 0, shape = {}] of rows) {
  if (Object.values(mods).some((p) => !existsSync(p))) continue;
  const r = await runThreaded({ ...DEFAULT_CONFIG, ring: 'split', ...mods, ...shape, buffers, order, eventIdx, faultRate, queueSize: 256, timeoutS: 600 });
  const verdict = r.ok ? `clean (${r.buffers} buffers)` : `${r.violations[0]?.rule ?? r.failure?.code}`;
  const feats = r.features.map((f) => f.replace('VIRTIO_F_', '')).join(' ');
  console.log(`| ${name} | ${feats} | ${faultRate ? `p = ${faultRate}: ${r.faults}` : '0'} | ${verdict} | ${r.ok ? (r.steady_buffers_per_s / 1e6).toFixed(3) : '–'} |`);
}
console.log(`load average at the end ${loadavg()[0].toFixed(1)}`);
