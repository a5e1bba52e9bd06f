/**
 * The reference model (src/check/reference.ts) beside UsedTracker and the Checker: random traces,
 * legal and illegal, every ordering mode, both rings with random chain weights. Every disagreement
 * — verdict, rule, the buffers an entry completes, the ring slots it moves past — is a failure.
 * Then planted tracker bugs: the reference catches them where the tracker-based checker cannot.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { UsedTracker } from '../src/order/tracker.js';
import { checkTrace, type TraceInput } from '../src/check/checker.js';
import { plantWeightBug } from './helpers/planted-tracker.js';
import { ReferenceRing, referenceCheckTrace, referenceDisagreement, REF_UNKNOWN_CAPACITY } from '../src/check/reference.js';
import { flushAllowedBy, orderModeOf, type OrderSpec, type RingKind } from '../src/spec/features.js';
import { isVqError } from '../src/errors.js';
import { actionsArb, interpret, orderArb, ringArb, type Action } from './helpers/ref-traces.js';

/** The slots a driver hands the tracker for a buffer (split: 1; packed: its chain, or 1 if indirect). */
const trackerWeight = (ring: RingKind, descriptors: number, indirect: boolean): number => (ring === 'split' || indirect ? 1 : descriptors);

type MakeTracker = (window: number, maxId: number, order: OrderSpec) => UsedTracker;
const realTracker: MakeTracker = (w, m, o) => new UsedTracker(w, m, orderModeOf(o), flushAllowedBy(o));

/** Run one action stream through a tracker and the reference; the first disagreement, or null. */
function disagreement(make: MakeTracker, ring: RingKind, order: OrderSpec, maxId: number, window: number, actions: Action[]): string | null {
  const t = make(window, maxId, order);
  const ref = new ReferenceRing({ ring, order, maxId, window });
  const view = {
    outstanding: () => ref.buffers.filter((b) => !b.done).map((b) => b.id),
    capacityOf: (id: number) => ref.outstandingOf(id)?.capacity ?? 0,
    flushLooksValid: (id: number) => t.lastFlush || t.flushValidAfter(id),
  };
  for (let i = 0; i < actions.length; i++) {
    const s = interpret(actions[i], maxId, flushAllowedBy(order), view);
    let code = 'ok';
    try {
      if (s.kind === 'avail') t.makeAvailable(s.id, trackerWeight(ring, s.descriptors, s.indirect), s.capacity);
      else t.onUsed(s.id, s.flush, s.len);
    } catch (e) { if (!isVqError(e)) throw e; code = e.code; }
    const r = s.kind === 'avail' ? ref.avail(s.id, s.descriptors, s.indirect, s.capacity) : ref.used(s.id, s.len, s.flush);
    const refCode = r === null || r.ok ? 'ok' : r.rule;
    const what = `step ${i} ${JSON.stringify(s)}`;
    if (code !== refCode) return `${what}: tracker ${code}, reference ${refCode}`;
    if (code !== 'ok') return null; // both stop at the same rule
    if (s.kind === 'used' && r && r.ok) {
      const ids: number[] = [];
      for (let k = 0; k < t.count; k++) ids.push(t.idAtSeq((t.firstSeq + k) >>> 0));
      if (JSON.stringify(ids) !== JSON.stringify(r.ids)) return `${what}: tracker completed [${ids}], reference [${r.ids}]`;
      if (t.weight !== r.slots) return `${what}: tracker skips ${t.weight} slots, reference ${r.slots}`;
      if (t.batch !== r.batch) return `${what}: tracker batch ${t.batch}, reference ${r.batch}`;
    }
    if (t.outstanding !== ref.outstanding()) return `${what}: tracker has ${t.outstanding} outstanding, reference ${ref.outstanding()}`;
  }
  return null;
}

const caseArb = fc.record({ ring: ringArb, order: orderArb, maxId: fc.integer({ min: 1, max: 8 }), extra: fc.nat(3), actions: actionsArb });

