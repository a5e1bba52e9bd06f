/** The body of a side's worker thread: build the side, wait for GO, run, report. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildDevice, buildDriver, type SideInit } from './sides.js';
import { Control, CTL_DEVICE_STATE, CTL_DRIVER_STATE, CTL_GO, SideState } from './control.js';
import { isVqError } from '../errors.js';
import type { VirtioDriver } from '../driver/driver.js';
import type { VirtioDevice } from '../device/device.js';

export type Side = 'driver' | 'device';

export interface SideDone {
  type: 'done';
  side: Side;
  elapsedMs: number;
  state: Record<string, number | boolean>;
  /** Driver only: latency histogram, sparse [bucket, count] pairs. */
  latency?: { buckets: [number, number][]; total: number; max: number };
}

export interface SideFailed {
  type: 'error';
  side: Side;
  error: { code: string; side: string; message: string; details: Record<string, unknown> };
  state: Record<string, number | boolean> | null;
}

export function sideWorkerMain(side: Side): void {
  const port = parentPort;
  if (!port) throw new Error('vqlab worker entry point started outside a worker thread');
  const init = workerData as SideInit;
  const control = new Control(init.shared.control);
  const stateWord = side === 'driver' ? CTL_DRIVER_STATE : CTL_DEVICE_STATE;
  let s: VirtioDriver | VirtioDevice | null = null;
  try {
    s = side === 'driver' ? buildDriver(init) : buildDevice(init);
    port.postMessage({ type: 'ready', side });
    while (Atomics.load(control.ctl, CTL_GO) === 0 && !control.stopRequested()) Atomics.wait(control.ctl, CTL_GO, 0, 100);
    const t0 = performance.now();
    s.run();
    const elapsedMs = performance.now() - t0;
    const msg: SideDone = { type: 'done', side, elapsedMs, state: s.ring.state() };
    if (side === 'driver') {
      const h = (s as VirtioDriver).latency;
      const buckets: [number, number][] = [];
      h.counts.forEach((c, i) => { if (c > 0) buckets.push([i, c]); });
      msg.latency = { buckets, total: h.total, max: h.max };
    }
    port.postMessage(msg);
  } catch (e) {
    control.setState(stateWord, SideState.Failed);
    let state: Record<string, number | boolean> | null = null;
    try { state = s ? s.ring.state() : null; } catch { /* the state itself may be what is broken */ }
    const error = isVqError(e)
      ? { code: e.code, side: e.side, message: e.message, details: e.details }
      : { code: 'WORKER_DIED', side, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), details: { stack: e instanceof Error ? e.stack : undefined } };
    const msg: SideFailed = { type: 'error', side, error, state };
    port.postMessage(msg);
  }
}
