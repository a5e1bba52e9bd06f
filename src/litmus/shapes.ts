/**
 * Litmus shapes: two tiny threads over a few 16-bit locations, and the outcome that tells a
 * reordering happened. The same shapes run in the simulator's memory models (src/sim/litmus.ts
 * enumerates every outcome each model allows) and for real between two workers over a
 * SharedArrayBuffer (src/litmus/real.ts counts what this machine and JS engine actually do).
 *
 * Ops use the ring code's barrier vocabulary (src/memory/ops.ts): st / ld are plain accesses,
 * stRel = write barrier + store, ldAcq = load + read barrier, mb = full barrier.
 */
import { splitRingLayout } from '../spec/layout.js';
import { AVAIL_IDX, AVAIL_RING, USED_FLAGS } from '../spec/constants.js';

export type LitmusOp =
  | { op: 'st' | 'stRel'; loc: string; val: number }
  | { op: 'ld' | 'ldAcq'; loc: string; reg: string }
  | { op: 'mb' };

export interface LitmusShape {
  name: string;
  what: string;
  /** Location name → byte offset (even) in a small shared buffer; initial values default to 0. */
  locs: Record<string, number>;
  init?: Record<string, number>;
  threads: [LitmusOp[], LitmusOp[]];
  /** The outcome of interest, as register values; `meaning` says why it matters. */
  target: Record<string, number>;
  meaning: string;
}

// Separate cache lines for the classic shapes; the ring shapes use the real split layout.
const LINE = 64;
const ring = splitRingLayout(256);
const R = {
  entry: ring.avail.offset + AVAIL_RING,
  availIdx: ring.avail.offset + AVAIL_IDX,
  usedFlags: ring.used.offset + USED_FLAGS,
};

