import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTrace, type TraceInput } from '../src/check/checker.js';
import { formatLineTrace, parseLineTrace } from '../src/check/lineformat.js';
import { parseTrace } from '../src/cli/check.js';

const lines = (...ls: string[]): TraceInput => parseLineTrace(ls.join('\n') + '\n');
const json = (o: unknown): TraceInput => parseTrace(JSON.stringify(o), 'test');

describe('check: the window is a span, not a count', () => {
  const base = { ring: 'split', queue_size: 4, avail: [0, 1, 2, 3, 1, 2, 3], used: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 1 }, { id: 0 }] };
  it('one slow buffer while the device goes on: split, none and partial, with and without avail_before, and packed', () => {
    for (const order of ['none', 'partial']) {
      expect(checkTrace(json({ ...base, order }))).toMatchObject({ ok: true, rule: 'ok', buffers_used: 5 });
      expect(checkTrace(json({ ...base, order, used: [...base.used, { id: 2 }, { id: 3 }], complete: true }))).toMatchObject({ ok: true, buffers_used: 7 });
      expect(checkTrace(json({ ...base, order, avail_before: [4, 4, 4, 7, 7] }))).toMatchObject({ ok: true, rule: 'ok' });
      expect(checkTrace(json({ ...base, order, ring: 'packed' }))).toMatchObject({ ok: true, rule: 'ok' });
    }
  });
  it('the line-format trace: one buffer held while seven pass it, never more than 2 outstanding', () => {
    const ls = ['ring split', 'order none', 'queue_size 4', 'complete', 'avail 0', 'avail 1', 'used 1 0 -'];
    for (let k = 0; k < 6; k++) ls.push('avail 1', 'used 1 0 -');
    ls.push('used 0 0 -');
    expect(checkTrace(lines(...ls))).toMatchObject({ ok: true, used_entries: 8, buffers_used: 8 });
    // A long hold: 100000 buffers pass one, far beyond any fixed window.
    const t: TraceInput = { ring: 'packed', order: 'partial', queue_size: 2, avail: [7], used: [], complete: true, avail_before: [] };
    for (let k = 0; k < 100_000; k++) { t.avail.push(k & 1); t.used.push({ id: k & 1 }); t.avail_before!.push(t.avail.length); }
    t.used.push({ id: 7, flush: true }); t.avail_before!.push(t.avail.length);
    expect(checkTrace(t)).toMatchObject({ ok: true, buffers_used: 100_001, flushes: 1 });
  });
  it('genuine violations are still found', () => {
    // An id used twice.
    expect(checkTrace(json({ ...base, order: 'none', avail: [0, 1, 2, 3], used: [{ id: 1 }, { id: 1 }] }))).toMatchObject({ ok: false, rule: 'USED_ID_NOT_OUTSTANDING', first_bad: 1 });
    // Used before it was made available (the interleaving says so).
    expect(checkTrace(lines('ring split', 'order none', 'queue_size 4', 'avail 0', 'used 0 0 -', 'used 0 0 -', 'avail 0')))
      .toMatchObject({ ok: false, rule: 'USED_BEFORE_AVAIL', first_bad: 1 });
    // An id made available again while still outstanding (before an entry needs what follows it).
    expect(checkTrace(json({ ring: 'split', order: 'none', queue_size: 4, avail: [0, 1, 0, 2], used: [{ id: 2 }] })))
      .toMatchObject({ ok: false, rule: 'AVAIL_BAD_HEAD', first_bad: 0 });
    // ... and after the last entry.
    expect(checkTrace(json({ ring: 'packed', order: 'none', queue_size: 4, avail: [5, 5], used: [] })))
      .toMatchObject({ ok: false, rule: 'AVAIL_BAD_HEAD', first_bad: null });
  });
  it('never more buffers outstanding than the queue size (packed ids do not bound it)', () => {
    // Queue of 2: 12 can only have been made available after 10 was used.
    expect(checkTrace(json({ ring: 'packed', order: 'none', queue_size: 2, avail: [10, 11, 12], used: [{ id: 10 }, { id: 12 }] }))).toMatchObject({ ok: true });
    expect(checkTrace(json({ ring: 'packed', order: 'none', queue_size: 2, avail: [10, 11, 12], used: [{ id: 12 }] })))
      .toMatchObject({ ok: false, rule: 'AVAIL_OVER_QUEUE_SIZE', first_bad: 0 });
    const r = checkTrace(json({ ring: 'packed', order: 'partial', queue_size: 2, avail: [10, 11, 12], used: [] }));
    expect(r).toMatchObject({ ok: false, rule: 'AVAIL_OVER_QUEUE_SIZE', first_bad: null });
    expect(r.message).toMatch(/id 12 .*2 buffers are outstanding.*queue size 2/);
    // The interleaving given: the third buffer came before any entry.
    expect(checkTrace(json({ ring: 'packed', order: 'none', queue_size: 2, avail: [10, 11, 12], used: [{ id: 10 }, { id: 12 }], avail_before: [3, 3] })))
      .toMatchObject({ ok: false, rule: 'AVAIL_OVER_QUEUE_SIZE', first_bad: 0 });
  });
});