describe('reference model beside UsedTracker', () => {
  it('agrees on every entry of random traces (every mode, both rings, random chain weights)', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const d = disagreement(realTracker, c.ring, c.order, c.maxId, c.maxId + c.extra, c.actions);
      if (d) throw new Error(d);
    }), { numRuns: 3000 });
  });

  it('the traces are not all trivial: they reach batches, FLUSH chains and each rule', () => {
    // A guard on the generator: a property over traces that never batch or never break a rule proves little.
    const seen = new Set<string>();
    fc.assert(fc.property(caseArb, (c) => {
      const ref = new ReferenceRing({ ring: c.ring, order: c.order, maxId: c.maxId, window: c.maxId + c.extra });
      const view = {
        outstanding: () => ref.buffers.filter((b) => !b.done).map((b) => b.id),
        capacityOf: (id: number) => ref.outstandingOf(id)?.capacity ?? 0,
        flushLooksValid: () => true,
      };
      for (const a of c.actions) {
        const s = interpret(a, c.maxId, flushAllowedBy(c.order), view);
        const r = s.kind === 'avail' ? ref.avail(s.id, s.descriptors, s.indirect, s.capacity) : ref.used(s.id, s.len, s.flush);
        if (r && !r.ok) { seen.add(r.rule); break; }
        if (r && r.ok && r.batch) seen.add(`batch:${c.order}`);
        if (r && r.ok && r.slots > r.ids.length) seen.add('multi-slot');
      }
    }), { numRuns: 2000, seed: 7 });
    for (const k of ['USED_BAD_ID', 'USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER', 'USED_BAD_LEN', 'USED_FLUSH_WITHOUT_FEATURE',
      'USED_FLUSH_WITH_HOLE', 'AVAIL_BAD_HEAD', 'AVAIL_IDX_JUMP', 'batch:in-order', 'batch:partial', 'batch:in-order,partial', 'multi-slot']) {
      expect(seen, k).toContain(k);
    }
  });

  it('the proposal example: FLUSH after a fault, then a FLUSH batch (packed, chains of 2 and 3 slots)', () => {
    const ref = new ReferenceRing({ ring: 'packed', order: 'partial', maxId: 8, window: 8 });
    const [A, B, C, D, E, F] = [0, 1, 2, 3, 4, 5];
    for (const id of [A, B, C, D, E, F]) expect(ref.avail(id, id % 2 ? 3 : 2, false, 100)).toBeNull();
    expect(ref.used(B, 10, false)).toEqual({ ok: true, ids: [B], slots: 3, batch: false });
    expect(ref.used(C, 10, false)).toEqual({ ok: true, ids: [C], slots: 2, batch: false });
    expect(ref.used(A, 10, true)).toEqual({ ok: true, ids: [A], slots: 2, batch: false });
    expect(ref.used(F, 10, true)).toEqual({ ok: true, ids: [D, E, F], slots: 3 + 2 + 3, batch: true });
    expect(ref.outstanding()).toBe(0);
    const hole = new ReferenceRing({ ring: 'split', order: 'partial', maxId: 4, window: 4 });
    for (const id of [0, 1, 2]) hole.avail(id, 1, false, REF_UNKNOWN_CAPACITY);
    hole.used(0, 0, false);
    expect(hole.used(2, 0, true)).toMatchObject({ ok: false, rule: 'USED_FLUSH_WITH_HOLE' });
  });
});

/**
 * A trace for `vqlab check` built from an action stream (with its interleaving), legal or not:
 * capacities per id or per avail event, FLUSH as a boolean or inside the ring's own flags word.
 */
