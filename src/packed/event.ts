/**
 * Packed-ring event suppression (virtio 2.8.10, `struct pvirtq_event_suppress`), the same for both
 * directions: the driver reads the device's structure to decide on a kick and writes its own to
 * ask for interrupts; the device does the mirror image. Only the structure, the position and the
 * wrap counter differ, so the logic lives here once.
 */
import {
  EVENT_SUPPRESS_FLAGS, EVENT_SUPPRESS_OFF_WRAP, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_MASK, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE,
} from '../spec/constants.js';
import { vringNeedEvent } from '../spec/layout.js';
import type { MemoryOps } from '../memory/ops.js';

/**
 * Full barrier after publishing, then the other side's structure at `other`: notify unless it says
 * DISABLE; with EVENT_IDX and DESC, when `pos` (in lap `wrap`) moved past its event offset in the
 * last `moved` slots — an event in the previous lap counts N back (2.8.10.1).
 */
export function needNotify(mem: MemoryOps, other: number, eventIdx: boolean, n: number, wrap: number, pos: number, moved: number): boolean {
  mem.mb();
  // Only the low two bits are the event flags (2.8.10: the other 14 are reserved): a peer setting
  // reserved bits must not turn DESC or DISABLE into "anything else", i.e. ENABLE.
  const flags = mem.ld16Acquire(other + EVENT_SUPPRESS_FLAGS) & RING_EVENT_FLAGS_MASK;
  if (flags === RING_EVENT_FLAGS_DESC && eventIdx) {
    const offWrap = mem.ld16Acquire(other + EVENT_SUPPRESS_OFF_WRAP);
    let event = offWrap & 0x7fff;
    if ((offWrap >>> 15) !== wrap) event = (event - n) & 0xffff;
    return vringNeedEvent(event, pos, (pos - moved) & 0xffff);
  }
  return flags !== RING_EVENT_FLAGS_DISABLE;
}

/** Ask for notifications in our own structure at `own`: ENABLE, or with EVENT_IDX an event at `pos` in lap `wrap` (offset first). */
export function enableNotify(mem: MemoryOps, own: number, eventIdx: boolean, pos: number, wrap: number): void {
  if (eventIdx) {
    mem.st16Release(own + EVENT_SUPPRESS_OFF_WRAP, pos | (wrap << 15));
    mem.st16Release(own + EVENT_SUPPRESS_FLAGS, RING_EVENT_FLAGS_DESC);
  } else {
    mem.st16Release(own + EVENT_SUPPRESS_FLAGS, RING_EVENT_FLAGS_ENABLE);
  }
}

export function disableNotify(mem: MemoryOps, own: number): void {
  mem.st16Release(own + EVENT_SUPPRESS_FLAGS, RING_EVENT_FLAGS_DISABLE);
}
