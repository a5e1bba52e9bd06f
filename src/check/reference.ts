/**
 * The reference model of the used ring: a second, deliberately simple statement of what each used
 * entry means, written from the specification ("The Virtqueue Used Ring", "In-order use of
 * descriptors", split and packed) and the VIRTIO_F_PARTIAL_ORDER proposal as read in
 * docs/interpretations.md, sharing no code with UsedTracker (src/order/tracker.ts) or the Checker
 * (src/check/checker.ts).
 *
 * Why a second model: the driver, the device and the checker all use UsedTracker, so a bug in the
 * tracker is a bug in all three at once (a common-mode failure) and the checker cannot see it. This
 * model is the independent opinion. It keeps the buffer instances made available, from the oldest
 * outstanding one on, in one plain array and answers every question by scanning it: O(window) per
 * entry, never for a hot path (property tests, the simulator, `vqlab check --reference`).
 *
 * What an entry completes:
 *  - no ordering feature: exactly the buffer it names;
 *  - IN_ORDER (also with PARTIAL_ORDER negotiated: IN_ORDER rules, FLUSH defined): every buffer
 *    still outstanding that was made available no later than the named one (a batch);
 *  - PARTIAL_ORDER: the same batch when the entry carries FLUSH and the previous entry did too (the
 *    queue start counts as one); otherwise exactly the named buffer.
 * FLUSH is valid only with PARTIAL_ORDER negotiated and only when, after the entry, the completed
 * buffers are a prefix of the available order (no hole). `len` is checked against the writable
 * capacity of the named instance only (a batch reports the last buffer's len). The ring slots an
 * entry moves past: split, one per completed buffer; packed, the sum of the completed buffers'
 * descriptor slots (a chain of k descriptors takes k slots, an indirect buffer one).
 * Precedence when an entry breaks several rules: reserved bits in its flags word (when a trace
 * gives the word), then which buffer it names (range, then outstanding), then its len, then FLUSH.
 */
import { parseOrderSpec, type OrderSpec, type RingKind } from '../spec/features.js';
import type { CheckResult } from './checker.js';

/** The rule codes the model can report (the same names the rest of vqlab uses). */
export type RefRule =
  | 'USED_BAD_ID' | 'USED_ID_NOT_OUTSTANDING' | 'USED_OUT_OF_ORDER' | 'USED_BAD_LEN'
  | 'USED_FLUSH_WITHOUT_FEATURE' | 'USED_FLUSH_WITH_HOLE' | 'USED_BEFORE_AVAIL' | 'USED_BAD_FLAGS'
  | 'AVAIL_BAD_HEAD' | 'AVAIL_IDX_JUMP' | 'AVAIL_OVER_QUEUE_SIZE' | 'LOST_BUFFER';

/** One buffer made available (an id made available again is a new instance). */
export interface RefBuffer {
  id: number;
  /** Descriptors in its chain (an indirect buffer: the entries of its table). */
  descriptors: number;
  indirect: boolean;
  /** Writable bytes (0xffffffff: unknown, not checked). */
  capacity: number;
  done: boolean;
  /** Completed by an entry that named it (false: completed inside a batch, or not yet). */
  named: boolean;
}

export interface RefOk {
  ok: true;
  /** The ids the entry completed, in available order (the named one last for a batch). */
  ids: number[];
  /** Ring slots the entry moves past. */
  slots: number;
  /** More than the named buffer completed. */
  batch: boolean;
}
export interface RefBad { ok: false; rule: RefRule; message: string }
export type RefOutcome = RefOk | RefBad;

export interface ReferenceOptions {
  ring: RingKind;
  order: OrderSpec;
  /** Ids are 0 .. maxId-1. */
  maxId: number;
  /** Most buffers from the oldest outstanding one to the newest (the ordering window). */
  window: number;
  /** Most buffers outstanding at once (the queue size, 2.7 / 2.8.10.1); unbounded when absent. */
  maxOutstanding?: number;
}

export const REF_UNKNOWN_CAPACITY = 0xffffffff;

export class ReferenceRing {
  /**
   * The buffer instances made available, in available order, from the oldest outstanding one on
   * (those completed before it can no longer matter to any rule but "used out of order", which
   * `newest` answers): the window of the spec's in-order rules.
   */
  readonly buffers: RefBuffer[] = [];
  /** Per id, its newest instance (kept after it leaves `buffers`). */
  private readonly newest: (RefBuffer | undefined)[] = [];
  /** The previous entry carried FLUSH; the queue start counts as one (interpretations). */
  private previousFlush = true;
  entries = 0;

