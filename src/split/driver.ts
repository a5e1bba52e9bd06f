/**
 * Split virtqueue, driver side (2.7.13 "Supplying Buffers to The Device", 2.7.14 "Receiving Used
 * Buffers From The Device"). Only what the split layout makes different lives here.
 */
import {
  AVAIL_FLAGS, AVAIL_IDX, AVAIL_RING, SPLIT_DESC_ADDR, SPLIT_DESC_FLAGS, SPLIT_DESC_LEN, SPLIT_DESC_NEXT,
  SPLIT_DESC_SIZE, USED_ELEM_FLAGS, USED_ELEM_ID, USED_ELEM_LEN, USED_ELEM_SIZE, USED_FLAGS, USED_IDX, USED_RING,
  VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_USED_ELEM_F_FLUSH,
  VIRTQ_USED_F_NO_NOTIFY,
} from '../spec/constants.js';
import { vringNeedEvent, type SplitRingLayout } from '../spec/layout.js';
import type { Negotiated } from '../spec/features.js';
import type { MemoryOps } from '../memory/ops.js';
import type { GuestLayout } from '../memory/guest.js';
import type { DriverRing } from '../ring/types.js';
import { VqError } from '../errors.js';

export interface DriverRingOptions {
  /** Use an indirect table for buffers of at least this many segments (when INDIRECT is negotiated). */
  indirectMin: number;
  segmentBytes: number;
}

export class SplitDriverRing implements DriverRing {
  private readonly n: number;
  private readonly mask: number;
  private readonly descBase: number;
  private readonly availBase: number;
  private readonly usedBase: number;
  private readonly usedEventOff: number;
  private readonly availEventOff: number;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  /** IN_ORDER: descriptors are taken in ring order (digest "IN_ORDER"). */
  private readonly ringOrderAlloc: boolean;
  private readonly poolBase: number;
  private readonly bufferStride: number;
  private readonly segmentStride: number;

  // Free descriptors. Shadow `next` links and chain shapes are driver-private: never re-read
  // from the descriptor table, which a device could in principle have scribbled on.
  private readonly descNext: Uint16Array;
  private readonly chainLen: Uint16Array;
  private readonly chainTail: Uint16Array;
  /** add()'s one-buffer batch (it goes through addMany). */
  private readonly oneId = new Uint16Array(1);
  private readonly oneWeight = new Uint16Array(1);
  // A FIFO, not Linux's LIFO stack: a batch reclaimed in order goes back in order, so without
  // faults PARTIAL_ORDER and unordered runs hand out descriptors in ring order exactly as IN_ORDER
  // does (ascending ids: sequential buffer memory, one avail run per batch).
  private freeHead = 0;
  private freeTail: number;
  private nextInOrder = 0;
  numFree: number;

  /** avail.idx as the driver will publish it, and as of the last kick decision. */
  private availIdx = 0;
  private kickedAvailIdx = 0;
  private lastUsed = 0;
  private usedIdxShadow = 0;
  usedId = 0;
  usedLen = 0;
  usedFlush = false;

  constructor(
    private readonly mem: MemoryOps,
    private readonly layout: SplitRingLayout,
    private readonly guest: GuestLayout,
    features: Negotiated,
    private readonly opts: DriverRingOptions,
    /** Buffers in flight, for the used.idx sanity check (the tracker's view). */
    private readonly inFlight: () => number,
  ) {
    this.n = layout.queueSize;
    this.mask = this.n - 1;
    this.descBase = layout.desc.offset;
    this.availBase = layout.avail.offset;
    this.usedBase = layout.used.offset;
    this.usedEventOff = layout.usedEvent.offset;
    this.availEventOff = layout.availEvent.offset;
    this.eventIdx = features.eventIdx;
    this.indirect = features.indirect;
    this.ringOrderAlloc = features.order === 'in-order';
    this.poolBase = guest.poolBase;
    this.bufferStride = guest.bufferStride;
    this.segmentStride = guest.segmentStride;
    this.descNext = new Uint16Array(this.n);
    for (let i = 0; i < this.n; i++) this.descNext[i] = (i + 1) & this.mask;
    this.chainLen = new Uint16Array(this.n);
    this.chainTail = new Uint16Array(this.n);
    this.numFree = this.n;
    this.freeTail = this.n - 1;
  }

