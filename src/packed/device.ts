/**
 * Packed virtqueue, device side (2.8.6 indirect, 2.8.7 chains, 2.8.9 used descriptors, 2.8.10
 * event suppression). The device detects available descriptors by AVAIL/USED against its wrap
 * counter, reads the chain (the Buffer ID from its last descriptor), trusts nothing, and writes one
 * used descriptor per chain or batch at its used position with AVAIL = USED = its wrap counter.
 */
import {
  PACKED_DESC_ADDR, PACKED_DESC_FLAGS, PACKED_DESC_ID,
  PACKED_DESC_LEN, PACKED_DESC_SIZE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_FLUSH, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED,
  VIRTQ_DESC_F_WRITE,
} from '../spec/constants.js';
import type { PackedRingLayout } from '../spec/layout.js';
import type { Negotiated } from '../spec/features.js';
import type { MemoryOps } from '../memory/ops.js';
import type { DeviceRing } from '../ring/types.js';
import { Chain, ldU16, ldU32, ldU64, nestedIndirect } from '../ring/chain.js';
import { availBits, usedBits } from './driver.js';
import { VqError } from '../errors.js';
import { inDmaWindow } from '../memory/guest.js';
import { disableNotify, enableNotify, needNotify } from './event.js';

const BITS = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;
/** Flags a driver may set in a ring descriptor (besides AVAIL/USED). */
const RING_FLAGS = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_INDIRECT;

export class PackedDeviceRing implements DeviceRing {
  private readonly n: number;
  private readonly descBase: number;
  private readonly driverEvent: number;
  private readonly deviceEvent: number;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;

  private nextAvail = 0;
  private availWrap = 1;
  private usedPos = 0;
  private usedWrap = 1;
  /** Slots written as used since the last interrupt decision (for EVENT_IDX's `old`). */
  private usedSinceSignal = 0;

  constructor(
    private readonly mem: MemoryOps,
    layout: PackedRingLayout,
    features: Negotiated,
    private readonly dmaStart: number,
  ) {
    this.n = layout.queueSize;
    this.descBase = layout.desc.offset;
    this.driverEvent = layout.driverEvent.offset;
    this.deviceEvent = layout.deviceEvent.offset;
    this.eventIdx = features.eventIdx;
    this.indirect = features.indirect;
  }

  /** Is slot `slot` available in lap `wrap`? Throws on AVAIL/USED combinations no valid driver writes. */
  private isAvail(slot: number, wrap: number, flags: number): boolean {
    const bits = flags & BITS;
    if (bits === availBits(wrap)) return true;
    // Not yet available: what the last lap left there — a used descriptor, or (inside a chain or
    // batch, where no used descriptor is written) the driver's previous-lap avail bits.
    if (bits !== usedBits(wrap)) return false;
    // AVAIL = USED = our wrap counter ahead of our own position: no valid driver writes that.
    throw new VqError('PACKED_BAD_WRAP', 'device',
      `descriptor ${slot} has AVAIL=USED=${wrap} (a used descriptor of this lap) where the device expects a new available one`, { slot, flags, wrap });
  }

  pollAvail(): boolean {
    // 2.8.21.1 mirrored: read the head's flags (acquire), then the rest of the chain.
    const flags = this.mem.ld16Acquire(this.descBase + this.nextAvail * PACKED_DESC_SIZE + PACKED_DESC_FLAGS);
    return this.isAvail(this.nextAvail, this.availWrap, flags);
  }

