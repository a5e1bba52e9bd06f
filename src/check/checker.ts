/**
 * The conformance checker. It replays what the two sides recorded — buffers made available (in
 * order) and used entries (as written) — through the same ordering tracker the rings use, and
 * checks the rules of the spec and the proposal:
 *   each buffer used exactly once; never used before it was available; len within the writable
 *   capacity; FLUSH only with no hole behind it; a batch only right after a FLUSH entry (otherwise
 *   the entry names one buffer, and anything it skipped shows up as a duplicate / out-of-order use);
 *   IN_ORDER entries in order; data intact end to end; no lost wake-up; the driver reclaimed
 *   exactly what each entry stands for.
 * Avail events are ingested lazily (only as far as a used entry needs), so a trace needs no
 * timestamps: every buffer made available before the one an entry names is already known.
 */
import { UsedTracker } from '../order/tracker.js';
import { flushAllowedBy, orderModeOf, parseOrderSpec, type OrderMode, type OrderSpec, type RingKind } from '../spec/features.js';
import { isVqError, VqError } from '../errors.js';
import {
  VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_FLUSH, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, VIRTQ_USED_ELEM_F_FLUSH,
} from '../spec/constants.js';

/** Flag bits a packed used descriptor may carry (NEXT: reserved there and ignored by drivers, 2.8.6). */
const PACKED_USED_FLAGS = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_FLUSH | VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;

export interface Violation {
  rule: string;
  message: string;
  /** Index into the used entries (in the order written), or null for whole-run rules. */
  entry: number | null;
  id: number | null;
}

export interface CheckerOptions {
  ring: RingKind;
  order: OrderMode;
  queueSize: number;
  /** Largest buffer id + 1 (split: queue size; packed: queue size for vqlab's driver). */
  maxId?: number;
  /** PARTIAL_ORDER negotiated (FLUSH allowed); defaults to order === 'partial'. */
  flushAllowed?: boolean;
  /** Ordering window (buffers from oldest outstanding to newest); defaults to the queue size. */
  window?: number;
  /**
   * Most buffers outstanding at once (made available, not yet used): the queue size (2.7: "at most
   * Queue Size buffers can be queued at any given time"). Unchecked when absent: the live harness's
   * drivers bound themselves; a trace from elsewhere is checked against it (AVAIL_OVER_QUEUE_SIZE).
   */
  maxOutstanding?: number;
  /** Capacity of the pending-avail queue in runs (live: the event log size plus twice the window). */
  pendingCapacity?: number;
  /**
   * Most used entries that may be checked before the reclaims that match them (default: twice the
   * window). A live checker drains a whole device log before it applies the reclaims that drain
   * brought, so it needs a log's worth plus the window: sized by the window alone, 2^20-record logs
   * gave false RECLAIM_MISMATCHes (4 of 4 PARTIAL_ORDER runs). 0: no reclaims will be checked (a
   * trace carries none), so nothing is kept per entry.
   */
  reclaimSpan?: number;
}

export const UNKNOWN_CAPACITY = 0xffffffff;

export class Checker {
  readonly tracker: UsedTracker;
  readonly violations: Violation[] = [];
  // Avail events not yet ingested, in available order, as runs of consecutive ids (mod 2^16) with
  // one capacity: a FIFO of runs (first id, buffers left, capacity), bounded in runs. pendCount counts buffers.
  private readonly pendId: Uint16Array;
  private readonly pendN: Uint32Array;
  /** Step between a run's ids: 1, or -1 (descending). */
  private readonly pendStep: Int8Array;
  private readonly pendCap: Uint32Array;
  private pendHead = 0;
  private pendRuns = 0;
  private pendCount = 0;
  private readonly pendMask: number;
  /** Per used entry (by index, modulo a window), how many buffers it completed: to check reclaims. */
  private readonly expect: Uint32Array;
  private readonly expectMask: number;
  private readonly maxOutstanding: number;
  usedEntries = 0;
  reclaimEntries = 0;
  buffersAvailable = 0;
  buffersUsed = 0;
  batchedEntries = 0;
  flushes = 0;
  duplicated = 0;
  private failed = false;
  /** Avail events that may be ingested (traces with interleaving: those made available before the entry). */
  ingestLimit = Infinity;
  private ingested = 0;

