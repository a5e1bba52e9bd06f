/**
 * Packed virtqueue, driver side (2.8.13 "Supplying Buffers to The Device", 2.8.14 receiving used
 * buffers, 2.8.10 event suppression). Only what the packed layout makes different lives here:
 * descriptors are written in ring order with AVAIL/USED bits from the wrap counter, the Buffer ID
 * goes in every descriptor of a chain, a batch is published by writing its first head's flags last.
 */
import {
  PACKED_DESC_ADDR, PACKED_DESC_FLAGS, PACKED_DESC_ID,
  PACKED_DESC_LEN, PACKED_DESC_SIZE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_FLUSH, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED,
  VIRTQ_DESC_F_WRITE,
} from '../spec/constants.js';
import type { PackedRingLayout } from '../spec/layout.js';
import type { Negotiated } from '../spec/features.js';
import type { MemoryOps } from '../memory/ops.js';
import type { GuestLayout } from '../memory/guest.js';
import type { DriverRing } from '../ring/types.js';
import type { DriverRingOptions } from '../split/driver.js';
import { VqError } from '../errors.js';
import { NextFitIds } from '../ring/ids.js';
import { disableNotify, enableNotify, needNotify } from './event.js';

/** Flags a used descriptor may carry: NEXT too, which is reserved there and ignored by drivers (2.8.6). */
const USED_DESC_FLAGS = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_FLUSH | VIRTQ_DESC_F_NEXT;

