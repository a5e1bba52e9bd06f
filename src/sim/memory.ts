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
 *  - weak:    relaxed's stores, and loads reordered too (ARMv8-like): a plain load may return an
 *             older value of its location than the newest one in memory — any value the location
 *             held at some time since the side's view, as if the load had been satisfied early.
 *             The view (a time per side, raised to "now" by an acquire load and by mb) and
 *             per-location coherence (never older than what the side last read or wrote there)
 *             bound it. An acquire load reads the newest value and orders every later load after
 *             it; a release store does not order later loads (ARM's stlr does not either).
 *             Loads still read only values already in memory (no promises): LB stays forbidden.
 *             Dependencies are not tracked (MemoryOps does not see them), so a load that only a
 *             dependency would order may read older here than on ARM; the rings order every
 *             consumer read with an acquire and need none.
 * st16Release = write barrier + store (the store itself may still wait in the buffer);
 * ld16Acquire = load + read barrier; mb = full barrier (drain).
 *
 * Why a separate `weak` model and not a weaker `relaxed`: relaxed's results (the catalogue, the
 * exhaustive counts, sc/tso/relaxed litmus outcomes) stay as they are, and weak adds exactly one
 * kind of choice — which version a plain load reads — on top of it.
 *
 * WHEN buffered stores drain is not decided here: a side's buffered stores can only be observed by
 * the other side, and the other side only runs at a handover (the scheduler switching sides, at a
 * step boundary or at a publication point). So the drain is a choice made at each handover, from a
 * menu (drainMenu / applyDrain) that the scheduler's choice source picks from — one mechanism for
 * random search, exhaustive search and replay. Which version a weak plain load reads is a choice
 * too, made through SimWorld.pickVersion (0: the newest).
 */
import type { MemoryOps } from '../memory/ops.js';

export type MemoryModel = 'sc' | 'tso' | 'relaxed' | 'weak';
export const MEMORY_MODELS: readonly MemoryModel[] = ['sc', 'tso', 'relaxed', 'weak'];

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
  /**
   * weak: which of n versions a plain load reads (0: the newest … n-1: the oldest its side may
   * still read). The scheduler makes it a numbered choice; the default reads the newest.
   */
  pickVersion: (n: number) => number = () => 0;
  // weak only: a time per write to memory and an undo log, one entry per byte written (the time,
  // the byte, its value before), oldest first; entries at or before every side's view are dropped.
  clock = 0;
  logTs: number[] = [];
  logByte: number[] = [];
  logOld: number[] = [];
  /** `size`: guest memory's end (the buffer may be longer: a WebAssembly.Memory is whole pages). */
  constructor(buffer: ArrayBufferLike, readonly model: MemoryModel, size = buffer.byteLength) {
    this.u8 = new Uint8Array(buffer, 0, size);
    this.u16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  side(): SimMemory {
    const m = new SimMemory(this);
    this.sides.push(m);
    return m;
  }
  /** Write to memory; returns the write's time (weak; 0 otherwise). */
  write(p: Pending): number {
    let ts = 0;
    if (this.model === 'weak') {
      ts = ++this.clock;
      for (let b = p.off; b < p.off + p.size; b++) { this.logTs.push(ts); this.logByte.push(b); this.logOld.push(this.u8[b]); }
    }
    if (p.size === 1) this.u8[p.off] = p.val;
    else if (p.size === 2) this.u16[p.off >>> 1] = p.val;
    else this.u32[p.off >>> 2] = p.val;
    return ts;
  }
  read(off: number, size: number): number {
    return size === 1 ? this.u8[off] : size === 2 ? this.u16[off >>> 1] : this.u32[off >>> 2];
  }
  drainAll(): void { for (const s of this.sides) s.drainAll(); }
  /** weak: forget the writes no side can read around any more (at or before every view). */
  prune(): void {
    let min = Infinity;
    for (const s of this.sides) if (s.view < min) min = s.view;
    let k = 0;
    while (k < this.logTs.length && this.logTs[k] <= min) k++;
    if (k > 0) { this.logTs.splice(0, k); this.logByte.splice(0, k); this.logOld.splice(0, k); }
  }
  /** Everything that decides what happens next (for the litmus enumeration's backtracking). */
  save(): WorldState {
    return {
      u8: this.u8.slice(), clock: this.clock, log: [this.logTs.slice(), this.logByte.slice(), this.logOld.slice()],
      sides: this.sides.map((m) => ({ buf: m.buf.slice(), view: m.view, coh: m.coh?.slice() ?? null })),
    };
  }
  restore(s: WorldState): void {
    this.u8.set(s.u8);
    this.clock = s.clock;
    this.logTs = s.log[0].slice(); this.logByte = s.log[1].slice(); this.logOld = s.log[2].slice();
    this.sides.forEach((m, i) => { const x = s.sides[i]; m.buf = x.buf.slice(); m.view = x.view; if (x.coh && m.coh) m.coh.set(x.coh); });
  }
}

export interface WorldState {
  u8: Uint8Array;
  clock: number;
  log: [number[], number[], number[]];
  sides: { buf: Pending[]; view: number; coh: Int32Array | null }[];
}

const overlap = (a: Pending, b: Pending): boolean => a.off < b.off + b.size && b.off < a.off + a.size;

export class SimMemory implements MemoryOps {
  readonly size: number;
  buf: Pending[] = [];
  /** weak: the side's view — a plain load reads no value older than memory held at this time. */
  view = 0;
  /** weak: per byte, the time of the write this side last read or wrote there (coherence). */
  readonly coh: Int32Array | null;
  constructor(readonly world: SimWorld) {
    this.size = world.u8.length;
    this.coh = world.model === 'weak' ? new Int32Array(this.size) : null;
  }

