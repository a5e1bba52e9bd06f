/**
 * The virtio driver, above the ring: makes buffers available in batches, kicks when the device's
 * suppression state says so, reclaims used entries through the shared ordering tracker, verifies
 * the data the device wrote, and sleeps on the interrupt doorbell when idle in wait mode.
 * Ring-agnostic: the layout-specific part is a DriverRing (split or packed).
 */
import type { DriverRing } from '../ring/types.js';
import type { MemoryOps } from '../memory/ops.js';
import { DB_IRQ, DB_KICK, type Doorbell } from '../memory/doorbell.js';
import { UsedTracker } from '../order/tracker.js';
import { checkPattern, fillPattern, SALT_IN, SALT_OUT, wordsOf } from '../device/payload.js';
import { EV_AVAIL, EV_CORRUPT, EV_KICK, EV_LOST_WAKEUP, EV_RECLAIM, type EventLog } from '../check/events.js';
import {
  CTL_DRIVER_DONE, CTL_DRIVER_STATE, D_CORRUPTED, D_KICKS, D_LOST_WAKEUPS, D_MADE, D_PUBLISHES, D_RECLAIMED,
  D_SLEEPS, D_USED_SEEN, SideState, type Control,
} from '../harness/control.js';
import { Histogram } from '../util/histogram.js';

export interface DriverConfig {
  /** Buffers to push through the queue in total. */
  buffers: number;
  /** Readable then writable segments per buffer. */
  readable: number;
  writable: number;
  segmentBytes: number;
  /** Most buffers added before one publish (the batch the spec's barriers are paid for once). */
  publishBatch: number;
  /** Polls before sleeping on the interrupt doorbell (wait mode). */
  spinBeforeWait: number;
  /** A sleep that times out with used entries pending is a lost wake-up (after a grace period). */
  wakeTimeoutMs: number;
  /** Check data patterns (both directions). */
  verifyData: boolean;
}

export class VirtioDriver {
  readonly latency = new Histogram();
  private readonly availTime: Float64Array;
  private readonly added: Uint16Array;
  private readonly stats: Float64Array;
  private readonly shouldStop: () => boolean;
  private made = 0;
  private reclaimed = 0;

