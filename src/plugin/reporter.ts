/**
 * The reporting half of the side contract: one place that turns what a side did into checker
 * events (the side's shared event log) and run figures (the side's counters). vqlab's own sides
 * report through it exactly as a user's do. Allocation-free; each call is a few stores.
 */
import {
  EV_AVAIL, EV_AVAIL_DESC_BIT, EV_CORRUPT, EV_LOST_WAKEUP, EV_TIME, EV_FAULT, EV_FLUSH_BIT, EV_IRQ, EV_KICK, EV_RECLAIM, EV_RECLAIM_SINGLES, EV_RESOLVE, EV_USED, type EventLog,
} from '../check/events.js';
import {
  D_CORRUPTED, D_KICKS, D_MADE, D_PUBLISHES, D_RECLAIMED, D_USED_SEEN, V_BATCHED_ENTRIES, V_BUFFERS_IN_BATCHES,
  V_COMPLETED, V_CORRUPTED, V_FAULTS, V_FLUSHES, V_INTERRUPTS, V_MAX_FAULTS_PENDING, V_POPPED, V_STALL_MS,
  V_USED_ENTRIES, V_USED_PUBLISHES,
} from '../harness/control.js';

export class Reporter {
  private readonly on: boolean;
  constructor(
    readonly events: EventLog,
    readonly stats: Float64Array,
    private readonly shouldStop: () => boolean,
    /** Tracing (--trace-out): stamp each publication round with the time, in µs since `epochMs`. */
    private readonly trace = false,
    private readonly epochMs = 0,
  ) {
    this.on = events.enabled;
  }

  private stamp = -1;

  /**
   * Tracing: note the time at the start of a round. It is written (as one EV_TIME record) only
   * before the round's first record, so idle rounds add nothing and no record is per buffer.
   */
  time(): void {
    if (this.trace) this.stamp = Math.max(0, Math.round((performance.timeOrigin + performance.now() - this.epochMs) * 1000));
  }

  private emit(w0: number, w1: number): void {
    if (this.stamp >= 0) {
      this.events.push(EV_TIME, this.stamp, this.shouldStop);
      this.stamp = -1;
    }
    this.events.push(w0, w1, this.shouldStop);
  }

  /** This side slept with notifications enabled while work was published and no notification came. */
  lostWakeup(arg: number): void {
    if (this.on) this.emit(EV_LOST_WAKEUP, arg);
  }

  // --- device ---------------------------------------------------------------------------
  /** A chain was popped from the available ring. */
  popped(): void { this.stats[V_POPPED]++; }
  /** A buffer finished processing (whether or not its used entry is written yet). */
  completed(): void { this.stats[V_COMPLETED]++; }
  /** A used entry was written naming `id`; it stands for `buffers` buffers (1, or a batch). */
  used(id: number, len: number, flush: boolean, buffers: number): void {
    const s = this.stats;
    s[V_USED_ENTRIES]++;
    if (buffers > 1) { s[V_BATCHED_ENTRIES]++; s[V_BUFFERS_IN_BATCHES] += buffers; }
    if (flush) s[V_FLUSHES]++;
    if (this.on) this.emit(EV_USED | (id << 8) | (flush ? EV_FLUSH_BIT : 0), len);
  }
  /** Before making used entries visible (split: the used.idx store): events first, so the checker never lags the driver. */
  usedPublish(): void {
    this.stats[V_USED_PUBLISHES]++;
    if (this.on) this.events.publish();
  }
  interrupt(usedIdx: number): void {
    this.stats[V_INTERRUPTS]++;
    if (this.on) this.emit(EV_IRQ, usedIdx);
  }
  fault(id: number, seq: number, pending: number): void {
    this.stats[V_FAULTS]++;
    if (pending > this.stats[V_MAX_FAULTS_PENDING]) this.stats[V_MAX_FAULTS_PENDING] = pending;
    if (this.on) this.emit(EV_FAULT | (id << 8), seq);
  }
  resolved(id: number, seq: number, stalledMs: number): void {
    if (stalledMs > 0) this.stats[V_STALL_MS] += stalledMs;
    if (this.on) this.emit(EV_RESOLVE | (id << 8), seq);
  }
  /** The device found the driver's pattern wrong in buffer `id`. */
  deviceCorrupt(id: number, seq: number): void {
    this.stats[V_CORRUPTED]++;
    if (this.on) this.emit(EV_CORRUPT | (id << 8), seq);
  }

  // --- driver ---------------------------------------------------------------------------
  /** Buffer `id` (with `capacity` writable bytes) was added; it becomes visible at the next publish. */
  avail(id: number, capacity: number): void {
    if (this.on) this.emit(EV_AVAIL | (id << 8), capacity);
  }
  /**
   * Buffers `id`, `id`+step, …, `id`+(`n`-1)·step (step 1 or -1, 1 ≤ n ≤ EV_AVAIL_RUN_MAX, ids 0..0xffff), each with
   * `capacity` writable bytes, were added in that order: one record for the run.
   */
  availRun(id: number, n: number, capacity: number, step = 1): void {
    if (this.on) this.emit(EV_AVAIL | (id << 8) | ((n - 1) << 24) | (step < 0 ? EV_AVAIL_DESC_BIT : 0), capacity);
  }
  /** Before making buffers visible (the avail.idx / head-flags store): events first. */
  availPublish(made: number): void {
    this.stats[D_MADE] = made;
    this.stats[D_PUBLISHES]++;
    if (this.on) this.events.publish();
  }
  kick(availIdx: number): void {
    this.stats[D_KICKS]++;
    if (this.on) this.emit(EV_KICK, availIdx);
  }
  /** A used entry naming `id` was reclaimed and completed `count` buffers. */
  reclaim(id: number, count: number, reclaimedTotal: number): void {
    this.stats[D_USED_SEEN]++;
    this.stats[D_RECLAIMED] = reclaimedTotal;
    if (this.on) this.emit(EV_RECLAIM | (id << 8), count);
  }
  /**
   * The next `entries` used entries were reclaimed, each completing exactly one buffer (what
   * `entries` calls of reclaim(id, 1, …) report, in one record: the checker checks a run of them).
   */
  reclaimSingles(entries: number, reclaimedTotal: number): void {
    this.stats[D_USED_SEEN] += entries;
    this.stats[D_RECLAIMED] = reclaimedTotal;
    if (this.on) this.emit(EV_RECLAIM_SINGLES, entries);
  }
  /** The driver found the device's pattern wrong in buffer `id`. */
  driverCorrupt(id: number, seq: number): void {
    this.stats[D_CORRUPTED]++;
    if (this.on) this.emit(EV_CORRUPT | (id << 8), seq);
  }

  /** Make recorded events visible to the checker. */
  publish(): void {
    if (this.on) this.events.publish();
  }
}