  private descsFor(segments: number): number {
    return this.indirect && segments >= this.opts.indirectMin ? 1 : segments;
  }

  canAdd(segments: number): boolean {
    return this.numFree >= this.descsFor(segments);
  }

  weightOf(_id: number): number { return 1; }

  segmentAddr(id: number, k: number): number {
    return this.poolBase + id * this.bufferStride + k * this.segmentStride;
  }

  private takeDesc(): number {
    let d: number;
    if (this.ringOrderAlloc) {
      d = this.nextInOrder;
      this.nextInOrder = (d + 1) & this.mask;
    } else {
      d = this.freeHead;
      this.freeHead = this.descNext[d];
    }
    this.numFree--;
    return d;
  }

  /** Next descriptor the chain will link to (the one takeDesc() returns next). */
  private peekDesc(): number {
    return this.ringOrderAlloc ? this.nextInOrder : this.freeHead;
  }

  add(nRead: number, nWrite: number): number {
    const segments = nRead + nWrite;
    if (segments !== 1 || (this.indirect && segments >= this.opts.indirectMin)) return this.addChain(nRead, segments);
    // The common buffer, one direct descriptor: addMany's loop is the one implementation of it.
    if (this.addMany(1, nRead, nWrite, this.oneId, this.oneWeight) !== 1) {
      throw new VqError('BAD_CONFIG', 'driver', 'internal: add() with no free descriptor (canAdd was not asked)');
    }
    return this.oneId[0];
  }

  addMany(max: number, nRead: number, nWrite: number, ids: Uint16Array, weights: Uint16Array): number {
    const segments = nRead + nWrite;
    if (segments !== 1 || (this.indirect && segments >= this.opts.indirectMin)) {
      let n = 0;
      while (n < max && this.canAdd(segments)) {
        ids[n] = this.addChain(nRead, segments);
        weights[n++] = 1;
      }
      return n;
    }
    // The common buffer, one direct descriptor each: add() unrolled, the ring's cursors in locals
    // (written back once) so the loop carries no field loads and stores per buffer.
    const mem = this.mem;
    const mask = this.mask;
    const descBase = this.descBase;
    const slotBase = this.availBase + AVAIL_RING;
    const poolBase = this.poolBase;
    const stride = this.bufferStride;
    const bytes = this.opts.segmentBytes;
    const flags = nRead === 0 ? VIRTQ_DESC_F_WRITE : 0;
    const inOrder = this.ringOrderAlloc;
    const descNext = this.descNext;
    const chainLen = this.chainLen;
    const chainTail = this.chainTail;
    let next = inOrder ? this.nextInOrder : this.freeHead;
    let availIdx = this.availIdx;
    let n = max < this.numFree ? max : this.numFree;
    if (n < 0) n = 0;
    for (let i = 0; i < n; i++) {
      const head = next;
      next = inOrder ? (head + 1) & mask : descNext[head];
      this.writeDesc(descBase + head * SPLIT_DESC_SIZE, poolBase + head * stride, bytes, flags, 0);
      chainLen[head] = 1;
      chainTail[head] = head;
      const slot = slotBase + (availIdx & mask) * 2;
      if (mem.ld16(slot) !== head) mem.st16(slot, head);
      availIdx = (availIdx + 1) & 0xffff;
      ids[i] = head;
      weights[i] = 1;
    }
    if (inOrder) this.nextInOrder = next; else this.freeHead = next;
    this.availIdx = availIdx;
    this.numFree -= n;
    return n;
  }

