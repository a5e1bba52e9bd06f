/**
 * The device model, above the ring: pops available chains, "processes" them (checks the driver's
 * pattern in the readable bytes, writes its own pattern into the writable bytes), and writes used
 * entries under the negotiated ordering. A seeded fault model makes some buffers fault:
 *  - IN_ORDER: the queue stalls until the fault resolves (head-of-line blocking), then batches;
 *  - no ordering feature: the device goes on, and never batches;
 *  - PARTIAL_ORDER: it goes on out of order, sets FLUSH once no hole is left, then batches again.
 * Ring-agnostic: the layout-specific part is a DeviceRing (split or packed). It is a Side
 * (src/plugin/contract.ts), driven by the runner, the simulator and one-thread tests.
 */
import type { DeviceRing } from '../ring/types.js';
import type { MemoryOps } from '../memory/ops.js';
import { DB_IRQ, type Doorbell } from '../memory/doorbell.js';
import type { Negotiated } from '../spec/features.js';
import { UsedTracker } from '../order/tracker.js';
import { Chain } from '../ring/chain.js';
import { FaultModel } from './faults.js';
import { checkPattern, fillPattern, fillPatterns, SALT_IN, SALT_OUT, wordsOf } from './payload.js';
import { CTL_DEVICE_STATE, SideState, V_COMPLETED, V_LOST_WAKEUPS, V_POPPED, V_USED_ENTRIES, type Control } from '../harness/control.js';
import type { Side } from '../plugin/contract.js';
import type { Reporter } from '../plugin/reporter.js';
import { VqError } from '../errors.js';

export interface DeviceConfig {
  /** Most chains popped per round before used entries are written and published. */
  popBudget: number;
  /** Longest chain the device accepts (like virtio-blk's seg_max). */
  segMax: number;
  verifyData: boolean;
}

export class VirtioDevice implements Side {
  private readonly chain: Chain;
  private readonly order: 'none' | 'in-order' | 'partial';
  /**
   * A batch entry carries FLUSH: under PARTIAL_ORDER (it is a prefix), and with both ordering
   * features, where IN_ORDER rules and FLUSH is defined: every IN_ORDER entry leaves no hole, so
   * FLUSH is valid on each, and vqlab sets it (see docs/interpretations.md).
   */
  private readonly batchFlush: boolean;

  // Buffers waiting for a fault to resolve: FIFO (one latency for all, so resolve order = fault order),
  // each with a copy of its chain (in packed, the device's used writes may overwrite the descriptors).
  private readonly fId: Uint16Array;
  private readonly fSeq: Uint32Array;
  private readonly fWeight: Uint16Array;
  private readonly fAt: Float64Array;
  private readonly fN: Uint16Array;
  private readonly fAddr: Float64Array;
  private readonly fLen: Uint32Array;
  private readonly fWrite: Uint8Array;
  private fHead = 0;
  private fCount = 0;
  private readonly fCap: number;

  // Pending batch (IN_ORDER, or PARTIAL_ORDER after a flush point): not yet written.
  private pCount = 0;
  private pLastId = 0;
  private pLastLen = 0;
  private unpublished = 0;

  // Chains of one writable segment popped this round and not yet processed (the common buffer):
  // their data is written in one tight pass at the end of the round (or before anything else
  // completes), then they complete in pop order. The driver read those lines last time round, so
  // each first store to a line waits for ownership; back to back the stores' ownership requests
  // overlap, while spread between pops they queued behind each other (2 threads: 88-122 vs 64-68
  // ns per buffer with and without the driver's reads).
  private readonly sId: Uint16Array;
  /** The first staged buffer's seq: staged buffers' seqs follow each other (anything else completes the staged ones first). */
  private sSeq0 = 0;
  private readonly sAddr: Float64Array;
  private readonly sLen: Uint32Array;
  private sCount = 0;
  /** popLone may stand for popChain: the device accepts one-descriptor chains (seg_max ≥ 1). */
  private readonly loneOk: boolean;

