/**
 * Guest memory with a guard: every access of the ring code under attack is checked for bounds and
 * alignment (the alignment AtomicsMemory's typed-array indexing needs to read the bytes asked for),
 * and every write against the regions the attacked side may legally write. A breach throws a
 * MemoryBreach — deliberately not a VqError, so the fuzz runner counts it as a crash of the ring
 * code, never as a typed rejection of the hostile peer.
 */
import { AtomicsMemory, type MemoryOps } from '../memory/ops.js';

export type BreachKind = 'out-of-bounds' | 'misaligned' | 'illegal-write';

export class MemoryBreach extends Error {
  constructor(readonly kind: BreachKind, readonly off: number, readonly width: number, what: string) {
    super(`${kind}: ${what} of ${width} byte(s) at ${off}`);
    this.name = 'MemoryBreach';
  }
}

/** [start, end) byte ranges. */
export type Regions = [number, number][];

export class GuardedMemory implements MemoryOps {
  readonly size: number;
  /** Regions the side under test may write; anything else is an illegal write. */
  writable: Regions = [];
  reads = 0;
  writes = 0;

  constructor(readonly inner: AtomicsMemory) {
    this.size = inner.size;
  }

  private at(off: number, width: number, what: string): void {
    if (!Number.isInteger(off) || off < 0 || off + width > this.size) throw new MemoryBreach('out-of-bounds', off, width, what);
    // AtomicsMemory indexes a Uint16Array / Uint32Array by off >>> 1 / off >>> 2: an offset that is
    // not a multiple reads or writes bytes other than the ones asked for.
    const align = width === 8 ? 4 : width;
    if (off % align !== 0) throw new MemoryBreach('misaligned', off, width, what);
  }

  private rd(off: number, width: number): void {
    this.reads++;
    this.at(off, width, 'read');
  }

  private wr(off: number, width: number): void {
    this.writes++;
    this.at(off, width, 'write');
    for (const [s, e] of this.writable) if (off >= s && off + width <= e) return;
    throw new MemoryBreach('illegal-write', off, width, 'write outside the regions this side may write');
  }

  ld8(off: number): number { this.rd(off, 1); return this.inner.ld8(off); }
  st8(off: number, v: number): void { this.wr(off, 1); this.inner.st8(off, v); }
  ld16(off: number): number { this.rd(off, 2); return this.inner.ld16(off); }
  st16(off: number, v: number): void { this.wr(off, 2); this.inner.st16(off, v); }
  ld32(off: number): number { this.rd(off, 4); return this.inner.ld32(off); }
  st32(off: number, v: number): void { this.wr(off, 4); this.inner.st32(off, v); }
  ld64(off: number): number { this.rd(off, 8); return this.inner.ld64(off); }
  st64(off: number, v: number): void { this.wr(off, 8); this.inner.st64(off, v); }
  st16Release(off: number, v: number): void { this.wr(off, 2); this.inner.st16Release(off, v); }
  ld16Acquire(off: number): number { this.rd(off, 2); return this.inner.ld16Acquire(off); }
  mb(): void { this.inner.mb(); }
}

/** Byte ranges where `after` differs from `before` and that lie outside `allowed` (first few). */
export function changedOutside(before: Uint8Array, after: Uint8Array, allowed: Regions, max = 4): Regions {
  const out: Regions = [];
  const ok = (i: number): boolean => { for (const [s, e] of allowed) if (i >= s && i < e) return true; return false; };
  let i = 0;
  while (i < before.length && out.length < max) {
    if (before[i] !== after[i] && !ok(i)) {
      let j = i + 1;
      while (j < before.length && before[j] !== after[j] && !ok(j)) j++;
      out.push([i, j]);
      i = j;
    } else i++;
  }
  return out;
}