  constructor(readonly opts: ReferenceOptions) {}

  get inOrder(): boolean { return this.opts.order === 'in-order' || this.opts.order === 'in-order,partial'; }
  get flushDefined(): boolean { return this.opts.order === 'partial' || this.opts.order === 'in-order,partial'; }

  /** The outstanding instance of `id` (at most one while the rules hold), or undefined. */
  outstandingOf(id: number): RefBuffer | undefined {
    return this.buffers.find((b) => b.id === id && !b.done);
  }

  /** Buffers from the oldest outstanding one to the newest (0 when none is outstanding). */
  span(): number {
    const first = this.buffers.findIndex((b) => !b.done);
    return first < 0 ? 0 : this.buffers.length - first;
  }

  outstanding(): number { return this.buffers.filter((b) => !b.done).length; }

  /** Completed by a batch without being named: naming it now is a use out of order. */
  skipped(id: number): boolean {
    const b = this.newest[id];
    return b !== undefined && b.done && !b.named;
  }

  /** The driver made buffer `id` available. Null, or the rule it breaks. */
  avail(id: number, descriptors: number, indirect: boolean, capacity: number): RefBad | null {
    if (!(Number.isInteger(id) && id >= 0 && id < this.opts.maxId)) return bad('AVAIL_BAD_HEAD', `buffer id ${id} out of range 0..${this.opts.maxId - 1}`);
    if (this.outstandingOf(id)) return bad('AVAIL_BAD_HEAD', `buffer id ${id} made available while still outstanding`);
    if (this.span() >= this.opts.window) return bad('AVAIL_IDX_JUMP', `more than ${this.opts.window} buffers in flight`);
    const b: RefBuffer = { id, descriptors, indirect, capacity, done: false, named: false };
    this.buffers.push(b);
    this.newest[id] = b;
    return null;
  }

  /** Ring slots a buffer takes: split, one used element per buffer; packed, one slot per descriptor of its chain. */
  private slotsOf(b: RefBuffer): number {
    if (this.opts.ring === 'split') return 1;
    return b.indirect ? 1 : b.descriptors;
  }

  /** The device wrote a used entry naming `id`. */
  used(id: number, len: number, flush: boolean): RefOutcome {
    if (!(Number.isInteger(id) && id >= 0 && id < this.opts.maxId)) return bad('USED_BAD_ID', `used id ${id} out of range 0..${this.opts.maxId - 1}`);
    const named = this.outstandingOf(id);
    if (!named) {
      return this.skipped(id)
        ? bad('USED_OUT_OF_ORDER', `used id ${id} was already completed by an earlier batch entry`)
        : bad('USED_ID_NOT_OUTSTANDING', `used id ${id} is not outstanding`);
    }
    if (len < 0 || (named.capacity !== REF_UNKNOWN_CAPACITY && len > named.capacity)) {
      return bad('USED_BAD_LEN', `used len ${len} exceeds writable capacity ${named.capacity} of id ${id}`);
    }
    if (flush && !this.flushDefined) return bad('USED_FLUSH_WITHOUT_FEATURE', `FLUSH on id ${id} without VIRTIO_F_PARTIAL_ORDER`);
    const batchEntry = this.inOrder || (flush && this.previousFlush);
    const at = this.buffers.indexOf(named);
    const completed = batchEntry ? this.buffers.filter((b, i) => i <= at && !b.done) : [named];
    if (flush) {
      // No hole: after the entry, no outstanding buffer was made available before a completed one.
      const doneAfter = this.buffers.map((b) => b.done || completed.includes(b));
      const hole = doneAfter.findIndex((d, i) => !d && i < doneAfter.lastIndexOf(true));
      if (hole >= 0) return bad('USED_FLUSH_WITH_HOLE', `FLUSH on id ${id} while buffer id ${this.buffers[hole].id} (made available earlier) is still outstanding`);
    }
    for (const b of completed) b.done = true;
    named.named = true;
    this.previousFlush = flush;
    this.entries++;
    while (this.buffers.length > 0 && this.buffers[0].done) this.buffers.shift();
    let slots = 0;
    for (const b of completed) slots += this.slotsOf(b);
    return { ok: true, ids: completed.map((b) => b.id), slots, batch: completed.length > 1 };
  }
}

