/**
 * Trace export in the Chrome Trace Event format (JSON), which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open. Built on the main thread from the same event records the live checker
 * reads, so it costs the sides nothing beyond one timestamp record per active round.
 *
 * Tracks: the driver and the device as threads of one process. Buffers are async spans from made
 * available to reclaimed (one per buffer, id = its position in available order, the start taken
 * by that position too, never by the buffer id, which is reused); page faults are
 * async spans from fault to resolve; used entries are instants on the device track (named FLUSH /
 * batch ×k where they are); kicks and interrupts are instants with flow arrows to the other side's
 * next active round (its first timestamp record at or after the notification), every one of them:
 * the arrow ends on an `after kick` / `after interrupt` instant there, since a flow end (bp 'e')
 * binds to a slice enclosing its time on the receiving track and a round need not have one of its
 * own (the driver's rounds have only kick instants). Bounded: the last `maxEvents` trace events are
 * kept (a sliding window), and the metadata says how many were dropped.
 */
import { toJsonKeys } from '../util/json.js';
import { availRunOf, EV_AVAIL, EV_CORRUPT, EV_FAULT, EV_FLUSH_BIT, EV_IRQ, EV_KICK, EV_LOST_WAKEUP, EV_RECLAIM, EV_RECLAIM_SINGLES, EV_RESOLVE, EV_TIME, EV_USED } from '../check/events.js';

export interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  id?: string;
  s?: string;
  bp?: string;
  dur?: number;
  args?: Record<string, unknown>;
}

const PID = 1;
const TID_DRIVER = 1;
const TID_DEVICE = 2;
/** Recent round timestamps kept per side, to end a flow whose receiving round was read first. */
const ROUNDS_KEPT = 4096;
/** Avail times kept for buffers not yet completed (more than any queue holds in flight). */
const AVAIL_KEPT = 1 << 17;

/**
 * One side's recent round timestamps (non-decreasing) and the notifications from the other side
 * that wait for its next round. The harness drains the driver's log before the device's, so a
 * device interrupt can be read after driver rounds that came later in time: those are looked up
 * here instead of taking the next round read.
 */
class Rounds {
  private readonly ts: number[] = [];
  private start = 0;
  /** Notifications (flow id, time) waiting for a round at or after their time, oldest first. */
  readonly pending: { id: number; ts: number }[] = [];

  push(t: number): void {
    this.ts.push(t);
    if (this.ts.length - this.start > ROUNDS_KEPT) this.start++;
    if (this.start >= ROUNDS_KEPT) { this.ts.splice(0, this.start); this.start = 0; }
  }

  /** The first kept round at or after `t`, if one was read already. */
  firstAtOrAfter(t: number): number | undefined {
    let lo = this.start, hi = this.ts.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (this.ts[m] < t) lo = m + 1; else hi = m; }
    return lo < this.ts.length ? this.ts[lo] : undefined;
  }
}

export class TraceBuilder {
  private readonly ring: TraceEvent[][];
  private head = 0;
  private count = 0;
  /** Trace events held in the window (a unit is the events of one record, e.g. a batch's spans). */
  private held = 0;
  dropped = 0;
  private tDriver = 0;
  private tDevice = 0;
  /**
   * Avail time of each buffer not yet completed, by its seq (position in available order, as the
   * checker's tracker counts it). Not by id: the driver log is drained before the device log, so an
   * id is often made available again (read here) before the used entry that completed its previous
   * use is read, and a time kept by id would then be the next use's.
   */
  private readonly availTs = new Map<number, number>();
  private availSeq = 0;
  private readonly faultTs = new Map<number, number>();
  /** Used entries awaiting their reclaim: first seq, the buffers' ids and avail times. */
  private readonly entries: { seq: number; ids: number[]; begin: number[] }[] = [];
  private readonly reclaimTs: number[] = [];
  private flowId = 0;
  private readonly driverRounds = new Rounds();
  private readonly deviceRounds = new Rounds();

  constructor(readonly maxEvents = 200_000, private readonly meta: Record<string, unknown> = {}) {
    this.ring = new Array(maxEvents);
  }

  private add(...evs: TraceEvent[]): void {
    while (this.count > 0 && (this.count === this.ring.length || this.held + evs.length > this.maxEvents)) {
      const old = this.ring[this.head];
      this.dropped += old.length;
      this.held -= old.length;
      this.head = (this.head + 1) % this.ring.length;
      this.count--;
    }
    this.ring[(this.head + this.count) % this.ring.length] = evs;
    this.count++;
    this.held += evs.length;
  }