describe('check: capacity belongs to a buffer instance, not to an id', () => {
  it('line format: the capacity of each avail line binds to that avail', () => {
    expect(checkTrace(lines('ring split', 'order none', 'queue_size 4', 'avail 0 100', 'used 0 200 -', 'avail 0 300', 'used 0 300 -')))
      .toMatchObject({ ok: false, rule: 'USED_BAD_LEN', first_bad: 0 });
    expect(checkTrace(lines('ring split', 'order none', 'queue_size 4', 'avail 0 16385', 'used 0 16385 -', 'avail 0 4097', 'used 0 4097 -')))
      .toMatchObject({ ok: true });
  });
  it('JSON: {id, capacity} avail items, with the per-id "capacity" map as the default for the others', () => {
    expect(checkTrace(json({ ring: 'split', order: 'none', queue_size: 4, avail: [{ id: 0, capacity: 100 }, { id: 0, capacity: 300 }], used: [{ id: 0, len: 200 }, { id: 0, len: 300 }] })))
      .toMatchObject({ ok: false, rule: 'USED_BAD_LEN', first_bad: 0 });
    expect(checkTrace(json({ ring: 'split', order: 'none', queue_size: 4, avail: [{ id: 0, capacity: 16385 }, { id: 0, capacity: 4097 }], used: [{ id: 0, len: 16385 }, { id: 0, len: 4097 }] })))
      .toMatchObject({ ok: true });
    const withMap = { ring: 'packed', order: 'none', queue_size: 4, capacity: { 1: 8 }, avail: [{ id: 1, capacity: 64 }, 2, 1], used: [{ id: 1, len: 64 }, { id: 1, len: 9 }] };
    expect(checkTrace(json(withMap))).toMatchObject({ ok: false, rule: 'USED_BAD_LEN', first_bad: 1 });
    expect(checkTrace(json({ ...withMap, used: [{ id: 1, len: 64 }, { id: 1, len: 8 }] }))).toMatchObject({ ok: true });
  });
  it('round trip JSON <-> line format keeps per-instance capacities', () => {
    const t = json({ ring: 'split', order: 'partial', queue_size: 4, avail: [{ id: 0, capacity: 100 }, 1, { id: 0, capacity: 300 }], used: [{ id: 0, len: 100 }, { id: 1, len: 0 }, { id: 0, len: 300, flush: true }], avail_before: [2, 2, 3] });
    const text = formatLineTrace(t);
    expect(text).toMatch(/avail 0 100\navail 1\n.*avail 0 300\n/s);
    expect(parseLineTrace(text)).toEqual(t);
    expect(checkTrace(t)).toMatchObject({ ok: true });
    // The per-id map is written out per instance, and checks the same.
    const m = json({ ring: 'split', order: 'none', queue_size: 4, capacity: { 0: 10 }, avail: [0, { id: 0, capacity: 20 }], used: [{ id: 0, len: 10 }, { id: 0, len: 20 }], avail_before: [1, 2] });
    const back = parseLineTrace(formatLineTrace(m));
    expect(back.avail).toEqual([{ id: 0, capacity: 10 }, { id: 0, capacity: 20 }]);
    expect(checkTrace(back)).toEqual(checkTrace(m));
    expect(checkTrace({ ...m, used: [{ id: 0, len: 11 }, { id: 0, len: 20 }] })).toMatchObject({ rule: 'USED_BAD_LEN', first_bad: 0 });
  });
});

