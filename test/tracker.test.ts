import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UsedTracker } from '../src/order/tracker.js';
import { VqError } from '../src/errors.js';

const codeOf = (f: () => unknown): string => {
  try { f(); } catch (e) { if (e instanceof VqError) return e.code; throw e; }
  return 'none';
};

describe('UsedTracker: the proposal example (docs/interpretations.md)', () => {
  it('A faults; B, C plain; A with FLUSH; F with FLUSH stands for D E F', () => {
    const t = new UsedTracker(8, 8, 'partial', true);
    const [A, B, C, D, E, F] = [0, 1, 2, 3, 4, 5];
    for (const id of [A, B, C, D, E, F]) t.makeAvailable(id, 1, 100);
    expect(t.onUsed(B, false, 10)).toBe(1);
    expect(t.onUsed(C, false, 10)).toBe(1);
    expect(t.flushValidAfter(A)).toBe(true);
    expect(t.onUsed(A, true, 10)).toBe(1);
    expect(t.head).toBe(3);
    expect(t.onUsed(F, true, 10)).toBe(3);
    expect(t.batch).toBe(true);
    expect([0, 1, 2].map((i) => t.idAtSeq(t.firstSeq + i))).toEqual([D, E, F]);
    expect(t.outstanding).toBe(0);
  });
  it('the queue start counts as a flush point: the first entry may be a batch', () => {
    const t = new UsedTracker(8, 8, 'partial', true);
    for (const id of [3, 1, 2]) t.makeAvailable(id, 1, 100);
    expect(t.onUsed(2, true, 0)).toBe(3);
  });
  it('FLUSH with a hole behind it is rejected, naming the hole', () => {
    const t = new UsedTracker(8, 8, 'partial', true);
    for (const id of [0, 1, 2]) t.makeAvailable(id, 1, 100);
    t.onUsed(0, false, 0); // lastFlush now false
    try { t.onUsed(2, true, 0); expect.unreachable(); } catch (e) {
      expect((e as VqError).code).toBe('USED_FLUSH_WITH_HOLE');
      expect((e as VqError).details.holeId).toBe(1);
    }
  });
  it('a batch needs the previous entry to carry FLUSH: otherwise the entry is one buffer', () => {
    const t = new UsedTracker(8, 8, 'partial', true);
    for (const id of [0, 1, 2, 3]) t.makeAvailable(id, 1, 100);
    t.onUsed(1, false, 0);
    expect(t.onUsed(3, false, 0)).toBe(1); // not a batch
    expect(t.outstanding).toBe(2);
  });
  it('FLUSH without PARTIAL_ORDER, bad id, bad len, not outstanding, used out of order under IN_ORDER', () => {
    const n = new UsedTracker(4, 4, 'none', false);
    n.makeAvailable(0, 1, 16);
    expect(codeOf(() => n.onUsed(0, true, 0))).toBe('USED_FLUSH_WITHOUT_FEATURE');
    expect(codeOf(() => n.onUsed(9, false, 0))).toBe('USED_BAD_ID');
    expect(codeOf(() => n.onUsed(0, false, 17))).toBe('USED_BAD_LEN');
    expect(codeOf(() => n.onUsed(1, false, 0))).toBe('USED_ID_NOT_OUTSTANDING');
    const io = new UsedTracker(4, 4, 'in-order', false);
    for (const id of [0, 1, 2]) io.makeAvailable(id, 1, 16);
    expect(io.onUsed(1, false, 0)).toBe(2); // batch 0,1
    expect(codeOf(() => io.onUsed(0, false, 0))).toBe('USED_OUT_OF_ORDER');
  });
  it('weights sum the ring slots a batch skips (packed: descriptors per chain)', () => {
    const t = new UsedTracker(8, 8, 'in-order', false);
    t.makeAvailable(0, 3, 1); t.makeAvailable(1, 1, 1); t.makeAvailable(2, 2, 1);
    t.onUsed(2, false, 0);
    expect(t.weight).toBe(6);
  });
  it('the seq counter wraps after 2^32 buffers: the buffer at seq 0xffffffff is outstanding like any other', () => {
    for (const mode of ['none', 'in-order', 'partial'] as const) {
      const t = new UsedTracker(4, 4, mode, mode === 'partial');
      t.head = t.tail = 0xfffffffe;
      for (const id of [0, 1, 2]) t.makeAvailable(id, 1, 16); // seqs 0xfffffffe, 0xffffffff, 0
      expect(t.isOutstanding(1)).toBe(true);
      expect(t.onUsed(1, false, 0)).toBe(mode === 'in-order' ? 2 : 1);
      expect(codeOf(() => t.onUsed(1, false, 0))).toBe('USED_ID_NOT_OUTSTANDING');
      if (mode === 'in-order') expect(codeOf(() => t.onUsed(0, false, 0))).toBe('USED_OUT_OF_ORDER');
    }
  });
  it('ids cannot be made available twice while outstanding, nor beyond the window', () => {
    const t = new UsedTracker(2, 4, 'none', false);
    t.makeAvailable(0, 1, 1);
    expect(codeOf(() => t.makeAvailable(0, 1, 1))).toBe('AVAIL_BAD_HEAD');
    t.makeAvailable(1, 1, 1);
    expect(codeOf(() => t.makeAvailable(2, 1, 1))).toBe('AVAIL_IDX_JUMP');
  });
});