  constructor(
    readonly ring: DeviceRing,
    private readonly mem: MemoryOps,
    features: Negotiated,
    readonly tracker: UsedTracker,
    private readonly report: Reporter,
    private readonly faults: FaultModel,
    private readonly doorbells: Doorbell,
    private readonly control: Control,
    private readonly cfg: DeviceConfig,
    queueSize: number,
    dmaStart: number,
    /** Milliseconds; performance.now in threads, virtual time in the simulator. */
    private readonly clock: () => number = () => performance.now(),
    /**
     * IN_ORDER head-of-line stall until a time: a busy wait in threads (re-checking stop); the
     * simulator advances its virtual clock instead.
     */
    private readonly stallUntil: (t: number) => void = (t) => {
      while (performance.now() < t) if (control.stopRequested()) return;
    },
  ) {
    this.order = features.order;
    this.batchFlush = features.partialOrder;
    this.chain = new Chain(cfg.segMax, dmaStart, mem.size);
    const cap = this.faults.enabled ? queueSize : 1;
    this.fCap = cap;
    this.fId = new Uint16Array(cap);
    this.fSeq = new Uint32Array(cap);
    this.fWeight = new Uint16Array(cap);
    this.fAt = new Float64Array(cap);
    this.fN = new Uint16Array(cap);
    this.fAddr = new Float64Array(cap * cfg.segMax);
    this.fLen = new Uint32Array(cap * cfg.segMax);
    this.fWrite = new Uint8Array(cap * cfg.segMax);
    const b = Math.max(1, cfg.popBudget);
    this.sId = new Uint16Array(b);
    this.sAddr = new Float64Array(b);
    this.sLen = new Uint32Array(b);
    this.loneOk = cfg.segMax >= 1;
  }

  /** The driver has reclaimed everything and nothing is parked: the device may exit. */
  get finished(): boolean { return this.fCount === 0 && this.control.driverDone(); }

  start(): void {
    this.ring.disableKicks();
  }

  finish(): void {
    this.publish();
    this.report.publish();
  }

  /**
   * One round: complete parked buffers whose fault resolved, pop and process available chains,
   * write used entries as the ordering allows, publish, interrupt if asked. Returns work done.
   */
  step(): number {
    const ring = this.ring;
    let progress = 0;
    if (this.fCount > 0) progress += this.resolveDue(this.clock());
    const tr = this.tracker;
    // The window bound, once: popping only ever adds to what is in flight.
    let budget = tr.window - tr.inFlight;
    if (budget > this.cfg.popBudget) budget = this.cfg.popBudget;
    const c = this.chain;
    const stats = this.report.stats;
    let popped = 0;
    let completed = 0;
    // Counters go to the shared stats once per round, not per buffer (the runner's stall watch
    // reads them; an IN_ORDER fault stalls inside the loop, so they are brought up to date first).
    let counted = 0;
    const faults = this.faults;
    while (popped < budget && ring.pollAvail()) {
      // The common buffer in bulk: a run of one-writable-descriptor chains up to the next fault,
      // popped and validated by the ring in one loop and staged for the fill pass; whatever
      // stops the run (a fault due, another shape, a bad descriptor) goes the one-chain way below.
      let lone = this.loneOk ? Math.min(budget - popped, faults.clearAhead) : 0;
      if (lone > 0) lone = ring.popLone(lone, this.sId, this.sAddr, this.sLen, this.sCount);
      if (lone > 0) {
        const end = this.sCount + lone;
        const seq0 = tr.makeAvailableMany(this.sId, this.sCount, lone, null, this.sLen, 0);
        if (this.sCount === 0) this.sSeq0 = seq0;
        faults.skip(lone);
        this.sCount = end;
        popped += lone;
        completed += lone;
        continue;
      }
      ring.popChain(c);
      // A chain holds at most 2^32 bytes (Chain.add), so writeCapacity may be 2^32 itself, one more
      // than a le32 used len can say: as a bound on len, 2^32 - 1 is the same bound.
      const seq = tr.makeAvailable(c.id, c.weight, c.writeCapacity > 0xffffffff ? 0xffffffff : c.writeCapacity);
      popped++;
      if (faults.next()) {
        if (this.sCount > 0) this.completeStaged();
        stats[V_POPPED] += popped - counted;
        stats[V_COMPLETED] += completed;
        counted = popped;
        completed = 0;
        this.onFault(c, seq);
        continue;
      }
      if (c.n === 1 && c.write[0] === 1) {
        const j = this.sCount++;
        this.sId[j] = c.id;
        if (j === 0) this.sSeq0 = seq;
        this.sAddr[j] = c.addr[0];
        this.sLen[j] = c.len[0];
      } else {
        if (this.sCount > 0) this.completeStaged();
        this.complete(c.id, this.process(c.addr, c.len, c.write, 0, c.n, c.id, seq), false);
      }
      completed++;
    }
    if (this.sCount > 0) this.completeStaged();
    stats[V_POPPED] += popped - counted;
    stats[V_COMPLETED] += completed;
    this.flushPending();
    this.publish();
    return progress + popped;
  }