  constructor(readonly opts: CheckerOptions) {
    const maxId = opts.maxId ?? (opts.ring === 'split' ? opts.queueSize : 65536);
    this.tracker = new UsedTracker(opts.window ?? opts.queueSize, maxId, opts.order, opts.flushAllowed ?? opts.order === 'partial', 'checker');
    let cap = 1;
    while (cap < (opts.pendingCapacity ?? 1 << 16)) cap <<= 1;
    this.pendMask = cap - 1;
    this.pendId = new Uint16Array(cap);
    this.pendN = new Uint32Array(cap);
    this.pendStep = new Int8Array(cap);
    this.pendCap = new Uint32Array(cap);
    this.maxOutstanding = opts.maxOutstanding ?? Infinity;
    let ec = 1;
    while (opts.reclaimSpan !== 0 && ec < Math.max((opts.window ?? opts.queueSize) * 2, opts.reclaimSpan ?? 0)) ec <<= 1;
    this.expectMask = ec - 1;
    this.expect = new Uint32Array(ec);
  }

  get ok(): boolean { return this.violations.length === 0; }
  get outstanding(): number { return this.tracker.outstanding + this.pendCount; }

  private violate(rule: string, message: string, entry: number | null, id: number | null): void {
    this.violations.push({ rule, message, entry, id });
  }

  /** The driver made buffer `id` available (with `capacity` writable bytes). */
  avail(id: number, capacity = UNKNOWN_CAPACITY): void {
    this.availRun(id, 1, capacity);
  }

  /**
   * Buffers `id`, `id`+1, …, `id`+`n`-1 were made available, in that order (as `n` avail events).
   * Held as one run (joined to the last run when it continues it), ingested as a range.
   */
  availRun(id: number, n: number, capacity = UNKNOWN_CAPACITY, step = 1): void {
    // The FIFO's bound is on runs, not buffers: a checker that lags behind the sides (it runs at
    // low priority) may hold a whole event log's worth of avail runs, each of up to
    // EV_AVAIL_RUN_MAX buffers, before the used entries that consume them are drained.
    const mask = this.pendMask;
    const last = (this.pendHead + this.pendRuns - 1) & mask;
    if (this.pendRuns > 0 && this.pendCap[last] === capacity && this.pendStep[last] === step
      && ((this.pendId[last] + step * this.pendN[last]) & 0xffff) === (id & 0xffff)) {
      this.pendN[last] += n;
    } else if (this.pendRuns <= mask) {
      const i = (this.pendHead + this.pendRuns) & mask;
      this.pendId[i] = id;
      this.pendN[i] = n;
      this.pendCap[i] = capacity;
      this.pendStep[i] = step;
      this.pendRuns++;
    } else {
      for (let k = 0; k < n; k++) this.violate('CHECKER_OVERFLOW', 'more runs of available buffers than the checker can hold un-used', null, (id + step * k) & 0xffff);
      this.failed = true;
      return;
    }
    this.pendCount += n;
    this.buffersAvailable += n;
  }

  /**
   * Ingest the next `m` (≤ pendCount) pending buffers into the tracker, in order. A buffer the
   * tracker rejects counts as ingested, as do those before it; the error propagates.
   */
  private ingestN(m: number): void {
    const tr = this.tracker;
    while (m > 0) {
      const h = this.pendHead;
      const first = this.pendId[h];
      const left = this.pendN[h];
      const cap = this.pendCap[h];
      const step = this.pendStep[h];
      const take = m < left ? m : left;
      let k = 0;
      try {
        for (; k < take; k++) {
          if (tr.outstanding >= this.maxOutstanding) throw this.overQueueSize((first + step * k) & 0xffff);
          tr.makeAvailable((first + step * k) & 0xffff, 1, cap);
        }
      } finally {
        const done = k < take ? k + 1 : take;
        this.pendId[h] = first + step * done;
        this.pendN[h] = left - done;
        this.pendCount -= done;
        this.ingested += done;
        if (left === done) { this.pendHead = (h + 1) & this.pendMask; this.pendRuns--; }
      }
      m -= take;
    }
  }

