/**
 * Split virtqueue, device side (2.7.7 reading the available ring, 2.7.8 the used ring, 2.7.5
 * descriptor rules). The device trusts nothing it reads from the driver.
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
import type { DeviceRing } from '../ring/types.js';
import { Chain, VisitStamps, ldU16, ldU32, ldU64, nestedIndirect } from '../ring/chain.js';
import { VqError } from '../errors.js';
import { inDmaWindow } from '../memory/guest.js';

export class SplitDeviceRing implements DeviceRing {
  private readonly n: number;
  private readonly mask: number;
  private readonly descBase: number;
  private readonly availBase: number;
  private readonly usedBase: number;
  private readonly usedEventOff: number;
  private readonly availEventOff: number;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  /** VIRTIO_F_IN_ORDER negotiated: the driver's chain links are fixed (2.7.5.2, 2.7.5.3.1). */
  private readonly inOrder: boolean;
  private readonly visits: VisitStamps;
  private readonly tableVisits: VisitStamps;

  private lastAvail = 0;
  private availIdxShadow = 0;
  private usedIdx = 0;
  private signalledUsed = 0;

  constructor(
    private readonly mem: MemoryOps,
    layout: SplitRingLayout,
    features: Negotiated,
    private readonly dmaStart: number,
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
    this.inOrder = features.inOrder;
    this.visits = new VisitStamps(this.n);
    this.tableVisits = new VisitStamps(this.n);
  }

  pollAvail(): boolean {
    if (this.lastAvail === this.availIdxShadow) {
      // 2.7.13.3 mirrored: read avail.idx, read barrier, then the ring entries.
      const idx = this.mem.ld16Acquire(this.availBase + AVAIL_IDX);
      if (idx !== this.availIdxShadow) {
        if (((idx - this.lastAvail) & 0xffff) > this.n) throw this.idxJump(idx);
        this.availIdxShadow = idx;
      }
    }
    return this.lastAvail !== this.availIdxShadow;
  }

  private idxJump(idx: number): VqError {
    const ahead = (idx - this.lastAvail) & 0xffff;
    return new VqError('AVAIL_IDX_JUMP', 'device', `avail.idx moved to ${idx}: ${ahead} buffers past last_avail ${this.lastAvail}, more than the queue size ${this.n}`, { availIdx: idx, lastAvail: this.lastAvail });
  }

  private badHead(head: number): VqError {
    return new VqError('AVAIL_BAD_HEAD', 'device', `avail.ring names head ${head}, queue size is ${this.n}`, { head });
  }

  popChain(chain: Chain): void {
    const mem = this.mem;
    const n = this.n;
    const head = mem.ld16(this.availBase + AVAIL_RING + (this.lastAvail & this.mask) * 2);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (head >= n) throw this.badHead(head);
    chain.id = head;
    chain.weight = 1;
    // The common buffer: one descriptor, no NEXT, no INDIRECT. Same rules as the walk below (for
    // one descriptor only the DMA window applies), without its loop bookkeeping.
    const d0 = this.descBase + head * SPLIT_DESC_SIZE;
    const flags0 = mem.ld16(d0 + SPLIT_DESC_FLAGS);
    if ((flags0 & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)) === 0) {
      chain.one(mem.ld64(d0 + SPLIT_DESC_ADDR), mem.ld32(d0 + SPLIT_DESC_LEN), (flags0 & VIRTQ_DESC_F_WRITE) !== 0);
      return;
    }
    this.walkChain(chain, head);
  }

  popLone(max: number, ids: Uint16Array, addrs: Float64Array, lens: Uint32Array, at: number): number {
    const mem = this.mem;
    const n = this.n;
    const mask = this.mask;
    const slotBase = this.availBase + AVAIL_RING;
    const descBase = this.descBase;
    const dmaStart = this.dmaStart;
    const size = mem.size;
    let last = this.lastAvail;
    // Only what pollAvail has seen published (avail.idx was read with acquire there).
    const avail = (this.availIdxShadow - last) & 0xffff;
    if (max > avail) max = avail;
    let k = 0;
    // The reads and their order are popChain's for a lone descriptor: slot, flags, addr, len.
    for (; k < max; k++) {
      const head = mem.ld16(slotBase + (last & mask) * 2);
      if (head >= n) break;
      const d = descBase + head * SPLIT_DESC_SIZE;
      if ((mem.ld16(d + SPLIT_DESC_FLAGS) & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE)) !== VIRTQ_DESC_F_WRITE) break;
      // ld64's two words (the same loads, in the same order), compared as integers: a high word
      // other than 0 is past guest memory (below 2^30) whatever the low word says.
      const addr = mem.ld32(d + SPLIT_DESC_ADDR);
      const high = mem.ld32(d + SPLIT_DESC_ADDR + 4);
      const len = mem.ld32(d + SPLIT_DESC_LEN);
      if (high !== 0 || !inDmaWindow(addr, len, dmaStart, size)) break;
      ids[at + k] = head;
      addrs[at + k] = addr;
      lens[at + k] = len;
      last = (last + 1) & 0xffff;
    }
    this.lastAvail = last;
    return k;
  }

  /** The general case: a NEXT chain (loop, range and length rules) or an indirect descriptor. */
  private walkChain(chain: Chain, head: number): void {
    const mem = this.mem;
    const n = this.n;
    chain.reset();
    let i = head;
    for (let count = 0; ; count++) {
      if (count >= n) throw new VqError('DESC_CHAIN_TOO_LONG', 'device', `chain from head ${head} longer than queue size ${n}`, { head });
      // Loop detection starts at the second descriptor (a lone descriptor cannot loop): the head
      // is stamped then, so a chain that comes back to it is still caught.
      if (count === 1) { this.visits.begin(); this.visits.visit(head); }
      if (count > 0 && !this.visits.visit(i)) throw new VqError('DESC_LOOP', 'device', `descriptor ${i} visited twice in chain from head ${head}`, { head, desc: i });
      const d = this.descBase + i * SPLIT_DESC_SIZE;
      const addr = mem.ld64(d + SPLIT_DESC_ADDR);
      const len = mem.ld32(d + SPLIT_DESC_LEN);
      const flags = mem.ld16(d + SPLIT_DESC_FLAGS);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (flags & VIRTQ_DESC_F_NEXT) throw new VqError('DESC_INDIRECT_AND_NEXT', 'device', `descriptor ${i} sets both INDIRECT and NEXT`, { head, desc: i });
        this.readIndirect(chain, addr, len);
        return;
      }
      chain.add(addr, len, (flags & VIRTQ_DESC_F_WRITE) !== 0);
      if (!(flags & VIRTQ_DESC_F_NEXT)) return;
      const next = mem.ld16(d + SPLIT_DESC_NEXT);
      if (next >= n) throw new VqError('DESC_NEXT_OUT_OF_RANGE', 'device', `descriptor ${i} next=${next}, queue size is ${n}`, { head, desc: i, next });
      // 2.7.5.2: with IN_ORDER the driver MUST set next to x + 1 (0 for the last descriptor).
      if (this.inOrder && next !== (i + 1 === n ? 0 : i + 1)) throw this.inOrderNext(`descriptor ${i}`, next, i + 1 === n ? 0 : i + 1, { head, desc: i, next });
      i = next;
    }
  }

  private inOrderNext(what: string, next: number, want: number, details: Record<string, unknown>): VqError {
    return new VqError('DESC_IN_ORDER_NEXT', 'device', `${what} has next=${next}; with VIRTIO_F_IN_ORDER it must be ${want}`, details);
  }

  /** 2.7.5.3.2: walk an indirect table; only WRITE and NEXT are meaningful inside it. */
  private readIndirect(chain: Chain, table: number, len: number): void {
    const mem = this.mem;
    const entries = Chain.checkIndirect(table, len, this.indirect, this.n, this.dmaStart, mem.size);
    // Any alignment is valid (Chain.checkIndirect); one that is not 4 is read byte by byte.
    const al = Chain.tableAligned(table);
    this.tableVisits.begin();
    let j = 0;
    for (;;) {
      if (!this.tableVisits.visit(j)) throw new VqError('DESC_LOOP', 'device', `indirect entry ${j} visited twice`, { table, entry: j });
      const d = table + j * SPLIT_DESC_SIZE;
      const flags = al ? mem.ld16(d + SPLIT_DESC_FLAGS) : ldU16(mem, d + SPLIT_DESC_FLAGS);
      if (flags & VIRTQ_DESC_F_INDIRECT) throw nestedIndirect(j);
      chain.add(al ? mem.ld64(d + SPLIT_DESC_ADDR) : ldU64(mem, d + SPLIT_DESC_ADDR),
        al ? mem.ld32(d + SPLIT_DESC_LEN) : ldU32(mem, d + SPLIT_DESC_LEN), (flags & VIRTQ_DESC_F_WRITE) !== 0);
      if (!(flags & VIRTQ_DESC_F_NEXT)) return;
      const next = al ? mem.ld16(d + SPLIT_DESC_NEXT) : ldU16(mem, d + SPLIT_DESC_NEXT);
      if (next >= entries) throw new VqError('DESC_NEXT_OUT_OF_RANGE', 'device', `indirect entry ${j} next=${next}, table has ${entries}`, { table, entry: j, next });
      // 2.7.5.3.1: with IN_ORDER indirect descriptors MUST appear sequentially (next = j + 1).
      if (this.inOrder && next !== j + 1) throw this.inOrderNext(`indirect entry ${j}`, next, j + 1, { table, entry: j, next });
      j = next;
    }
  }

  pushUsed(id: number, len: number, flush: boolean, weight: number): void {
    // Batches (IN_ORDER, or FLUSH after FLUSH) are one entry where the batch's first would go;
    // used.idx then moves by the batch size (2.7.8 "In-order use", proposal split-ring.tex).
    const e = this.usedBase + USED_RING + (this.usedIdx & this.mask) * USED_ELEM_SIZE;
    this.mem.st16(e + USED_ELEM_ID, id);
    this.mem.st16(e + USED_ELEM_FLAGS, flush ? VIRTQ_USED_ELEM_F_FLUSH : 0);
    this.mem.st32(e + USED_ELEM_LEN, len);
    this.usedIdx = (this.usedIdx + weight) & 0xffff;
  }

  publishUsed(): void {
    // 2.7.8.2: write barrier, then used.idx.
    this.mem.st16Release(this.usedBase + USED_IDX, this.usedIdx);
  }

  needInterrupt(): boolean {
    this.mem.mb();
    const old = this.signalledUsed;
    const now = this.usedIdx;
    this.signalledUsed = now;
    if (this.eventIdx) return vringNeedEvent(this.mem.ld16Acquire(this.usedEventOff), now, old);
    return (this.mem.ld16Acquire(this.availBase + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  enableKicks(): void {
    if (this.eventIdx) this.mem.st16Release(this.availEventOff, this.lastAvail);
    else this.mem.st16Release(this.usedBase + USED_FLAGS, 0);
  }

  disableKicks(): void {
    if (this.eventIdx) this.mem.st16Release(this.availEventOff, (this.lastAvail - 1) & 0xffff);
    else this.mem.st16Release(this.usedBase + USED_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
  }

  state(): Record<string, number | boolean> {
    return {
      last_avail: this.lastAvail,
      avail_idx_seen: this.availIdxShadow,
      avail_idx_now: this.mem.ld16Acquire(this.availBase + AVAIL_IDX),
      used_idx: this.usedIdx,
      signalled_used: this.signalledUsed,
    };
  }
}