describe('check: both ordering features negotiated', () => {
  const t = (order: unknown, used: unknown[]): TraceInput => json({ ring: 'split', order, queue_size: 8, avail: [0, 1, 2, 3], used, complete: true });
  it('"in-order,partial" (string, either order, or list): IN_ORDER rules, FLUSH a defined bit', () => {
    for (const order of ['in-order,partial', 'partial,in-order', ['in-order', 'partial'], ['partial', 'in-order']]) {
      // FLUSH accepted; entries stand for IN_ORDER batches with or without it.
      expect(checkTrace(t(order, [{ id: 1, flush: true }, { id: 3 }]))).toMatchObject({ ok: true, buffers_used: 4, batched_entries: 2, flushes: 1 });
      // IN_ORDER: out of order is a violation (PARTIAL_ORDER alone would accept it).
      expect(checkTrace(t(order, [{ id: 1 }, { id: 0 }]))).toMatchObject({ ok: false, rule: 'USED_OUT_OF_ORDER', first_bad: 1 });
    }
    expect(checkTrace(t('partial', [{ id: 1 }, { id: 0, flush: true }, { id: 3, flush: true }]))).toMatchObject({ ok: true });
    expect(checkTrace(t('in-order', [{ id: 1, flush: true }]))).toMatchObject({ ok: false, rule: 'USED_FLUSH_WITHOUT_FEATURE' });
  });
  it('line format "order in-order,partial"', () => {
    const ok = lines('ring packed', 'order in-order,partial', 'queue_size 4', 'avail 9', 'avail 4', 'used 4 0 F');
    expect(ok.order).toBe('in-order,partial');
    expect(checkTrace(ok)).toMatchObject({ ok: true, buffers_used: 2, flushes: 1 });
    expect(parseLineTrace(formatLineTrace(ok))).toEqual(ok);
    expect(checkTrace(lines('ring packed', 'order in-order,partial', 'queue_size 4', 'avail 9', 'avail 4', 'used 4 0 -', 'used 9 0 -')))
      .toMatchObject({ ok: false, rule: 'USED_OUT_OF_ORDER', first_bad: 1 });
    expect(() => lines('ring split', 'order in-order,none', 'queue_size 4')).toThrow(/order must be/);
  });
  it('the library takes the order as a list too, and refuses a bad one with BAD_CONFIG', () => {
    const lib = (order: unknown): TraceInput => ({ ring: 'split', order, queue_size: 8, avail: [0, 1], used: [{ id: 1, flush: true }] } as unknown as TraceInput);
    expect(checkTrace(lib(['partial', 'in-order']))).toMatchObject({ ok: true, buffers_used: 2, flushes: 1 });
    expect(() => checkTrace(lib(['in-order', 'none']))).toThrow(/BAD_CONFIG: trace order must be/);
  });
  it('bad order values are bad input', () => {
    for (const order of ['in-order,in-order', ['partial', 'none'], [], 'fifo', 3]) {
      expect(() => t(order, [])).toThrow(/"order" must be/);
    }
  });
});