  /** Virtual or real time at which the oldest parked fault resolves (Infinity if none). */
  get nextResolveAt(): number { return this.fCount > 0 ? this.fAt[this.fHead] : Infinity; }

  /** A fault on the chain just popped. */
  private onFault(c: Chain, seq: number): void {
    // Whatever completed before the fault goes out first: it is an in-order prefix.
    this.flushPending();
    this.publish();
    const resolveAt = this.clock() + this.faults.latencyMs;
    if (this.order === 'in-order') {
      // Head-of-line blocking: nothing behind this buffer may be used before it.
      this.control.setState(CTL_DEVICE_STATE, SideState.Stalled);
      this.report.fault(c.id, seq, 1);
      const t0 = this.clock();
      this.stallUntil(resolveAt);
      if (this.control.stopRequested()) return;
      this.control.setState(CTL_DEVICE_STATE, SideState.Running);
      this.report.resolved(c.id, seq, this.clock() - t0);
      this.complete(c.id, this.process(c.addr, c.len, c.write, 0, c.n, c.id, seq), false);
      this.report.stats[V_COMPLETED]++;
      return;
    }
    // none / PARTIAL_ORDER: park the buffer (with a copy of its chain) and go on.
    if (this.fCount >= this.fCap) throw new VqError('BAD_CONFIG', 'device', 'more faults pending than the queue holds');
    const slot = (this.fHead + this.fCount) % this.fCap;
    this.fCount++;
    this.report.fault(c.id, seq, this.fCount);
    this.fId[slot] = c.id;
    this.fSeq[slot] = seq;
    this.fWeight[slot] = c.weight;
    this.fAt[slot] = resolveAt;
    this.fN[slot] = c.n;
    const base = slot * this.cfg.segMax;
    for (let k = 0; k < c.n; k++) {
      this.fAddr[base + k] = c.addr[k];
      this.fLen[base + k] = c.len[k];
      this.fWrite[base + k] = c.write[k];
    }
  }

  /** Complete parked buffers whose fault has resolved by `now`. */
  private resolveDue(now: number): number {
    let done = 0;
    while (this.fCount > 0 && this.fAt[this.fHead] <= now) {
      const slot = this.fHead;
      this.fHead = (this.fHead + 1) % this.fCap;
      this.fCount--;
      const id = this.fId[slot];
      const seq = this.fSeq[slot];
      this.report.resolved(id, seq, 0);
      const len = this.process(this.fAddr, this.fLen, this.fWrite, slot * this.cfg.segMax, this.fN[slot], id, seq);
      this.complete(id, len, true);
      done++;
    }
    this.report.stats[V_COMPLETED] += done;
    return done;
  }

  /** Fill the staged one-segment buffers back to back, then complete them in pop order. */
  private completeStaged(): void {
    const n = this.sCount;
    this.sCount = 0;
    if (this.cfg.verifyData) fillPatterns(this.mem, this.sAddr, this.sLen, this.sSeq0, n, SALT_IN);
    if (this.batching) {
      // All of them join the pending batch (complete() for each, without the calls).
      this.pCount += n;
      this.pLastId = this.sId[n - 1];
      this.pLastLen = this.sLen[n - 1];
      return;
    }
    for (let j = 0; j < n; j++) this.complete(this.sId[j], this.sLen[j], false);
  }

  /**
   * A buffer completing now joins the pending batch: IN_ORDER, or PARTIAL_ORDER in order since the
   * last flush point (nothing parked, the last entry carried FLUSH). Holding a batch writes no entry,
   * so this stays true across a run of completions.
   */
  private get batching(): boolean {
    return this.order === 'in-order' || (this.order === 'partial' && this.fCount === 0 && this.tracker.lastFlush);
  }