  /** A driver-log record. */
  driver(w0: number, w1: number): void {
    const type = w0 & 0xff;
    const id = (w0 >>> 8) & 0xffff;
    if (type === EV_TIME) {
      this.tDriver = w1;
      this.driverRounds.push(w1);
      this.endFlows(this.driverRounds, 'interrupt', w1, TID_DRIVER);
      return;
    }
    const ts = this.tDriver;
    if (type === EV_AVAIL) {
      for (let k = 0, n = availRunOf(w0); k < n; k++) {
        this.availTs.set(this.availSeq, ts);
        this.availSeq = (this.availSeq + 1) >>> 0;
      }
      // Buffers that never complete (a run stopped by a violation) must not grow this without bound.
      while (this.availTs.size > AVAIL_KEPT) this.availTs.delete(this.availTs.keys().next().value as number);
    }
    else if (type === EV_RECLAIM || type === EV_RECLAIM_SINGLES) {
      // One reclaim per used entry: a run of single reclaims is w1 of them.
      for (let k = 0, n = type === EV_RECLAIM ? 1 : w1; k < n; k++) this.reclaimTs.push(ts);
      this.matchReclaims();
    } else if (type === EV_KICK) {
      const f = ++this.flowId;
      this.add({ name: 'kick', ph: 'i', s: 't', ts, pid: PID, tid: TID_DRIVER, args: { avail_idx: w1 } },
        { name: 'kick', ph: 's', cat: 'notify', id: `kick${f}`, ts, pid: PID, tid: TID_DRIVER },
        ...this.flowTo(this.deviceRounds, 'kick', f, ts, TID_DEVICE));
    } else if (type === EV_CORRUPT || type === EV_LOST_WAKEUP) {
      this.add({ name: type === EV_CORRUPT ? `DATA CORRUPTED id ${id}` : 'LOST WAKE-UP', ph: 'i', s: 'g', ts, pid: PID, tid: TID_DRIVER });
    }
  }

  /** A device-log record; `first`/`ids` tell which buffers a used entry completed (from the checker). */
  device(w0: number, w1: number, completed?: { firstSeq: number; ids: number[] }): void {
    const type = w0 & 0xff;
    const id = (w0 >>> 8) & 0xffff;
    if (type === EV_TIME) {
      this.tDevice = w1;
      this.deviceRounds.push(w1);
      this.endFlows(this.deviceRounds, 'kick', w1, TID_DEVICE);
      return;
    }
    const ts = this.tDevice;
    if (type === EV_USED) {
      const flush = (w0 & EV_FLUSH_BIT) !== 0;
      const n = completed?.ids.length ?? 1;
      const name = n > 1 ? `batch ×${n} (id ${id}${flush ? ', FLUSH' : ''})` : flush ? `FLUSH id ${id}` : `used id ${id}`;
      this.add({ name, ph: 'i', s: 't', ts, pid: PID, tid: TID_DEVICE, cat: flush ? 'flush' : 'used', args: { id, len: w1, flush, buffers: n } });
      if (completed) {
        const begin = completed.ids.map((_, k) => {
          const seq = (completed.firstSeq + k) >>> 0;
          const t = this.availTs.get(seq) ?? ts;
          this.availTs.delete(seq);
          return t;
        });
        this.entries.push({ seq: completed.firstSeq, ids: completed.ids, begin });
        this.matchReclaims();
      }
    } else if (type === EV_FAULT) this.faultTs.set(w1, ts);
    else if (type === EV_RESOLVE) {
      const b = this.faultTs.get(w1) ?? ts;
      this.faultTs.delete(w1);
      this.add({ name: `fault id ${id}`, ph: 'b', cat: 'fault', id: `f${w1}`, ts: b, pid: PID, tid: TID_DEVICE, args: { id, seq: w1 } },
        { name: `fault id ${id}`, ph: 'e', cat: 'fault', id: `f${w1}`, ts: Math.max(ts, b), pid: PID, tid: TID_DEVICE });
    } else if (type === EV_IRQ) {
      const f = ++this.flowId;
      this.add({ name: 'interrupt', ph: 'i', s: 't', ts, pid: PID, tid: TID_DEVICE, args: { used_idx: w1 } },
        { name: 'interrupt', ph: 's', cat: 'notify', id: `irq${f}`, ts, pid: PID, tid: TID_DEVICE },
        ...this.flowTo(this.driverRounds, 'interrupt', f, ts, TID_DRIVER));
    } else if (type === EV_CORRUPT || type === EV_LOST_WAKEUP) {
      this.add({ name: type === EV_CORRUPT ? `DATA CORRUPTED id ${id}` : 'LOST WAKE-UP', ph: 'i', s: 'g', ts, pid: PID, tid: TID_DEVICE });
    }
  }

