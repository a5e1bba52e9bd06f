/**
 * Live checking: drains both sides' event logs into a Checker. Used by the threaded harness
 * (in its own low-priority thread, or on the main thread when tracing; every 2 ms), by one-thread
 * tests and by the simulator (after every step).
 */
import { Checker, type CheckerOptions, type Violation } from './checker.js';
import { availRunOf, availStepOf, EV_AVAIL, EV_CORRUPT, EV_FLUSH_BIT, EV_LOST_WAKEUP, EV_RECLAIM, EV_RECLAIM_SINGLES, EV_USED, EventLog } from './events.js';
import type { TraceBuilder } from '../trace/perfetto.js';

/** What a run reports of its checker (whichever thread it ran on). */
export interface CheckerSummary {
  ok: boolean;
  violations: Violation[];
  /** Buffers made available and never used (meaningful for a completed run). */
  outstanding: number;
  duplicated: number;
  usedEntries: number;
  reclaimEntries: number;
}

export class LiveChecker {
  readonly checker: Checker;
  // Reclaims can arrive before the used entry they refer to has been drained: queue them.
  private readonly rq: Int32Array;
  private readonly rqCap: number;
  private readonly rqMask: number;
  private rqHead = 0;
  private rqCount = 0;
  /** A violation was seen: the run should stop. */
  stop = false;

  constructor(opts: CheckerOptions, private readonly driverLog: EventLog, private readonly deviceLog: EventLog, readonly trace: TraceBuilder | null = null) {
    this.checker = new Checker({ ...opts, reclaimSpan: deviceLog.capacity + (opts.window ?? opts.queueSize) });
    // Reclaims waiting for their used entries: at most a driver log's worth beyond those still in
    // flight after the last drain (≤ the window). A power of two, so positions wrap with a mask.
    let cap = 2;
    while (cap < driverLog.capacity + (opts.window ?? opts.queueSize)) cap <<= 1;
    this.rqCap = cap;
    this.rqMask = cap - 1;
    this.rq = new Int32Array(this.rqCap * 2);
  }

  // One method per log, called directly from drainLog: the dispatch inlines there (one closure
  // called from a shared EventLog.drain was a polymorphic call per record).
  private onDriver(w0: number, w1: number): void {
    const c = this.checker;
    this.trace?.driver(w0, w1);
    const type = w0 & 0xff;
    const id = (w0 >>> 8) & 0xffff;
    if (type === EV_AVAIL) c.availRun(id, availRunOf(w0), w1, availStepOf(w0));
    else if (type === EV_RECLAIM || type === EV_RECLAIM_SINGLES) {
      if (this.rqCount >= this.rqCap) { this.applyReclaims(); }
      // A run of single reclaims is queued as one entry: id -n (ids are never negative).
      const i = ((this.rqHead + this.rqCount) & this.rqMask) * 2;
      if (type === EV_RECLAIM) { this.rq[i] = id; this.rq[i + 1] = w1; } else { this.rq[i] = -w1; this.rq[i + 1] = 1; }
      this.rqCount++;
    } else if (type === EV_CORRUPT) { c.corrupted('driver', id, w1); this.stop = true; }
    else if (type === EV_LOST_WAKEUP) { c.lostWakeup('driver'); this.stop = true; }
  }

  private onDevice(w0: number, w1: number): void {
    const c = this.checker;
    const type = w0 & 0xff;
    const id = (w0 >>> 8) & 0xffff;
    if (type === EV_USED) {
      const ok = c.used(id, w1, (w0 & EV_FLUSH_BIT) !== 0);
      if (!ok) this.stop = true;
      if (this.trace) this.traceUsed(w0, w1, ok);
      return;
    }
    this.trace?.device(w0, w1);
    if (type === EV_CORRUPT) { c.corrupted('device', id, w1); this.stop = true; }
    else if (type === EV_LOST_WAKEUP) { c.lostWakeup('device'); this.stop = true; }
  }

  private traceUsed(w0: number, w1: number, ok: boolean): void {
    const t = this.checker.tracker;
    const ids: number[] = [];
    if (ok) for (let k = 0; k < t.count; k++) ids.push(t.idAtSeq((t.firstSeq + k) >>> 0));
    this.trace!.device(w0, w1, ok ? { firstSeq: t.firstSeq, ids } : undefined);
  }

  /** Hand the records of one log, [read, upTo), to its side's method, then release their space. */
  private drainLog(log: EventLog, upTo: number, device: boolean): void {
    const data = log.data;
    const mask = log.capacity - 1;
    let r = log.readIndex();
    const n = (upTo - r) | 0;
    for (let k = 0; k < n; k++, r = (r + 1) | 0) {
      const i = (r & mask) << 1;
      if (device) this.onDevice(data[i], data[i + 1]);
      else this.onDriver(data[i], data[i + 1]);
    }
    log.release(r);
  }

  private applyReclaims(): void {
    const c = this.checker;
    while (this.rqCount > 0 && c.reclaimEntries < c.usedEntries) {
      const i = this.rqHead * 2;
      const id = this.rq[i];
      if (id < 0) {
        const done = c.reclaimSingles(-id);
        // Only part of the run has its used entries drained yet: the rest stays queued.
        if (done < -id) { this.rq[i] = id + done; break; }
      } else c.reclaim(id, this.rq[i + 1]);
      this.rqHead = (this.rqHead + 1) & this.rqMask;
      this.rqCount--;
    }
  }

  /** Drain what both sides have published so far. */
  drain(): void {
    // Device index first: every avail a drained used entry needs was published before it.
    const dUp = this.deviceLog.written();
    const vUp = this.driverLog.written();
    this.drainLog(this.driverLog, vUp, false);
    this.drainLog(this.deviceLog, dUp, true);
    this.applyReclaims();
    if (!this.checker.ok) this.stop = true;
  }

  /**
   * The end of a run, after the last drain: a completed run (every buffer reclaimed) must have
   * used everything made available (LOST_BUFFER otherwise).
   */
  summary(completed: boolean): CheckerSummary {
    const c = this.checker;
    if (completed && c.ok) c.finish(true);
    return { ok: c.ok, violations: c.violations.slice(), outstanding: c.outstanding, duplicated: c.duplicated, usedEntries: c.usedEntries, reclaimEntries: c.reclaimEntries };
  }
}