  /** The device wrote a used entry. Returns false once a violation has been found. */
  used(id: number, len: number, flush: boolean): boolean {
    const entry = this.usedEntries++;
    if (this.failed) return false;
    const tr = this.tracker;
    try {
      // Never used before it was available: pull in avail events until the id is outstanding
      // (never more than a queue's worth in flight). If it still is not, onUsed names the rule.
      const h = this.pendHead;
      if (this.pendRuns > 0 && this.pendId[h] === id && !tr.isOutstanding(id) && tr.inFlight < tr.window && this.ingested < this.ingestLimit
        && tr.outstanding < this.maxOutstanding) {
        // The next pending buffer is id (one entry per buffer, in order): ingest just it.
        const cap = this.pendCap[h];
        this.pendId[h] = id + this.pendStep[h];
        if (--this.pendN[h] === 0) { this.pendHead = (h + 1) & this.pendMask; this.pendRuns--; }
        this.pendCount--;
        this.ingested++;
        tr.makeAvailable(id, 1, cap);
      } else if (!tr.isOutstanding(id)) {
        // Ingest in available order through id's first pending occurrence (everything pending
        // when it is not there), never beyond the window or the trace's interleaving.
        let want = 0;
        const mask = this.pendMask;
        // An id no pending run can hold (not a 16-bit integer): everything pending, as one by one would.
        const runs = id >= 0 && id <= 0xffff && Math.floor(id) === id ? this.pendRuns : 0;
        if (runs === 0) want = this.pendCount;
        for (let r = 0; r < runs; r++) {
          const i = (this.pendHead + r) & mask;
          const off = ((id - this.pendId[i]) * this.pendStep[i]) & 0xffff;
          if (off < this.pendN[i]) { want += off + 1; break; }
          want += this.pendN[i];
        }
        const room = tr.window - tr.inFlight;
        if (want > room) want = room;
        const lim = this.ingestLimit - this.ingested;
        if (want > lim) want = lim;
        if (want > 0) this.ingestN(want);
        // Only here can the id still be missing (the fast path above has just made it outstanding).
        if (!tr.isOutstanding(id) && !tr.wasSkipped(id) && this.ingested >= this.ingestLimit && this.pendingHas(id)) {
          this.violate('USED_BEFORE_AVAIL', `used entry ${entry} names id ${id} before it was made available`, entry, id);
          this.failed = true;
          return false;
        }
      }
      const k = tr.onUsed(id, flush, len);
      this.expect[entry & this.expectMask] = k;
      this.buffersUsed += k;
      if (k > 1) this.batchedEntries++;
      if (flush) this.flushes++;
      return true;
    } catch (e) {
      if (!isVqError(e)) throw e;
      if (e.code === 'USED_ID_NOT_OUTSTANDING' || e.code === 'USED_OUT_OF_ORDER') this.duplicated++;
      this.violate(e.code, e.message.replace(/^[A-Z_]+: /, ''), entry, id);
      this.failed = true;
      return false;
    }
  }

  /**
   * A used entry given with the ring's own flags word (a trace that records it).
   * Split (virtq_used_elem.flags): with PARTIAL_ORDER only FLUSH (0x8000) is defined and any other
   * bit is reserved (USED_BAD_FLAGS, as vqlab's driver says); without it the word is the upper half
   * of the old le32 id, so any bit set names an id out of range (USED_BAD_ID), FLUSH alone being
   * USED_FLUSH_WITHOUT_FEATURE. Packed (used descriptor flags): AVAIL and USED carry the wrap
   * counter (not a trace's business); NEXT is "reserved in used descriptors, and should be ignored
   * by drivers" (2.8.6), so it is ignored; WRITE says whether the device wrote, and without it len
   * is reserved and ignored by drivers (2.8.4), so the len rule does not apply; FLUSH (8) is the
   * proposal's; INDIRECT and the rest are defined for available descriptors only: USED_BAD_FLAGS.
   */
  usedWithFlags(id: number, len: number, flags: number): boolean {
    let why: string | null = null;
    let rule = 'USED_BAD_FLAGS';
    let flush: boolean;
    if (this.opts.ring === 'split') {
      flush = (flags & VIRTQ_USED_ELEM_F_FLUSH) !== 0;
      if (!this.tracker.flushAllowed) {
        if (flags !== 0 && flags !== VIRTQ_USED_ELEM_F_FLUSH) {
          rule = 'USED_BAD_ID';
          why = `used id ${id + flags * 0x10000} (le32: flags word 0x${flags.toString(16)} is its upper half without VIRTIO_F_PARTIAL_ORDER) out of range 0..${this.opts.queueSize - 1}`;
        }
      } else if ((flags & ~VIRTQ_USED_ELEM_F_FLUSH) !== 0) {
        why = `used entry flags 0x${flags.toString(16)} (only FLUSH 0x8000 is defined)`;
      }
    } else {
      flush = (flags & VIRTQ_DESC_F_FLUSH) !== 0;
      if ((flags & ~PACKED_USED_FLAGS) !== 0) {
        why = `used descriptor flags 0x${flags.toString(16)} (a used descriptor defines AVAIL, USED, WRITE and FLUSH; NEXT is ignored)`;
      } else if ((flags & VIRTQ_DESC_F_WRITE) === 0) {
        len = 0; // reserved without WRITE: nothing was written, whatever the field holds
      }
    }
    if (why !== null) {
      const entry = this.usedEntries++;
      if (this.failed) return false;
      this.violate(rule, why, entry, id);
      this.failed = true;
      return false;
    }
    return this.used(id, len, flush);
  }

