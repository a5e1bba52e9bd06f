/**
 * The virtio driver, above the ring: makes buffers available in batches, kicks when the device's
 * suppression state says so, reclaims used entries through the shared ordering tracker, verifies
 * the data the device wrote. Ring-agnostic: the layout-specific part is a DriverRing (split or
 * packed). It is a Side (src/plugin/contract.ts): the runner, the simulator and one-thread tests
 * drive it through start / step / prepareSleep / afterWake / finish.
 */
import type { DriverRing } from '../ring/types.js';
import type { MemoryOps } from '../memory/ops.js';
import { DB_KICK, type Doorbell } from '../memory/doorbell.js';
import { UsedTracker } from '../order/tracker.js';
import { checkPattern, checkPatternAt, directWords, fillPattern, SALT_IN, SALT_OUT, wordsOf } from '../device/payload.js';
import { CTL_DRIVER_DONE, CTL_DRIVER_STATE, D_LOST_WAKEUPS, SideState, type Control } from '../harness/control.js';
import { Histogram } from '../util/histogram.js';
import { ProgressMarks } from '../util/marks.js';
import { EV_AVAIL_RUN_MAX } from '../check/events.js';
import type { Side } from '../plugin/contract.js';
import type { Reporter } from '../plugin/reporter.js';

export interface DriverConfig {
  /** Buffers to push through the queue in total. */
  buffers: number;
  /** Readable then writable segments per buffer. */
  readable: number;
  writable: number;
  segmentBytes: number;
  /** Most buffers added before one publish (the batch the spec's barriers are paid for once). */
  publishBatch: number;
  /** Check data patterns (both directions). */
  verifyData: boolean;
}

export class VirtioDriver implements Side {
  readonly latency = new Histogram();
  private readonly availTime: Float64Array;
  private readonly added: Uint16Array;
  private readonly addedWeight: Uint16Array;
  /** Every buffer this driver adds weighs 1 (ring.unitWeights): the tracker then reads no weights. */
  private readonly unitWeights: boolean;
  /** Guest memory as words for the data checks (null: a modelled memory, every access through mem). */
  private readonly words: Int32Array | null;
  private made = 0;
  private reclaimed = 0;
  // Progress marks (buffers reclaimed, clock) from the first reclaim on and at each sixteenth of
  // the run: the steady-state window and the warm-up curve (src/util/marks.ts).
  private readonly marks: ProgressMarks;

  constructor(
    readonly ring: DriverRing,
    private readonly mem: MemoryOps,
    readonly tracker: UsedTracker,
    private readonly report: Reporter,
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
    this.addedWeight = new Uint16Array(queueSize);
    this.unitWeights = ring.unitWeights(cfg.readable, cfg.writable);
    this.words = directWords(mem);
    this.marks = new ProgressMarks(cfg.buffers);
  }

  /** Every buffer has been reclaimed. */
  get finished(): boolean { return this.reclaimed >= this.cfg.buffers; }

  start(): void {
    this.ring.disableInterrupts();
  }

  finish(): void {
    this.report.publish();
    this.control.setState(CTL_DRIVER_STATE, SideState.Done);
    if (this.finished) Atomics.store(this.control.ctl, CTL_DRIVER_DONE, 1);
    // Wake a sleeping device so it sees we are done (a harness signal, not a virtio kick).
    this.doorbells.wakeAll();
  }

  /**
   * One round: add and publish a batch of buffers (kick if the device asks for it), then reclaim
   * what the device has used. Returns the work done (0 = idle).
   */
  step(): number {
    const cfg = this.cfg;
    const ring = this.ring;
    const capacity = cfg.writable * cfg.segmentBytes;
    const tr = this.tracker;
    // The batch bound, once: buffers left, the publish batch and the ordering window.
    let room = cfg.buffers - this.made;
    if (room > cfg.publishBatch) room = cfg.publishBatch;
    if (room > tr.window - tr.inFlight) room = tr.window - tr.inFlight;
    const fill = cfg.verifyData && cfg.readable > 0;
    // The batch: the ring writes the descriptors, the tracker gives them consecutive seqs.
    const added = this.added;
    const n = room > 0 ? ring.addMany(room, cfg.readable, cfg.writable, added, this.addedWeight) : 0;
    if (n === 0) return this.reclaim();
    const seq0 = tr.makeAvailableMany(added, 0, n, this.unitWeights ? null : this.addedWeight, null, capacity);
    if (fill) for (let i = 0; i < n; i++) this.fillReadable(added[i], (seq0 + i) >>> 0);
    // Avail events: one record per run of consecutive ids, ascending (both rings hand ids out
    // next-fit, src/ring/ids.ts) or descending (a driver with a LIFO pool of ids hands a reclaimed
    // batch out backwards). The same pass stamps each buffer with the round's time (latency).
    const t = this.clock();
    const availTime = this.availTime;
    let runId = added[0];
    let runN = 1;
    let runStep = 1;
    availTime[runId] = t;
    for (let i = 1; i < n; i++) {
      const id = added[i];
      availTime[id] = t;
      // The usual case first: the run goes on (a second id one below the first turns it descending).
      if (id === runId + runStep * runN && runN < EV_AVAIL_RUN_MAX) runN++;
      else if (runN === 1 && id === runId - 1) { runStep = -1; runN = 2; }
      else {
        this.report.availRun(runId, runN, capacity, runStep);
        runId = id;
        runN = 1;
        runStep = 1;
      }
    }
    this.made += n;
    this.report.availRun(runId, runN, capacity, runStep);
    // Events first: the checker must never see a used entry before the avail it refers to.
    this.report.availPublish(this.made);
    ring.publish();
    if (ring.needKick()) {
      this.doorbells.ring(DB_KICK);
      this.report.kick(this.made & 0xffff);
    }
    return n + this.reclaim();
  }

