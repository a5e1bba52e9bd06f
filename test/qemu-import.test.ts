import { describe, expect, it } from 'vitest';
import { checkQemuTrace, parseQueueSpec, parseSidecar, QemuTraceError, type QueueVerdict } from '../src/trace/qemu.js';

/**
 * Crafted QEMU logs, written the way QEMU 10's log backend writes them (with the vqhead shim's
 * fields when `head` is given). One builder per event.
 */
class Log {
  lines: string[] = [];
  constructor(readonly vdev = '0x5600000000a0') {}
  status(val: number, vdev = this.vdev): this { this.lines.push(`virtio_set_status vdev ${vdev} val ${val}`); return this; }
  kick(vq: string, n: number, vdev = this.vdev): this { this.lines.push(`virtio_queue_notify vdev ${vdev} n ${n} vq ${vq}`); return this; }
  irq(vq: string, vdev = this.vdev): this { this.lines.push(`virtio_notify vdev ${vdev} vq ${vq}`); return this; }
  blk(vdev = this.vdev): this { this.lines.push(`virtio_blk_handle_read vdev ${vdev} req 0x1 sector 0 nsectors 1`); return this; }
  pop(vq: string, elem: string, head?: number, cap = 4097): this {
    this.lines.push(`virtqueue_alloc_element elem ${elem} size 240 in_num 2 out_num 1`);
    this.lines.push(`virtqueue_pop vq ${vq} elem ${elem} in_num 2 out_num 1${head === undefined ? '' : ` head ${head} ndescs 1 e_out 1 e_in 2 cap ${cap}`}`);
    return this;
  }
  fill(vq: string, elem: string, len: number, head?: number, idx = 0): this {
    this.lines.push(`virtqueue_fill vq ${vq} elem ${elem} len ${len} idx ${idx}${head === undefined ? '' : ` head ${head} ndescs 1 e_out 1 e_in 2`}`);
    return this;
  }
  flush(vq: string, count = 1): this { this.lines.push(`virtqueue_flush vq ${vq} count ${count}`); return this; }
  /** virtqueue_push on a split ring without IN_ORDER: fill then flush. */
  push(vq: string, elem: string, len: number, head?: number): this { return this.fill(vq, elem, len, head).flush(vq, 1); }
  raw(s: string): this { this.lines.push(s); return this; }
  get text(): string { return this.lines.join('\n') + '\n'; }
}

const VQ0 = '0x5600000001f0';
const VQ1 = '0x560000000288';
const e = (n: number): string => `0x7f00000${(0x100 + n).toString(16)}`;
const only = (qs: QueueVerdict[], life: number, index = 0): QueueVerdict => {
  const q = qs.find((x) => x.lifetime === life && x.index === index);
  if (!q) throw new Error(`no queue ${index} lifetime ${life}`);
  return q;
};

describe('QEMU importer: device lifetimes', () => {
  it('splits a device at each reset; what is in flight at a reset is discarded, not lost', () => {
    // Firmware uses head 0 on a split ring, the driver resets, then the same queue (same pointers)
    // starts over: head 0 again, while firmware's head 1 was never used.
    const log = new Log().status(0).status(0).status(15).kick(VQ0, 0)
      .pop(VQ0, e(1), 0, 513).push(VQ0, e(1), 513, 0)
      .pop(VQ0, e(2), 1, 513)
      .status(0).status(0).status(15).kick(VQ0, 0)
      .pop(VQ0, e(2), 0).pop(VQ0, e(3), 1).push(VQ0, e(3), 4097, 1).push(VQ0, e(2), 4097, 0);
    const r = checkQemuTrace(log.text, { complete: true });
    expect(r.queues.map((q) => [q.lifetime, q.pops, q.used_entries, q.outstanding, q.ended_by, q.verdict])).toEqual([
      [1, 2, 1, 1, 'reset', 'ok'],
      [2, 2, 2, 0, 'end of trace', 'ok'],
    ]);
    // One trace over both lifetimes (a converter that ignores resets) is wrong: element e(2) is
    // popped again while the firmware's pop of it was never filled.
    const flat = checkQemuTrace(log.lines.filter((l) => !/val 0$/.test(l)).join('\n'), { complete: true });
    expect(flat.ok).toBe(false);
    expect(flat.queues[0].rule).toBe('ELEMENT_POPPED_TWICE');
  });
  it('repeated resets with no buffers between them make one boundary', () => {
    const log = new Log().status(0).kick(VQ0, 0).pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0)
      .status(0).status(0).status(0).status(15).pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0);
    expect(checkQemuTrace(log.text).queues.map((q) => q.lifetime)).toEqual([1, 2]);
  });
  it('a device with no reset line in its trace is one lifetime; --complete makes what is left lost', () => {
    const log = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).pop(VQ0, e(2), 1).push(VQ0, e(2), 4097, 1);
    expect(checkQemuTrace(log.text).queues[0]).toMatchObject({ verdict: 'ok', outstanding: 1 });
    expect(checkQemuTrace(log.text, { complete: true }).queues[0]).toMatchObject({ verdict: 'violation', rule: 'LOST_BUFFER' });
  });
});

