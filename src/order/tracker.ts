/**
 * The ordering logic both rings share (2.7.9/2.8.9 "In-order use of descriptors" and the
 * PARTIAL_ORDER proposal; readings in docs/interpretations.md): it is ring-agnostic.
 *
 * Buffers get a position (seq) in the order they were made available. A used entry then completes:
 *  - under IN_ORDER: every outstanding buffer up to and including its id (a batch);
 *  - under PARTIAL_ORDER: the same from the flush point when it carries FLUSH and the previous
 *    entry also did (the queue start counts as a flush point); otherwise exactly its id;
 *  - with no ordering feature: exactly its id.
 * FLUSH is valid iff, after the entry, the completed buffers form a prefix of the available order.
 *
 * One tracker serves the driver (reclaiming), the device (deciding FLUSH and batches) and the
 * checker (`vqlab check` and live checking). Split and packed differ only in each buffer's weight:
 * how far the ring index moves for it (split: 1 per buffer; packed: its descriptor slots).
 * Allocation-free: fixed typed arrays sized by the queue; seq is a wrapping uint32.
 *
 * A batch costs O(1), not O(buffers): it only moves `head`. A buffer's seq stays in seqOf after a
 * batch completes it; an id is outstanding only while its seq lies in [head, tail) and the ring
 * position of that seq still names it, so a seq left behind by a batch is simply no longer live.
 * Such a stale seq also means "completed inside a batch without being named" (the IN_ORDER
 * violation's name); an id completed by name (or never made available) is marked in `named`
 * instead (every 32-bit value is some buffer's seq once the counter wraps, after 2^32 buffers, so
 * no seq value can serve as the mark). Batch weights come from the running sum of weights in
 * available order (cumBefore), so they need no walk either.
 */
import type { OrderMode } from '../spec/features.js';
import { VqError, type VqSide } from '../errors.js';

export class UsedTracker {
  /** Power of two ≥ window size; seq & mask indexes the per-position arrays. */
  private readonly mask: number;
  private readonly idAt: Uint16Array;
  private readonly doneAt: Uint8Array;
  private readonly seqOf: Uint32Array;
  /** 1: the id holds no seq that could be live or skipped (completed by name, or never available). */
  private readonly named: Uint8Array;
  private readonly weightOf: Uint16Array;
  private readonly capacityOf: Uint32Array;
  /** Per ring position: the sum of the weights of every buffer made available before it (wrapping uint32). */
  private readonly cumBefore: Uint32Array;
  /** The same sum at tail. */
  private tailCum = 0;
  /**
   * Every weight so far was 1 (split, and packed with one-descriptor chains): then the sum before
   * seq is seq itself, a batch weighs its buffer count, and nothing per position is stored.
   */
  private unit = true;
  /**
   * Every buffer so far had this many writable bytes (-1: none yet, -2: they differed). While one
   * capacity serves all (the usual fixed buffers), capacityOf is not written per buffer.
   */
  private capAll = -1;

  /** Lowest seq not yet completed (the flush point when lastFlush). */
  head = 0;
  /** Next seq to hand out. */
  tail = 0;
  /** Completed buffers with seq > head (holes exist when > 0). */
  completedAhead = 0;
  /** The newest of those (meaningful while completedAhead > 0): FLUSH validity in O(1). */
  private maxDone = 0;
  /** The previous used entry carried FLUSH; the queue start counts as one (vqlab interpretation). */
  lastFlush = true;

  // Results of the last onUsed(), read by the caller (no allocation per entry).
  /** First seq the last entry completed; completed seqs are firstSeq .. firstSeq+count-1 for a batch. */
  firstSeq = 0;
  /** Number of buffers the last entry completed. */
  count = 0;
  /** Sum of the completed buffers' weights (ring slots to skip). */
  weight = 0;
  /** True when the last entry was a batch (more than its own id completed). */
  batch = false;
  entries = 0;