  /** A buffered store reaches memory; under weak the side can no longer read older there. */
  private commit(p: Pending): void {
    const ts = this.world.write(p);
    if (this.coh) this.coh.fill(ts, p.off, p.off + p.size);
  }

  drainAll(): void {
    for (const p of this.buf) this.commit(p);
    this.buf = [];
  }

  /** Drain buffered store j alone (the caller checks drainable(j)). */
  drainAt(j: number): void {
    const [p] = this.buf.splice(j, 1);
    this.commit(p);
  }

  /** May buffered store j become visible next? tso: only the oldest; relaxed/weak: any with no older store to an overlapping address. */
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
      if (stay) kept.push(p); else this.commit(p);
    }
    this.buf = kept;
  }

  private store(off: number, size: number, val: number): void {
    this.world.ops++;
    if (this.world.model === 'sc') this.commit({ off, size, val });
    else this.buf.push({ off, size, val });
  }
  private load(off: number, size: number, plain: boolean): number {
    this.world.ops++;
    // Own buffered stores first (store forwarding); a partial overlap drains them to stay exact.
    for (let k = this.buf.length - 1; k >= 0; k--) {
      const p = this.buf[k];
      if (p.off === off && p.size === size) return p.val;
      if (p.off < off + size && off < p.off + p.size) { this.drainAll(); break; }
    }
    if (plain && this.coh) return this.loadVersion(off, size);
    return this.world.read(off, size);
  }

  /**
   * weak: the times of the writes to [off, off+size) that a plain load may read around, newest
   * first — version 0 is memory now, version k the value from before the k-th newest of them.
   */
  versionTimes(off: number, size: number): { from: number; times: number[] } {
    const coh = this.coh!;
    let from = this.view;
    for (let b = off; b < off + size; b++) if (coh[b] > from) from = coh[b];
    const w = this.world;
    const times: number[] = [];
    for (let i = w.logTs.length - 1; i >= 0 && w.logTs[i] > from; i--) {
      const b = w.logByte[i];
      if (b >= off && b < off + size && times[times.length - 1] !== w.logTs[i]) times.push(w.logTs[i]);
    }
    return { from, times };
  }

  private loadVersion(off: number, size: number): number {
    const { from, times } = this.versionTimes(off, size);
    const coh = this.coh!;
    if (times.length === 0) return this.world.read(off, size);
    let c = this.world.pickVersion(times.length + 1);
    if (!(c >= 0 && c <= times.length)) c = 0;
    // The version read starts at the write before it: later loads here read nothing older (CoRR).
    const start = c < times.length ? times[c] : from;
    for (let b = off; b < off + size; b++) if (coh[b] < start) coh[b] = start;
    if (c === 0) return this.world.read(off, size);
    // Undo, newest first, every write at or after times[c-1]: memory as it was just before it.
    const w = this.world;
    const cut = times[c - 1];
    let v = 0;
    const bytes = [0, 0, 0, 0];
    for (let b = 0; b < size; b++) bytes[b] = w.u8[off + b];
    for (let i = w.logTs.length - 1; i >= 0 && w.logTs[i] >= cut; i--) {
      const b = w.logByte[i];
      if (b >= off && b < off + size) bytes[b - off] = w.logOld[i];
    }
    for (let b = size - 1; b >= 0; b--) v = v * 256 + bytes[b];
    return v;
  }

  /** weak: an acquire or a full barrier — every later load reads memory as new as now, or newer. */
  private raiseView(): void {
    if (!this.coh) return;
    this.view = this.world.clock;
    this.world.prune();
  }

  ld8(off: number): number { return this.load(off, 1, true); }
  st8(off: number, v: number): void { this.store(off, 1, v & 0xff); }
  ld16(off: number): number { return this.load(off, 2, true); }
  st16(off: number, v: number): void { this.store(off, 2, v & 0xffff); }
  ld32(off: number): number { return this.load(off, 4, true); }
  st32(off: number, v: number): void { this.store(off, 4, v >>> 0); }
  ld64(off: number): number { return this.load(off, 4, true) + this.load(off + 4, 4, true) * 4294967296; }
  st64(off: number, v: number): void { this.store(off, 4, v >>> 0); this.store(off + 4, 4, Math.floor(v / 4294967296) >>> 0); }
  st16Release(off: number, v: number): void {
    // Write barrier: everything stored before is visible before this store can be.
    this.drainAll();
    this.store(off, 2, v & 0xffff);
    this.world.preempt(this);
  }
  ld16Acquire(off: number): number {
    this.world.preempt(this);
    // The acquire load reads the newest value, and no later load reads older than memory now.
    this.raiseView();
    return this.load(off, 2, false);
  }
  mb(): void {
    this.world.preempt(this);
    this.world.ops++;
    this.drainAll();
    this.raiseView();
  }
}

/**
 * The drain menu at a handover, for a side with m buffered stores. `wide` (random search) offers
 * every legal subset through per-entry choices; the narrow menu (exhaustive search) keeps the
 * branching small with the shapes ordering bugs need:
 *   tso:     0 drain all · 1 keep the youngest · 2 keep all
 *   relaxed, weak: 0 drain all · 1 keep all · 2 drain only the youngest · 3 keep only the youngest
 *            (wide adds 4: choose per entry, one binary choice each)
 */
export function drainMenuSize(model: MemoryModel, m: number, wide: boolean): number {
  if (model === 'sc' || m === 0) return 1;
  // weak drains as relaxed does
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