describe('QEMU importer: queues and devices', () => {
  it('checks each queue of a device separately (queue index from virtio_queue_notify)', () => {
    // Both queues use head 0 at once: legal, one per queue; mixed into one trace it is a head made
    // available while still outstanding.
    const log = new Log().blk().kick(VQ0, 0).kick(VQ1, 1)
      .pop(VQ0, e(1), 0).pop(VQ1, e(2), 0).push(VQ1, e(2), 4097, 0).push(VQ0, e(1), 4097, 0);
    const r = checkQemuTrace(log.text);
    expect(r.ok).toBe(true);
    expect(r.queues.map((q) => `${q.device}:${q.index}`)).toEqual(['blk0:0', 'blk0:1']);
    const mixed = checkQemuTrace(log.text.replaceAll(VQ1, VQ0));
    expect(mixed.ok).toBe(false);
    expect(mixed.queues[0].rule).toBe('AVAIL_BAD_HEAD');
  });
  it('names devices by kind when a device line names it (blk0), else dev0, dev1 in order of appearance', () => {
    const log = new Log('0x56000000a000').kick('0x5600000a0010', 0).pop('0x5600000a0010', e(1), 0).push('0x5600000a0010', e(1), 1, 0)
      .kick(VQ0, 0, '0x56000000b000').blk('0x56000000b000').pop(VQ0, e(2), 0).push(VQ0, e(2), 1, 0);
    expect(checkQemuTrace(log.text).queues.map((q) => q.device)).toEqual(['blk0', 'dev0']);
  });
  it('a queue that no notify line ties to a device is its own', () => {
    const log = new Log().pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0);
    expect(checkQemuTrace(log.text).queues[0]).toMatchObject({ device: `vq${VQ0}`, index: null, verdict: 'ok' });
  });
});

describe('QEMU importer: ring kind, size and features', () => {
  it('flush lines prove a split ring without IN_ORDER; their absence leaves packed or IN_ORDER (assumed packed)', () => {
    const split = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0);
    expect(checkQemuTrace(split.text).queues[0]).toMatchObject({ ring: 'split', ring_from: 'trace', order: 'none', order_from: 'trace' });
    const noFlush = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).fill(VQ0, e(1), 1, 0);
    expect(checkQemuTrace(noFlush.text).queues[0]).toMatchObject({ ring: 'packed', ring_from: 'assumed', order: 'none', order_from: 'assumed' });
  });
  it('sizes are the least the trace allows unless given; a given size is checked against the heads', () => {
    const log = new Log().blk().kick(VQ0, 0).pop(VQ0, e(1), 5).push(VQ0, e(1), 1, 5);
    expect(checkQemuTrace(log.text).queues[0]).toMatchObject({ queue_size: 8, size_from: 'inferred', verdict: 'ok' });
    const given = checkQemuTrace(log.text, { queues: [parseQueueSpec('blk0:0,size=4')] }).queues[0];
    expect(given).toMatchObject({ queue_size: 4, size_from: 'option', verdict: 'violation', rule: 'AVAIL_BAD_HEAD' });
  });
  it('IN_ORDER is modelled as QEMU writes it: used entries in pop order, at the fill that completes a prefix', () => {
    // Fills 1, 2, 0: QEMU's virtqueue_ordered_flush writes 0, 1, 2 after the last fill.
    const log = new Log().blk().kick(VQ0, 0).pop(VQ0, e(0), 0).pop(VQ0, e(1), 1).pop(VQ0, e(2), 2)
      .fill(VQ0, e(1), 11, 1).fill(VQ0, e(2), 12, 2).fill(VQ0, e(0), 10, 0);
    const sidecar = parseSidecar('# queue sizes and features\nblk,size=8,features=in-order\n');
    const q = checkQemuTrace(log.text, { queues: sidecar }).queues[0];
    expect(q).toMatchObject({ ring: 'split', ring_from: 'assumed', order: 'in-order', order_from: 'option', verdict: 'ok', used_entries: 3 });
    expect(q.trace.used).toEqual([{ id: 0, len: 10 }, { id: 1, len: 11 }, { id: 2, len: 12 }]);
    expect(q.trace.avail_before).toEqual([3, 3, 3]);
    // Without the feature the same fills are entries in fill order: fine without an ordering feature.
    expect(checkQemuTrace(log.text).queues[0].trace.used.map((u) => u.id)).toEqual([1, 2, 0]);
  });
  it('a sidecar line applies to the queues it selects, and a lifetime with flush lines keeps its split ring', () => {
    const log = new Log().blk().kick(VQ0, 0).pop(VQ0, e(0), 0).push(VQ0, e(0), 1, 0).status(0)
      .pop(VQ0, e(1), 0).fill(VQ0, e(1), 1, 0);
    const q = checkQemuTrace(log.text, { queues: parseSidecar('blk:0,size=256,ring=packed\n') }).queues;
    expect(q.map((x) => [x.lifetime, x.ring, x.ring_from, x.queue_size])).toEqual([[1, 'split', 'trace', 256], [2, 'packed', 'option', 256]]);
    expect(q[0].notes.join()).toMatch(/virtqueue_flush lines/);
    const other = checkQemuTrace(log.text, { queues: parseSidecar('dev,size=256,ring=split\nblk:1,size=64\n') }).queues;
    expect(other.map((x) => x.size_from)).toEqual(['inferred', 'inferred']);
    const life2 = checkQemuTrace(log.text, { queues: parseSidecar('blk0:0,lifetime=2,size=16\n') }).queues;
    expect(life2.map((x) => x.queue_size)).toEqual([1, 16]);
  });
  it('reads Linux\'s feature bit string (bit 0 first): bit 34 packed, bit 35 IN_ORDER', () => {
    const bits = (set: number[]): string => Array.from({ length: 64 }, (_, i) => (set.includes(i) ? '1' : '0')).join('');
    expect(parseQueueSpec(`blk,features=${bits([32, 34])}`)).toMatchObject({ ring: 'packed', inOrder: false });
    expect(parseQueueSpec(`blk,features=${bits([32, 35])}`)).toMatchObject({ ring: 'split', inOrder: true });
  });
  it('bad --queue values and sidecar lines are typed errors', () => {
    for (const bad of ['', 'blk,size=0', 'blk,size=x', 'blk,ring=round', 'blk,features=fast', 'blk,colour=red', 'blk,ring=split,size=96', 'blk,lifetime=0', 'blk,size=8,extra']) {
      expect(() => parseQueueSpec(bad), bad).toThrow(QemuTraceError);
    }
    expect(() => parseSidecar('blk,size=8\nblk,size=nine\n')).toThrow(/sidecar line 2/);
  });
});