function traceOf(ring: RingKind, order: OrderSpec, q: number, actions: Action[], interleaved: boolean, complete: boolean, style = 0): TraceInput {
  const ref = new ReferenceRing({ ring, order, maxId: q, window: 1 << 16 });
  const capacity: Record<string, number> = {};
  const t: TraceInput = { ring, order, queue_size: q, avail: [], used: [], capacity, complete };
  const before: number[] = [];
  const view = {
    outstanding: () => ref.buffers.filter((b) => !b.done).map((b) => b.id),
    capacityOf: (id: number) => ref.outstandingOf(id)?.capacity ?? 0,
    flushLooksValid: () => true,
  };
  for (const [i, a] of actions.entries()) {
    const s = interpret(a, q, flushAllowedBy(order), view);
    if (s.kind === 'avail') {
      if ((style + i) % 3 === 0) { // this instance's own capacity
        t.avail.push(s.capacity === REF_UNKNOWN_CAPACITY ? { id: s.id } : { id: s.id, capacity: s.capacity });
        ref.avail(s.id, 1, false, s.capacity === REF_UNKNOWN_CAPACITY ? capacity[String(s.id)] ?? REF_UNKNOWN_CAPACITY : s.capacity);
      } else {
        capacity[String(s.id)] ??= s.capacity; // the per-id default
        t.avail.push(s.id);
        ref.avail(s.id, 1, false, capacity[String(s.id)]);
      }
    } else {
      let e: TraceInput['used'][number] = { id: s.id, len: s.len, ...(s.flush ? { flush: true } : {}) };
      if ((style & 1) === 1) {
        // The ring's own flags word: now and then a reserved bit, or (packed) WRITE clear or NEXT set.
        const r = (a.a + a.b) % 23;
        const flags = ring === 'split'
          ? (s.flush ? 0x8000 : 0) | (r === 0 ? 1 << (a.b % 15) : 0)
          : (s.flush ? 8 : 0) | (r === 1 ? 0 : 2) | (r === 2 ? 1 : 0) | (r === 3 ? 4 : 0) | (a.a & 1 ? 0x8080 : 0);
        e = { id: s.id, len: s.len, flags };
      }
      t.used.push(e);
      before.push(t.avail.length);
      ref.used(s.id, s.len, s.flush);
    }
  }
  if (interleaved) t.avail_before = before;
  return t;
}

describe('reference model beside the Checker (vqlab check)', () => {
  it('agrees on the verdict, the first bad entry, the rule and the counts of random traces', () => {
    const rules = new Set<string>();
    fc.assert(fc.property(ringArb, orderArb, fc.constantFrom(1, 2, 4, 8), actionsArb, fc.boolean(), fc.boolean(), fc.nat(3), (ring, order, q, actions, interleaved, complete, style) => {
        const t = traceOf(ring, order, q, actions, interleaved, complete, style);
        const c = checkTrace(structuredClone(t));
        const r = referenceCheckTrace(t);
        const pick = (x: typeof c): unknown => [x.ok, x.first_bad, x.rule, x.used_entries, x.buffers_used, x.batched_entries, x.flushes];
        expect(pick(r), JSON.stringify(t)).toEqual(pick(c));
        rules.add(r.rule);
      }), { numRuns: 4000, seed: 11 });
    // The traces reach every rule a trace can break, and pass often enough.
    for (const k of ['ok', 'USED_BAD_ID', 'USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER', 'USED_BAD_LEN', 'USED_FLUSH_WITHOUT_FEATURE', 'USED_FLUSH_WITH_HOLE',
      'USED_BEFORE_AVAIL', 'USED_BAD_FLAGS', 'AVAIL_BAD_HEAD', 'AVAIL_OVER_QUEUE_SIZE', 'LOST_BUFFER']) expect(rules, k).toContain(k);
  });

  it('vqlab check --reference prints both verdicts and whether they disagree', () => {
    const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
    const run = (t: object): { status: number | null; out: Record<string, unknown> } => {
      const r = spawnSync('node', [bin, 'check', '--json', '--reference'], { input: JSON.stringify(t), encoding: 'utf8' });
      return { status: r.status, out: JSON.parse(r.stdout) as Record<string, unknown> };
    };
    const good = run({ ring: 'packed', order: 'partial', queue_size: 8, avail: [0, 1, 2], used: [{ id: 1, len: 1 }, { id: 0, len: 1, flush: true }, { id: 2, len: 1, flush: true }] });
    expect(good.status).toBe(0);
    expect(good.out).toMatchObject({ ok: true, reference: { ok: true, buffers_used: 3 }, disagreement: null });
    const hole = run({ ring: 'split', order: 'partial', queue_size: 8, avail: [0, 1, 2], used: [{ id: 1, len: 1 }, { id: 2, len: 1, flush: true }] });
    expect(hole.status).toBe(1);
    expect(hole.out).toMatchObject({ ok: false, rule: 'USED_FLUSH_WITH_HOLE', reference: { ok: false, first_bad: 1, rule: 'USED_FLUSH_WITH_HOLE' }, disagreement: null });
    const v = { ok: true, first_bad: null, rule: 'ok', buffers_used: 3, batched_entries: 1, flushes: 1 };
    expect(referenceDisagreement(v, { ...v })).toBeNull();
    expect(referenceDisagreement(v, { ...v, buffers_used: 2 })).toBe('buffers_used: checker 3, reference 2');
  });

  it('USED_BEFORE_AVAIL with an interleaving; a lazy trace takes avail events as late as it can', () => {
    const base = { ring: 'split' as const, order: 'in-order' as const, queue_size: 4, avail: [0, 1], used: [{ id: 1, len: 0 }] };
    expect(referenceCheckTrace({ ...base, avail_before: [1] })).toMatchObject({ ok: false, first_bad: 0, rule: 'USED_BEFORE_AVAIL' });
    expect(referenceCheckTrace(base)).toMatchObject({ ok: true, buffers_used: 2, completions: [{ ids: [0, 1], slots: 2 }] });
  });
});

