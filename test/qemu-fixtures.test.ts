import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { checkQemuTrace, parseSidecar, type ImportedTrace, type QemuCheckResult } from '../src/trace/qemu.js';
import { readMaybeGzip } from '../src/cli/check-qemu.js';

// Real traces: QEMU 10.0.2's virtio devices serving Linux 6.12 and 7.3 guests, recorded with
// scripts/qemu/record.sh (test/fixtures/qemu/README.md has the exact command lines).
const dir = new URL('./fixtures/qemu/', import.meta.url).pathname;
const load = (name: string, sidecar = true): QemuCheckResult =>
  checkQemuTrace(readMaybeGzip(join(dir, `${name}.log.gz`)), sidecar ? { queues: parseSidecar(readMaybeGzip(join(dir, `${name}.vq`))) } : {});
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

/** The most buffers popped after a buffer and used before it (how far others overtook it). */
function maxOvertaken(t: ImportedTrace): number {
  const pending: [number, number][] = [];
  const seqs: number[] = [];
  let next = 0;
  t.used.forEach((u, i) => {
    for (; next < t.avail_before[i]; next++) { const a = t.avail[next]; pending.push([typeof a === 'number' ? a : a.id, next]); }
    const k = pending.findIndex(([id]) => id === u.id);
    seqs.push(pending.splice(k, 1)[0][1]);
  });
  let most = 0;
  seqs.forEach((s, i) => { let c = 0; for (let j = 0; j < i; j++) if (seqs[j] > s) c++; most = Math.max(most, c); });
  return most;
}

const GOOD: [string, string[]][] = [
  // name, the queues (device:index/lifetime) and their ring/order, as the trace and sidecar give them
  ['split', ['blk0:0/1 split none', 'blk0:0/2 split none']],
  ['packed', ['blk0:0/1 split none', 'blk0:0/2 packed none']],
  ['smp2', ['blk0:0/1 split none', 'blk0:0/2 split none', 'blk0:1/2 split none']],
  ['net', ['blk0:0/1 split none', 'blk0:0/2 split none', 'dev0:0/1 split none', 'dev0:1/1 split none', 'dev0:2/1 split none']],
  ['slow', ['blk0:0/1 split none', 'blk0:0/2 split none']],
  ['k73-inorder', ['blk0:0/1 split none', 'blk0:0/2 split in-order']],
];

