import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkTrace, type TraceInput } from '../src/check/checker.js';
import { formatLineTrace, parseLineTrace, TraceFormatError } from '../src/check/lineformat.js';

const arbTrace = fc.record({
  ring: fc.constantFrom('split' as const, 'packed' as const),
  order: fc.constantFrom('none' as const, 'in-order' as const, 'partial' as const, 'in-order,partial' as const),
  queue_size: fc.constantFrom(4, 8, 64),
  // Buffer ids, some with the writable capacity of that instance.
  avail: fc.array(fc.oneof(fc.integer({ min: 0, max: 7 }), fc.record({ id: fc.integer({ min: 0, max: 7 }), capacity: fc.nat(4096) })), { maxLength: 30 }),
  // Used entries with FLUSH as a bit, or with the ring's numeric flags word.
  used: fc.array(fc.record({ id: fc.integer({ min: 0, max: 7 }), len: fc.nat(4096), flush: fc.boolean(), flags: fc.option(fc.constantFrom(0, 2, 8, 10, 0x8000, 0x8082, 0x808a, 1), { nil: undefined }) }), { maxLength: 30 }),
  complete: fc.boolean(),
}).map((t) => ({ ...t, used: t.used.map((u) => (u.flags !== undefined ? { id: u.id, len: u.len, flags: u.flags } : u.flush ? { id: u.id, len: u.len, flush: u.flush } : { id: u.id, len: u.len })) }));

describe('line-format traces', () => {
  it('round-trip with the JSON form, and check the same', () => {
    fc.assert(fc.property(arbTrace, (t0) => {
      const t: TraceInput = t0.complete ? t0 : { ...t0, complete: undefined };
      if (!t.complete) delete t.complete;
      const back = parseLineTrace(formatLineTrace(t));
      expect(back).toEqual(t);
      expect(checkTrace(back)).toEqual(checkTrace(t));
    }), { numRuns: 300 });
  });
  it('keeps interleaving: a reused id binds to the right avail, and used-before-avail is caught', () => {
    const text = 'ring split\norder in-order\nqueue_size 4\navail 0\navail 1\nused 1 8 -\navail 0\nused 0 8 -\n';
    const t = parseLineTrace(text);
    expect(t.avail_before).toEqual([2, 3]);
    expect(checkTrace(t)).toMatchObject({ ok: true });
    expect(parseLineTrace(formatLineTrace(t))).toEqual(t);
    const early = parseLineTrace('ring split\norder none\nqueue_size 4\navail 0\nused 1 8 -\navail 1\n');
    expect(checkTrace(early)).toMatchObject({ ok: false, rule: 'USED_BEFORE_AVAIL', first_bad: 0 });
  });
  it('numeric flags are kept as the ring\'s own flags word, its FLUSH bit read as FLUSH', () => {
    const sp = parseLineTrace('ring split\norder partial\nqueue_size 4\navail 0\nused 0 4 0x8000\n');
    expect(sp.used[0]).toEqual({ id: 0, len: 4, flags: 0x8000 });
    expect(checkTrace(sp)).toMatchObject({ ok: true, flushes: 1 });
    expect(checkTrace(parseLineTrace('ring packed\norder partial\nqueue_size 4\navail 0\nused 0 4 0x808a\n'))).toMatchObject({ ok: true, flushes: 1 });
    expect(checkTrace(parseLineTrace('ring packed\norder partial\nqueue_size 4\navail 0\nused 0 4 0x8082\n'))).toMatchObject({ ok: true, flushes: 0 });
    expect(parseLineTrace(formatLineTrace(sp))).toEqual(sp);
  });
  it('bad lines are errors with a line number', () => {
    expect(() => parseLineTrace('ring split\norder none\nqueue_size 4\nbogus 1\n')).toThrow(/line 4/);
    expect(() => parseLineTrace('ring split\norder none\nqueue_size 4\nused x 1 -\n')).toThrow(TraceFormatError);
    expect(() => parseLineTrace('avail 1\n')).toThrow(/header/);
  });
});