const bad = (rule: RefRule, message: string): RefBad => ({ ok: false, rule, message });

/** A trace as `vqlab check` reads it (the fields the reference needs). */
export interface RefTrace {
  ring: RingKind;
  order: string | string[];
  queue_size: number;
  /** An id, or an id with the capacity of this instance. */
  avail: (number | { id: number; capacity?: number })[];
  /** `flags`: the ring's own flags word, when the trace carries it. */
  used: { id: number; len?: number; flush?: boolean; flags?: number }[];
  capacity?: Record<string, number>;
  complete?: boolean;
  avail_before?: number[];
}

/** The checker's result shape (so the two compare field by field; no logic is shared), plus: */
export interface RefTraceResult extends CheckResult {
  /** Per entry checked without a violation: the ids it completed and the ring slots it moved past. */
  completions: { ids: number[]; slots: number }[];
}

/**
 * The reference model over a stream of records, the way the checker reads them: avail events are
 * taken as late as the stream allows. An entry naming an id that is not outstanding makes available
 * the pending events up to the first one with that id (all pending ones when none has it); with a
 * `limit` (a trace's interleaving) the events past it are not available yet and naming one of them
 * is USED_BEFORE_AVAIL. Never more than the window of buffers in flight (the rest wait).
 */
export class ReferenceStream {
  readonly ref: ReferenceRing;
  private readonly pending: { id: number; descriptors: number; indirect: boolean; capacity: number }[] = [];
  /** Avail events that may be made available (Infinity: no interleaving given). */
  limit = Infinity;
  /** Avail events made available so far. */
  taken = 0;

  constructor(readonly opts: ReferenceOptions) {
    this.ref = new ReferenceRing(opts);
  }

  avail(id: number, descriptors = 1, indirect = false, capacity = REF_UNKNOWN_CAPACITY): void {
    this.pending.push({ id, descriptors, indirect, capacity });
  }

  get pendingCount(): number { return this.pending.length; }

  /** Make pending events available in order while room and the limit allow, until `stop` says enough. */
  take(stop: (id: number) => boolean = () => false): RefBad | null {
    while (this.pending.length > 0 && this.taken < this.limit && this.ref.span() < this.opts.window) {
      const p = this.pending.shift()!;
      this.taken++;
      const max = this.opts.maxOutstanding ?? Infinity;
      if (this.ref.outstanding() >= max) {
        return bad('AVAIL_OVER_QUEUE_SIZE', `buffer id ${p.id} made available while ${this.ref.outstanding()} buffers are outstanding: more than the queue size ${max} at once`);
      }
      const e = this.ref.avail(p.id, p.descriptors, p.indirect, p.capacity);
      if (e) return e;
      if (stop(p.id)) break;
    }
    return null;
  }

  /** A used entry (the `entry`-th). */
  used(entry: number, id: number, len: number, flush: boolean): RefOutcome {
    if (!this.ref.outstandingOf(id)) {
      const has = this.pending.some((p) => p.id === id);
      const e = this.take(has ? (x) => x === id : () => false);
      if (e) return e;
      if (!this.ref.outstandingOf(id) && !this.ref.skipped(id) && this.taken >= this.limit && this.pending.some((p) => p.id === id)) {
        return bad('USED_BEFORE_AVAIL', `used entry ${entry} names id ${id} before it was made available`);
      }
    }
    return this.ref.used(id, len, flush);
  }
}

/**
 * The FLUSH bit and whether `len` is meaningful, from a used entry's own flags word, or the rule the
 * word breaks. Split (virtq_used_elem.flags): with PARTIAL_ORDER only FLUSH (0x8000) is defined;
 * without it the word is the upper half of the old le32 id, so anything but 0 or FLUSH alone names
 * an id past 65535. Packed (used descriptor flags): AVAIL and USED are the wrap counter, NEXT is
 * ignored by drivers (2.8.6), without WRITE the len is not meaningful (2.8.4), FLUSH is 8; any
 * other bit is reserved.
 */
