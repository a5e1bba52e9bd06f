/**
 * The memory/barrier seam. Every shared-memory access of the ring code goes through a MemoryOps,
 * so the threaded harness (Atomics over a SharedArrayBuffer), the deterministic simulator and
 * fault-injection layers are implementations of one narrow interface and the ring code is written
 * once. Offsets are byte offsets into guest memory; all fields are little-endian (virtio 1.x).
 *
 * Barrier vocabulary (2.7.13, 2.7.14, 2.8.21: the publication order):
 *  - st16Release: write barrier, then store. Publishes avail.idx / used.idx / packed head flags,
 *    and the suppression fields the other side reads after its full barrier.
 *  - ld16Acquire: load, then read barrier. Reads the other side's index / flags before the entries.
 *  - mb: full barrier between publishing and reading the other side's suppression state.
 */
export interface MemoryOps {
  readonly size: number;
  ld8(off: number): number;
  st8(off: number, v: number): void;
  ld16(off: number): number;
  st16(off: number, v: number): void;
  ld32(off: number): number;
  st32(off: number, v: number): void;
  /** le64 as a JS number: exact below 2^53, and any larger value still compares as out of range. */
  ld64(off: number): number;
  st64(off: number, v: number): void;
  st16Release(off: number, v: number): void;
  ld16Acquire(off: number): number;
  mb(): void;
}

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The real thing: plain typed-array accesses for data, Atomics for publication. On x86-64 V8
 * compiles Atomics.store to xchg (a full barrier) and Atomics.load to mov; in the JS memory model
 * seq-cst atomics give release/acquire ordering to the plain accesses around them.
 */
export class AtomicsMemory implements MemoryOps {
  readonly size: number;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  /** The same words signed: the data patterns are int32 arithmetic (src/device/payload.ts). */
  readonly i32: Int32Array;
  private readonly fence: Int32Array;

  /**
   * `size`: the end of guest memory as the sides see it (the layout's totalSize). The buffer may be
   * longer: a WebAssembly.Memory is a whole number of 64 KiB pages.
   */
  constructor(readonly buffer: SharedArrayBuffer, fenceBuffer?: SharedArrayBuffer, size = buffer.byteLength) {
    if (!HOST_IS_LE) throw new Error('vqlab needs a little-endian host (virtio fields are little-endian)');
    this.size = Math.min(size, buffer.byteLength);
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    this.fence = new Int32Array(fenceBuffer ?? new SharedArrayBuffer(4));
  }

  ld8(off: number): number { return this.u8[off]; }
  st8(off: number, v: number): void { this.u8[off] = v; }
  ld16(off: number): number { return this.u16[off >>> 1]; }
  st16(off: number, v: number): void { this.u16[off >>> 1] = v; }
  ld32(off: number): number { return this.u32[off >>> 2]; }
  st32(off: number, v: number): void { this.u32[off >>> 2] = v; }
  ld64(off: number): number {
    const i = off >>> 2;
    return this.u32[i] + this.u32[i + 1] * 4294967296;
  }
  st64(off: number, v: number): void {
    const i = off >>> 2;
    this.u32[i] = v >>> 0;
    this.u32[i + 1] = Math.floor(v / 4294967296) >>> 0;
  }
  st16Release(off: number, v: number): void { Atomics.store(this.u16, off >>> 1, v); }
  ld16Acquire(off: number): number { return Atomics.load(this.u16, off >>> 1); }
  /** A seq-cst read-modify-write: a locked instruction on x86, a full fence. */
  mb(): void { Atomics.add(this.fence, 0, 0); }
}
