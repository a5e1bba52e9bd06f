/** Run a peer benchmark between two worker threads; messages per second (round trips for ping-pong). */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { workerPath } from '../harness/run.js';
import type { PeerInit, PeerKind } from './peer-main.js';

export interface PeerResult {
  kind: PeerKind; messages: number; elapsed_ms: number; per_s: number; bad: number;
  /** Messages per second over the second half (start-up and warm-up excluded), as vqlab's cells are measured. */
  steady_per_s: number;
}

export async function runPeer(kind: PeerKind, messages: number, msgBytes = 16, timeoutMs = 60_000): Promise<PeerResult> {
  const slots = 1024;
  const ctl = new SharedArrayBuffer(128 * 4);
  let data: SharedArrayBuffer;
  if (kind === 'ringbuf') {
    const require = createRequire(import.meta.url);
    const { RingBuffer } = require('ringbuf.js') as { RingBuffer: { getStorageForCapacity(n: number, t: Uint8ArrayConstructor): SharedArrayBuffer } };
    data = RingBuffer.getStorageForCapacity(slots * msgBytes, Uint8Array);
  } else {
    data = new SharedArrayBuffer(slots * msgBytes);
  }
  const path = workerPath('bench-peer');
  const results: { elapsedMs: number; bad: number; steadyMs: number }[] = [];
  let ready = 0;
  const workers = (['producer', 'consumer'] as const).map((role) => {
    const init: PeerInit = { kind, role, messages, msgBytes, ctl, data, slots };
    const w = new Worker(path, { workerData: init });
    w.on('message', (m: { type: string; elapsedMs: number; bad: number; steadyMs: number }) => { if (m.type === 'ready') ready++; else results.push(m); });
    return w;
  });
  const c = new Int32Array(ctl);
  const t0 = performance.now();
  try {
    while (ready < 2) { if (performance.now() - t0 > timeoutMs) throw new Error(`peer ${kind} did not start`); await new Promise((r) => setTimeout(r, 1)); }
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
    while (results.length < 2) { if (performance.now() - t0 > timeoutMs) throw new Error(`peer ${kind} timed out`); await new Promise((r) => setTimeout(r, 2)); }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const elapsed = Math.max(...results.map((r) => r.elapsedMs));
  const steadyMs = Math.max(...results.map((r) => r.steadyMs));
  const per_s = Math.round((messages * 1000) / elapsed);
  const steady_per_s = steadyMs > 0 ? Math.round(((messages - Math.ceil(messages / 2)) * 1000) / steadyMs) : per_s;
  return { kind, messages, elapsed_ms: Math.round(elapsed * 1000) / 1000, per_s, steady_per_s, bad: results.reduce((a, r) => a + r.bad, 0) };
}