describe('QEMU importer: what is checked with real heads', () => {
  it('capacity is per buffer instance: a reused head is checked against the capacity it had then', () => {
    const log = (c1: number, l1: number, c2: number, l2: number): string => new Log().kick(VQ0, 0)
      .pop(VQ0, e(1), 0, c1).push(VQ0, e(1), l1, 0).pop(VQ0, e(2), 0, c2).push(VQ0, e(2), l2, 0).text;
    expect(checkQemuTrace(log(100, 200, 300, 300)).queues[0]).toMatchObject({ verdict: 'violation', rule: 'USED_BAD_LEN', first_bad: 0 });
    expect(checkQemuTrace(log(16385, 16385, 4097, 4097)).queues[0]).toMatchObject({ verdict: 'ok' });
  });
  it('one buffer held while many others pass it is legal without an ordering feature', () => {
    const log = new Log().kick(VQ0, 0).pop(VQ0, e(0), 0);
    for (let i = 0; i < 40; i++) log.pop(VQ0, e(1), 1).push(VQ0, e(1), 4097, 1);
    log.push(VQ0, e(0), 4097, 0);
    expect(checkQemuTrace(log.text, { queues: [parseQueueSpec('*,size=4')], complete: true }).queues[0]).toMatchObject({ verdict: 'ok', max_in_flight: 2, pops: 41 });
  });
  it('a fill of an element not in flight, a changed head and a wrong flush count are named', () => {
    const notPopped = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).push(VQ0, e(2), 1, 0);
    expect(checkQemuTrace(notPopped.text).queues[0]).toMatchObject({ verdict: 'violation', rule: 'FILL_NOT_IN_FLIGHT' });
    const changed = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).pop(VQ0, e(2), 1).push(VQ0, e(1), 1, 1);
    expect(checkQemuTrace(changed.text).queues[0]).toMatchObject({ verdict: 'violation', rule: 'HEAD_CHANGED' });
    const count = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).fill(VQ0, e(1), 1, 0).flush(VQ0, 2);
    expect(checkQemuTrace(count.text).queues[0]).toMatchObject({ verdict: 'violation', rule: 'FLUSH_COUNT_MISMATCH' });
  });
  it('a batch of fills is published at its flush in idx order', () => {
    const log = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).pop(VQ0, e(2), 1)
      .fill(VQ0, e(2), 20, 1, 1).fill(VQ0, e(1), 10, 0, 0).flush(VQ0, 2);
    const q = checkQemuTrace(log.text).queues[0];
    expect(q.trace.used).toEqual([{ id: 0, len: 10 }, { id: 1, len: 20 }]);
    expect(q.verdict).toBe('ok');
  });
  it('heads whose element layout disagrees with the line are dropped (ids inferred), and said so', () => {
    const log = new Log().kick(VQ0, 0).raw(`virtqueue_pop vq ${VQ0} elem ${e(1)} in_num 2 out_num 1 head 7 ndescs 1 e_out 9 e_in 9 cap 1`).fill(VQ0, e(1), 100, 7).flush(VQ0);
    const r = checkQemuTrace(log.text);
    expect(r.queues[0]).toMatchObject({ ids: 'inferred', verdict: 'ok' });
    expect(r.qemu_messages[0].message).toMatch(/disagree/);
  });
});