  constructor(
    readonly window: number,
    readonly maxId: number,
    readonly mode: OrderMode,
    /** PARTIAL_ORDER negotiated (FLUSH allowed). With IN_ORDER too, IN_ORDER rules. */
    readonly flushAllowed: boolean,
    readonly side: VqSide = 'driver',
  ) {
    let cap = 1;
    while (cap < window) cap <<= 1;
    this.mask = cap - 1;
    this.idAt = new Uint16Array(cap);
    this.doneAt = new Uint8Array(cap);
    this.seqOf = new Uint32Array(maxId);
    this.named = new Uint8Array(maxId).fill(1);
    this.weightOf = new Uint16Array(maxId);
    this.capacityOf = new Uint32Array(maxId);
    this.cumBefore = new Uint32Array(cap);
  }

  /** `id` is outstanding: its seq is in [head, tail), not completed alone, and its ring position still names it. */
  private live(id: number): boolean {
    const s = this.seqOf[id];
    return this.named[id] === 0 && ((s - this.head) >>> 0) < ((this.tail - this.head) >>> 0) && this.idAt[s & this.mask] === id;
  }

  get outstanding(): number { return (this.tail - this.head - this.completedAhead) >>> 0; }
  get inFlight(): number { return (this.tail - this.head) >>> 0; }
  isOutstanding(id: number): boolean { return id < this.maxId && this.live(id); }
  /** The seq of an outstanding id, or -1. */
  seqOfId(id: number): number { return id < this.maxId && this.live(id) ? this.seqOf[id] : -1; }
  /** Completed inside a batch without being named (a later entry naming it used out of order). */
  wasSkipped(id: number): boolean { return id < this.maxId && this.named[id] === 0 && !this.live(id); }
  idAtSeq(seq: number): number { return this.idAt[seq & this.mask]; }
  weightOfId(id: number): number { return this.unit ? 1 : this.weightOf[id]; }
  capacityOfId(id: number): number { return this.capAll >= 0 ? this.capAll : this.capacityOf[id]; }

  reset(): void {
    this.named.fill(1);
    this.doneAt.fill(0);
    this.head = this.tail = this.completedAhead = this.tailCum = 0;
    this.unit = true;
    this.capAll = -1;
    this.lastFlush = true;
    this.entries = 0;
  }

  /** Record that buffer `id` was made available (next in available order). */
  makeAvailable(id: number, weight: number, capacity: number): number {
    if (!(id >= 0 && id < this.maxId) || this.live(id) || ((this.tail - this.head) >>> 0) >= this.window) throw this.availError(id);
    const seq = this.tail;
    const i = seq & this.mask;
    // doneAt is already 0 here: it is 1 only between head and tail, and head clears what it passes.
    this.idAt[i] = id;
    this.seqOf[id] = seq;
    this.named[id] = 0;
    if (capacity !== this.capAll) this.setCapacity(id, capacity);
    if (weight !== 1 && this.unit) this.leaveUnit();
    if (!this.unit) {
      this.weightOf[id] = weight;
      this.cumBefore[i] = this.tailCum;
      this.tailCum = (this.tailCum + weight) >>> 0;
    }
    this.tail = (seq + 1) >>> 0;
    return seq;
  }

