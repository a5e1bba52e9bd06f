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
import { NextFitIds } from '../ring/ids.js';

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
  private readonly poolBase: number;
  private readonly bufferStride: number;
  private readonly segmentStride: number;

  /** Free descriptors, next-fit: ring order under IN_ORDER, and ascending ids after faults (src/ring/ids.ts). */
  private readonly descs: NextFitIds;
  // Chain links and lengths are driver-private shadows: never re-read from the descriptor table,
  // which a device could in principle have scribbled on.
  private readonly descNext: Uint16Array;
  private readonly chainLen: Uint16Array;
  /**
   * What the driver itself last wrote, so that unchanged contents are neither written nor read
   * back: per descriptor, the flags of the one-descriptor buffer addMany wrote there (-1: anything
   * else, or nothing yet); per avail.ring slot, the head written there (-1: nothing yet). A
   * descriptor reused with the same contents (fixed buffers) and a slot that gets the same head
   * again (IN_ORDER's ring order) then cost no shared-memory access at all, and the device's
   * copies of those lines stay valid. Only a device writing the driver's areas, which the spec
   * forbids (2.7.5, 2.7.6), could make memory differ from these; the driver reads neither back.
   */
  private readonly loneFlags: Int32Array;
  private readonly availWritten: Int32Array;
  /** add()'s one-buffer batch (it goes through addMany). */
  private readonly oneId = new Uint16Array(1);
  private readonly oneWeight = new Uint16Array(1);
  get numFree(): number { return this.descs.free; }

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
    /**
     * Buffers outstanding (made available, not yet used: the tracker's view), for the used.idx
     * check. Not those in flight: under PARTIAL_ORDER or none, buffers completed ahead of a hole are
     * in flight but can never be used again, so a used.idx that moves past the outstanding count
     * is already wrong (2.7.8: one entry per buffer used, or per batch of outstanding ones).
     */
    private readonly outstanding: () => number,
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
    this.poolBase = guest.poolBase;
    this.bufferStride = guest.bufferStride;
    this.segmentStride = guest.segmentStride;
    this.descs = new NextFitIds(this.n);
    this.descNext = new Uint16Array(this.n);
    this.chainLen = new Uint16Array(this.n);
    this.loneFlags = new Int32Array(this.n).fill(-1);
    this.availWritten = new Int32Array(this.n).fill(-1);
  }

  /** A buffer of this many segments goes through an indirect table (INDIRECT negotiated, at least indirectMin segments). */
  private viaIndirect(segments: number): boolean {
    return this.indirect && segments >= this.opts.indirectMin;
  }

  private descsFor(segments: number): number {
    return this.viaIndirect(segments) ? 1 : segments;
  }

  canAdd(segments: number): boolean {
    return this.numFree >= this.descsFor(segments);
  }

  weightOf(_id: number): number { return 1; }

  /** Split: a buffer is one used-ring entry, whatever its chain (2.7.8). */
  unitWeights(_nRead: number, _nWrite: number): boolean { return true; }

  segmentAddr(id: number, k: number): number {
    return this.poolBase + id * this.bufferStride + k * this.segmentStride;
  }

  add(nRead: number, nWrite: number): number {
    const segments = nRead + nWrite;
    if (segments !== 1 || this.viaIndirect(segments)) return this.addChain(nRead, segments);
    // The common buffer, one direct descriptor: addMany's loop is the one implementation of it.
    if (this.addMany(1, nRead, nWrite, this.oneId, this.oneWeight) !== 1) {
      throw new VqError('BAD_CONFIG', 'driver', 'internal: add() with no free descriptor (canAdd was not asked)');
    }
    return this.oneId[0];
  }

  addMany(max: number, nRead: number, nWrite: number, ids: Uint16Array, _weights: Uint16Array): number {
    const segments = nRead + nWrite;
    if (segments !== 1 || this.viaIndirect(segments)) {
      let n = 0;
      while (n < max && this.canAdd(segments)) ids[n++] = this.addChain(nRead, segments);
      return n;
    }
    // The common buffer, one direct descriptor each: add() unrolled, the avail index in a local
    // (written back once) so the loop carries no field loads and stores for it per buffer.
    const mem = this.mem;
    const mask = this.mask;
    const descBase = this.descBase;
    const slotBase = this.availBase + AVAIL_RING;
    const poolBase = this.poolBase;
    const stride = this.bufferStride;
    const bytes = this.opts.segmentBytes;
    const flags = nRead === 0 ? VIRTQ_DESC_F_WRITE : 0;
    const descs = this.descs;
    const chainLen = this.chainLen;
    const loneFlags = this.loneFlags;
    const availWritten = this.availWritten;
    let availIdx = this.availIdx;
    let n = max < descs.free ? max : descs.free;
    if (n < 0) n = 0;
    for (let i = 0; i < n; i++) {
      const head = descs.take();
      if (loneFlags[head] !== flags) {
        this.writeDesc(descBase + head * SPLIT_DESC_SIZE, poolBase + head * stride, bytes, flags, 0);
        loneFlags[head] = flags;
      }
      chainLen[head] = 1;
      const k = availIdx & mask;
      if (availWritten[k] !== head) {
        mem.st16(slotBase + k * 2, head);
        availWritten[k] = head;
      }
      availIdx = (availIdx + 1) & 0xffff;
      ids[i] = head;
    }
    this.availIdx = availIdx;
    return n;
  }

  /** A chain of several descriptors, or one indirect descriptor pointing at a table (2.7.5.3). */
  private addChain(nRead: number, segments: number): number {
    const mem = this.mem;
    const bytes = this.opts.segmentBytes;
    const useIndirect = this.viaIndirect(segments);
    const descs = this.descs;
    const head = descs.take();
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
      this.loneFlags[head] = -1;
      this.chainLen[head] = 1;
    } else {
      let cur = head;
      for (let k = 0; k < segments; k++) {
        const last = k === segments - 1;
        const next = last ? 0 : descs.peek();
        this.writeDesc(this.descBase + cur * SPLIT_DESC_SIZE, this.segmentAddr(head, k), bytes,
          (k >= nRead ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), next);
        this.loneFlags[cur] = -1;
        this.descNext[cur] = next;
        if (!last) cur = descs.take();
      }
      this.chainLen[head] = segments;
    }
    this.pushAvail(head);
    return head;
  }

  /** The head goes into the next avail.ring slot (unless the driver wrote it there last time round); avail.idx moves only in publish(). */
  private pushAvail(head: number): void {
    const k = this.availIdx & this.mask;
    if (this.availWritten[k] !== head) {
      this.mem.st16(this.availBase + AVAIL_RING + k * 2, head);
      this.availWritten[k] = head;
    }
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
        if (((idx - this.lastUsed) & 0xffff) > this.outstanding()) throw this.idxJump(idx);
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
    return new VqError('USED_IDX_JUMP', 'driver', `used.idx moved to ${idx}, ${ahead} entries past last_used ${this.lastUsed} with only ${this.outstanding()} buffers outstanding`, { usedIdx: idx, lastUsed: this.lastUsed });
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
    const descs = this.descs;
    descs.release(id);
    // A chain: the rest of its descriptors, through the driver's own links.
    for (let k = this.chainLen[id], d = id; k > 1; k--) {
      d = this.descNext[d];
      descs.release(d);
    }
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