/** Reference model: plain arrays, obviously correct, slow. */
class Model {
  order: number[] = [];
  used = new Set<number>();
  lastFlush = true;
  prefixOk(): boolean {
    let i = 0;
    while (i < this.order.length && this.used.has(this.order[i])) i++;
    for (let j = i; j < this.order.length; j++) if (this.used.has(this.order[j])) return false;
    return true;
  }
  flushPoint(): number { let i = 0; while (i < this.order.length && this.used.has(this.order[i])) i++; return i; }
}

describe('UsedTracker against a reference model (fast-check)', () => {
  for (const mode of ['none', 'in-order', 'partial'] as const) {
    it(`mode ${mode}: random valid use orders complete every buffer exactly once`, () => {
      const sizes = new Map<number, number>();
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.record({ add: fc.nat(6), pick: fc.nat(), flag: fc.boolean() }), { minLength: 1, maxLength: 200 }),
        (n, steps) => {
          const t = new UsedTracker(n, n, mode, mode === 'partial');
          const m = new Model();
          const free: number[] = Array.from({ length: n }, (_, i) => i);
          for (const { add, pick, flag } of steps) {
            for (let a = 0; a < add && free.length > 0; a++) {
              const id = free.shift()!; t.makeAvailable(id, 1, 64); m.order.push(id);
            }
            const out = m.order.filter((id) => !m.used.has(id));
            if (out.length === 0) continue;
            const id = out[pick % out.length];
            let flush = false;
            if (mode === 'partial') {
              if (m.lastFlush && flag) flush = true; // a FLUSH batch from the flush point
              else { m.used.add(id); flush = m.prefixOk() && flag; m.used.delete(id); }
            }
            const k = t.onUsed(id, flush, 64);
            const fp = m.flushPoint();
            const expected = mode === 'in-order' || (mode === 'partial' && flush && m.lastFlush)
              ? m.order.slice(fp, m.order.indexOf(id) + 1)
              : [id];
            sizes.set(k, (sizes.get(k) ?? 0) + 1);
            expect(k).toBe(expected.length);
            for (let i = 0; i < k; i++) expect(t.idAtSeq(t.firstSeq + i)).toBe(expected[i]);
            for (const e of expected) { expect(m.used.has(e)).toBe(false); m.used.add(e); }
            if (mode === 'partial') { m.lastFlush = flush; if (flush) expect(m.prefixOk()).toBe(true); }
            // Retire the used prefix so ids are reused.
            const fp2 = m.flushPoint();
            for (const rid of m.order.slice(0, fp2)) { m.used.delete(rid); free.push(rid); }
            m.order = m.order.slice(fp2);
            expect(t.outstanding).toBe(m.order.filter((x) => !m.used.has(x)).length);
          }
        },
      ), { numRuns: 300 });
      // The generator must reach real batches, not only single completions.
      if (mode !== 'none') expect([...sizes.keys()].some((k) => k >= 4)).toBe(true);
    });
  }

  it('partial: flushValidAfter agrees with the no-hole definition', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (n, picks) => {
      const t = new UsedTracker(n, n, 'partial', true);
      const m = new Model();
      for (let i = 0; i < n; i++) { t.makeAvailable(i, 1, 1); m.order.push(i); }
      for (const p of picks) {
        const out = m.order.filter((id) => !m.used.has(id));
        if (!out.length) break;
        const id = out[p % out.length];
        m.used.add(id);
        const want = m.prefixOk();
        m.used.delete(id);
        expect(t.flushValidAfter(id)).toBe(want);
        t.onUsed(id, false, 0); m.used.add(id); m.lastFlush = false;
      }
    }), { numRuns: 300 });
  });

  it('partial: flushValidAfter agrees with the definition through id reuse, FLUSH batches and seq wrap-around', () => {
    // The tracker answers in O(1) from the newest completed seq; the definition walks: after id,
    // are the completed buffers a prefix of the available order? Ids are reused once used, and
    // some entries carry FLUSH where it is valid (so FLUSH batches move the head as well).
    fc.assert(fc.property(fc.integer({ min: 2, max: 10 }), fc.array(fc.nat(), { minLength: 1, maxLength: 200 }), fc.boolean(), (n, ops, nearWrap) => {
      const t = new UsedTracker(n, n, 'partial', true);
      if (nearWrap) { t.head = t.tail = 0xffffffff - 5; } // seqs wrap within the run
      const order: number[] = []; // ids in available order, with `done` flags
      const done: boolean[] = [];
      const free: number[] = Array.from({ length: n }, (_, i) => i);
      const prefixAfter = (id: number): boolean => {
        let seenOpen = false;
        for (let k = 0; k < order.length; k++) {
          const isDone = done[k] || order[k] === id;
          if (!isDone) seenOpen = true; else if (seenOpen) return false;
        }
        return true;
      };
      for (const op of ops) {
        const out = order.filter((_, k) => !done[k]);
        if (free.length > 0 && (op % 3 === 0 || out.length === 0)) {
          const id = free.splice(op % free.length, 1)[0];
          t.makeAvailable(id, 1, 1);
          order.push(id); done.push(false);
          continue;
        }
        const id = out[op % out.length];
        for (const o of out) expect(t.flushValidAfter(o)).toBe(prefixAfter(o));
        const flush = (op & 4) !== 0 && prefixAfter(id);
        const k = t.onUsed(id, flush, 0);
        // Mark what the entry completed (a FLUSH batch completes from the oldest outstanding through id).
        for (let j = 0; j < k; j++) { const q = order.indexOf(t.idAtSeq((t.firstSeq + j) >>> 0)); done[q] = true; }
        // Drop the completed prefix (those ids are free again).
        while (order.length > 0 && done[0]) { free.push(order.shift()!); done.shift(); }
      }
    }), { numRuns: 500 });
  });
});