  /** A chain of several descriptors, or one indirect descriptor pointing at a table (2.7.5.3). */
  private addChain(nRead: number, segments: number): number {
    const mem = this.mem;
    const bytes = this.opts.segmentBytes;
    const useIndirect = this.indirect && segments >= this.opts.indirectMin;
    const head = this.takeDesc();
    let tail = head;
    if (useIndirect) {
      // One descriptor in the ring pointing at this buffer's table (2.7.5.3).
      const table = this.guest.indirectBase + head * this.guest.indirectStride;
      for (let k = 0; k < segments; k++) {
        const d = table + k * SPLIT_DESC_SIZE;
        mem.st64(d + SPLIT_DESC_ADDR, this.segmentAddr(head, k));
        mem.st32(d + SPLIT_DESC_LEN, bytes);
        const last = k === segments - 1;
        mem.st16(d + SPLIT_DESC_FLAGS, (k >= nRead ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT));
        mem.st16(d + SPLIT_DESC_NEXT, last ? 0 : k + 1);
      }
      const d = this.descBase + head * SPLIT_DESC_SIZE;
      mem.st64(d + SPLIT_DESC_ADDR, table);
      mem.st32(d + SPLIT_DESC_LEN, segments * SPLIT_DESC_SIZE);
      mem.st16(d + SPLIT_DESC_FLAGS, VIRTQ_DESC_F_INDIRECT);
      mem.st16(d + SPLIT_DESC_NEXT, 0);
      this.chainLen[head] = 1;
    } else {
      let cur = head;
      for (let k = 0; k < segments; k++) {
        const last = k === segments - 1;
        const next = last ? 0 : this.peekDesc();
        this.writeDesc(this.descBase + cur * SPLIT_DESC_SIZE, this.segmentAddr(head, k), bytes,
          (k >= nRead ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), next);
        tail = cur;
        if (!last) cur = this.takeDesc();
      }
      this.chainLen[head] = segments;
    }
    this.chainTail[head] = tail;
    this.pushAvail(head);
    return head;
  }

