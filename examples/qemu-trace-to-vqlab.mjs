#!/usr/bin/env node
// Convert a QEMU trace log (the "log" trace backend, events virtqueue_pop and virtqueue_fill from
// hw/virtio/trace-events) into vqlab's line format, for `vqlab check`.
//
//   qemu-system-x86_64 ... -trace 'virtqueue_pop' -trace 'virtqueue_fill' 2> qemu.log
//   node examples/qemu-trace-to-vqlab.mjs qemu.log --vq 0x55d0c0a1b2c0 --queue-size 256 | vqlab check
//
// QEMU names buffers by element pointer, not by descriptor head, and pops them in available order.
// The converter gives each popped element the lowest free id (ids stay below the queue size, as a
// split ring's heads do) and frees it when the element is filled. QEMU writes one used entry per
// element (no batching, no FLUSH), so the trace is checked as `order none` unless --order says
// otherwise (e.g. in-order for a device that negotiated VIRTIO_F_IN_ORDER).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const vqFilter = opt('--vq');
const queueSize = Number(opt('--queue-size', '256'));
const order = opt('--order', 'none');
const text = readFileSync(file ?? 0, 'utf8');

const free = [];
for (let i = queueSize - 1; i >= 0; i--) free.push(i);
const idOf = new Map();
const out = ['# converted from a QEMU trace log', 'ring split', `order ${order}`, `queue_size ${queueSize}`];
// Lines look like "12345@1700000000.123456:virtqueue_pop vq 0x5573... elem 0x5573... in_num 1 out_num 0"
const re = /(virtqueue_pop|virtqueue_fill) vq (0x[0-9a-f]+) elem (0x[0-9a-f]+)(?: in_num (\d+) out_num (\d+)| len (\d+) idx (\d+))/;
for (const line of text.split('\n')) {
  const m = re.exec(line);
  if (!m || (vqFilter && m[2] !== vqFilter)) continue;
  const elem = m[3];
  if (m[1] === 'virtqueue_pop') {
    const id = free.pop();
    if (id === undefined) { process.stderr.write(`more than ${queueSize} elements in flight: wrong --queue-size or --vq?\n`); process.exit(2); }
    idOf.set(elem, id);
    out.push(`avail ${id}`);
  } else {
    const id = idOf.get(elem);
    if (id === undefined) { out.push(`# fill of unknown element ${elem}`); out.push(`used 65535 ${m[6]} -`); continue; }
    idOf.delete(elem);
    free.push(id);
    out.push(`used ${id} ${m[6]} -`);
  }
}
process.stdout.write(out.join('\n') + '\n');
