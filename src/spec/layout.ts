/** Byte layouts of a queue's parts, laid out back to back with the spec alignments (2.7, 2.8). */
import {
  EVENT_SUPPRESS_SIZE, MAX_QUEUE_SIZE, PACKED_DESC_ALIGN, PACKED_DESC_SIZE, PACKED_EVENT_ALIGN,
  SPLIT_AVAIL_ALIGN, SPLIT_DESC_ALIGN, SPLIT_DESC_SIZE, SPLIT_USED_ALIGN, USED_ELEM_SIZE,
} from './constants.js';
import { VqError } from '../errors.js';

export interface Region { offset: number; size: number; }

export interface SplitRingLayout {
  ring: 'split';
  queueSize: number;
  desc: Region;
  avail: Region;
  used: Region;
  /** `used_event` lives at the end of the available ring (EVENT_IDX). */
  usedEvent: Region;
  /** `avail_event` lives at the end of the used ring (EVENT_IDX). */
  availEvent: Region;
  totalSize: number;
}

export interface PackedRingLayout {
  ring: 'packed';
  queueSize: number;
  desc: Region;
  driverEvent: Region;
  deviceEvent: Region;
  totalSize: number;
}

export const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Split queue size rule (2.7): a power of 2, at most 32768. */
export function checkSplitQueueSize(queueSize: number): void {
  if (!isPowerOfTwo(queueSize) || queueSize > MAX_QUEUE_SIZE) {
    throw new VqError('BAD_QUEUE_SIZE', 'config',
      `split queue size must be a power of 2 in 1..${MAX_QUEUE_SIZE}, got ${queueSize}`);
  }
}

/** Packed queue size rule (2.8): 1..32768, any value. */
export function checkPackedQueueSize(queueSize: number): void {
  if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > MAX_QUEUE_SIZE) {
    throw new VqError('BAD_QUEUE_SIZE', 'config',
      `packed queue size must be an integer in 1..${MAX_QUEUE_SIZE}, got ${queueSize}`);
  }
}

/**
 * Split ring: desc table (align 16, 16N), avail ring (align 2, 6+2N incl. used_event),
 * used ring (align 4, 6+8N incl. avail_event). Equals Linux vring_init(num, p, align=4).
 */
export function splitRingLayout(queueSize: number, base = 0): SplitRingLayout {
  checkSplitQueueSize(queueSize);
  const n = queueSize;
  const descOff = alignUp(base, SPLIT_DESC_ALIGN);
  const desc = { offset: descOff, size: SPLIT_DESC_SIZE * n };
  const availOff = alignUp(desc.offset + desc.size, SPLIT_AVAIL_ALIGN);
  const avail = { offset: availOff, size: 6 + 2 * n };
  const usedEvent = { offset: availOff + 4 + 2 * n, size: 2 };
  const usedOff = alignUp(avail.offset + avail.size, SPLIT_USED_ALIGN);
  const used = { offset: usedOff, size: 6 + USED_ELEM_SIZE * n };
  const availEvent = { offset: usedOff + 4 + USED_ELEM_SIZE * n, size: 2 };
  return { ring: 'split', queueSize: n, desc, avail, used, usedEvent, availEvent, totalSize: used.offset + used.size - base };
}

/** Packed ring: descriptor ring (align 16, 16N), driver then device event suppression (align 4, 4 each). */
export function packedRingLayout(queueSize: number, base = 0): PackedRingLayout {
  checkPackedQueueSize(queueSize);
  const n = queueSize;
  const desc = { offset: alignUp(base, PACKED_DESC_ALIGN), size: PACKED_DESC_SIZE * n };
  const driverEvent = { offset: alignUp(desc.offset + desc.size, PACKED_EVENT_ALIGN), size: EVENT_SUPPRESS_SIZE };
  const deviceEvent = { offset: alignUp(driverEvent.offset + driverEvent.size, PACKED_EVENT_ALIGN), size: EVENT_SUPPRESS_SIZE };
  return { ring: 'packed', queueSize: n, desc, driverEvent, deviceEvent, totalSize: deviceEvent.offset + deviceEvent.size - base };
}

/**
 * vring_need_event (2.7.10 / Linux virtio_ring.h): notify iff the other side's event index lies in
 * [old, new), all arithmetic on free-running 16-bit counters.
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}
