/**
 * A descriptor chain as the device sees it, in preallocated scratch arrays (no allocation per
 * buffer), and the descriptor rules both rings share (2.7.5.2, 2.7.5.3, 2.8.19; docs/architecture.md "Hostile peers").
 */
import { VqError } from '../errors.js';
import { inDmaWindow } from '../memory/guest.js';
import type { MemoryOps } from '../memory/ops.js';

/** 2.7.5.2: a descriptor chain is at most 2^32 bytes in total (readable and writable together). */
export const MAX_CHAIN_BYTES = 4294967296;

export class Chain {
  /** Buffer id (split: head descriptor index; packed: Buffer ID from the last descriptor). */
  id = 0;
  /** Ring slots the chain took (split: 1; packed: descriptors in the ring). */
  weight = 0;
  n = 0;
  nWrite = 0;
  /** Writable bytes (≤ 2^32, as the whole chain is). */
  writeCapacity = 0;
  /** Bytes of every segment, readable and writable (a double: exact far beyond 2^32). */
  totalLen = 0;
  readonly addr: Float64Array;
  readonly len: Uint32Array;
  readonly write: Uint8Array;

  constructor(readonly maxSegments: number, readonly dmaStart: number, readonly memSize: number) {
    this.addr = new Float64Array(maxSegments);
    this.len = new Uint32Array(maxSegments);
    this.write = new Uint8Array(maxSegments);
  }

  reset(): void {
    this.n = 0;
    this.nWrite = 0;
    this.writeCapacity = 0;
    this.totalLen = 0;
  }

  /**
   * The whole chain is this one data descriptor: reset + add in one step (the rules that apply to a
   * first descriptor: the DMA window).
   */
  one(addr: number, len: number, writable: boolean): void {
    if (this.maxSegments < 1) throw this.tooLong();
    if (!inDmaWindow(addr, len, this.dmaStart, this.memSize)) throw this.outOfWindow(addr, len);
    this.n = 1;
    this.addr[0] = addr;
    this.len[0] = len;
    this.totalLen = len;
    if (writable) {
      this.write[0] = 1;
      this.nWrite = 1;
      this.writeCapacity = len;
    } else {
      this.write[0] = 0;
      this.nWrite = 0;
      this.writeCapacity = 0;
    }
  }

  /** Append one data descriptor, enforcing ordering, range and length rules. */
  add(addr: number, len: number, writable: boolean): void {
    if (this.n >= this.maxSegments) throw this.tooLong();
    if (!writable && this.nWrite > 0) {
      throw new VqError('DESC_WRITE_BEFORE_READ', 'device', `readable descriptor after a writable one (segment ${this.n})`, { segment: this.n });
    }
    if (!inDmaWindow(addr, len, this.dmaStart, this.memSize)) throw this.outOfWindow(addr, len);
    // Segments may overlap, so a chain inside a small memory can still exceed 2^32 bytes.
    if ((this.totalLen += len) > MAX_CHAIN_BYTES) throw this.tooBig();
    const i = this.n++;
    this.addr[i] = addr;
    this.len[i] = len;
    this.write[i] = writable ? 1 : 0;
    if (writable) {
      this.nWrite++;
      this.writeCapacity += len;
    }
  }

  // Errors built out of line keep one() and add() small enough to inline into the pop loops.
  private tooLong(): VqError {
    return new VqError('DESC_CHAIN_TOO_LONG', 'device', `chain longer than ${this.maxSegments} descriptors`, { id: this.id });
  }

  private tooBig(): VqError {
    return new VqError('DESC_CHAIN_TOO_BIG', 'device', `chain of ${this.totalLen} bytes in total (segment ${this.n} and before), more than 2^32 (2.7.5.2)`, { id: this.id, total: this.totalLen, segment: this.n });
  }

  private outOfWindow(addr: number, len: number): VqError {
    return new VqError('DESC_ADDR_OUT_OF_RANGE', 'device',
      `descriptor [${addr}, ${addr}+${len}) outside guest memory's DMA window [${this.dmaStart}, ${this.memSize})`, { addr, len });
  }

  /** Rules for a descriptor that points to an indirect table (2.7.5.3 / 2.8.6); returns its entry count. */
  static checkIndirect(addr: number, len: number, negotiated: boolean, queueSize: number, dmaStart: number, memSize: number): number {
    if (!negotiated) throw new VqError('DESC_INDIRECT_NOT_NEGOTIATED', 'device', 'INDIRECT flag without VIRTIO_F_INDIRECT_DESC', { addr });
    if (len === 0 || len % 16 !== 0) throw new VqError('DESC_INDIRECT_BAD_LEN', 'device', `indirect table length ${len} is not a non-zero multiple of 16`, { addr, len });
    const entries = len / 16;
    if (entries > queueSize) throw new VqError('DESC_CHAIN_TOO_LONG', 'device', `indirect table of ${entries} descriptors exceeds queue size ${queueSize}`, { addr, len });
    if (!inDmaWindow(addr, len, dmaStart, memSize)) {
      throw new VqError('DESC_ADDR_OUT_OF_RANGE', 'device', `indirect table [${addr}, ${addr}+${len}) outside the DMA window`, { addr, len });
    }
    // No alignment rule: the spec's alignment table covers the three queue parts only, and QEMU and
    // vhost accept a table anywhere. A table that is not 4-aligned is read byte by byte
    // (Chain.tableAligned, ldU16/ldU32/ldU64); see docs/interpretations.md.
    return entries;
  }

  /**
   * Can a table at `addr` be read with the typed-array loads (every field of a 16-byte descriptor
   * then sits at a multiple of its access width: ld64 and ld32 need 4, ld16 2)? Otherwise the walk
   * reads it through ldU16/ldU32/ldU64. A static so that a test can break it (mutation check).
   */
  static tableAligned(addr: number): boolean {
    return (addr & 3) === 0;
  }
}

/**
 * Loop detection by visit stamps: one Uint32Array of the table size, a new stamp per walk,
 * so detection costs nothing to reset.
 */
export class VisitStamps {
  private readonly seen: Uint32Array;
  private stamp = 0;
  constructor(size: number) { this.seen = new Uint32Array(size); }
  begin(): void {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) { this.seen.fill(0); this.stamp = 1; }
  }
  /** Mark i visited; false if it already was during this walk (a loop). */
  visit(i: number): boolean {
    if (this.seen[i] === this.stamp) return false;
    this.seen[i] = this.stamp;
    return true;
  }
}

export function nestedIndirect(entry: number): VqError {
  return new VqError('DESC_NESTED_INDIRECT', 'device', `INDIRECT flag on entry ${entry} inside an indirect table`, { entry });
}

// Little-endian loads at any byte offset, composed from bytes: fields of an indirect table that is
// not 4-aligned (the aligned common path never comes here).
export function ldU16(mem: MemoryOps, off: number): number {
  return mem.ld8(off) | (mem.ld8(off + 1) << 8);
}
export function ldU32(mem: MemoryOps, off: number): number {
  return (ldU16(mem, off) | (ldU16(mem, off + 2) << 16)) >>> 0;
}
export function ldU64(mem: MemoryOps, off: number): number {
  return ldU32(mem, off) + ldU32(mem, off + 4) * 4294967296;
}