export const LITMUS_SHAPES: LitmusShape[] = [
  {
    name: 'SB', what: 'store buffering: each thread stores, then loads the other\'s location',
    locs: { x: 0, y: LINE },
    threads: [[{ op: 'st', loc: 'x', val: 1 }, { op: 'ld', loc: 'y', reg: 'r0' }], [{ op: 'st', loc: 'y', val: 1 }, { op: 'ld', loc: 'x', reg: 'r1' }]],
    target: { r0: 0, r1: 0 }, meaning: 'both loads passed the other thread\'s store (store→load reordering)',
  },
  {
    name: 'SB+mb', what: 'SB with a full barrier between store and load',
    locs: { x: 0, y: LINE },
    threads: [[{ op: 'st', loc: 'x', val: 1 }, { op: 'mb' }, { op: 'ld', loc: 'y', reg: 'r0' }], [{ op: 'st', loc: 'y', val: 1 }, { op: 'mb' }, { op: 'ld', loc: 'x', reg: 'r1' }]],
    target: { r0: 0, r1: 0 }, meaning: 'a full barrier failed to order store before load',
  },
  {
    name: 'MP', what: 'message passing: data then flag; the reader reads flag then data',
    locs: { data: 0, flag: LINE },
    threads: [[{ op: 'st', loc: 'data', val: 1 }, { op: 'st', loc: 'flag', val: 1 }], [{ op: 'ld', loc: 'flag', reg: 'r0' }, { op: 'ld', loc: 'data', reg: 'r1' }]],
    target: { r0: 1, r1: 0 }, meaning: 'the flag was seen before the data it publishes',
  },
  {
    name: 'MP+rel/acq', what: 'MP with a release store of the flag and an acquire load of it',
    locs: { data: 0, flag: LINE },
    threads: [[{ op: 'st', loc: 'data', val: 1 }, { op: 'stRel', loc: 'flag', val: 1 }], [{ op: 'ldAcq', loc: 'flag', reg: 'r0' }, { op: 'ld', loc: 'data', reg: 'r1' }]],
    target: { r0: 1, r1: 0 }, meaning: 'release/acquire failed to publish the data',
  },
  {
    name: 'MP+rel', what: 'MP with a release store of the flag but a plain load of it (no read barrier on the consumer side)',
    locs: { data: 0, flag: LINE },
    threads: [[{ op: 'st', loc: 'data', val: 1 }, { op: 'stRel', loc: 'flag', val: 1 }], [{ op: 'ld', loc: 'flag', reg: 'r0' }, { op: 'ld', loc: 'data', reg: 'r1' }]],
    target: { r0: 1, r1: 0 }, meaning: 'the consumer\'s data load was satisfied before its flag load (load→load reordering)',
  },
  {
    name: 'LB', what: 'load buffering: each thread loads, then stores the other\'s location',
    locs: { x: 0, y: LINE },
    threads: [[{ op: 'ld', loc: 'x', reg: 'r0' }, { op: 'st', loc: 'y', val: 1 }], [{ op: 'ld', loc: 'y', reg: 'r1' }, { op: 'st', loc: 'x', val: 1 }]],
    target: { r0: 1, r1: 1 }, meaning: 'each load saw a store that comes after the other load (load→store reordering)',
  },
  {
    name: 'ring-publish', what: 'driver writes avail.ring[0] then avail.idx (release); device reads avail.idx (acquire) then the entry',
    locs: { 'avail.ring[0]': R.entry, 'avail.idx': R.availIdx },
    threads: [[{ op: 'st', loc: 'avail.ring[0]', val: 7 }, { op: 'stRel', loc: 'avail.idx', val: 1 }], [{ op: 'ldAcq', loc: 'avail.idx', reg: 'idx' }, { op: 'ld', loc: 'avail.ring[0]', reg: 'head' }]],
    target: { idx: 1, head: 0 }, meaning: 'the device saw the new index but a stale ring entry (it would use a wrong head)',
  },
  {
    name: 'ring-publish-no-wmb', what: 'ring-publish with avail.idx written by a plain store (the planted bug no-wmb-before-avail-idx)',
    locs: { 'avail.ring[0]': R.entry, 'avail.idx': R.availIdx },
    threads: [[{ op: 'st', loc: 'avail.ring[0]', val: 7 }, { op: 'st', loc: 'avail.idx', val: 1 }], [{ op: 'ldAcq', loc: 'avail.idx', reg: 'idx' }, { op: 'ld', loc: 'avail.ring[0]', reg: 'head' }]],
    target: { idx: 1, head: 0 }, meaning: 'the device saw the new index but a stale ring entry',
  },
  {
    name: 'ring-consume-plain', what: 'ring-publish with avail.idx read by a plain load (the planted bug device-plain-avail-idx)',
    locs: { 'avail.ring[0]': R.entry, 'avail.idx': R.availIdx },
    threads: [[{ op: 'st', loc: 'avail.ring[0]', val: 7 }, { op: 'stRel', loc: 'avail.idx', val: 1 }], [{ op: 'ld', loc: 'avail.idx', reg: 'idx' }, { op: 'ld', loc: 'avail.ring[0]', reg: 'head' }]],
    target: { idx: 1, head: 0 }, meaning: 'the device saw the new index but read the entry as it was before',
  },
  {
    name: 'notify-sleep', what: 'driver publishes avail.idx, mb, reads used.flags (kick?); device enables kicks (used.flags = 0), mb, re-reads avail.idx (sleep?)',
    locs: { 'avail.idx': R.availIdx, 'used.flags': R.usedFlags }, init: { 'used.flags': 1 },
    threads: [[{ op: 'stRel', loc: 'avail.idx', val: 1 }, { op: 'mb' }, { op: 'ld', loc: 'used.flags', reg: 'no_notify' }],
      [{ op: 'st', loc: 'used.flags', val: 0 }, { op: 'mb' }, { op: 'ld', loc: 'avail.idx', reg: 'idx' }]],
    target: { no_notify: 1, idx: 0 }, meaning: 'lost wake-up: the driver skips the kick and the device goes to sleep with work pending',
  },
  {
    name: 'notify-sleep-no-mb', what: 'notify-sleep without the full barriers (the planted bugs no-mb-before-kick-check / -interrupt-check)',
    locs: { 'avail.idx': R.availIdx, 'used.flags': R.usedFlags }, init: { 'used.flags': 1 },
    threads: [[{ op: 'stRel', loc: 'avail.idx', val: 1 }, { op: 'ld', loc: 'used.flags', reg: 'no_notify' }],
      [{ op: 'st', loc: 'used.flags', val: 0 }, { op: 'ld', loc: 'avail.idx', reg: 'idx' }]],
    target: { no_notify: 1, idx: 0 }, meaning: 'lost wake-up',
  },
];

export const LITMUS_BYTES = Math.max(...LITMUS_SHAPES.flatMap((s) => Object.values(s.locs))) + 64;

export const shapeByName = (n: string): LitmusShape | undefined => LITMUS_SHAPES.find((s) => s.name.toLowerCase() === n.toLowerCase());

/** Registers of a shape, in thread order. */
export const registersOf = (s: LitmusShape): string[] => s.threads.flatMap((t) => t.flatMap((o) => ('reg' in o ? [o.reg] : [])));

/** Canonical outcome text, e.g. "r0=0 r1=1". */
export const outcomeKey = (regs: string[], vals: number[]): string => regs.map((r, i) => `${r}=${vals[i]}`).join(' ');

export const targetKey = (s: LitmusShape): string => { const regs = registersOf(s); return outcomeKey(regs, regs.map((r) => s.target[r])); };