  constructor(
    readonly ring: DriverRing,
    private readonly mem: MemoryOps,
    readonly tracker: UsedTracker,
    private readonly events: EventLog,
    private readonly doorbells: Doorbell,
    private readonly control: Control,
    private readonly cfg: DriverConfig,
    queueSize: number,
    maxId: number,
    /** Milliseconds; performance.now in threads, virtual time in the simulator. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.availTime = new Float64Array(maxId);
    this.added = new Uint16Array(queueSize);
    this.stats = control.driver;
    this.shouldStop = () => control.stopRequested();
  }

  /** Every buffer has been reclaimed. */
  get finished(): boolean { return this.reclaimed >= this.cfg.buffers; }

  /** Run to completion (every buffer reclaimed) or until the harness says stop. */
  run(): void {
    this.start();
    let idleSpins = 0;
    while (!this.finished) {
      if (this.control.stopRequested()) break;
      if (this.step() === 0) {
        if (this.doorbells.mode === 'wait' && ++idleSpins >= this.cfg.spinBeforeWait) {
          idleSpins = 0;
          this.sleep();
        }
      } else {
        idleSpins = 0;
      }
    }
    this.finish();
  }

  start(): void {
    this.control.setState(CTL_DRIVER_STATE, SideState.Running);
    this.ring.disableInterrupts();
  }

  finish(): void {
    if (this.events.enabled) this.events.publish();
    this.stats[D_RECLAIMED] = this.reclaimed;
    this.control.setState(CTL_DRIVER_STATE, SideState.Done);
    Atomics.store(this.control.ctl, CTL_DRIVER_DONE, 1);
    // Wake a sleeping device so it sees we are done (a harness signal, not a virtio kick).
    this.doorbells.wakeAll();
  }

  /**
   * One round: add and publish a batch of buffers (kick if the device asks for it), then reclaim
   * what the device has used. Returns the work done (0 = idle). The threaded loop and the
   * simulator both drive the driver through this.
   */
  step(): number {
    const cfg = this.cfg;
    const ring = this.ring;
    const ev = this.events;
    const segments = cfg.readable + cfg.writable;
    const capacity = cfg.writable * cfg.segmentBytes;
    let n = 0;
    while (this.made < cfg.buffers && n < cfg.publishBatch && ring.canAdd(segments) && this.tracker.inFlight < this.tracker.window) {
      const id = ring.add(cfg.readable, cfg.writable);
      const seq = this.tracker.makeAvailable(id, ring.weightOf(id), capacity);
      if (cfg.verifyData) this.fillReadable(id, seq);
      if (ev.enabled) ev.push(EV_AVAIL | (id << 8), capacity, this.shouldStop);
      this.added[n++] = id;
      this.made++;
    }
    if (n > 0) {
      const t = this.clock();
      for (let i = 0; i < n; i++) this.availTime[this.added[i]] = t;
      // Events first: the checker must never see a used entry before the avail it refers to.
      if (ev.enabled) ev.publish();
      ring.publish();
      this.stats[D_MADE] = this.made;
      this.stats[D_PUBLISHES]++;
      if (ring.needKick()) {
        this.doorbells.ring(DB_KICK);
        this.stats[D_KICKS]++;
        if (ev.enabled) ev.push(EV_KICK, this.made & 0xffff, this.shouldStop);
      }
    }
    return n + this.reclaim();
  }

  /** Reclaim every visible used entry; returns buffers completed. */
  reclaim(): number {
    const ring = this.ring;
    const tr = this.tracker;
    let got = 0;
    let t = 0;
    while (ring.pollUsed()) {
      ring.readUsed();
      const k = tr.onUsed(ring.usedId, ring.usedFlush, ring.usedLen);
      ring.consumeUsed(tr.weight);
      if (got === 0) t = this.clock();
      const first = tr.firstSeq;
      for (let i = 0; i < k; i++) {
        const seq = (first + i) >>> 0;
        const id = tr.idAtSeq(seq);
        // In a batch only the last buffer's len is reported; the others count as fully written.
        if (this.cfg.verifyData) this.checkWritable(id, seq, id === ring.usedId ? ring.usedLen : -1);
        this.latency.record((t - this.availTime[id]) * 1e6);
        ring.free(id);
      }
      this.reclaimed += k;
      got += k;
      this.stats[D_USED_SEEN]++;
      if (this.events.enabled) this.events.push(EV_RECLAIM | (ring.usedId << 8), k, this.shouldStop);
    }
    if (got) this.stats[D_RECLAIMED] = this.reclaimed;
    return got;
  }

  /**
   * Wait mode, before sleeping: enable interrupts, full barrier, re-check (2.7.10 / 2.8.21). Returns
   * true when it is safe to sleep on the interrupt doorbell; false (interrupts disabled again) when
   * used entries arrived meanwhile.
   */
  prepareSleep(): boolean {
    const ring = this.ring;
    ring.enableInterrupts();
    this.mem.mb();
    if (ring.pollUsed() || this.control.stopRequested()) {
      ring.disableInterrupts();
      return false;
    }
    return true;
  }

  /** After a sleep: back to polling with interrupts disabled. */
  afterWake(): void {
    this.ring.disableInterrupts();
  }

  private sleep(): void {
    const db = this.doorbells;
    const ring = this.ring;
    const seen = db.read(DB_IRQ);
    if (!this.prepareSleep()) return;
    this.control.setState(CTL_DRIVER_STATE, SideState.Waiting);
    this.stats[D_SLEEPS]++;
    if (this.events.enabled) this.events.publish();
    const woke = db.wait(DB_IRQ, seen, this.cfg.wakeTimeoutMs);
    this.afterWake();
    this.control.setState(CTL_DRIVER_STATE, SideState.Running);
    if (!woke && ring.pollUsed() && !this.control.stopRequested()) {
      // Used entries were published while we slept with interrupts enabled and no interrupt came.
      // Give the device one more period to ring (it may just be slow), then call it lost.
      if (!db.wait(DB_IRQ, seen, this.cfg.wakeTimeoutMs)) this.lostWakeup();
    }
  }

  /** Record a lost wake-up (the threaded loop after a timed-out sleep; the simulator on deadlock). */
  lostWakeup(): void {
    this.stats[D_LOST_WAKEUPS]++;
    if (this.events.enabled) this.events.push(EV_LOST_WAKEUP, this.reclaimed, this.shouldStop);
  }

  private fillReadable(id: number, seq: number): void {
    const bytes = this.cfg.segmentBytes;
    let word = 0;
    for (let k = 0; k < this.cfg.readable; k++) {
      fillPattern(this.mem, this.ring.segmentAddr(id, k), bytes, seq, SALT_OUT, word);
      word += wordsOf(bytes);
    }
  }

  /** Check the device's pattern in the writable segments (the first `len` bytes, or all if len < 0). */
  private checkWritable(id: number, seq: number, len: number): void {
    const bytes = this.cfg.segmentBytes;
    let left = len < 0 ? this.cfg.writable * bytes : len;
    let word = 0;
    for (let k = 0; k < this.cfg.writable && left > 0; k++) {
      const n = left < bytes ? left : bytes;
      if (!checkPattern(this.mem, this.ring.segmentAddr(id, this.cfg.readable + k), n, seq, SALT_IN, word)) {
        this.stats[D_CORRUPTED]++;
        if (this.events.enabled) this.events.push(EV_CORRUPT | (id << 8), seq, this.shouldStop);
        return;
      }
      left -= n;
      word += wordsOf(bytes);
    }
  }

  get madeCount(): number { return this.made; }
  get reclaimedCount(): number { return this.reclaimed; }
}