describe('QEMU importer: without heads', () => {
  it('ids are numbered by element pointer; pairing and counts are still checked, capacities are not', () => {
    const log = new Log().kick(VQ0, 0).pop(VQ0, e(1)).pop(VQ0, e(2)).push(VQ0, e(2), 4097).push(VQ0, e(1), 999999);
    const q = checkQemuTrace(log.text).queues[0];
    expect(q).toMatchObject({ ids: 'inferred', verdict: 'ok' });
    expect(q.notes.join()).toMatch(/heads and capacities are not/);
    const unpaired = new Log().kick(VQ0, 0).pop(VQ0, e(1)).push(VQ0, e(1), 1).push(VQ0, e(1), 1);
    expect(checkQemuTrace(unpaired.text).queues[0]).toMatchObject({ verdict: 'violation', rule: 'FILL_NOT_IN_FLIGHT' });
  });
});

describe('QEMU importer: QEMU\'s own errors', () => {
  it('a fill QEMU reports it could not do stops every later used entry under IN_ORDER, and is named', () => {
    // Ring of 4, IN_ORDER: heads 2, 3, 0 in flight from used index 2; QEMU fails the fill of head 0.
    const log = new Log().blk().kick(VQ0, 0);
    for (let i = 0; i < 2; i++) log.pop(VQ0, e(i), i).fill(VQ0, e(i), 1, i);
    log.pop(VQ0, e(2), 2).pop(VQ0, e(3), 3).pop(VQ0, e(4), 0)
      .fill(VQ0, e(4), 1, 0).raw('virtqueue_ordered_fill: virtio-blk cannot fill buffer id 0')
      .fill(VQ0, e(3), 1, 3).fill(VQ0, e(2), 1, 2);
    const q = checkQemuTrace(log.text, { queues: [parseQueueSpec('blk,size=4')] }).queues[0];
    expect(q).toMatchObject({ verdict: 'device error', rule: 'DEVICE_FILL_FAILED', order: 'in-order', order_from: 'trace', used_entries: 4, outstanding: 1, filled_unused: 1 });
    expect(q.message).toMatch(/head 0 .*still in flight/);
    expect(q.message).toMatch(/from the used index's slot 0 to the buffer's slot 0|past the end/);
    // The same without the error line: every buffer used, clean.
    const ok = checkQemuTrace(log.lines.filter((l) => !l.includes('cannot fill')).join('\n'), { queues: [parseQueueSpec('blk,size=4,features=in-order')] }).queues[0];
    expect(ok).toMatchObject({ verdict: 'ok', used_entries: 5, outstanding: 0 });
  });
  it('other QEMU diagnostics are reported as messages', () => {
    const log = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0).raw('virtio_foo: something odd');
    expect(checkQemuTrace(log.text).qemu_messages).toEqual([{ line: 6, message: 'virtio_foo: something odd' }]);
  });
});

describe('QEMU importer: bad input', () => {
  it('a log without virtqueue lines, or with an unreadable one mid-file, is a typed error', () => {
    expect(() => checkQemuTrace('hello\n')).toThrow(QemuTraceError);
    expect(() => checkQemuTrace('{"ring":"split"}')).toThrow(/no virtqueue_pop/);
    const mid = new Log().kick(VQ0, 0).raw(`virtqueue_pop vq ${VQ0} elem`).pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0);
    expect(() => checkQemuTrace(mid.text)).toThrow(/line 2: unreadable virtqueue_pop/);
  });
  it('a last line cut short (QEMU killed mid-write) is skipped', () => {
    const log = new Log().kick(VQ0, 0).pop(VQ0, e(1), 0).push(VQ0, e(1), 1, 0).raw(`virtqueue_pop vq ${VQ0} el`);
    expect(checkQemuTrace(log.lines.join('\n')).queues[0]).toMatchObject({ verdict: 'ok', pops: 1 });
  });
});
