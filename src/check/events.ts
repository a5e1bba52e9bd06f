/**
 * Compact event recording: each side appends 2-word records to its own shared ring; the live
 * checker (in its own thread, src/harness/checker-thread.ts) drains them. The producer publishes
 * its write index at publication points (one Atomics.store per round, not per record) and only
 * touches the consumer's index when its cached free space runs out. No allocation per buffer.
 *
 * Record: w0 = type | id << 8 | flush << 24 | extra flags; w1 = a 32-bit argument.
 * Indexes are wrapping int32 record counters (differences taken with `| 0`), so a log never
 * overflows however long the run (soak runs of 1e9 buffers and more).
 */
export const EV_AVAIL = 1;    // driver made buffer `id` available; w1 = writable capacity. A run: bits 24..30 = n-1,
                              // buffers id, id±1, …, id±(n-1) (mod 2^16; − when bit 31 is set) made available in
                              // that order, each with capacity w1
export const EV_USED = 2;     // device wrote a used entry for `id` (FLUSH in bit 24); w1 = len
export const EV_RECLAIM = 3;  // driver reclaimed an entry naming `id`; w1 = buffers it completed
export const EV_KICK = 4;     // driver kicked; w1 = avail idx
export const EV_IRQ = 5;      // device interrupted; w1 = used idx
export const EV_FAULT = 6;    // device faulted on `id`; w1 = seq
export const EV_RESOLVE = 7;  // fault on `id` resolved; w1 = seq
export const EV_LOST_WAKEUP = 8; // this side slept through published work; w1 = the index it found
export const EV_CORRUPT = 9;  // data pattern mismatch on `id`; w1 = seq
export const EV_TIME = 10;    // tracing only: the time of the records that follow; w1 = µs since the run's epoch
export const EV_RECLAIM_SINGLES = 11; // driver reclaimed the next w1 used entries, each completing exactly one buffer
                                      // (one record for a run of what would be w1 EV_RECLAIM records of count 1)

export const EV_FLUSH_BIT = 1 << 24;
/** Longest run one EV_AVAIL record holds (n-1 in bits 24..30). */
export const EV_AVAIL_RUN_MAX = 128;
/** EV_AVAIL: the run's ids descend (a LIFO free list hands out a reclaimed batch backwards). */
export const EV_AVAIL_DESC_BIT = 1 << 31;
/** Buffers an EV_AVAIL record stands for. */
export const availRunOf = (w0: number): number => ((w0 >>> 24) & 0x7f) + 1;
/** Step between the ids of an EV_AVAIL run: 1, or -1 when they descend. */
export const availStepOf = (w0: number): number => (w0 >>> 31 ? -1 : 1);

const HDR_WRITE = 0;
const HDR_READ = 16; // own cache line
const HDR_WORDS = 32;

export class EventLog {
  readonly hdr: Int32Array;
  readonly data: Int32Array;
  readonly capacity: number;
  private readonly mask: number;
  private w = 0;
  private freeUntil: number;

  constructor(readonly buffer: SharedArrayBuffer, readonly enabled = true) {
    this.hdr = new Int32Array(buffer, 0, HDR_WORDS);
    this.data = new Int32Array(buffer, HDR_WORDS * 4);
    this.capacity = this.data.length >>> 1;
    this.mask = this.capacity - 1;
    this.w = Atomics.load(this.hdr, HDR_WRITE);
    this.freeUntil = (this.w + this.capacity - 1) | 0;
  }

  static create(capacityPow2: number): EventLog {
    return new EventLog(new SharedArrayBuffer(HDR_WORDS * 4 + capacityPow2 * 8));
  }

  // --- producer ---------------------------------------------------------------------------
  /** Append a record; blocks (with a bounded wait, re-checking `shouldStop`) while the log is full. */
  push(w0: number, w1: number, shouldStop: () => boolean): void {
    if (((this.freeUntil - this.w) | 0) <= 0 && !this.waitForSpace(shouldStop)) return;
    const i = (this.w & this.mask) << 1;
    this.data[i] = w0;
    this.data[i + 1] = w1;
    this.w = (this.w + 1) | 0;
  }

  publish(): void {
    Atomics.store(this.hdr, HDR_WRITE, this.w);
  }

  /**
   * Wait for the reader to free space; false when the run is stopping instead: the record is then
   * dropped (and every later one, the log being full), so the reader sees a clean prefix of the
   * run. Overwriting unread records would hand it a stream out of order.
   */
  private waitForSpace(shouldStop: () => boolean): boolean {
    this.publish();
    for (;;) {
      const r = Atomics.load(this.hdr, HDR_READ);
      this.freeUntil = (r + this.capacity - 1) | 0;
      if (((this.freeUntil - this.w) | 0) > 0) return true;
      if (shouldStop()) return false;
      Atomics.wait(this.hdr, HDR_READ, r, 5);
    }
  }

  // --- consumer ---------------------------------------------------------------------------
  /** Published write index (records). */
  written(): number { return Atomics.load(this.hdr, HDR_WRITE); }
  readIndex(): number { return Atomics.load(this.hdr, HDR_READ); }
  /** No room for the producer's next record as published (it is then waiting for the reader). */
  isFull(): boolean { return ((this.written() - this.readIndex()) | 0) >= this.capacity - 1; }
  /** Records [read, upTo) have been consumed: release their space (and wake a producer waiting for it). */
  release(upTo: number): void {
    Atomics.store(this.hdr, HDR_READ, upTo);
    Atomics.notify(this.hdr, HDR_READ);
  }

  /** Hand records [read, upTo) to fn, then release their space. */
  drain(upTo: number, fn: (w0: number, w1: number) => void): number {
    let r = Atomics.load(this.hdr, HDR_READ);
    const n = (upTo - r) | 0;
    for (let k = 0; k < n; k++, r = (r + 1) | 0) {
      const i = (r & this.mask) << 1;
      fn(this.data[i], this.data[i + 1]);
    }
    Atomics.store(this.hdr, HDR_READ, r);
    Atomics.notify(this.hdr, HDR_READ);
    return n;
  }
}