  /** A flow's end on the receiving track at round `ts`: the instant it binds to, then the end. */
  private flowEnd(name: 'kick' | 'interrupt', f: number, ts: number, tid: number): TraceEvent[] {
    const id = name === 'kick' ? `kick${f}` : `irq${f}`;
    return [{ name: `after ${name}`, ph: 'i', s: 't', cat: 'notify', ts, pid: PID, tid },
      { name, ph: 'f', bp: 'e', cat: 'notify', id, ts, pid: PID, tid }];
  }

  /** A notification's flow end if the receiving side's next round was read already, else it waits. */
  private flowTo(rounds: Rounds, name: 'kick' | 'interrupt', f: number, ts: number, tid: number): TraceEvent[] {
    const at = rounds.pending.length === 0 ? rounds.firstAtOrAfter(ts) : undefined;
    if (at !== undefined) return this.flowEnd(name, f, at, tid);
    rounds.pending.push({ id: f, ts });
    // A side that records no more rounds (stopped): its oldest waiting arrows are dropped as dangling.
    if (rounds.pending.length > ROUNDS_KEPT) rounds.pending.shift();
    return [];
  }

  /** A round of the receiving side at `ts`: end every waiting notification sent at or before it. */
  private endFlows(rounds: Rounds, name: 'kick' | 'interrupt', ts: number, tid: number): void {
    const q = rounds.pending;
    let n = 0;
    while (n < q.length && q[n].ts <= ts) n++;
    if (n === 0) return;
    const evs: TraceEvent[] = [];
    for (const p of q.splice(0, n)) evs.push(...this.flowEnd(name, p.id, ts, tid));
    this.add(...evs);
  }

  /** Pair used entries with their reclaims (both in entry order; either may be drained first). */
  private matchReclaims(): void {
    while (this.entries.length > 0 && this.reclaimTs.length > 0) {
      const e = this.entries.shift()!;
      const ts = this.reclaimTs.shift()!;
      const evs: TraceEvent[] = [];
      for (let k = 0; k < e.ids.length; k++) {
        const sid = `b${(e.seq + k) >>> 0}`;
        evs.push({ name: `buffer ${e.ids[k]}`, ph: 'b', cat: 'buffer', id: sid, ts: e.begin[k], pid: PID, tid: TID_DRIVER, args: { id: e.ids[k], seq: (e.seq + k) >>> 0 } });
        evs.push({ name: `buffer ${e.ids[k]}`, ph: 'e', cat: 'buffer', id: sid, ts: Math.max(ts, e.begin[k]), pid: PID, tid: TID_DRIVER });
      }
      this.add(...evs);
    }
  }

  toJSON(): { traceEvents: TraceEvent[]; displayTimeUnit: string; metadata: Record<string, unknown> } {
    const traceEvents: TraceEvent[] = [
      { name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: 'vqlab' } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: TID_DRIVER, args: { name: 'driver' } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: TID_DEVICE, args: { name: 'device' } },
    ];
    for (let k = 0; k < this.count; k++) for (const e of this.ring[(this.head + k) % this.ring.length]) traceEvents.push(e);
    // Flow starts whose end was dropped by the window would dangle: keep only complete pairs.
    const fs = new Set(traceEvents.filter((e) => e.ph === 'f').map((e) => e.id));
    const ss = new Set(traceEvents.filter((e) => e.ph === 's').map((e) => e.id));
    // Several flows ending in one round each brought the instant they bind to: keep one per round.
    const bound = new Set<string>();
    const out = traceEvents.filter((e) => {
      if (e.ph === 's') return fs.has(e.id);
      if (e.ph === 'f') return ss.has(e.id);
      if (e.ph === 'i' && e.cat === 'notify') { const k = `${e.tid}/${e.name}/${e.ts}`; if (bound.has(k)) return false; bound.add(k); }
      return true;
    });
    // traceEvents and displayTimeUnit are the Trace Event format's own names; vqlab's metadata is snake_case like all its JSON.
    return { traceEvents: out, displayTimeUnit: 'ns', metadata: toJsonKeys({ ...this.meta, dropped_events: this.dropped, window: this.ring.length }) as Record<string, unknown> };
  }
}