  /** The head goes into the next avail.ring slot (if it is not there already); avail.idx moves only in publish(). */
  private pushAvail(head: number): void {
    const slot = this.availBase + AVAIL_RING + (this.availIdx & this.mask) * 2;
    if (this.mem.ld16(slot) !== head) this.mem.st16(slot, head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
  }

  /**
   * Write one descriptor, only the fields that changed: a descriptor reused with the same contents
   * (the usual case with fixed buffers) is then never invalidated in the device's cache. The bytes
   * in guest memory are exactly what a full write would leave (2.7.13.1); the device cannot tell.
   * Guest addresses are below 2^30 (MAX_GUEST_BYTES), so addr's high word is 0 and the compare
   * stays in 32-bit integers.
   */
  private writeDesc(d: number, addr: number, len: number, flags: number, next: number): void {
    const mem = this.mem;
    if (mem.ld32(d + SPLIT_DESC_ADDR) !== addr || mem.ld32(d + SPLIT_DESC_ADDR + 4) !== 0) mem.st64(d + SPLIT_DESC_ADDR, addr);
    if (mem.ld32(d + SPLIT_DESC_LEN) !== len) mem.st32(d + SPLIT_DESC_LEN, len);
    if (mem.ld16(d + SPLIT_DESC_FLAGS) !== flags) mem.st16(d + SPLIT_DESC_FLAGS, flags);
    if (mem.ld16(d + SPLIT_DESC_NEXT) !== next) mem.st16(d + SPLIT_DESC_NEXT, next);
  }

  publish(): void {
    // 2.7.13.3: write barrier, then the new avail.idx.
    this.mem.st16Release(this.availBase + AVAIL_IDX, this.availIdx);
  }

  needKick(): boolean {
    // 2.7.13.4: full barrier between publishing avail.idx and reading the device's suppression state.
    this.mem.mb();
    const old = this.kickedAvailIdx;
    const now = this.availIdx;
    this.kickedAvailIdx = now;
    if (this.eventIdx) return vringNeedEvent(this.mem.ld16Acquire(this.availEventOff), now, old);
    return (this.mem.ld16Acquire(this.usedBase + USED_FLAGS) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  pollUsed(): boolean {
    if (this.lastUsed === this.usedIdxShadow) {
      const idx = this.mem.ld16Acquire(this.usedBase + USED_IDX);
      if (idx !== this.usedIdxShadow) {
        if (((idx - this.lastUsed) & 0xffff) > this.inFlight()) throw this.idxJump(idx);
        this.usedIdxShadow = idx;
      }
    }
    return this.lastUsed !== this.usedIdxShadow;
  }

  readUsed(): void {
    const e = this.usedBase + USED_RING + (this.lastUsed & this.mask) * USED_ELEM_SIZE;
    this.usedId = this.mem.ld16(e + USED_ELEM_ID);
    const flags = this.mem.ld16(e + USED_ELEM_FLAGS);
    this.usedLen = this.mem.ld32(e + USED_ELEM_LEN);
    // Before the proposal these 16 bits were the upper half of a le32 id: non-zero = id out of range.
    if ((flags & ~VIRTQ_USED_ELEM_F_FLUSH) !== 0) throw this.badFlags(flags);
    this.usedFlush = flags !== 0;
  }

  // Errors built out of line: pollUsed and readUsed stay small enough to inline into reclaim.
  private idxJump(idx: number): VqError {
    const ahead = (idx - this.lastUsed) & 0xffff;
    return new VqError('USED_IDX_JUMP', 'driver', `used.idx moved to ${idx}, ${ahead} entries past last_used ${this.lastUsed} with only ${this.inFlight()} buffers in flight`, { usedIdx: idx, lastUsed: this.lastUsed });
  }

  private badFlags(flags: number): VqError {
    return new VqError('USED_BAD_FLAGS', 'driver', `used entry flags 0x${flags.toString(16)} (only FLUSH 0x8000 is defined)`, { id: this.usedId, flags, lastUsed: this.lastUsed });
  }

  consumeUsed(weight: number): void {
    // IN_ORDER / FLUSH batches: used.idx moved by the batch size; it must cover the batch.
    const published = (this.usedIdxShadow - this.lastUsed) & 0xffff;
    if (weight > published) {
      throw new VqError('USED_BATCH_OVERRUN', 'driver', `entry for id ${this.usedId} stands for a batch of ${weight} but used.idx only moved ${published} past last_used`, { id: this.usedId, weight, published });
    }
    this.lastUsed = (this.lastUsed + weight) & 0xffff;
  }

  free(id: number): void {
    const len = this.chainLen[id];
    if (!this.ringOrderAlloc) {
      // Append the chain [id .. chainTail[id]] (already linked by descNext) at the tail.
      if (this.numFree === 0) this.freeHead = id;
      else this.descNext[this.freeTail] = id;
      this.freeTail = this.chainTail[id];
    }
    this.numFree += len;
  }

  enableInterrupts(): void {
    // 2.7.10: with EVENT_IDX, ask for an interrupt as soon as the device passes last_used.
    if (this.eventIdx) this.mem.st16Release(this.usedEventOff, this.lastUsed);
    else this.mem.st16Release(this.availBase + AVAIL_FLAGS, 0);
  }

  disableInterrupts(): void {
    // With EVENT_IDX the flags are ignored; park used_event just behind last_used (no interrupt
    // until the index has gone all the way round).
    if (this.eventIdx) this.mem.st16Release(this.usedEventOff, (this.lastUsed - 1) & 0xffff);
    else this.mem.st16Release(this.availBase + AVAIL_FLAGS, VIRTQ_AVAIL_F_NO_INTERRUPT);
  }

  state(): Record<string, number | boolean> {
    return {
      avail_idx: this.availIdx,
      last_used: this.lastUsed,
      used_idx_seen: this.usedIdxShadow,
      used_idx_now: this.mem.ld16Acquire(this.usedBase + USED_IDX),
      num_free: this.numFree,
    };
  }
}