/**
 * Planted bugs in the tracker itself, as a tracker-level mutant (the mutation a code edit would
 * make), patched into UsedTracker.prototype so every user of the tracker — the driver, the device,
 * the Checker — gets the same bug: the common-mode failure the reference is there for.
 */
describe('planted tracker bugs: the reference catches what the tracker-based checker cannot', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  /** The used-length check removed: len is never compared with the buffer's capacity. */
  function plantLenBug(): void {
    const onUsed = UsedTracker.prototype.onUsed;
    vi.spyOn(UsedTracker.prototype, 'onUsed').mockImplementation(function (this: UsedTracker, id: number, flush: boolean, len: number) {
      const cap = this.isOutstanding(id) ? this.capacityOfId(id) : len;
      return onUsed.call(this, id, flush, len > cap ? cap : len);
    });
  }

  const packedInOrderChains: Action[] = [
    // Three buffers of 2, 3 and 4 descriptors (b % 4 = 1, 2, 3; b >> 2 = 1: not indirect), then one entry naming the third: a batch of 9 slots.
    { op: 0, a: 0, b: 5, c: 1 }, { op: 0, a: 0, b: 6, c: 1 }, { op: 0, a: 0, b: 7, c: 1 },
    { op: 50, a: 2, b: 2, c: 1 },
  ];

  it('batch weight without the named buffer\'s slots: the reference disagrees, the Checker passes every trace', () => {
    plantWeightBug();
    expect(disagreement(realTracker, 'packed', 'in-order', 4, 4, packedInOrderChains)).toMatch(/tracker skips 5 slots, reference 9/);
    // Random search finds it too.
    const r = fc.check(fc.property(caseArb, (c) => disagreement(realTracker, c.ring, c.order, c.maxId, c.maxId + c.extra, c.actions) === null), { numRuns: 3000, seed: 3 });
    expect(r.failed).toBe(true);
    // The Checker (weight 1 per buffer) cannot see it: the same legal traces pass.
    const t = traceOf('packed', 'in-order', 4, packedInOrderChains, true, true);
    expect(checkTrace(structuredClone(t)).ok).toBe(true);
  });

  it('len check removed: the Checker, on the same tracker, passes a len past the capacity; the reference flags it', () => {
    const t: TraceInput = { ring: 'split', order: 'partial', queue_size: 4, avail: [0, 1], used: [{ id: 0, len: 16 }, { id: 1, len: 4096 }], capacity: { 0: 64, 1: 64 } };
    expect(checkTrace(structuredClone(t))).toMatchObject({ ok: false, first_bad: 1, rule: 'USED_BAD_LEN' });
    plantLenBug();
    expect(checkTrace(structuredClone(t)).ok).toBe(true);
    expect(referenceCheckTrace(t)).toMatchObject({ ok: false, first_bad: 1, rule: 'USED_BAD_LEN' });
    expect(disagreement(realTracker, 'split', 'none', 2, 2, [{ op: 0, a: 0, b: 1, c: 1 }, { op: 50, a: 0, b: 0, c: 17 }])).toMatch(/tracker ok, reference USED_BAD_LEN/);
  });
});
