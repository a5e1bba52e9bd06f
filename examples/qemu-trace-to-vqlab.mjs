#!/usr/bin/env node
// Turn one queue of a QEMU trace log (the "log" trace backend: -trace 'virtqueue_*' -trace
// 'virtio_*' -D qemu.log) into a vqlab line-format trace, with vqlab's QEMU importer — the same one
// `vqlab check --format qemu` uses to check every queue of every device lifetime at once
// (docs/qemu-traces.md). Run `npm run build` first.
//
//   node examples/qemu-trace-to-vqlab.mjs qemu.log [--queue-size N] [--vq POINTER] [--lifetime L] | vqlab check
//
// Without --vq it takes the queue lifetime with the most buffers. --queue-size gives the size
// (otherwise the least the trace allows); ring and features come from the trace where it says, as
// in `vqlab check --format qemu`.
import { readFileSync } from 'node:fs';
import { checkQemuTrace, formatLineTrace, parseQueueSpec } from '../dist/src/index.js';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const size = opt('--queue-size');
const vq = opt('--vq');
const lifetime = opt('--lifetime');

const result = checkQemuTrace(readFileSync(file ?? 0, 'utf8'), { queues: size ? [parseQueueSpec(`*,size=${size}`)] : [] });
const candidates = result.queues.filter((q) => (vq === undefined || q.vq === vq) && (lifetime === undefined || q.lifetime === Number(lifetime)));
if (candidates.length === 0) {
  process.stderr.write(`no such queue; the trace has: ${result.queues.map((q) => `${q.vq} (${q.device}:${q.index ?? '?'}, lifetime ${q.lifetime})`).join(', ')}\n`);
  process.exit(2);
}
const q = candidates.reduce((a, b) => (b.pops > a.pops ? b : a));
process.stdout.write(`# ${q.device}:${q.index ?? '?'} lifetime ${q.lifetime} (vq ${q.vq}), ids: ${q.ids}\n`);
process.stdout.write(formatLineTrace(q.trace));