  /**
   * makeAvailable for ids[at..at+n-1], in that order (the driver's batch, the device's run of
   * popped chains); returns the first one's seq (the others follow it). Weights come from
   * `weights` (null: 1 each), capacities from `caps` (null: `capacity` each). The rules and errors
   * are makeAvailable's, buffer by buffer; while every weight is 1 and one capacity serves all,
   * a buffer costs its checks and three stores (idAt, seqOf, named).
   */
  makeAvailableMany(ids: Uint16Array, at: number, n: number, weights: Uint16Array | null, caps: Uint32Array | null, capacity: number): number {
    const first = this.tail;
    const mask = this.mask;
    const maxId = this.maxId;
    const window = this.window;
    const idAt = this.idAt;
    const seqOf = this.seqOf;
    const named = this.named;
    const head = this.head;
    let tail = first;
    for (let i = at, end = at + n; i < end; i++) {
      const id = ids[i];
      const w = weights === null ? 1 : weights[i];
      const c = caps === null ? capacity : caps[i];
      if (w !== 1 || !this.unit || c !== this.capAll) {
        // Anything off the common case: the one-buffer path (it keeps the running sums).
        this.tail = tail;
        tail = (this.makeAvailable(id, w, c) + 1) >>> 0;
        continue;
      }
      const inFlight = (tail - head) >>> 0;
      const s = seqOf[id];
      // live(id) against the local tail (an id twice in one batch is caught at its second place),
      // its seq's place first: an id coming round again usually has its old seq behind head.
      if (id >= maxId || inFlight >= window || (((s - head) >>> 0) < inFlight && idAt[s & mask] === id && named[id] === 0)) {
        this.tail = tail;
        throw this.availError(id);
      }
      idAt[tail & mask] = id;
      seqOf[id] = tail;
      named[id] = 0;
      tail = (tail + 1) >>> 0;
    }
    this.tail = tail;
    return first;
  }

  // The errors are built out of line (the checks stay in the hot functions): small hot functions
  // are what V8 inlines into the drivers' and devices' loops.

  /** Why makeAvailable(id) is refused, in the order the rules are checked. */
  private availError(id: number): VqError {
    if (!(id >= 0 && id < this.maxId)) return new VqError('AVAIL_BAD_HEAD', this.side, `buffer id ${id} out of range 0..${this.maxId - 1}`, { id });
    if (this.live(id)) return new VqError('AVAIL_BAD_HEAD', this.side, `buffer id ${id} made available while still outstanding`, { id });
    return new VqError('AVAIL_IDX_JUMP', this.side, `more than ${this.window} buffers in flight`, { id });
  }

  /** Why onUsed(id, flush, len) is refused, in the order the rules are checked. */
  private usedError(id: number, flush: boolean, len: number): VqError {
    if (!(id >= 0 && id < this.maxId)) {
      return new VqError('USED_BAD_ID', this.side, `used id ${id} out of range 0..${this.maxId - 1}`, { id, entry: this.entries });
    }
    if (!this.live(id)) {
      // Not outstanding. A seq left behind (not named) means a batch completed it without naming it.
      const skipped = this.named[id] === 0;
      const code = skipped ? 'USED_OUT_OF_ORDER' : 'USED_ID_NOT_OUTSTANDING';
      const why = skipped ? 'was already completed by an earlier batch entry (buffers used out of order)' : 'is not outstanding';
      return new VqError(code, this.side, `used id ${id} ${why}`, { id, entry: this.entries });
    }
    if (len > this.capacityOfId(id) || len < 0) {
      return new VqError('USED_BAD_LEN', this.side, `used len ${len} exceeds writable capacity ${this.capacityOfId(id)} of id ${id}`, { id, len, entry: this.entries });
    }
    return new VqError('USED_FLUSH_WITHOUT_FEATURE', this.side, `FLUSH set on id ${id} but VIRTIO_F_PARTIAL_ORDER was not negotiated`, { id, entry: this.entries });
  }

  private holeError(id: number): VqError {
    return new VqError('USED_FLUSH_WITH_HOLE', this.side,
      `FLUSH on id ${id} while buffer id ${this.idAt[this.head & this.mask]} (made available earlier) is still outstanding`,
      { id, entry: this.entries, holeAtSeq: this.head, holeId: this.idAt[this.head & this.mask] });
  }