  /** Check the readable bytes, fill the writable ones; returns bytes written (the used len). */
  private process(addr: Float64Array, len: Uint32Array, write: Uint8Array, base: number, n: number, id: number, seq: number): number {
    if (n === 1 && write[base] === 1) {
      // One writable segment (the common buffer): fill it, nothing to check.
      const l = len[base];
      if (this.cfg.verifyData) fillPattern(this.mem, addr[base], l, seq, SALT_IN, 0);
      return l;
    }
    return this.processChain(addr, len, write, base, n, id, seq);
  }

  /** Several segments (or one readable): check each readable one, fill each writable one. */
  private processChain(addr: Float64Array, len: Uint32Array, write: Uint8Array, base: number, n: number, id: number, seq: number): number {
    let written = 0;
    let rWord = 0;
    let wWord = 0;
    let ok = true;
    for (let k = base; k < base + n; k++) {
      const l = len[k];
      if (write[k]) {
        if (this.cfg.verifyData) fillPattern(this.mem, addr[k], l, seq, SALT_IN, wWord);
        wWord += wordsOf(l);
        written += l;
      } else {
        if (this.cfg.verifyData && ok && !checkPattern(this.mem, addr[k], l, seq, SALT_OUT, rWord)) ok = false;
        rWord += wordsOf(l);
      }
    }
    if (!ok) this.report.deviceCorrupt(id, seq);
    // The used len is a le32: a chain of exactly 2^32 writable bytes reports 2^32 - 1.
    return written > 0xffffffff ? 0xffffffff : written;
  }

  /**
   * A buffer is done: write its used entry now, or hold it for a batch, as the ordering allows.
   * `resolved`: it is a parked buffer whose fault just resolved.
   */
  private complete(id: number, len: number, resolved: boolean): void {
    if (this.batching) {
      // In order since the last flush point: hold it; one entry will stand for the batch.
      this.pCount++;
      this.pLastId = id;
      this.pLastLen = len;
      return;
    }
    this.flushPending();
    // While a buffer is parked, anything else completing was popped after it (whatever was popped
    // before a fault completes before the fault is parked): the parked one is a hole behind it, so
    // FLUSH is invalid without asking the tracker. A resolved buffer is asked (it may close the hole).
    this.writeEntry(id, len, this.order === 'partial' && (resolved || this.fCount === 0) && this.tracker.flushValidAfter(id));
  }

  /** Write the pending batch as one entry (FLUSH under PARTIAL_ORDER: it is a prefix). */
  private flushPending(): void {
    if (this.pCount === 0) return;
    const n = this.pCount;
    this.pCount = 0;
    this.writeEntry(this.pLastId, this.pLastLen, this.batchFlush);
    if (this.tracker.count !== n) {
      throw new VqError('BAD_CONFIG', 'device', `internal: batch of ${n} completed ${this.tracker.count}`);
    }
  }

  private writeEntry(id: number, len: number, flush: boolean): void {
    const tr = this.tracker;
    tr.onUsed(id, flush, len);
    this.ring.pushUsed(id, len, flush, tr.weight);
    this.unpublished++;
    this.report.used(id, len, flush, tr.count);
  }

  /** Make written entries visible; interrupt if the driver's suppression state asks for it. */
  private publish(): void {
    if (this.unpublished === 0) return;
    this.unpublished = 0;
    this.report.usedPublish();
    this.ring.publishUsed();
    if (this.ring.needInterrupt()) {
      this.doorbells.ring(DB_IRQ);
      this.report.interrupt(this.report.stats[V_USED_ENTRIES] & 0xffff);
    }
  }

  /**
   * Wait mode, before sleeping: enable kicks, full barrier, re-check (2.7.10 / 2.8.21). True when
   * it is safe to sleep on the kick doorbell; false (kicks disabled again) when work arrived.
   */
  prepareSleep(): boolean {
    this.ring.enableKicks();
    this.mem.mb();
    if (this.ring.pollAvail() || this.control.stopRequested() || this.control.driverDone()) {
      this.ring.disableKicks();
      return false;
    }
    return true;
  }

  afterWake(): void {
    this.ring.disableKicks();
  }

  lostWakeup(): void {
    this.report.stats[V_LOST_WAKEUPS]++;
    this.report.lostWakeup(0);
  }

  hasWork(): boolean { return this.ring.pollAvail(); }

  state(): Record<string, number | boolean> {
    return { ...this.ring.state(), in_flight: this.tracker.inFlight, outstanding: this.tracker.outstanding, faults_parked: this.fCount, pending_batch: this.pCount };
  }
}
