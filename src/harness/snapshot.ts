/**
 * The queue's state as guest memory shows it, read by the main thread: what a failure report
 * needs even when a worker is dead or stuck and cannot describe itself.
 */
import { AVAIL_FLAGS, AVAIL_IDX, USED_FLAGS, USED_IDX, EVENT_SUPPRESS_FLAGS, EVENT_SUPPRESS_OFF_WRAP } from '../spec/constants.js';
import type { GuestLayout } from '../memory/guest.js';

export function queueSnapshot(gl: GuestLayout, guest: SharedArrayBuffer): Record<string, unknown> {
  const u16 = new Uint16Array(guest, 0, guest.byteLength >>> 1);
  const ld = (off: number): number => Atomics.load(u16, off >>> 1);
  const r = gl.ring;
  if (r.ring === 'split') {
    return {
      ring: 'split',
      queue_size: r.queueSize,
      avail_flags: ld(r.avail.offset + AVAIL_FLAGS),
      avail_idx: ld(r.avail.offset + AVAIL_IDX),
      used_event: ld(r.usedEvent.offset),
      used_flags: ld(r.used.offset + USED_FLAGS),
      used_idx: ld(r.used.offset + USED_IDX),
      avail_event: ld(r.availEvent.offset),
    };
  }
  return {
    ring: 'packed',
    queue_size: r.queueSize,
    driver_event_off_wrap: ld(r.driverEvent.offset + EVENT_SUPPRESS_OFF_WRAP),
    driver_event_flags: ld(r.driverEvent.offset + EVENT_SUPPRESS_FLAGS),
    device_event_off_wrap: ld(r.deviceEvent.offset + EVENT_SUPPRESS_OFF_WRAP),
    device_event_flags: ld(r.deviceEvent.offset + EVENT_SUPPRESS_FLAGS),
  };
}