/** AVAIL/USED bits of a descriptor the driver makes available with wrap counter w (2.8.1). */
export const availBits = (w: number): number => (w ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
/** AVAIL/USED bits of a used descriptor written with wrap counter w. */
export const usedBits = (w: number): number => (w ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0);
const BITS = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;

export class PackedDriverRing implements DriverRing {
  private readonly n: number;
  private readonly descBase: number;
  private readonly driverEvent: number;
  private readonly deviceEvent: number;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;

  /** Free Buffer IDs (< queue size), next-fit: ascending, as split's descriptors (src/ring/ids.ts). */
  private readonly ids: NextFitIds;
  /** Slots per id, for skipping and freeing. */
  private readonly slotsOf: Uint16Array;
  numFree: number;

  private nextAvail = 0;
  private availWrap = 1;
  private lastUsed = 0;
  private usedWrap = 1;
  /** Slots added since the last kick decision (for EVENT_IDX's `old`). */
  private addedSinceKick = 0;
  // The batch's first head: its flags are written last, in publish().
  private pendingHead = -1;
  private pendingFlags = 0;

  /** add()'s one-buffer batch (it goes through addMany). */
  private readonly oneId = new Uint16Array(1);
  private readonly oneWeight = new Uint16Array(1);

  usedId = 0;
  usedLen = 0;
  usedFlush = false;

  constructor(
    private readonly mem: MemoryOps,
    layout: PackedRingLayout,
    private readonly guest: GuestLayout,
    features: Negotiated,
    private readonly opts: DriverRingOptions,
  ) {
    this.n = layout.queueSize;
    this.descBase = layout.desc.offset;
    this.driverEvent = layout.driverEvent.offset;
    this.deviceEvent = layout.deviceEvent.offset;
    this.eventIdx = features.eventIdx;
    this.indirect = features.indirect;
    this.ids = new NextFitIds(this.n);
    this.slotsOf = new Uint16Array(this.n);
    this.numFree = this.n;
  }

  /** A buffer of this many segments goes through an indirect table (INDIRECT negotiated, at least indirectMin segments). */
  private viaIndirect(segments: number): boolean {
    return this.indirect && segments >= this.opts.indirectMin;
  }

  private descsFor(segments: number): number {
    return this.viaIndirect(segments) ? 1 : segments;
  }

  canAdd(segments: number): boolean {
    return this.ids.free > 0 && this.numFree >= this.descsFor(segments);
  }

  weightOf(id: number): number { return this.slotsOf[id]; }

  /** Packed: a buffer takes one descriptor slot per segment, one in all through an indirect table (2.8.6, 2.8.7). */
  unitWeights(nRead: number, nWrite: number): boolean { return nRead + nWrite === 1 || this.viaIndirect(nRead + nWrite); }

  segmentAddr(id: number, k: number): number {
    return this.guest.poolBase + id * this.guest.bufferStride + k * this.guest.segmentStride;
  }

  /** Write one ring descriptor at the next slot; returns its flags offset. Flags of a batch's first head are held back. */
  private put(addr: number, len: number, id: number, flags: number): void {
    const d = this.descBase + this.nextAvail * PACKED_DESC_SIZE;
    const mem = this.mem;
    mem.st64(d + PACKED_DESC_ADDR, addr);
    mem.st32(d + PACKED_DESC_LEN, len);
    mem.st16(d + PACKED_DESC_ID, id);
    const f = flags | availBits(this.availWrap);
    if (this.pendingHead < 0) {
      this.pendingHead = d + PACKED_DESC_FLAGS;
      this.pendingFlags = f;
    } else {
      mem.st16(d + PACKED_DESC_FLAGS, f);
    }
    if (++this.nextAvail === this.n) {
      this.nextAvail = 0;
      this.availWrap ^= 1;
    }
  }

  add(nRead: number, nWrite: number): number {
    const segments = nRead + nWrite;
    if (segments === 1 && !this.viaIndirect(segments)) {
      // The common buffer, one direct descriptor: addMany's loop is the one implementation of it.
      if (this.addMany(1, nRead, nWrite, this.oneId, this.oneWeight) !== 1) {
        throw new VqError('BAD_CONFIG', 'driver', 'internal: add() with no free Buffer ID or slot (canAdd was not asked)');
      }
      return this.oneId[0];
    }
    return this.addChain(nRead, segments);
  }

  /** A chain of several descriptors, or one indirect descriptor pointing at a table (2.8.6, 2.8.7). */
  private addChain(nRead: number, segments: number): number {
    const mem = this.mem;
    const bytes = this.opts.segmentBytes;
    const id = this.ids.take();
    if (this.viaIndirect(segments)) {
      // 2.8.6: one ring descriptor pointing at a table; inside it only WRITE is meaningful.
      const table = this.guest.indirectBase + id * this.guest.indirectStride;
      for (let k = 0; k < segments; k++) {
        const d = table + k * PACKED_DESC_SIZE;
        mem.st64(d + PACKED_DESC_ADDR, this.segmentAddr(id, k));
        mem.st32(d + PACKED_DESC_LEN, bytes);
        mem.st16(d + PACKED_DESC_ID, 0);
        mem.st16(d + PACKED_DESC_FLAGS, k >= nRead ? VIRTQ_DESC_F_WRITE : 0);
      }
      this.put(table, segments * PACKED_DESC_SIZE, id, VIRTQ_DESC_F_INDIRECT);
      this.slotsOf[id] = 1;
    } else {
      for (let k = 0; k < segments; k++) {
        const last = k === segments - 1;
        // The Buffer ID goes in every descriptor of the chain (2.8.21.1 "Placing Available Buffers":
        // d.id for each element). A device reads it from the last one (2.8.7), QEMU from the first.
        this.put(this.segmentAddr(id, k), bytes, id, (k >= nRead ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT));
      }
      this.slotsOf[id] = segments;
    }
    this.numFree -= this.slotsOf[id];
    this.addedSinceKick += this.slotsOf[id];
    return id;
  }

  addMany(max: number, nRead: number, nWrite: number, ids: Uint16Array, weights: Uint16Array): number {
    const segments = nRead + nWrite;
    if (segments !== 1 || this.viaIndirect(segments)) {
      let n = 0;
      while (n < max && this.canAdd(segments)) {
        const id = this.addChain(nRead, segments);
        ids[n] = id;
        weights[n++] = this.slotsOf[id];
      }
      return n;
    }
    // The common buffer, one descriptor each in ring order (put() writes it; the flags of the
    // batch's first head wait for publish()).
    const pool = this.ids;
    const slotsOf = this.slotsOf;
    const bytes = this.opts.segmentBytes;
    const flags = nRead === 0 ? VIRTQ_DESC_F_WRITE : 0;
    let count = max;
    if (count > pool.free) count = pool.free;
    if (count > this.numFree) count = this.numFree;
    if (count < 0) count = 0;
    for (let i = 0; i < count; i++) {
      const id = pool.take();
      this.put(this.segmentAddr(id, 0), bytes, id, flags);
      slotsOf[id] = 1;
      ids[i] = id;
    }
    this.numFree -= count;
    this.addedSinceKick += count;
    return count;
  }

  publish(): void {
    // 2.8.21.1: write barrier, then the first head's flags make the whole batch visible.
    if (this.pendingHead >= 0) {
      this.mem.st16Release(this.pendingHead, this.pendingFlags);
      this.pendingHead = -1;
    }
  }

  needKick(): boolean {
    const added = this.addedSinceKick;
    this.addedSinceKick = 0;
    return needNotify(this.mem, this.deviceEvent, this.eventIdx, this.n, this.availWrap, this.nextAvail, added);
  }

  pollUsed(): boolean {
    const inFlight = this.n - this.numFree;
    if (inFlight === 0) return false;
    const flags = this.mem.ld16Acquire(this.descBase + this.lastUsed * PACKED_DESC_SIZE + PACKED_DESC_FLAGS);
    const bits = flags & BITS;
    if (bits === usedBits(this.usedWrap)) return true;
    if (bits === availBits(this.usedWrap)) return false; // still as the driver made it available
    throw new VqError('PACKED_BAD_WRAP', 'driver',
      `descriptor ${this.lastUsed} has AVAIL=${(flags >>> 7) & 1} USED=${flags >>> 15}: neither available nor used with wrap counter ${this.usedWrap}`,
      { slot: this.lastUsed, flags, usedWrap: this.usedWrap });
  }

  readUsed(): void {
    const d = this.descBase + this.lastUsed * PACKED_DESC_SIZE;
    this.usedId = this.mem.ld16(d + PACKED_DESC_ID);
    const flags = this.mem.ld16(d + PACKED_DESC_FLAGS);
    // A used descriptor defines AVAIL, USED, WRITE and the proposal's FLUSH; NEXT is reserved there
    // and "should be ignored by drivers" (2.8.6); INDIRECT and the other bits have no meaning.
    if ((flags & ~USED_DESC_FLAGS) !== 0) {
      throw new VqError('USED_BAD_FLAGS', 'driver', `used descriptor flags 0x${flags.toString(16)} (only AVAIL, USED, WRITE and FLUSH are defined; NEXT is ignored)`, { id: this.usedId, flags, lastUsed: this.lastUsed });
    }
    // 2.8.4: the length is reserved, and ignored by drivers, unless WRITE says data was written;
    // without WRITE the device wrote nothing into this buffer (length 0), whatever the field holds.
    this.usedLen = (flags & VIRTQ_DESC_F_WRITE) !== 0 ? this.mem.ld32(d + PACKED_DESC_LEN) : 0;
    this.usedFlush = (flags & VIRTQ_DESC_F_FLUSH) !== 0;
  }

  consumeUsed(weight: number): void {
    // Skip the chain's slots, or a batch's (2.8.20 / proposal packed-ring.tex), across the wrap.
    const inFlight = this.n - this.numFree;
    if (weight > inFlight) {
      throw new VqError('USED_BATCH_OVERRUN', 'driver', `entry for id ${this.usedId} skips ${weight} slots with only ${inFlight} in flight`, { id: this.usedId, weight, inFlight });
    }
    this.lastUsed += weight;
    if (this.lastUsed >= this.n) {
      this.lastUsed -= this.n;
      this.usedWrap ^= 1;
    }
  }

  free(id: number): void {
    this.numFree += this.slotsOf[id];
    this.ids.release(id);
  }

  enableInterrupts(): void { enableNotify(this.mem, this.driverEvent, this.eventIdx, this.lastUsed, this.usedWrap); }

  disableInterrupts(): void { disableNotify(this.mem, this.driverEvent); }

  state(): Record<string, number | boolean> {
    return {
      next_avail: this.nextAvail, avail_wrap: this.availWrap, last_used: this.lastUsed, used_wrap: this.usedWrap,
      num_free: this.numFree, free_ids: this.ids.free,
    };
  }
}