describe('vqlab check CLI: new trace shapes', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  it('accepts avail objects and an order list, and rejects malformed ones with exit 2', () => {
    const good = JSON.stringify({ ring: 'split', order: ['in-order', 'partial'], queue_size: 4, avail: [{ id: 0, capacity: 8 }, 1], used: [{ id: 1, len: 8, flush: true }] });
    const r = spawnSync('node', [bin, 'check', '--json'], { input: good, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, buffers_used: 2 });
    for (const bad of [
      { ring: 'split', order: 'none', queue_size: 4, avail: [{ id: 0, capacity: -1 }], used: [] },
      { ring: 'split', order: 'none', queue_size: 4, avail: [{ capacity: 1 }], used: [] },
      { ring: 'split', order: 'none', queue_size: 4, avail: [0], capacity: { x: 1 }, used: [] },
    ]) {
      const b = spawnSync('node', [bin, 'check'], { input: JSON.stringify(bad), encoding: 'utf8' });
      expect(b.status).toBe(2);
      expect(b.stderr).toMatch(/avail\[0\]|capacity/);
    }
  });
});

describe('check: numeric used flags, as each ring defines them', () => {
  const sp = (order: string, flags: string): TraceInput => lines('ring split', `order ${order}`, 'queue_size 4', 'avail 0 16', `used 0 4 ${flags}`);
  it('split without PARTIAL_ORDER: the flags word is the upper half of the old le32 id', () => {
    const r = checkTrace(sp('none', '0x0001'));
    expect(r).toMatchObject({ ok: false, rule: 'USED_BAD_ID', first_bad: 0 });
    expect(r.message).toMatch(/used id 65536 /);
    expect(checkTrace(sp('in-order', '0x8001'))).toMatchObject({ ok: false, rule: 'USED_BAD_ID' });
    expect(checkTrace(sp('none', '0x8000'))).toMatchObject({ ok: false, rule: 'USED_FLUSH_WITHOUT_FEATURE', first_bad: 0 });
    expect(checkTrace(sp('none', '0'))).toMatchObject({ ok: true });
  });
  it('split with PARTIAL_ORDER: only FLUSH (0x8000) is defined, the rest reserved (USED_BAD_FLAGS)', () => {
    for (const order of ['partial', 'in-order,partial']) {
      expect(checkTrace(sp(order, '0x0001'))).toMatchObject({ ok: false, rule: 'USED_BAD_FLAGS', first_bad: 0 });
      expect(checkTrace(sp(order, '0x8100'))).toMatchObject({ ok: false, rule: 'USED_BAD_FLAGS', first_bad: 0 });
      expect(checkTrace(sp(order, '0x8000'))).toMatchObject({ ok: true, flushes: 1 });
    }
  });
  const pk = (order: string, len: number, flags: string): TraceInput => lines('ring packed', `order ${order}`, 'queue_size 4', 'avail 5 16', `used 5 ${len} ${flags}`);
  it('packed: len is reserved without WRITE (2.8.4), so it is not checked then', () => {
    expect(checkTrace(pk('none', 0xdeadbeef, '0x8080'))).toMatchObject({ ok: true });   // WRITE clear: len junk, ignored
    expect(checkTrace(pk('none', 0xdeadbeef, '0'))).toMatchObject({ ok: true });
    expect(checkTrace(pk('none', 17, '0x8082'))).toMatchObject({ ok: false, rule: 'USED_BAD_LEN', first_bad: 0 }); // WRITE set: checked
    expect(checkTrace(pk('none', 16, '0x8082'))).toMatchObject({ ok: true });
    expect(checkTrace(pk('none', 17, '-'))).toMatchObject({ ok: false, rule: 'USED_BAD_LEN' }); // no flags word: len checked
  });
  it('packed: FLUSH is 8, NEXT is ignored, INDIRECT and undefined bits are reserved', () => {
    expect(checkTrace(pk('partial', 4, '0x808a'))).toMatchObject({ ok: true, flushes: 1 });
    expect(checkTrace(pk('none', 4, '0x808a'))).toMatchObject({ ok: false, rule: 'USED_FLUSH_WITHOUT_FEATURE' });
    expect(checkTrace(pk('none', 4, '0x8083'))).toMatchObject({ ok: true });
    for (const f of ['0x8086', '0x8092', '0x4082', '0x0100']) expect(checkTrace(pk('partial', 4, f))).toMatchObject({ ok: false, rule: 'USED_BAD_FLAGS', first_bad: 0 });
  });
  it('JSON "flags" per used entry: the same rules; "flush" must agree with its FLUSH bit', () => {
    const j = (ring: string, order: string, u: Record<string, unknown>): TraceInput => json({ ring, order, queue_size: 4, avail: [{ id: 0, capacity: 16 }], used: [{ id: 0, ...u }] });
    expect(checkTrace(j('split', 'none', { len: 4, flags: 1 }))).toMatchObject({ ok: false, rule: 'USED_BAD_ID' });
    expect(checkTrace(j('split', 'partial', { len: 4, flags: 0x8000, flush: true }))).toMatchObject({ ok: true, flushes: 1 });
    expect(checkTrace(j('packed', 'none', { len: 99, flags: 0 }))).toMatchObject({ ok: true });
    expect(checkTrace(j('packed', 'none', { len: 99, flags: 2 }))).toMatchObject({ ok: false, rule: 'USED_BAD_LEN' });
    expect(() => j('split', 'partial', { flags: 0x8000, flush: false })).toThrow(/disagrees/);
    expect(() => j('packed', 'partial', { flags: 0x10000 })).toThrow(/flags must be/);
    const t = j('packed', 'partial', { len: 3, flags: 0x808a });
    expect(parseLineTrace(formatLineTrace(t))).toEqual(t);
  });
});

