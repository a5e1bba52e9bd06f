/**
 * Trace export in the Chrome Trace Event format (JSON), which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open. Built on the main thread from the same event records the live checker
 * reads, so it costs the sides nothing beyond one timestamp record per active round.
 *
 * Tracks: the driver and the device as threads of one process. Buffers are async spans from made
 * available to reclaimed (one per buffer, id = its position in available order); page faults are
 * async spans from fault to resolve; used entries are instants on the device track (named FLUSH /
 * batch ×k where they are); kicks and interrupts are instants with flow arrows to the other side's
 * next activity. Bounded: the last `maxEvents` trace events are kept (a sliding window), and the
 * metadata says how many were dropped.
 */
import { availRunOf, availStepOf, EV_AVAIL, EV_CORRUPT, EV_FAULT, EV_FLUSH_BIT, EV_IRQ, EV_KICK, EV_LOST_WAKEUP, EV_RECLAIM, EV_RESOLVE, EV_TIME, EV_USED } from '../check/events.js';

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

export class TraceBuilder {
  private readonly ring: TraceEvent[][];
  private head = 0;
  private count = 0;
  /** Trace events held in the window (a unit is the events of one record, e.g. a batch's spans). */
  private held = 0;
  dropped = 0;
  private tDriver = 0;
  private tDevice = 0;
  private readonly availTs = new Map<number, number>();
  private readonly faultTs = new Map<number, number>();
  /** Used entries awaiting their reclaim: first seq, the buffers' ids and avail times. */
  private readonly entries: { seq: number; ids: number[]; begin: number[] }[] = [];
  private readonly reclaimTs: number[] = [];
  private flowId = 0;
  private pendingKick: { id: number; ts: number } | null = null;
  private pendingIrq: { id: number; ts: number } | null = null;

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
      if (this.pendingIrq && w1 >= this.pendingIrq.ts) {
        this.add({ name: 'interrupt', ph: 'f', bp: 'e', cat: 'notify', id: `irq${this.pendingIrq.id}`, ts: w1, pid: PID, tid: TID_DRIVER });
        this.pendingIrq = null;
      }
      return;
    }
    const ts = this.tDriver;
    if (type === EV_AVAIL) { for (let k = 0, n = availRunOf(w0), d = availStepOf(w0); k < n; k++) this.availTs.set((id + d * k) & 0xffff, ts); }
    else if (type === EV_RECLAIM) {
      this.reclaimTs.push(ts);
      this.matchReclaims();
    } else if (type === EV_KICK) {
      const f = ++this.flowId;
      this.add({ name: 'kick', ph: 'i', s: 't', ts, pid: PID, tid: TID_DRIVER, args: { avail_idx: w1 } },
        { name: 'kick', ph: 's', cat: 'notify', id: `kick${f}`, ts, pid: PID, tid: TID_DRIVER });
      this.pendingKick = { id: f, ts };
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
      if (this.pendingKick && w1 >= this.pendingKick.ts) {
        this.add({ name: 'kick', ph: 'f', bp: 'e', cat: 'notify', id: `kick${this.pendingKick.id}`, ts: w1, pid: PID, tid: TID_DEVICE });
        this.pendingKick = null;
      }
      return;
    }
    const ts = this.tDevice;
    if (type === EV_USED) {
      const flush = (w0 & EV_FLUSH_BIT) !== 0;
      const n = completed?.ids.length ?? 1;
      const name = n > 1 ? `batch ×${n} (id ${id}${flush ? ', FLUSH' : ''})` : flush ? `FLUSH id ${id}` : `used id ${id}`;
      this.add({ name, ph: 'i', s: 't', ts, pid: PID, tid: TID_DEVICE, cat: flush ? 'flush' : 'used', args: { id, len: w1, flush, buffers: n } });
      if (completed) {
        this.entries.push({ seq: completed.firstSeq, ids: completed.ids, begin: completed.ids.map((b) => this.availTs.get(b) ?? ts) });
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
        { name: 'interrupt', ph: 's', cat: 'notify', id: `irq${f}`, ts, pid: PID, tid: TID_DEVICE });
      this.pendingIrq = { id: f, ts };
    } else if (type === EV_CORRUPT || type === EV_LOST_WAKEUP) {
      this.add({ name: type === EV_CORRUPT ? `DATA CORRUPTED id ${id}` : 'LOST WAKE-UP', ph: 'i', s: 'g', ts, pid: PID, tid: TID_DEVICE });
    }
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
    const out = traceEvents.filter((e) => (e.ph !== 's' || fs.has(e.id)) && (e.ph !== 'f' || ss.has(e.id)));
    return { traceEvents: out, displayTimeUnit: 'ns', metadata: { ...this.meta, dropped_events: this.dropped, window: this.ring.length } };
  }
}
