/**
 * Modelled memory for the deterministic simulator: each side gets a SimMemory (a MemoryOps, the
 * same seam the threaded harness implements with Atomics) over one shared backing store, with a
 * store buffer per side. Which buffered store drains to memory, and when, is a choice of the
 * world's seeded RNG at every memory operation of either side, so a seed replays exactly.
 *
 * Models (the ring code's barriers are what make it correct under the weaker ones):
 *  - sc:      stores are visible at once.
 *  - tso:     stores wait in a per-side FIFO and drain in order (x86: only store→load reordering);
 *             a load sees its own side's buffered stores first.
 *  - relaxed: buffered stores to different addresses may drain in any order; a write barrier
 *             (st16Release) drains everything before it; a full barrier (mb) drains everything.
 * st16Release = write barrier + store (the store itself may still wait in the buffer);
 * ld16Acquire = load + read barrier; mb = full barrier (drain).
 */
import type { MemoryOps } from '../memory/ops.js';
import type { Rng } from '../util/rng.js';

export type MemoryModel = 'sc' | 'tso' | 'relaxed';

interface Pending { off: number; size: number; val: number }

export class SimWorld {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly sides: SimMemory[] = [];
  /** Probability (in 1/256) that a buffered store drains at any given memory operation. */
  drainOdds = 48;
  ops = 0;
  /**
   * Preemption at publication points: called by a side at each barrier-carrying access (write
   * barrier + store, load + read barrier, full barrier); the scheduler may run the other side's
   * whole step right there, nested, before this side goes on.
   */
  preempt: (side: SimMemory) => void = () => {};
  constructor(buffer: ArrayBufferLike, readonly model: MemoryModel, readonly rng: Rng) {
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  side(): SimMemory {
    const m = new SimMemory(this);
    this.sides.push(m);
    return m;
  }
  write(p: Pending): void {
    if (p.size === 1) this.u8[p.off] = p.val;
    else if (p.size === 2) this.u16[p.off >>> 1] = p.val;
    else this.u32[p.off >>> 2] = p.val;
  }
  /** A scheduling point for the memory system: maybe drain some buffered stores of any side. */
  tick(): void {
    this.ops++;
    if (this.model === 'sc') return;
    for (const s of this.sides) {
      while (s.buf.length > 0 && (this.rng.u32() & 255) < this.drainOdds) s.drainOne();
    }
  }
  drainAll(): void { for (const s of this.sides) s.drainAll(); }
}

export class SimMemory implements MemoryOps {
  readonly size: number;
  readonly buf: Pending[] = [];
  constructor(readonly world: SimWorld) { this.size = world.u8.length; }

  drainOne(): void {
    const w = this.world;
    let i = 0;
    if (w.model === 'relaxed' && this.buf.length > 1) {
      // Any store with no older store to an overlapping address may go first.
      const j = w.rng.int(this.buf.length);
      const e = this.buf[j];
      let blocked = false;
      for (let k = 0; k < j; k++) { const o = this.buf[k]; if (o.off < e.off + e.size && e.off < o.off + o.size) { blocked = true; break; } }
      if (!blocked) i = j;
    }
    const [p] = this.buf.splice(i, 1);
    w.write(p);
  }
  drainAll(): void { while (this.buf.length) this.drainOne(); }

  private store(off: number, size: number, val: number): void {
    this.world.tick();
    if (this.world.model === 'sc') this.world.write({ off, size, val });
    else this.buf.push({ off, size, val });
  }
  private load(off: number, size: number): number {
    this.world.tick();
    // Own buffered stores first (store forwarding); a partial overlap drains them to stay exact.
    for (let k = this.buf.length - 1; k >= 0; k--) {
      const p = this.buf[k];
      if (p.off === off && p.size === size) return p.val;
      if (p.off < off + size && off < p.off + p.size) { this.drainAll(); break; }
    }
    const w = this.world;
    return size === 1 ? w.u8[off] : size === 2 ? w.u16[off >>> 1] : w.u32[off >>> 2];
  }

  ld8(off: number): number { return this.load(off, 1); }
  st8(off: number, v: number): void { this.store(off, 1, v & 0xff); }
  ld16(off: number): number { return this.load(off, 2); }
  st16(off: number, v: number): void { this.store(off, 2, v & 0xffff); }
  ld32(off: number): number { return this.load(off, 4); }
  st32(off: number, v: number): void { this.store(off, 4, v >>> 0); }
  ld64(off: number): number { return this.load(off, 4) + this.load(off + 4, 4) * 4294967296; }
  st64(off: number, v: number): void { this.store(off, 4, v >>> 0); this.store(off + 4, 4, Math.floor(v / 4294967296) >>> 0); }
  st16Release(off: number, v: number): void {
    // Write barrier: everything stored before is visible before this store can be.
    this.drainAll();
    this.store(off, 2, v & 0xffff);
    this.world.preempt(this);
  }
  ld16Acquire(off: number): number {
    this.world.preempt(this);
    return this.load(off, 2);
  }
  mb(): void {
    this.world.preempt(this);
    this.world.tick();
    this.drainAll();
  }
}