describe('vqlab check CLI: input, output and exit codes', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  const run = (args: string[], input?: string) => spawnSync('node', [bin, 'check', ...args], { input: input ?? '', encoding: 'utf8' });
  const good = JSON.stringify({ ring: 'split', order: 'partial', queue_size: 8, avail: [0, 1, 2], used: [{ id: 1 }, { id: 0, flush: true }, { id: 2, flush: true }] });
  const bad = 'ring split\norder none\nqueue_size 4\navail 0 100\nused 0 200 -\n';
  it('a short summary by default, JSON with --json; exit 0, 1', () => {
    const r = run([], good);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ok: 3 used entries, 3 buffers used, 0 batched entries, 2 flushes\n');
    const v = run([], bad);
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/^violation USED_BAD_LEN at used entry 0: used len 200 exceeds writable capacity 100 of id 0\n/);
    const j = run(['--json'], bad);
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, first_bad: 0, rule: 'USED_BAD_LEN' });
  });
  it('"-" reads stdin; a file argument reads the file', () => {
    expect(run(['-', '--json'], good).status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-check-'));
    try {
      writeFileSync(join(dir, 't.trace'), bad);
      const r = run([join(dir, 't.trace')]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/USED_BAD_LEN/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
  it('bad input: exit 2 with one clear line (an array, a newer format_version, an unknown field)', () => {
    const cases: [string, RegExp][] = [
      [`[${good}]`, /^vqlab: stdin: expected one JSON object \(a trace\), got an array$/],
      [JSON.stringify({ ...JSON.parse(good), format_version: 2 }), /"format_version" 2 is newer than this vqlab reads \(1\)/],
      [JSON.stringify({ ...JSON.parse(good), avail_befor: [] }), /unknown field "avail_befor"/],
      ['format_version 9\nring split\n', /format_version 9 is newer/],
    ];
    for (const [input, msg] of cases) {
      const r = run([], input);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(msg);
    }
  });
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('a hint on stderr when stdin is a terminal (and none when it is not)', () => {
    // script(1) gives the command a terminal; ^D ends the input as a user would.
    const r = spawnSync('script', ['-qec', `node ${bin} check`, '/dev/null'], { input: `${good}\n\u0004`, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/reading a trace from stdin \(end it with Ctrl-D/);
    expect(r.stdout).toMatch(/ok: 3 used entries/);
    expect(run([], good).stderr).toBe('');
  });
});
