/**
 * Modelled memory for the deterministic simulator: each side gets a SimMemory (a MemoryOps, the
 * same seam the threaded harness implements with Atomics) over one shared backing store, with a
 * store buffer per side.
 *
 * Models (the ring code's barriers are what make it correct under the weaker ones):
 *  - sc:      stores are visible at once.
 *  - tso:     stores wait in a per-side FIFO and drain in order (x86: only store→load reordering);
 *             a load sees its own side's buffered stores first (store forwarding).
 *  - relaxed: buffered stores to different addresses may drain in any order; a write barrier
 *             (st16Release) drains everything before it; a full barrier (mb) drains everything.
 *             Loads are not reordered (no load speculation): LB's 1/1 outcome stays forbidden.
 * st16Release = write barrier + store (the store itself may still wait in the buffer);
 * ld16Acquire = load + read barrier; mb = full barrier (drain).
 *
 * WHEN buffered stores drain is not decided here: a side's buffered stores can only be observed by
 * the other side, and the other side only runs at a handover (the scheduler switching sides, at a
 * step boundary or at a publication point). So the drain is a choice made at each handover, from a
 * menu (drainMenu / applyDrain) that the scheduler's choice source picks from — one mechanism for
 * random search, exhaustive search and replay.
 */
import type { MemoryOps } from '../memory/ops.js';

export type MemoryModel = 'sc' | 'tso' | 'relaxed';

export interface Pending { off: number; size: number; val: number }

export class SimWorld {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly sides: SimMemory[] = [];
  ops = 0;
  /**
   * Publication points: called by a side at each barrier-carrying access (after a write barrier +
   * store, before a load + read barrier, before a full barrier's drain). The scheduler may run the
   * other side's step right there, nested, before this side goes on.
   */
  preempt: (side: SimMemory) => void = () => {};
  constructor(buffer: ArrayBufferLike, readonly model: MemoryModel) {
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
  read(off: number, size: number): number {
    return size === 1 ? this.u8[off] : size === 2 ? this.u16[off >>> 1] : this.u32[off >>> 2];
  }
  drainAll(): void { for (const s of this.sides) s.drainAll(); }
}

const overlap = (a: Pending, b: Pending): boolean => a.off < b.off + b.size && b.off < a.off + a.size;

export class SimMemory implements MemoryOps {
  readonly size: number;
  buf: Pending[] = [];
  constructor(readonly world: SimWorld) { this.size = world.u8.length; }

  drainAll(): void {
    for (const p of this.buf) this.world.write(p);
    this.buf = [];
  }

  /** Drain buffered store j alone (the caller checks drainable(j)). */
  drainAt(j: number): void {
    const [p] = this.buf.splice(j, 1);
    this.world.write(p);
  }

  /** May buffered store j become visible next? tso: only the oldest; relaxed: any with no older store to an overlapping address. */
  drainable(j: number): boolean {
    if (this.world.model === 'tso') return j === 0;
    for (let k = 0; k < j; k++) if (overlap(this.buf[k], this.buf[j])) return false;
    return true;
  }

  /**
   * Drain exactly the entries whose `keep` bit is false, in program order, keeping the rest. An
   * entry stays too when an older store to an overlapping address stays (same-address order holds
   * in every model), and under tso everything after a kept entry stays (FIFO).
   */
  drainExcept(keep: boolean[]): void {
    const kept: Pending[] = [];
    for (let i = 0; i < this.buf.length; i++) {
      const p = this.buf[i];
      const stay = keep[i] || (this.world.model === 'tso' && kept.length > 0) || kept.some((k) => overlap(k, p));
      if (stay) kept.push(p); else this.world.write(p);
    }
    this.buf = kept;
  }

