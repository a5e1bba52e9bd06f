/**
 * A descriptor chain as the device sees it, in preallocated scratch arrays (no allocation per
 * buffer), and the descriptor rules both rings share (digest "Descriptor rules a device must check").
 */
import { VqError } from '../errors.js';
import { inDmaWindow } from '../memory/guest.js';

export class Chain {
  /** Buffer id (split: head descriptor index; packed: Buffer ID from the last descriptor). */
  id = 0;
  /** Ring slots the chain took (split: 1; packed: descriptors in the ring). */
  weight = 0;
  n = 0;
  nWrite = 0;
  writeCapacity = 0;
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
    // A table is an array of 16-byte descriptors; vqlab reads their fields with aligned typed-array
    // loads, so a table that is not 16-aligned would be misread. Rejected, as rust-vmm's
    // virtio-queue does (found by `vqlab fuzz`: class indirect-misaligned).
    if (addr % 16 !== 0) throw new VqError('DESC_INDIRECT_MISALIGNED', 'device', `indirect table at ${addr} is not 16-byte aligned`, { addr, len });
    return entries;
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