export function decodeUsedFlags(ring: RingKind, flushDefined: boolean, id: number, flags: number): { flush: boolean; lenMeaningful: boolean } | RefBad {
  if (ring === 'split') {
    const flush = (flags & 0x8000) !== 0;
    if (!flushDefined && flags !== 0 && flags !== 0x8000) return bad('USED_BAD_ID', `used id ${id + flags * 0x10000} (le32) out of range`);
    if (flushDefined && (flags & ~0x8000) !== 0) return bad('USED_BAD_FLAGS', `used entry flags 0x${flags.toString(16)}: only FLUSH is defined`);
    return { flush, lenMeaningful: true };
  }
  const NEXT = 1, WRITE = 2, FLUSH = 8, AVAIL = 1 << 7, USED = 1 << 15;
  if ((flags & ~(NEXT | WRITE | FLUSH | AVAIL | USED)) !== 0) return bad('USED_BAD_FLAGS', `used descriptor flags 0x${flags.toString(16)}: reserved bits`);
  return { flush: (flags & FLUSH) !== 0, lenMeaningful: (flags & WRITE) !== 0 };
}

/**
 * Check a trace with the reference model, as `vqlab check` reads a trace (docs/interpretations.md):
 * avail events taken as late as the entries allow (ReferenceStream); at most queue-size buffers
 * outstanding; a span bounded only by the trace; avail events after the last entry checked too.
 */
export function referenceCheckTrace(t: RefTrace): RefTraceResult {
  const order = parseOrderSpec(t.order);
  if (!order) throw new TypeError(`reference: unknown order ${JSON.stringify(t.order)}`);
  const n = t.avail.length;
  const st = new ReferenceStream({ ring: t.ring, order, maxId: t.ring === 'split' ? t.queue_size : 65536, window: Math.max(t.queue_size, n + 1), maxOutstanding: t.queue_size });
  for (const a of t.avail) {
    const id = typeof a === 'number' ? a : a.id;
    const own = typeof a === 'number' ? undefined : a.capacity;
    st.avail(id, 1, false, own ?? t.capacity?.[String(id)] ?? REF_UNKNOWN_CAPACITY);
  }
  const out: RefTraceResult = { ok: true, first_bad: null, rule: 'ok', used_entries: t.used.length, buffers_used: 0, batched_entries: 0, flushes: 0, completions: [] };
  const fail = (entry: number | null, r: RefBad): RefTraceResult => ({ ...out, ok: false, first_bad: entry, rule: r.rule, message: r.message });
  for (let i = 0; i < t.used.length; i++) {
    const u = t.used[i];
    if (t.avail_before) {
      // The events made available before entry i: a rule one breaks is reported at entry i.
      st.limit = t.avail_before[i];
      const e = st.take();
      if (e) return fail(i, e);
    }
    let flush = u.flush === true;
    let len = u.len ?? 0;
    if (u.flags !== undefined) {
      const d = decodeUsedFlags(t.ring, st.ref.flushDefined, u.id, u.flags);
      if ('ok' in d) return fail(i, d);
      flush = d.flush;
      if (!d.lenMeaningful) len = 0;
    }
    const r = st.used(i, u.id, len, flush);
    if (!r.ok) return fail(i, r);
    out.completions.push({ ids: r.ids, slots: r.slots });
    out.buffers_used += r.ids.length;
    if (r.ids.length > 1) out.batched_entries++;
    if (flush) out.flushes++;
  }
  // Buffers made available after the last entry obey the avail rules too.
  st.limit = n;
  const e = st.take();
  if (e) return fail(null, e);
  if (t.complete === true) {
    const lost = st.ref.outstanding() + st.pendingCount;
    if (lost > 0) return fail(null, bad('LOST_BUFFER', `${lost} buffer(s) made available were never used`));
  }
  return out;
}

/** The fields of a `vqlab check` result both checkers report. */
export interface CheckVerdict {
  ok: boolean; first_bad: number | null; rule: string; buffers_used: number; batched_entries: number; flushes: number;
}

/** Where the tracker-based checker and the reference disagree on a trace, or null when they agree. */
export function referenceDisagreement(checker: CheckVerdict, ref: CheckVerdict): string | null {
  for (const k of ['ok', 'first_bad', 'rule', 'buffers_used', 'batched_entries', 'flushes'] as const) {
    if (checker[k] !== ref[k]) return `${k}: checker ${String(checker[k])}, reference ${String(ref[k])}`;
  }
  return null;
}