  /** Reclaim every visible used entry; returns buffers completed. */
  reclaim(): number {
    const ring = this.ring;
    const tr = this.tracker;
    const verify = this.cfg.verifyData;
    const availTime = this.availTime;
    const latency = this.latency;
    let got = 0;
    let t = 0;
    // Entries that completed one buffer each, not yet reported: one record for a run of them.
    let singles = 0;
    // Buffers published together share an avail time, and everything reclaimed here shares t:
    // one histogram update per run of them, across entries (a run of single entries too).
    let runAt = -1;
    let runN = 0;
    // The common buffer (one writable segment, nothing readable) is checked inline: its segment is
    // at seg0 + id * stride (the buffer pool's layout, src/memory/guest.ts), and the word view
    // spares a call per word. Everything else goes through checkWritable.
    const cfg = this.cfg;
    const lone = verify && cfg.readable === 0 && cfg.writable === 1;
    const seg0 = ring.segmentAddr(0, 0);
    const stride = ring.segmentAddr(1, 0) - seg0;
    const bytes = cfg.segmentBytes;
    const words = this.words;
    while (ring.pollUsed()) {
      ring.readUsed();
      const usedId = ring.usedId;
      const usedLen = ring.usedLen;
      const k = tr.onUsed(usedId, ring.usedFlush, usedLen);
      ring.consumeUsed(tr.weight);
      if (got === 0) t = this.clock();
      const first = tr.firstSeq;
      for (let i = 0; i < k; i++) {
        const seq = (first + i) >>> 0;
        const id = tr.idAtSeq(seq);
        // In a batch only the last buffer's len is reported; the others count as fully written.
        if (lone) {
          const len = id === usedId && usedLen < bytes ? usedLen : bytes;
          if (len > 0 && !checkPatternAt(words, this.mem, seg0 + id * stride, len, seq, SALT_IN)) this.report.driverCorrupt(id, seq);
        } else if (verify) this.checkWritable(id, seq, id === usedId ? usedLen : -1);
        const at = availTime[id];
        if (at !== runAt) {
          if (runN > 0) { latency.input[0] = (t - runAt) * 1e6; latency.recordInputN(runN); }
          runAt = at;
          runN = 0;
        }
        runN++;
        ring.free(id);
      }
      this.reclaimed += k;
      got += k;
      if (k === 1) singles++;
      else {
        if (singles > 0) { this.report.reclaimSingles(singles, this.reclaimed - k); singles = 0; }
        this.report.reclaim(usedId, k, this.reclaimed);
      }
    }
    if (runN > 0) { latency.input[0] = (t - runAt) * 1e6; latency.recordInputN(runN); }
    if (singles > 0) this.report.reclaimSingles(singles, this.reclaimed);
    if (this.reclaimed >= this.marks.due[0]) this.marks.mark(this.reclaimed, t);
    return got;
  }

  hasWork(): boolean { return this.ring.pollUsed(); }

  /** Before sleeping: enable interrupts, full barrier, re-check (2.7.10 / 2.8.21). */
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

  afterWake(): void {
    this.ring.disableInterrupts();
  }

  lostWakeup(): void {
    this.report.stats[D_LOST_WAKEUPS]++;
    this.report.lostWakeup(this.reclaimed);
  }

  state(): Record<string, number | boolean> {
    return { ...this.ring.state(), made: this.made, reclaimed: this.reclaimed, in_flight: this.tracker.inFlight, outstanding: this.tracker.outstanding };
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
    if (this.cfg.writable === 1) {
      // One writable segment (the common buffer): one pattern check.
      const n = len < 0 || len > bytes ? bytes : len;
      if (n > 0 && !checkPatternAt(this.words, this.mem, this.ring.segmentAddr(id, this.cfg.readable), n, seq, SALT_IN)) this.report.driverCorrupt(id, seq);
      return;
    }
    this.checkWritableChain(id, seq, len);
  }

  private checkWritableChain(id: number, seq: number, len: number): void {
    const bytes = this.cfg.segmentBytes;
    let left = len < 0 ? this.cfg.writable * bytes : len;
    let word = 0;
    for (let k = 0; k < this.cfg.writable && left > 0; k++) {
      const n = left < bytes ? left : bytes;
      if (!checkPattern(this.mem, this.ring.segmentAddr(id, this.cfg.readable + k), n, seq, SALT_IN, word)) {
        this.report.driverCorrupt(id, seq);
        return;
      }
      left -= n;
      word += wordsOf(bytes);
    }
  }

  /**
   * The second half of the run (from the reclaim that passed half the buffers to the last one):
   * buffers and milliseconds, or null before the run is complete. Start-up and warm-up stay out.
   */
  steady(): { buffers: number; ms: number } | null {
    const s = this.marks.steady();
    return s && { buffers: s.count, ms: s.ms };
  }

  /** The progress marks: buffers reclaimed and the clock (ms) at each, the first reclaim's first. */
  progress(): { reclaimed: number; ms: number }[] {
    return this.marks.list().map((m) => ({ reclaimed: m.done, ms: m.ms }));
  }

  get madeCount(): number { return this.made; }
  get reclaimedCount(): number { return this.reclaimed; }
}