describe('UsedTracker: makeAvailableMany (the batch path) keeps every rule of makeAvailable', () => {
  it('an id twice in one batch, an outstanding id, a batch past the window: the same errors, at the same buffer', () => {
    const t = new UsedTracker(4, 8, 'in-order', false);
    expect(codeOf(() => t.makeAvailableMany(new Uint16Array([0, 1, 0]), 0, 3, null, null, 16))).toBe('AVAIL_BAD_HEAD');
    expect(t.inFlight).toBe(2);
    expect(codeOf(() => t.makeAvailableMany(new Uint16Array([2, 1]), 0, 2, null, null, 16))).toBe('AVAIL_BAD_HEAD');
    expect(t.inFlight).toBe(3);
    expect(codeOf(() => t.makeAvailableMany(new Uint16Array([3, 4]), 0, 2, null, null, 16))).toBe('AVAIL_IDX_JUMP');
    expect(t.inFlight).toBe(4);
    expect(codeOf(() => t.makeAvailableMany(new Uint16Array([9]), 0, 1, null, null, 16))).toBe('AVAIL_BAD_HEAD');
  });

  it('capacities that differ from the common one are still each buffer\'s own (USED_BAD_LEN)', () => {
    const t = new UsedTracker(8, 8, 'none', false);
    t.makeAvailableMany(new Uint16Array([0, 1]), 0, 2, null, null, 16);
    t.makeAvailableMany(new Uint16Array([2, 3]), 0, 2, null, new Uint32Array([16, 8]), 0);
    expect(t.capacityOfId(1)).toBe(16);
    expect(t.capacityOfId(3)).toBe(8);
    expect(codeOf(() => t.onUsed(3, false, 9))).toBe('USED_BAD_LEN');
    expect(t.onUsed(1, false, 16)).toBe(1);
    expect(codeOf(() => t.onUsed(0, false, 17))).toBe('USED_BAD_LEN');
    expect(t.onUsed(3, false, 8)).toBe(1);
  });

  it('a weight other than 1 mid-way keeps the weights of the buffers before it (batch weight)', () => {
    const t = new UsedTracker(8, 8, 'in-order', false);
    t.makeAvailableMany(new Uint16Array([0, 1, 2]), 0, 3, new Uint16Array([1, 1, 3]), null, 16);
    expect([0, 1, 2].map((id) => t.weightOfId(id))).toEqual([1, 1, 3]);
    expect(t.onUsed(2, false, 0)).toBe(3);
    expect(t.weight).toBe(5);
  });

  it('fed as batches or buffer by buffer, two trackers agree on every answer (fast-check)', () => {
    fc.assert(fc.property(
      fc.constantFrom('none', 'in-order', 'partial'),
      fc.array(fc.record({ ids: fc.array(fc.nat(9), { maxLength: 5 }), w: fc.array(fc.constantFrom(1, 1, 1, 2), { maxLength: 5 }), cap: fc.constantFrom(16, 16, 16, 8), use: fc.nat(9), len: fc.constantFrom(0, 8, 12, 16), flush: fc.boolean() }), { maxLength: 40 }),
      (mode, steps) => {
        const a = new UsedTracker(6, 8, mode, mode === 'partial');
        const b = new UsedTracker(6, 8, mode, mode === 'partial');
        for (const s of steps) {
          const ids = new Uint16Array(s.ids);
          const w = new Uint16Array(s.ids.map((_, i) => s.w[i] ?? 1));
          const caps = new Uint32Array(s.ids.map((_, i) => (i === 0 ? s.cap : 16)));
          const errA = codeOf(() => a.makeAvailableMany(ids, 0, ids.length, w, caps, 0));
          const errB = codeOf(() => { for (let i = 0; i < ids.length; i++) b.makeAvailable(ids[i], w[i], caps[i]); });
          expect(errA).toBe(errB);
          expect([a.head, a.tail, a.inFlight, a.outstanding]).toEqual([b.head, b.tail, b.inFlight, b.outstanding]);
          const ua = codeOf(() => a.onUsed(s.use, s.flush, s.len));
          const ub = codeOf(() => b.onUsed(s.use, s.flush, s.len));
          expect(ua).toBe(ub);
          if (ua === 'none') expect([a.firstSeq, a.count, a.weight]).toEqual([b.firstSeq, b.count, b.weight]);
          for (let id = 0; id < 8; id++) {
            expect(a.isOutstanding(id)).toBe(b.isOutstanding(id));
            if (a.isOutstanding(id)) expect([a.weightOfId(id), a.capacityOfId(id)]).toEqual([b.weightOfId(id), b.capacityOfId(id)]);
          }
        }
      },
    ), { numRuns: 400 });
  });
});