  popChain(chain: Chain): void {
    const mem = this.mem;
    const n = this.n;
    chain.reset();
    let slot = this.nextAvail;
    let wrap = this.availWrap;
    for (let k = 0; ; k++) {
      if (k >= n) throw new VqError('DESC_CHAIN_TOO_LONG', 'device', `chain at slot ${this.nextAvail} longer than the queue size ${n}`, { slot: this.nextAvail });
      const d = this.descBase + slot * PACKED_DESC_SIZE;
      const flags = mem.ld16(d + PACKED_DESC_FLAGS);
      if (k > 0 && !this.isAvail(slot, wrap, flags)) {
        throw new VqError('PACKED_BAD_WRAP', 'device', `chain from slot ${this.nextAvail} continues (NEXT) into slot ${slot}, which is not available`, { head: this.nextAvail, slot });
      }
      if (flags & ~(RING_FLAGS | BITS)) throw new VqError('DESC_BAD_FLAGS', 'device', `descriptor ${slot} has undefined flags 0x${flags.toString(16)}`, { slot, flags });
      const addr = mem.ld64(d + PACKED_DESC_ADDR);
      const len = mem.ld32(d + PACKED_DESC_LEN);
      if (++slot === n) { slot = 0; wrap ^= 1; }
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (flags & VIRTQ_DESC_F_NEXT) throw new VqError('DESC_INDIRECT_AND_NEXT', 'device', `descriptor ${(slot + n - 1) % n} sets both INDIRECT and NEXT`, { slot });
        // 2.8.19: a driver must not set INDIRECT in a list linked by NEXT (a buffer is either a
        // list of direct descriptors or one indirect descriptor). Split differs (2.7.5.3.2).
        if (k > 0) throw new VqError('DESC_INDIRECT_IN_CHAIN', 'device', `descriptor ${(slot + n - 1) % n} sets INDIRECT at the end of a list linked by NEXT from slot ${this.nextAvail}`, { head: this.nextAvail, slot });
        this.readIndirect(chain, addr, len);
      } else {
        chain.add(addr, len, (flags & VIRTQ_DESC_F_WRITE) !== 0);
      }
      if (!(flags & VIRTQ_DESC_F_NEXT) || (flags & VIRTQ_DESC_F_INDIRECT)) {
        // The Buffer ID is in the chain's last descriptor (2.8.7).
        chain.id = mem.ld16(d + PACKED_DESC_ID);
        chain.weight = k + 1;
        break;
      }
    }
    this.nextAvail = slot;
    this.availWrap = wrap;
  }

  popLone(max: number, ids: Uint16Array, addrs: Float64Array, lens: Uint32Array, at: number): number {
    const mem = this.mem;
    const n = this.n;
    const descBase = this.descBase;
    const dmaStart = this.dmaStart;
    const size = mem.size;
    let slot = this.nextAvail;
    let wrap = this.availWrap;
    let k = 0;
    for (; k < max; k++) {
      const d = descBase + slot * PACKED_DESC_SIZE;
      // The first slot is the one pollAvail has just seen available; each further one is read with
      // acquire, as pollAvail would, and anything but "available in this lap" stops the run.
      const flags = k === 0 ? mem.ld16(d + PACKED_DESC_FLAGS) : mem.ld16Acquire(d + PACKED_DESC_FLAGS);
      if (k > 0 && (flags & BITS) !== availBits(wrap)) break;
      // Exactly WRITE among the defined flags, none undefined: popChain's lone writable descriptor.
      if ((flags & ~BITS) !== VIRTQ_DESC_F_WRITE) break;
      // ld64's two words (the same loads, in the same order), compared as integers: a high word
      // other than 0 is past guest memory (below 2^30) whatever the low word says.
      const addr = mem.ld32(d + PACKED_DESC_ADDR);
      const high = mem.ld32(d + PACKED_DESC_ADDR + 4);
      const len = mem.ld32(d + PACKED_DESC_LEN);
      if (high !== 0 || !inDmaWindow(addr, len, dmaStart, size)) break;
      ids[at + k] = mem.ld16(d + PACKED_DESC_ID);
      addrs[at + k] = addr;
      lens[at + k] = len;
      if (++slot === n) { slot = 0; wrap ^= 1; }
    }
    this.nextAvail = slot;
    this.availWrap = wrap;
    return k;
  }

  /** 2.8.6: a table of pvirtq_desc; inside it only WRITE is a valid flag, the ids are reserved. */
  private readIndirect(chain: Chain, table: number, len: number): void {
    const mem = this.mem;
    const entries = Chain.checkIndirect(table, len, this.indirect, this.n, this.dmaStart, mem.size);
    // Any alignment is valid (Chain.checkIndirect); one that is not 4 is read byte by byte.
    const al = Chain.tableAligned(table);
    for (let j = 0; j < entries; j++) {
      const d = table + j * PACKED_DESC_SIZE;
      const flags = al ? mem.ld16(d + PACKED_DESC_FLAGS) : ldU16(mem, d + PACKED_DESC_FLAGS);
      if (flags & VIRTQ_DESC_F_INDIRECT) throw nestedIndirect(j);
      if (flags & ~VIRTQ_DESC_F_WRITE) throw new VqError('DESC_BAD_FLAGS', 'device', `indirect entry ${j} has flags 0x${flags.toString(16)} (only WRITE is valid in a packed indirect table)`, { table, entry: j, flags });
      chain.add(al ? mem.ld64(d + PACKED_DESC_ADDR) : ldU64(mem, d + PACKED_DESC_ADDR),
        al ? mem.ld32(d + PACKED_DESC_LEN) : ldU32(mem, d + PACKED_DESC_LEN), (flags & VIRTQ_DESC_F_WRITE) !== 0);
    }
  }

  pushUsed(id: number, len: number, flush: boolean, weight: number): void {
    // One used descriptor at the current used position (the first slot of the chain or batch), its
    // flags written last behind a write barrier, then skip the chain's / batch's slots. WRITE says
    // the device wrote data (2.8.4): without it the length is reserved and ignored by drivers, so
    // a written length is only meaningful with WRITE set.
    const d = this.descBase + this.usedPos * PACKED_DESC_SIZE;
    this.mem.st16(d + PACKED_DESC_ID, id);
    this.mem.st32(d + PACKED_DESC_LEN, len);
    this.mem.st16Release(d + PACKED_DESC_FLAGS, usedBits(this.usedWrap) | (len !== 0 ? VIRTQ_DESC_F_WRITE : 0) | (flush ? VIRTQ_DESC_F_FLUSH : 0));
    this.usedPos += weight;
    if (this.usedPos >= this.n) {
      this.usedPos -= this.n;
      this.usedWrap ^= 1;
    }
    this.usedSinceSignal += weight;
  }

  /** Each used descriptor was published by its own flags store. */
  publishUsed(): void {}

  needInterrupt(): boolean {
    const used = this.usedSinceSignal;
    this.usedSinceSignal = 0;
    return needNotify(this.mem, this.driverEvent, this.eventIdx, this.n, this.usedWrap, this.usedPos, used);
  }

  enableKicks(): void { enableNotify(this.mem, this.deviceEvent, this.eventIdx, this.nextAvail, this.availWrap); }

  disableKicks(): void { disableNotify(this.mem, this.deviceEvent); }

  state(): Record<string, number | boolean> {
    return { next_avail: this.nextAvail, avail_wrap: this.availWrap, used_pos: this.usedPos, used_wrap: this.usedWrap };
  }
}
