/**
 * Doorbells are transport registers, not guest memory (4.1.4.4 notifications): a separate small
 * shared region. A kick (driver → device) and an interrupt (device → driver) each bump a counter;
 * in `wait` mode the other side sleeps on it with Atomics.wait and is woken with Atomics.notify.
 * Atomics.wait needs an Int32Array, which is another reason these are not the 16-bit ring indexes.
 */
export type NotifyMode = 'poll' | 'wait';

export const DB_KICK = 0;
export const DB_IRQ = 1;
/** Words reserved so each counter sits on its own 64-byte cache line. */
const STRIDE = 16;
export const DOORBELL_BYTES = 4 * STRIDE * 2;

/** The doorbell seam: the threaded harness uses Doorbells (Atomics); the simulator its own. */
export interface Doorbell {
  readonly mode: NotifyMode;
  ring(which: number): void;
  read(which: number): number;
  wait(which: number, seen: number, timeoutMs: number): boolean;
  /** Wake every sleeper without ringing (harness signals: done, stop). */
  wakeAll(): void;
}

export class Doorbells implements Doorbell {
  readonly i32: Int32Array;
  constructor(readonly buffer: SharedArrayBuffer, readonly mode: NotifyMode) {
    this.i32 = new Int32Array(buffer);
  }
  static create(mode: NotifyMode): Doorbells {
    return new Doorbells(new SharedArrayBuffer(DOORBELL_BYTES), mode);
  }
  /** Ring doorbell `which` (DB_KICK or DB_IRQ). */
  ring(which: number): void {
    const i = which * STRIDE;
    Atomics.add(this.i32, i, 1);
    if (this.mode === 'wait') Atomics.notify(this.i32, i);
  }
  read(which: number): number { return Atomics.load(this.i32, which * STRIDE); }
  wakeAll(): void {
    Atomics.notify(this.i32, DB_KICK * STRIDE);
    Atomics.notify(this.i32, DB_IRQ * STRIDE);
  }
  /** Sleep until doorbell `which` moves past `seen` or `timeoutMs` passes. Returns true if it moved. */
  wait(which: number, seen: number, timeoutMs: number): boolean {
    const r = Atomics.wait(this.i32, which * STRIDE, seen, timeoutMs);
    return r !== 'timed-out';
  }
}
