/**
 * Guest memory: one SharedArrayBuffer holding the queue (ring area), the driver's indirect tables
 * and the buffer pool. Guest addresses are byte offsets into it. Device-side DMA is bounds-checked
 * against the DMA window (everything after the ring area): a descriptor may not point outside guest
 * memory, and vqlab also refuses descriptors that point into the ring itself.
 */
import { alignUp, packedRingLayout, splitRingLayout, type PackedRingLayout, type SplitRingLayout } from '../spec/layout.js';
import type { RingKind } from '../spec/features.js';
import { VqError } from '../errors.js';

export interface GuestLayoutParams {
  ring: RingKind;
  queueSize: number;
  /** Descriptors per buffer (segments). */
  segments: number;
  segmentBytes: number;
  /** Reserve indirect tables (one per possible outstanding buffer). */
  indirect: boolean;
  /** Where the queue area starts (0; a run with a WebAssembly side keeps the memory below it for the modules' private regions). */
  base?: number;
}

export interface GuestLayout {
  ring: SplitRingLayout | PackedRingLayout;
  /** Start of the DMA window (end of the ring area, 16-aligned). */
  dmaStart: number;
  /** Indirect tables: queueSize tables of `segments` 16-byte descriptors. */
  indirectBase: number;
  indirectStride: number;
  /** Buffer pool: queueSize buffers of `segments` × `segmentBytes`. */
  poolBase: number;
  bufferStride: number;
  segmentStride: number;
  totalSize: number;
}

export const MAX_GUEST_BYTES = 1 << 30;

export function guestLayout(p: GuestLayoutParams): GuestLayout {
  const base = p.base ?? 0;
  const ring = p.ring === 'split' ? splitRingLayout(p.queueSize, base) : packedRingLayout(p.queueSize, base);
  // Everything below dmaStart (the modules' regions, the ring) is outside the DMA window.
  const dmaStart = alignUp(base + ring.totalSize, 64);
  const indirectStride = p.indirect ? alignUp(16 * p.segments, 16) : 0;
  const indirectBase = dmaStart;
  const segmentStride = alignUp(p.segmentBytes, 8);
  const bufferStride = segmentStride * p.segments;
  const poolBase = alignUp(indirectBase + indirectStride * p.queueSize, 64);
  const totalSize = alignUp(poolBase + bufferStride * p.queueSize, 64);
  if (totalSize > MAX_GUEST_BYTES) {
    throw new VqError('BAD_CONFIG', 'config',
      `guest memory would need ${totalSize} bytes (> ${MAX_GUEST_BYTES}); reduce --queue-size, --segments or --segment-bytes`);
  }
  return { ring, dmaStart, indirectBase, indirectStride, poolBase, bufferStride, segmentStride, totalSize };
}

/** True when [addr, addr+len) lies inside the DMA window; safe against overflow and NaN. */
export function inDmaWindow(addr: number, len: number, dmaStart: number, size: number): boolean {
  return addr >= dmaStart && len >= 0 && addr <= size && len <= size - addr;
}