  private store(off: number, size: number, val: number): void {
    this.world.ops++;
    if (this.world.model === 'sc') this.world.write({ off, size, val });
    else this.buf.push({ off, size, val });
  }
  private load(off: number, size: number): number {
    this.world.ops++;
    // Own buffered stores first (store forwarding); a partial overlap drains them to stay exact.
    for (let k = this.buf.length - 1; k >= 0; k--) {
      const p = this.buf[k];
      if (p.off === off && p.size === size) return p.val;
      if (p.off < off + size && off < p.off + p.size) { this.drainAll(); break; }
    }
    return this.world.read(off, size);
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
    this.world.ops++;
    this.drainAll();
  }
}

/**
 * The drain menu at a handover, for a side with m buffered stores. `wide` (random search) offers
 * every legal subset through per-entry choices; the narrow menu (exhaustive search) keeps the
 * branching small with the shapes ordering bugs need:
 *   tso:     0 drain all · 1 keep the youngest · 2 keep all
 *   relaxed: 0 drain all · 1 keep all · 2 drain only the youngest · 3 keep only the youngest
 *            (wide adds 4: choose per entry, one binary choice each)
 */
export function drainMenuSize(model: MemoryModel, m: number, wide: boolean): number {
  if (model === 'sc' || m === 0) return 1;
  if (model === 'tso') return m === 1 ? 2 : 3;
  if (m === 1) return 2;
  return wide ? 5 : 4;
}

/** Apply drain choice `c` (from drainMenuSize's menu); `bit` supplies per-entry choices (wide 4). */
export function applyDrain(mem: SimMemory, c: number, bit: () => number): void {
  const m = mem.buf.length;
  if (m === 0) return;
  if (c === 0) { mem.drainAll(); return; }
  const keep = new Array<boolean>(m).fill(false);
  if (mem.world.model === 'tso' || m === 1) {
    if (c === 1 && m > 1) keep[m - 1] = true; else keep.fill(true);
  } else if (c === 1) keep.fill(true);
  else if (c === 2) { keep.fill(true); keep[m - 1] = false; }
  else if (c === 3) keep[m - 1] = true;
  else for (let i = 0; i < m; i++) keep[i] = bit() === 1;
  mem.drainExcept(keep);
}

/** A guest offset by the name the spec gives the field there (for the simulator's trace). */
export function fieldName(gl: import('../memory/guest.js').GuestLayout, off: number): string {
  const r = gl.ring as unknown as Record<string, { offset: number; size: number }> & { ring: string; queueSize: number };
  const inside = (k: string): number => { const f = r[k]; return f && off >= f.offset && off < f.offset + f.size ? off - f.offset : -1; };
  let d: number;
  if (r.ring === 'split') {
    if ((d = inside('desc')) >= 0) return `desc[${d >> 4}].${['addr', 'addr', 'addr', 'addr', 'addr', 'addr', 'addr', 'addr', 'len', 'len', 'len', 'len', 'flags', 'flags', 'next', 'next'][d & 15]}`;
    if ((d = inside('usedEvent')) >= 0) return 'used_event';
    if ((d = inside('availEvent')) >= 0) return 'avail_event';
    if ((d = inside('avail')) >= 0) return d < 2 ? 'avail.flags' : d < 4 ? 'avail.idx' : `avail.ring[${(d - 4) >> 1}]`;
    if ((d = inside('used')) >= 0) return d < 2 ? 'used.flags' : d < 4 ? 'used.idx' : `used.ring[${(d - 4) >> 3}].${((d - 4) & 7) < 4 ? 'id' : 'len'}`;
  } else {
    if ((d = inside('desc')) >= 0) return `desc[${d >> 4}].${['addr', 'addr', 'addr', 'addr', 'addr', 'addr', 'addr', 'addr', 'len', 'len', 'len', 'len', 'id', 'id', 'flags', 'flags'][d & 15]}`;
    if ((d = inside('driverEvent')) >= 0) return `driver_event.${d < 2 ? 'off_wrap' : 'flags'}`;
    if ((d = inside('deviceEvent')) >= 0) return `device_event.${d < 2 ? 'off_wrap' : 'flags'}`;
  }
  return `0x${off.toString(16)}`;
}