  /**
   * A capacity other than the one every buffer had so far (or the first buffer): from the second
   * capacity seen on, each id's is stored (the outstanding ones get the old common value first).
   */
  private setCapacity(id: number, capacity: number): void {
    if (this.capAll === -1) { this.capAll = capacity; return; }
    if (this.capAll >= 0) {
      for (let q = this.head; q !== this.tail; q = (q + 1) >>> 0) this.capacityOf[this.idAt[q & this.mask]] = this.capAll;
      this.capAll = -2;
    }
    this.capacityOf[id] = capacity;
  }

  /** The first weight other than 1: from now on keep the running sums (until then the sum before seq is seq) and each id's weight. */
  private leaveUnit(): void {
    for (let q = this.head; q !== this.tail; q = (q + 1) >>> 0) {
      this.cumBefore[q & this.mask] = q;
      this.weightOf[this.idAt[q & this.mask]] = 1;
    }
    this.tailCum = this.tail;
    this.unit = false;
  }

  /**
   * Would FLUSH be valid on a single entry for `id`, i.e. after completing it are the completed
   * buffers a prefix of the available order? (Device side: decide whether to set FLUSH.)
   */
  flushValidAfter(id: number): boolean {
    if (!this.live(id)) return false;
    const s = this.seqOf[id];
    if (s !== this.head) return false;
    // The completedAhead buffers all lie in (s, maxDone]; they fill it, leaving no hole, exactly
    // when there are maxDone - s of them (no walk over the completed run).
    return this.completedAhead === 0 || ((this.maxDone - s) >>> 0) === this.completedAhead;
  }

  /**
   * Apply one used entry. Returns the number of buffers it completes; details in firstSeq/count/
   * weight/batch. Throws a typed VqError when the entry breaks a rule.
   */
  onUsed(id: number, flush: boolean, len: number): number {
    if (!(id >= 0 && id < this.maxId)) throw this.usedError(id, flush, len);
    const s = this.seqOf[id];
    if (this.named[id] !== 0 || ((s - this.head) >>> 0) >= ((this.tail - this.head) >>> 0) || this.idAt[s & this.mask] !== id ||
      len > (this.capAll >= 0 ? this.capAll : this.capacityOf[id]) || len < 0 || (flush && !this.flushAllowed)) throw this.usedError(id, flush, len);
    const batchMode = this.mode === 'in-order' || (this.mode === 'partial' && flush && this.lastFlush);
    if (batchMode) {
      // Batch from the flush point (head) through id. Under IN_ORDER nothing ahead is ever done;
      // under PARTIAL_ORDER lastFlush guarantees completedAhead === 0, so doneAt is 0 over the whole
      // batch. O(1): the other buffers' seqs are left behind head (no longer live, and marking them
      // as completed without being named); the weight is a difference of running sums.
      const head = this.head;
      const mask = this.mask;
      const n = ((s - head) >>> 0) + 1;
      this.weight = this.unit ? n : (this.cumBefore[s & mask] + this.weightOf[id] - this.cumBefore[head & mask]) >>> 0;
      this.named[id] = 1;
      this.firstSeq = head;
      this.head = (s + 1) >>> 0;
      this.count = n;
      this.batch = n > 1;
    } else {
      const w = this.unit ? 1 : this.weightOf[id];
      this.named[id] = 1;
      this.firstSeq = s;
      this.count = 1;
      this.weight = w;
      this.batch = false;
      if (s === this.head) {
        let q = (s + 1) >>> 0;
        while (q !== this.tail && this.doneAt[q & this.mask] === 1) {
          this.doneAt[q & this.mask] = 0;
          this.completedAhead--;
          q = (q + 1) >>> 0;
        }
        this.head = q;
      } else {
        this.doneAt[s & this.mask] = 1;
        if (this.completedAhead++ === 0 || ((s - this.head) >>> 0) > ((this.maxDone - this.head) >>> 0)) this.maxDone = s;
      }
      if (flush && this.completedAhead !== 0) throw this.holeError(id);
    }
    this.lastFlush = flush;
    this.entries++;
    return this.count;
  }
}