  /**
   * Ingest avail events until `count` have been (a trace's interleaving: made available before the
   * next entry, whose index a violation found here names).
   */
  ingestUpTo(count: number, entry: number | null = null): void {
    this.ingestLimit = count;
    let m = count - this.ingested;
    if (m > this.pendCount) m = this.pendCount;
    const room = this.tracker.window - this.tracker.inFlight;
    if (m > room) m = room;
    if (m <= 0) return;
    try { this.ingestN(m); } catch (e) {
      if (!isVqError(e)) throw e;
      this.violate(e.code, e.message.replace(/^[A-Z_]+: /, ''), entry, (e.details.id as number | undefined) ?? null);
      this.failed = true;
    }
  }

  /**
   * Avail events are taken as late as the trace allows (just before the first entry that needs
   * them), so the count outstanding here is the least any interleaving of the trace could have:
   * exceeding the queue size is the driver's fault whatever the real interleaving was.
   */
  private overQueueSize(id: number): VqError {
    return new VqError('AVAIL_OVER_QUEUE_SIZE', 'checker',
      `buffer id ${id} made available while ${this.tracker.outstanding} buffers are outstanding: more than the queue size ${this.opts.queueSize} at once`, { id });
  }

  private pendingHas(id: number): boolean {
    if (!(id >= 0 && id <= 0xffff && Math.floor(id) === id)) return false;
    for (let r = 0; r < this.pendRuns; r++) {
      const i = (this.pendHead + r) & this.pendMask;
      if ((((id - this.pendId[i]) * this.pendStep[i]) & 0xffff) < this.pendN[i]) return true;
    }
    return false;
  }

  /** The driver reclaimed an entry naming `id` and completed `count` buffers with it. */
  reclaim(id: number, count: number): void {
    const entry = this.reclaimEntries++;
    if (this.failed || entry >= this.usedEntries) return;
    const want = this.expect[entry & this.expectMask];
    if (want !== count) {
      this.violate('RECLAIM_MISMATCH', `driver reclaimed ${count} buffer(s) for used entry ${entry} (id ${id}); the entry stands for ${want}`, entry, id);
      this.failed = true;
    }
  }

  /**
   * The driver reclaimed the next `n` used entries, each completing one buffer (EV_RECLAIM_SINGLES).
   * Checks those whose used entries have been seen; returns how many that was (the rest waits).
   */
  reclaimSingles(n: number): number {
    let k = 0;
    for (; k < n && (this.failed || this.reclaimEntries < this.usedEntries); k++) {
      const entry = this.reclaimEntries++;
      if (this.failed) continue;
      const want = this.expect[entry & this.expectMask];
      if (want !== 1) {
        this.violate('RECLAIM_MISMATCH', `driver reclaimed 1 buffer for used entry ${entry}; the entry stands for ${want}`, entry, null);
        this.failed = true;
      }
    }
    return k;
  }

  corrupted(side: 'driver' | 'device', id: number, seq: number): void {
    this.violate('DATA_CORRUPTED', `${side} found a wrong data pattern in buffer id ${id} (seq ${seq})`, null, id);
  }

  lostWakeup(side: 'driver' | 'device'): void {
    this.violate('LOST_WAKEUP', `${side} slept with notifications enabled while work was published, and no notification came`, null, null);
  }

  /** End of trace: everything made available must have been used. Returns buffers never used. */
  finish(expectAllUsed: boolean): number {
    const lost = this.outstanding;
    if (expectAllUsed && lost > 0 && !this.failed) {
      this.violate('LOST_BUFFER', `${lost} buffer(s) made available were never used`, null, null);
    }
    return lost;
  }
}

/** The trace format this checker reads (JSON "format_version", line format "format_version"). */
export const TRACE_FORMAT_VERSION = 1;

