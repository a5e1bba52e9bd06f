/**
 * Worker bodies for the peers vqlab is measured against, between the same two workers with the
 * same 16-byte messages: the machine's ceiling (an index-only SPSC ring publishing every message
 * or every 32, and an Atomics ping-pong), and ringbuf.js (a wait-free SPSC ring a JS user would
 * pick instead). Every message is checked on arrival, as vqlab checks its buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { ProgressMarks } from '../util/marks.js';

export type PeerKind = 'spsc' | 'spsc-batch32' | 'pingpong' | 'ringbuf';
export interface PeerInit {
  kind: PeerKind;
  role: 'producer' | 'consumer';
  messages: number;
  msgBytes: number;
  /** Control: [0] go, [16] producer tail (published), [32] consumer head (published), [48] ping, [64] pong. */
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  slots: number;
}

const GO = 0, TAIL = 16, HEAD = 32, PING = 48, PONG = 64;

/** The receiver's progress marks (src/util/marks.ts), set before the run: its second half is the steady state. */
let marks = new ProgressMarks(1);
function progress(done: number): void {
  if (done >= marks.due[0]) marks.mark(done, performance.now());
}

function spin(i32: Int32Array, idx: number, pred: (v: number) => boolean): number {
  let v = Atomics.load(i32, idx);
  let n = 0;
  while (!pred(v)) {
    if (++n > 1 << 16) { Atomics.wait(i32, idx, v, 1); n = 0; } // never starve the peer on 2 cores
    v = Atomics.load(i32, idx);
  }
  return v;
}

// The ceiling must be the cheapest possible handoff: plain loops, cached indexes, no closures.
function spscProducer(p: PeerInit, batch: number): void {
  const c = new Int32Array(p.ctl);
  const words = p.msgBytes >>> 2;
  const d = new Uint32Array(p.data);
  const mask = p.slots - 1;
  const slots = p.slots;
  const total = p.messages;
  let head = 0;
  let pending = 0;
  for (let i = 0; i < total; i++) {
    let n = 0;
    while (i - head >= slots) {
      head = Atomics.load(c, HEAD);
      if (++n > 1 << 16) { Atomics.wait(c, HEAD, head, 1); n = 0; } // never starve the peer on 2 cores
    }
    const o = (i & mask) * words;
    d[o] = i;
    for (let w = 1; w < words; w++) d[o + w] = i ^ w;
    if (++pending === batch || i + 1 === total) { Atomics.store(c, TAIL, i + 1); pending = 0; }
  }
}

function spscConsumer(p: PeerInit): number {
  const c = new Int32Array(p.ctl);
  const words = p.msgBytes >>> 2;
  const d = new Uint32Array(p.data);
  const mask = p.slots - 1;
  const total = p.messages;
  let tail = 0;
  let bad = 0;
  for (let i = 0; i < total; i++) {
    let n = 0;
    while (i >= tail) {
      tail = Atomics.load(c, TAIL);
      if (++n > 1 << 16) { Atomics.wait(c, TAIL, tail, 1); n = 0; }
    }
    const o = (i & mask) * words;
    if (d[o] !== i) bad++;
    // The consumer's head only tells the producer about free space: release it every 64.
    if (((i + 1) & 63) === 0 || i + 1 === total) {
      Atomics.store(c, HEAD, i + 1);
      progress(i + 1);
    }
  }
  return bad;
}

function pingpong(p: PeerInit): number {
  const c = new Int32Array(p.ctl);
  for (let i = 1; i <= p.messages; i++) {
    if (p.role === 'producer') { Atomics.store(c, PING, i); spin(c, PONG, (v) => v === i); progress(i); }
    else { spin(c, PING, (v) => v === i); Atomics.store(c, PONG, i); }
  }
  return 0;
}

function ringbuf(p: PeerInit): number {
  const require = createRequire(import.meta.url);
  const { RingBuffer } = require('ringbuf.js') as { RingBuffer: new (sab: SharedArrayBuffer, t: Uint8ArrayConstructor) => { push(a: Uint8Array): number; pop(a: Uint8Array): number } };
  const rb = new RingBuffer(p.data, Uint8Array);
  const msg = new Uint8Array(p.msgBytes);
  const dv = new DataView(msg.buffer);
  const c = new Int32Array(p.ctl);
  let bad = 0;
  for (let i = 0; i < p.messages; i++) {
    let n = 0;
    if (p.role === 'producer') {
      dv.setUint32(0, i, true);
      while (rb.push(msg) === 0) if (++n > 1 << 16) { Atomics.wait(c, GO, 1, 1); n = 0; }
    } else {
      while (rb.pop(msg) === 0) if (++n > 1 << 16) { Atomics.wait(c, GO, 1, 1); n = 0; }
      if (dv.getUint32(0, true) !== i) bad++;
      progress(i + 1);
    }
  }
  return bad;
}

export function peerWorkerMain(): void {
  const p = workerData as PeerInit;
  const c = new Int32Array(p.ctl);
  parentPort!.postMessage({ type: 'ready' });
  while (Atomics.load(c, GO) === 0) Atomics.wait(c, GO, 0, 50);
  marks = new ProgressMarks(p.messages);
  const t0 = performance.now();
  let bad = 0;
  if (p.kind === 'pingpong') bad = pingpong(p);
  else if (p.kind === 'ringbuf') bad = ringbuf(p);
  else {
    const batch = p.kind === 'spsc' ? 1 : 32;
    if (p.role === 'producer') spscProducer(p, batch); else bad = spscConsumer(p);
  }
  const t1 = performance.now();
  // The receiver (the producer for ping-pong: it sees each round trip end) times the second half.
  const receiver = p.kind === 'pingpong' ? p.role === 'producer' : p.role === 'consumer';
  parentPort!.postMessage({ type: 'done', elapsedMs: t1 - t0, bad, steadyMs: receiver && marks.halfAt() >= 0 ? t1 - marks.halfAt() : -1 });
}