describe('real QEMU traces', () => {
  for (const [name, queues] of GOOD) {
    it(`${name}: every queue of every device lifetime is clean, with real heads`, () => {
      const r = load(name);
      expect(r.queues.map((q) => `${q.device}:${q.index}/${q.lifetime} ${q.ring} ${q.order}`)).toEqual(queues);
      for (const q of r.queues) {
        expect(q, `${q.device}:${q.index}/${q.lifetime}: ${q.message}`).toMatchObject({ verdict: 'ok', ids: 'heads', outstanding: 0, size_from: 'option' });
        expect(q.used_entries).toBe(q.pops);
        expect(q.qemu_errors).toEqual([]);
      }
      // The firmware's lifetime (SeaBIOS reads the disk before Linux resets it) is a split ring
      // whatever the driver negotiates later.
      expect(r.queues[0]).toMatchObject({ lifetime: 1, ring: 'split', ring_from: 'trace', pops: 1, ended_by: 'reset' });
      expect(r.summary.buffers_popped).toBeGreaterThan(2000);
    });
  }
  it('capacities are real and checked: every used len is within its own instance\'s capacity, and a reused head changes capacity', () => {
    const q = load('split').queues[1];
    const caps = new Map<number, Set<number>>();
    for (const a of q.trace.avail) {
      expect(typeof a).toBe('object');
      if (typeof a === 'object') caps.set(a.id, (caps.get(a.id) ?? new Set()).add(a.capacity));
    }
    expect([...caps.values()].some((s) => s.size > 1)).toBe(true);
  });
  it('slow: reads overtake a write held back by throttling (more than a queue\'s worth), and that is legal', () => {
    const q = load('slow').queues[1];
    expect(maxOvertaken(q.trace)).toBeGreaterThan(q.queue_size);
    expect(q.max_in_flight).toBeLessThanOrEqual(q.queue_size);
    expect(q.verdict).toBe('ok');
  });
  it('net: the control queue is 64 entries, the others 256', () => {
    expect(load('net').queues.filter((q) => q.device === 'dev0').map((q) => q.queue_size)).toEqual([256, 256, 64]);
  });
  it('without the sidecar: still clean, with the ring kind and sizes marked as assumed or inferred', () => {
    const r = load('packed', false);
    expect(r.ok).toBe(true);
    expect(r.queues[1]).toMatchObject({ ring: 'packed', ring_from: 'assumed', size_from: 'inferred' });
  });
  it('without heads (the shim\'s fields removed): still clean, labelled as inferred ids', () => {
    const text = readMaybeGzip(join(dir, 'slow.log.gz')).replace(/ head \d+ ndescs .*$/gm, '');
    const r = checkQemuTrace(text, { queues: parseSidecar(readMaybeGzip(join(dir, 'slow.vq'))) });
    expect(r.ok).toBe(true);
    expect(r.summary.ids).toBe('inferred');
  });

  it('numbering elements is no substitute for heads: the numbers are rarely the real heads', () => {
    for (const [name, most] of [['split', 0.2], ['k73-inorder', 0.02]] as const) {
      const text = readMaybeGzip(join(dir, `${name}.log.gz`));
      const real = checkQemuTrace(text).queues.flatMap((q) => q.trace.avail.map((a) => (typeof a === 'number' ? a : a.id)));
      const guessed = checkQemuTrace(text.replace(/ head \d+ ndescs .*$/gm, '')).queues.flatMap((q) => q.trace.avail as number[]);
      expect(guessed).toHaveLength(real.length);
      expect(guessed.filter((g, i) => g === real[i]).length / real.length, name).toBeLessThan(most);
    }
  });
  for (const name of ['k73-inorder-hang', 'k73-packed-inorder-hang']) {
    it(`${name}: names QEMU's lost in-order fill, the buffers stuck behind it, and the wrap`, () => {
      const r = load(name);
      expect(r.ok).toBe(false);
      const q = r.queues.find((x) => x.verdict !== 'ok')!;
      expect(q).toMatchObject({ lifetime: 2, order: 'in-order', verdict: 'device error', rule: 'DEVICE_FILL_FAILED', ids: 'heads', ended_by: 'end of trace' });
      expect(q.qemu_errors[0].message).toMatch(/^virtqueue_ordered_fill: virtio-blk cannot fill buffer id \d+$/);
      expect(q.message).toMatch(/which it had popped at line \d+ and which was still in flight/);
      expect(q.message).toMatch(/wrap past the end of the 256-slot ring/);
      expect(q.filled_unused).toBeGreaterThan(0);
      expect(q.outstanding).toBe(q.pops - q.used_entries);
      // The other lifetime (firmware) is clean.
      expect(r.queues.filter((x) => x !== q).every((x) => x.verdict === 'ok')).toBe(true);
      // Even without the sidecar the error line proves IN_ORDER.
      expect(load(name, false).queues[1]).toMatchObject({ order: 'in-order', order_from: 'trace', rule: 'DEVICE_FILL_FAILED' });
    });
  }

  it('the CLI: exit 0 on a good trace (gzip read as is), 1 on the hang, JSON on request', () => {
    const good = vqlab(['check', '--format', 'qemu', join(dir, 'smp2.log.gz'), '--sidecar', join(dir, 'smp2.vq')]);
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/3 queue lifetime\(s\) on 1 device\(s\): 3 ok, 0 with violations, 0 with device errors/);
    const hang = vqlab(['check', '--format', 'qemu', join(dir, 'k73-inorder-hang.log.gz'), '--sidecar', join(dir, 'k73-inorder-hang.vq'), '--json']);
    expect(hang.status, hang.stderr).toBe(1);
    const j = JSON.parse(hang.stdout) as QemuCheckResult;
    expect(j.summary).toMatchObject({ queues: 2, ok: 1, device_errors: 1 });
    expect(j.queues[1]).toMatchObject({ rule: 'DEVICE_FILL_FAILED' });
    expect(j.queues[1]).not.toHaveProperty('trace');
    const lost = vqlab(['check', '--format', 'qemu', join(dir, 'split.log.gz'), '--queue', 'blk,size=256', '--complete']);
    expect(lost.status, lost.stderr).toBe(0);
  });
  it('examples/qemu-trace-to-vqlab.mjs turns one queue of a log into a line-format trace vqlab check accepts', () => {
    const root = new URL('..', import.meta.url).pathname;
    const ex = spawnSync('node', [join(root, 'examples/qemu-trace-to-vqlab.mjs'), join(root, 'examples/qemu-sample.log'), '--queue-size', '256'], { encoding: 'utf8', timeout: 60_000 });
    expect(ex.status, ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/^# blk0:0 lifetime 2 .*ids: heads\n# vqlab trace\nring split\norder none\nqueue_size 256\n/);
    expect(ex.stdout).toMatch(/^avail 0 \d+$/m); // each instance with its capacity
    const r = spawnSync('node', [bin, 'check', '--format', 'lines', '--json'], { input: ex.stdout, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, used_entries: 10 });
  });
  it('the CLI: bad input is one line and exit 2', () => {
    for (const args of [['/nonexistent.log'], ['/dev/null'], [join(dir, 'split.log.gz'), '--queue', 'blk,size=0'], [join(dir, 'split.log.gz'), '--sidecar', '/nonexistent.vq']]) {
      const r = vqlab(['check', '--format', 'qemu', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