/** One avail event: a buffer id, or an id with the writable capacity of this instance of the buffer. */
export type AvailItem = number | { id: number; capacity?: number };

/**
 * One used entry as written. `flags`, when given, is the ring's own flags word (split
 * virtq_used_elem.flags, packed used descriptor flags) and is checked as such; `flush` is the
 * FLUSH bit alone, for traces that do not carry the word (when both are given they agree).
 */
export interface UsedItem { id: number; len?: number; flush?: boolean; flags?: number }

export interface TraceInput {
  /** The trace format version (TRACE_FORMAT_VERSION when absent). */
  format_version?: number;
  ring: RingKind;
  /** The ordering features negotiated: none, one, or both ("in-order,partial": IN_ORDER rules, FLUSH defined). */
  order: OrderSpec;
  queue_size: number;
  avail: AvailItem[];
  used: UsedItem[];
  /**
   * Optional writable capacity per buffer id (len rule), the default for every avail event of that
   * id that gives no capacity of its own; unknown capacities are not checked.
   */
  capacity?: Record<string, number>;
  /** Require every buffer made available to be used (default false: a trace may end mid-run). */
  complete?: boolean;
  /**
   * Optional interleaving: avail_before[i] = how many avail events happened before used[i]. With it
   * the checker binds each entry to the right instance of a reused id and flags USED_BEFORE_AVAIL;
   * without it avail events are taken lazily, as far as each entry needs.
   */
  avail_before?: number[];
}

export interface CheckResult {
  ok: boolean;
  first_bad: number | null;
  rule: string;
  message?: string;
  used_entries: number;
  buffers_used: number;
  batched_entries: number;
  flushes: number;
}

/** The id and the capacity an avail event gives (its own, else the per-id default, else unknown). */
export function availOf(t: Pick<TraceInput, 'capacity'>, a: AvailItem): { id: number; capacity: number | undefined } {
  if (typeof a === 'number') return { id: a, capacity: t.capacity?.[String(a)] };
  return { id: a.id, capacity: a.capacity ?? t.capacity?.[String(a.id)] };
}

/** `vqlab check`: the same checker over a trace given as JSON. */
export function checkTrace(t: TraceInput): CheckResult {
  // A library caller may hand over the JSON form's order as it came (a list of names).
  const spec = parseOrderSpec(t.order);
  if (spec === null) throw new VqError('BAD_CONFIG', 'config', `trace order must be none, in-order, partial or in-order,partial (or a list of names), got ${JSON.stringify(t.order)}`);
  const n = t.avail.length;
  const c = new Checker({
    ring: t.ring, order: orderModeOf(spec), flushAllowed: flushAllowedBy(spec), queueSize: t.queue_size,
    // The window is a span, not a count: without an ordering feature (or between FLUSHes) a device
    // may hold one buffer while any number of later ones pass it, so the span from the oldest
    // outstanding buffer to the newest is bounded only by the trace. Outstanding buffers, on the
    // other hand, never exceed the queue size (2.8.10.1: "at most Queue Size buffers can be queued at
    // any given time"; split ids are head indexes below it, so there it also follows from id reuse).
    window: Math.max(t.queue_size, n + 1), maxOutstanding: t.queue_size,
    pendingCapacity: n + 1, reclaimSpan: 0,
  });
  for (const a of t.avail) {
    const { id, capacity } = availOf(t, a);
    c.avail(id, capacity ?? UNKNOWN_CAPACITY);
  }
  for (let i = 0; i < t.used.length; i++) {
    const u = t.used[i];
    if (t.avail_before) c.ingestUpTo(t.avail_before[i], i);
    if (!c.ok) break;
    const ok = u.flags !== undefined ? c.usedWithFlags(u.id, u.len ?? 0, u.flags) : c.used(u.id, u.len ?? 0, u.flush === true);
    if (!ok) break;
  }
  // What is still pending was made available after the last entry: the avail rules hold for it too.
  if (c.ok) c.ingestUpTo(n);
  c.ingestLimit = Infinity;
  c.finish(t.complete === true);
  const v = c.violations[0];
  return {
    ok: c.ok,
    first_bad: v ? v.entry : null,
    rule: v ? v.rule : 'ok',
    ...(v ? { message: v.message } : {}),
    used_entries: t.used.length,
    buffers_used: c.buffersUsed,
    batched_entries: c.batchedEntries,
    flushes: c.flushes,
  };
}
