/**
 * A hostile driver against the split ring's device side (SplitDeviceRing.pollAvail / popChain /
 * popLone).
 *
 * Each case lays out a queue of random size and features in a fresh guest memory, has a well-behaved
 * driver publish a few batches of valid chains (direct and indirect; the device pops them, checked
 * segment by segment against a reference walk, and uses them), then publishes one batch ending in a
 * hostile chain or index of one class. The device runs over a GuardedMemory: any out-of-bounds or
 * misaligned access, or a write outside the used ring, is a crash. It must end in a typed VqError
 * from the device whose code the reference walk (an independent, byte-level implementation of the
 * spec's descriptor rules over a DataView) allows, after popping no more than was published, with
 * guest memory outside the used ring byte-identical.
 */
import { AtomicsMemory } from '../memory/ops.js';
import { alignUp, splitRingLayout, type SplitRingLayout } from '../spec/layout.js';
import { featureBits, negotiate } from '../spec/features.js';
import {
  AVAIL_IDX, AVAIL_RING, SPLIT_DESC_SIZE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
} from '../spec/constants.js';
import { SplitDeviceRing } from '../split/device.js';
import { Chain } from '../ring/chain.js';
import type { Rng } from '../util/rng.js';
import { GuardedMemory, changedOutside } from './guarded.js';
import { segmentWalk, type RefParams, type Seg } from './reference.js';
import { chance, judge, shuffled, type FuzzCaseResult, type FuzzTarget } from './types.js';

const NEXT = VIRTQ_DESC_F_NEXT;
const WRITE = VIRTQ_DESC_F_WRITE;
const INDIRECT = VIRTQ_DESC_F_INDIRECT;
/** Entries per indirect table slot in the fuzz layout (valid tables use at most this many). */
const TABLE_SLOT = 8;
const DATA_BYTES = 4096;


/**
 * Reference walk of the chain at `head`: its segments, or the rule codes the descriptor that first
 * breaks a rule breaks (all of them: the device may check them in any order). Written from the
 * spec text, independently of src/split/device.ts, on a DataView (byte-exact, any alignment).
 */
export function refSplitChain(dv: DataView, p: RefParams, head: number): Seg[] | string[] {
  const { segs, inWindow, add } = segmentWalk(p);
  const read = (off: number): { addr: bigint; len: number; flags: number; next: number } | null =>
    off >= 0 && off + 16 <= dv.byteLength
      ? { addr: dv.getBigUint64(off, true), len: dv.getUint32(off + 8, true), flags: dv.getUint16(off + 12, true), next: dv.getUint16(off + 14, true) }
      : null;
  if (head >= p.n) return ['AVAIL_BAD_HEAD'];
  const seen = new Set<number>();
  let i = head;
  for (let count = 0; ; count++) {
    const c: string[] = [];
    if (count >= p.n) c.push('DESC_CHAIN_TOO_LONG');
    if (seen.has(i)) c.push('DESC_LOOP');
    if (c.length) return c;
    seen.add(i);
    const d = read(p.descBase + i * 16)!;
    if (d.flags & INDIRECT) {
      if (d.flags & NEXT) c.push('DESC_INDIRECT_AND_NEXT');
      if (!p.indirect) c.push('DESC_INDIRECT_NOT_NEGOTIATED');
      if (d.len === 0 || d.len % 16 !== 0) c.push('DESC_INDIRECT_BAD_LEN');
      else if (d.len / 16 > p.n) c.push('DESC_CHAIN_TOO_LONG');
      if (!inWindow(d.addr, d.len)) c.push('DESC_ADDR_OUT_OF_RANGE');
      // No alignment rule for a table: the DataView reads it byte-exact wherever it is.
      if (c.length) return c;
      const entries = d.len / 16;
      const tseen = new Set<number>();
      for (let j = 0; ;) {
        if (tseen.has(j)) return ['DESC_LOOP'];
        tseen.add(j);
        const e = read(Number(d.addr) + j * 16)!;
        if (e.flags & INDIRECT) return ['DESC_NESTED_INDIRECT'];
        const r = add(e.addr, e.len, (e.flags & WRITE) !== 0);
        if (r) return r;
        if (!(e.flags & NEXT)) return segs;
        const ce: string[] = [];
        if (e.next >= entries) ce.push('DESC_NEXT_OUT_OF_RANGE');
        // 2.7.5.3.1: with IN_ORDER, entry j links to j + 1.
        if (p.inOrder && e.next !== j + 1) ce.push('DESC_IN_ORDER_NEXT');
        if (ce.length) return ce;
        j = e.next;
      }
    }
    const r = add(d.addr, d.len, (d.flags & WRITE) !== 0);
    if (r) return r;
    if (!(d.flags & NEXT)) return segs;
    if (d.next >= p.n) c.push('DESC_NEXT_OUT_OF_RANGE');
    // 2.7.5.2: with IN_ORDER, descriptor x links to x + 1 (0 after the last one).
    if (p.inOrder && d.next !== (i + 1) % p.n) c.push('DESC_IN_ORDER_NEXT');
    if (c.length) return c;
    i = d.next;
  }
}

export const SPLIT_DEVICE_CLASSES = [
  'loop', 'next-out-of-range', 'chain-too-long', 'chain-over-seg-max', 'write-before-read',
  'indirect-and-next', 'nested-indirect', 'indirect-bad-len', 'indirect-too-long', 'indirect-not-negotiated',
  'indirect-loop', 'indirect-next-out-of-range', 'indirect-write-before-read', 'indirect-misaligned',
  'addr-out-of-range', 'addr-high-word', 'addr-overflow', 'addr-into-ring', 'indirect-table-out-of-range',
  'avail-idx-jump', 'avail-idx-backwards', 'bad-head', 'random-descriptors', 'in-order-next', 'in-order-indirect-next',
] as const;

/** Classes whose input is legal: the device must pop all of it exactly as the reference does. */
const LEGAL = new Set<string>(['indirect-misaligned']);
/** Classes that need VIRTIO_F_IN_ORDER negotiated. */
const IN_ORDER_CLASSES = new Set<string>(['in-order-next', 'in-order-indirect-next']);

interface Rig {
  rng: Rng;
  n: number;
  L: SplitRingLayout;
  mem: AtomicsMemory;
  dv: DataView;
  dmaStart: number;
  tableBase: number;
  dataBase: number;
  size: number;
  indirect: boolean;
  segMax: number;
  availIdx: number;
  tableSlot: number;
  /** VIRTIO_F_IN_ORDER: chains link x to x + 1 and tables are sequential (free lists are ring order). */
  inOrder: boolean;
}

function desc(r: Rig, i: number, addr: number, len: number, flags: number, next: number): void {
  const d = r.L.desc.offset + i * SPLIT_DESC_SIZE;
  r.mem.st64(d, addr); r.mem.st32(d + 8, len >>> 0); r.mem.st16(d + 12, flags); r.mem.st16(d + 14, next);
}

/** A descriptor's worth of bytes somewhere in the data area. */
function dataSeg(r: Rig): [number, number] {
  const len = r.rng.int(64);
  return [r.dataBase + r.rng.int(DATA_BYTES - len + 1), len];
}

/** A fresh 16-aligned indirect table slot. */
function takeTable(r: Rig): number {
  const t = r.tableBase + (r.tableSlot % r.n) * TABLE_SLOT * 16;
  r.tableSlot++;
  return t;
}

function tableEntry(r: Rig, table: number, j: number, addr: number, len: number, flags: number, next: number): void {
  // Byte-exact at any alignment (a table need not be aligned).
  const d = table + j * 16;
  r.dv.setBigUint64(d, BigInt(addr), true); r.dv.setUint32(d + 8, len >>> 0, true); r.dv.setUint16(d + 12, flags, true); r.dv.setUint16(d + 14, next, true);
}

/** Descriptor indexes for a round: random, or under IN_ORDER ring order from a random start (any run of them links x to x + 1). */
function freeList(r: Rig): number[] {
  if (!r.inOrder) return shuffled(r.rng, r.n);
  const s = r.rng.int(r.n);
  return Array.from({ length: r.n }, (_, k) => (s + k) % r.n);
}

/** Write a valid chain over the free descriptors `free` (consumed from the end); returns its head. */
function validChain(r: Rig, free: number[]): number {
  const rng = r.rng;
  if (r.indirect && chance(rng, 0.3) && r.segMax >= 1) {
    const head = free.pop()!;
    const m = 1 + rng.int(Math.min(TABLE_SLOT, r.segMax, r.n));
    const nR = rng.int(m + 1);
    const t = takeTable(r);
    const order = r.inOrder ? Array.from({ length: m }, (_, k) => k) : shuffled(rng, m).filter((x) => x !== 0);
    if (!r.inOrder) order.unshift(0);
    for (let k = 0; k < m; k++) {
      const [a, l] = dataSeg(r);
      const last = k === m - 1;
      tableEntry(r, t, order[k], a, l, (k >= nR ? WRITE : 0) | (last ? 0 : NEXT), last ? rng.int(65536) : order[k + 1]);
    }
    // The WRITE flag on the descriptor that points to a table must be ignored (2.7.5.3.2).
    desc(r, head, t, m * 16, INDIRECT | (chance(rng, 0.2) ? WRITE : 0), rng.int(65536));
    return head;
  }
  const m = 1 + rng.int(Math.min(free.length, r.segMax, 6));
  const nR = rng.int(m + 1);
  const ds = free.splice(free.length - m, m);
  for (let k = 0; k < m; k++) {
    const [a, l] = dataSeg(r);
    const last = k === m - 1;
    desc(r, ds[k], a, l, (k >= nR ? WRITE : 0) | (last ? 0 : NEXT), last ? rng.int(65536) : ds[k + 1]);
  }
  return ds[0];
}

function publish(r: Rig, heads: number[], idx?: number): void {
  for (const h of heads) {
    r.mem.st16(r.L.avail.offset + AVAIL_RING + (r.availIdx & (r.n - 1)) * 2, h);
    r.availIdx = (r.availIdx + 1) & 0xffff;
  }
  r.mem.st16Release(r.L.avail.offset + AVAIL_IDX, idx ?? r.availIdx);
}

/** A chain of `m` descriptors from `free` whose last one is returned for the caller to spoil. */
function plainChain(r: Rig, free: number[], m: number, writableFrom = m): { head: number; ds: number[] } {
  const ds = free.splice(free.length - m, m);
  for (let k = 0; k < m; k++) {
    const [a, l] = dataSeg(r);
    desc(r, ds[k], a, l, (k >= writableFrom ? WRITE : 0) | (k < m - 1 ? NEXT : 0), k < m - 1 ? ds[k + 1] : 0);
  }
  return { head: ds[0], ds };
}

/**
 * Build the hostile chain of class `cls` over `free`; returns its head, or an avail.idx override
 * (index classes). Each class keeps everything but its one defect valid.
 */
function hostile(r: Rig, cls: string, free: number[]): { head?: number; idx?: number } {
  const rng = r.rng;
  const n = r.n;
  const lastOf = (c: { ds: number[] }): number => c.ds[c.ds.length - 1];
  const reDesc = (i: number, patch: Partial<{ addr: number; len: number; flags: number; next: number }>): void => {
    const d = r.L.desc.offset + i * 16;
    desc(r, i, patch.addr ?? r.mem.ld64(d), patch.len ?? r.mem.ld32(d + 8), patch.flags ?? r.mem.ld16(d + 12), patch.next ?? r.mem.ld16(d + 14));
  };
  const m = (): number => 1 + rng.int(free.length);
  switch (cls) {
    case 'loop': {
      const c = plainChain(r, free, m());
      reDesc(lastOf(c), { flags: NEXT | (r.mem.ld16(r.L.desc.offset + lastOf(c) * 16 + 12) & WRITE), next: c.ds[rng.int(c.ds.length)] });
      return { head: c.head };
    }
    case 'next-out-of-range': {
      const c = plainChain(r, free, m());
      reDesc(lastOf(c), { flags: NEXT, next: n + rng.int(65536 - n) });
      return { head: c.head };
    }
    case 'chain-too-long': {
      // Through every descriptor and on: no loop shorter than the queue, a chain longer than it.
      const c = plainChain(r, free, free.length);
      reDesc(lastOf(c), { flags: NEXT, next: c.head });
      return { head: c.head };
    }
    case 'chain-over-seg-max': {
      const c = plainChain(r, free, Math.min(free.length, r.segMax + 1));
      return { head: c.head };
    }
    case 'write-before-read': {
      if (free.length < 2) return hostile(r, 'next-out-of-range', free);
      // Some writable descriptor, then a readable one after it.
      const c = plainChain(r, free, 2 + rng.int(free.length - 1));
      const w = rng.int(c.ds.length - 1);
      const rd = w + 1 + rng.int(c.ds.length - 1 - w);
      for (let j = 0; j < c.ds.length; j++) {
        const last = j === c.ds.length - 1;
        const writable = j === rd ? false : j >= w && (j === w || rng.int(2) === 1);
        reDesc(c.ds[j], { flags: (writable ? WRITE : 0) | (last ? 0 : NEXT) });
      }
      return { head: c.head };
    }
    case 'indirect-and-next': {
      const head = free.pop()!;
      desc(r, head, takeTable(r), 16 * (1 + rng.int(Math.min(n, TABLE_SLOT))), INDIRECT | NEXT, free.length ? free[0] : 0);
      return { head };
    }
    case 'nested-indirect': {
      const head = free.pop()!;
      const t = takeTable(r);
      const k = 1 + rng.int(Math.min(n, TABLE_SLOT));
      const bad = rng.int(k);
      for (let j = 0; j < k; j++) {
        const [a, l] = dataSeg(r);
        tableEntry(r, t, j, j === bad ? takeTable(r) : a, j === bad ? 16 : l, (j === bad ? INDIRECT : 0) | (j < k - 1 ? NEXT : 0), j + 1);
      }
      desc(r, head, t, 16 * k, INDIRECT, 0);
      return { head };
    }
    case 'indirect-bad-len': {
      const head = free.pop()!;
      desc(r, head, takeTable(r), chance(rng, 0.2) ? 0 : 16 * rng.int(Math.min(n, TABLE_SLOT)) + 1 + rng.int(15), INDIRECT, 0);
      return { head };
    }
    case 'indirect-too-long': {
      const head = free.pop()!;
      desc(r, head, r.tableBase, 16 * (n + 1 + rng.int(4 * n)), INDIRECT, 0);
      return { head };
    }
    case 'indirect-not-negotiated':
    case 'indirect-loop':
    case 'indirect-next-out-of-range':
    case 'indirect-write-before-read':
    case 'indirect-misaligned': {
      const head = free.pop()!;
      let t = takeTable(r);
      // Any alignment but 16, the table still inside its slot (at most TABLE_SLOT - 1 entries).
      if (cls === 'indirect-misaligned') t += 1 + rng.int(15);
      const kMax = Math.min(n, cls === 'indirect-misaligned' ? TABLE_SLOT - 1 : TABLE_SLOT);
      const k = Math.max(cls === 'indirect-write-before-read' ? 2 : 1, 1 + rng.int(kMax));
      const k2 = Math.min(k, n);
      for (let j = 0; j < k2; j++) {
        const [a, l] = dataSeg(r);
        const last = j === k2 - 1;
        let flags = last ? 0 : NEXT;
        let next = j + 1;
        if (cls === 'indirect-write-before-read') flags |= j === 0 || !last ? WRITE : 0;
        if (last && cls === 'indirect-loop') { flags |= NEXT; next = rng.int(k2); }
        if (last && cls === 'indirect-next-out-of-range') { flags |= NEXT; next = k2 + rng.int(65536 - k2); }
        tableEntry(r, t, j, a, l, flags, last && !(flags & NEXT) ? 0 : next);
      }
      if (cls === 'indirect-write-before-read' && k2 < 2) return hostile(r, 'indirect-loop', [head]);
      desc(r, head, t, 16 * k2, INDIRECT, 0);
      return { head };
    }
    case 'addr-out-of-range':
    case 'addr-high-word':
    case 'addr-overflow':
    case 'addr-into-ring': {
      const c = plainChain(r, free, m(), rng.int(3));
      const victim = c.ds[rng.int(c.ds.length)];
      let addr: number; let len: number;
      if (cls === 'addr-out-of-range') { len = 1 + rng.int(64); addr = r.size - len + 1 + rng.int(4096); }
      else if (cls === 'addr-high-word') { addr = (1 + rng.int(0xffffffff)) * 4294967296 + rng.int(0xffffffff); len = rng.int(64); }
      else if (cls === 'addr-overflow') { addr = r.dataBase + rng.int(DATA_BYTES); len = 0xffffffff - rng.int(r.size); }
      else { addr = rng.int(r.dmaStart); len = 1 + rng.int(r.dmaStart - addr); }
      if (cls === 'addr-overflow' && chance(rng, 0.5)) { addr = 0xffffffff * 4294967296 + 0xffffff00; len = 0x200; }
      reDesc(victim, { addr, len });
      return { head: c.head };
    }
    case 'indirect-table-out-of-range': {
      const head = free.pop()!;
      const v = rng.int(3);
      const addr = v === 0 ? r.size - 16 * rng.int(2) : v === 1 ? 16 * rng.int(r.dmaStart >> 4) : 2 ** 40 + 16 * rng.int(1000);
      desc(r, head, addr, 16 * (1 + rng.int(Math.min(n, TABLE_SLOT))), INDIRECT, 0);
      return { head };
    }
    case 'bad-head':
      return { head: n + rng.int(65536 - n) };
    case 'avail-idx-jump':
      return { idx: (r.availIdx + n + 1 + rng.int(65536 - n - 1)) & 0xffff };
    case 'avail-idx-backwards':
      // avail.idx behind what the device already consumed: a jump of almost 2^16.
      return { idx: (r.availIdx - 1 - rng.int(Math.max(1, 65535 - n))) & 0xffff };
    case 'random-descriptors': {
      // Random bytes over the descriptor table and the table area, flags biased to the defined bits.
      const u8 = r.mem.u8;
      for (let o = r.L.desc.offset; o < r.L.desc.offset + 16 * n; o++) u8[o] = rng.int(256);
      for (let o = r.tableBase; o < r.dataBase; o++) u8[o] = rng.int(256);
      const fix = (d: number, entries: number): void => {
        if (chance(rng, 0.5)) r.mem.st16(d + 12, rng.int(8));
        if (chance(rng, 0.5)) r.mem.st16(d + 14, rng.int(entries + 1));
        if (chance(rng, 0.5)) { const [a, l] = dataSeg(r); r.mem.st64(d, a); r.mem.st32(d + 8, l); }
        else if (chance(rng, 0.3)) { r.mem.st64(d, r.tableBase + 16 * rng.int((r.dataBase - r.tableBase) / 16)); r.mem.st32(d + 8, 16 * (1 + rng.int(TABLE_SLOT))); }
      };
      for (let i = 0; i < n; i++) fix(r.L.desc.offset + 16 * i, n);
      for (let o = r.tableBase; o < r.dataBase; o += 16) fix(o, TABLE_SLOT);
      return { head: rng.int(n) };
    }
    case 'in-order-next': {
      // IN_ORDER: a chain (≥ 2 descriptors) with one next that is not x + 1 but in range.
      if (n < 2 || free.length < 2) return hostile(r, 'in-order-indirect-next', free);
      const c = plainChain(r, free, 2 + rng.int(free.length - 1), rng.int(3));
      const j = rng.int(c.ds.length - 1);
      const x = c.ds[j];
      let bad = rng.int(n);
      if (bad === (x + 1) % n) bad = (bad + 1) % n;
      reDesc(x, { next: bad });
      return { head: c.head };
    }
    case 'in-order-indirect-next': {
      // IN_ORDER: an indirect table of ≥ 2 entries linked in an order other than 0, 1, 2, ...
      const k = Math.min(n, TABLE_SLOT);
      if (k < 2 || !r.indirect) return hostile(r, 'bad-head', free);
      const head = free.pop()!;
      const t = takeTable(r);
      const m = 2 + rng.int(k - 1);
      const j = rng.int(m - 1);
      let bad = rng.int(m);
      if (bad === j + 1) bad = (bad + 1) % m;
      for (let e = 0; e < m; e++) {
        const [a, l] = dataSeg(r);
        const last = e === m - 1;
        tableEntry(r, t, e, a, l, last ? 0 : NEXT, last ? 0 : e === j ? bad : e + 1);
      }
      desc(r, head, t, 16 * m, INDIRECT, 0);
      return { head };
    }
  }
  throw new Error(`unknown split device fuzz class ${cls}`);
}

export function splitDeviceCase(rng: Rng, cls: string): FuzzCaseResult {
  const n = 1 << rng.int(9);
  const indirect = cls === 'indirect-not-negotiated' ? false
    : cls.startsWith('indirect') || cls === 'nested-indirect' || cls === 'in-order-indirect-next' ? true : chance(rng, 0.5);
  const inOrder = IN_ORDER_CLASSES.has(cls) || chance(rng, 0.3);
  const eventIdx = chance(rng, 0.5);
  const L = splitRingLayout(n);
  const dmaStart = alignUp(L.totalSize, 64);
  const tableBase = dmaStart;
  const dataBase = tableBase + n * TABLE_SLOT * 16;
  const size = dataBase + DATA_BYTES;
  const mem = new AtomicsMemory(new SharedArrayBuffer(size));
  const guard = new GuardedMemory(mem);
  if (cls === 'chain-over-seg-max' && n === 1) cls = 'loop';
  const segMax = cls === 'chain-over-seg-max' ? 1 + rng.int(Math.min(n - 1, 8)) : chance(rng, 0.2) ? 1 + rng.int(2 * n) : 2 * n;
  const r: Rig = { rng, n, L, mem, dv: new DataView(mem.buffer), dmaStart, tableBase, dataBase, size, indirect, segMax, availIdx: 0, tableSlot: 0, inOrder };
  // IN_ORDER alone or with PARTIAL_ORDER (IN_ORDER's rules either way).
  const bits = featureBits({ ring: 'split', order: inOrder ? (chance(rng, 0.5) ? 'in-order' : 'in-order,partial') : 'none', eventIdx, indirect });
  const dev = new SplitDeviceRing(guard, L, negotiate(bits, bits), dmaStart);
  // The device may write the used ring (flags, idx, entries, avail_event) and nothing else.
  guard.writable = [[L.used.offset, L.used.offset + L.used.size]];
  const chain = new Chain(segMax, dmaStart, size);
  const ref: RefParams = { descBase: L.desc.offset, n, indirect, dmaStart, size, segMax, inOrder };
  let popped = 0;
  const loneId = new Uint16Array(4);
  const loneAddr = new Float64Array(4);
  const loneLen = new Uint32Array(4);
  /** The step in progress: polling avail.idx, or popping the chain at `head`. */
  let stage: 'poll' | 'pop' = 'poll';
  let curHead = 0;

  /** Pop everything published, checking each chain against the reference; returns a problem or null. */
  const drain = (published: number): string | null => {
    for (let pops = 0; ; pops++) {
      if (pops > published + 1) return `device popped ${pops} chains, only ${published} were published`;
      stage = 'poll';
      if (!dev.pollAvail()) return null;
      const head = mem.ld16(L.avail.offset + AVAIL_RING + (popped & (n - 1)) * 2);
      popped = (popped + 1) & 0xffff;
      const want = refSplitChain(r.dv, ref, head);
      stage = 'pop';
      curHead = head;
      if (chance(rng, 0.5)) {
        // The batch path first: popLone may take a chain only as the reference's one direct writable
        // segment, must take the first one when it is that, and never throws or takes more than asked.
        const max = 1 + rng.int(4);
        const k = dev.popLone(max, loneId, loneAddr, loneLen, 0);
        if (k > max) return `popLone(${max}) took ${k} chains`;
        for (let j = 0; j < Math.max(k, 1); j++) {
          const hj = j === 0 ? head : mem.ld16(L.avail.offset + AVAIL_RING + (popped & (n - 1)) * 2);
          const wj = j === 0 ? want : refSplitChain(r.dv, ref, hj);
          const direct = hj < n && (r.dv.getUint16(L.desc.offset + hj * 16 + 12, true) & (NEXT | INDIRECT)) === 0;
          const isLone = direct && typeof wj[0] !== 'string' && wj.length === 1 && (wj as Seg[])[0].write;
          if (j >= k) {
            if (isLone) return `popLone passed over the one-descriptor writable chain at head ${hj}`;
            break;
          }
          if (!isLone) return `popLone took the chain at head ${hj}; the reference gives ${JSON.stringify(wj)}`;
          const seg = (wj as Seg[])[0];
          if (loneId[j] !== hj || loneAddr[j] !== seg.addr || loneLen[j] !== seg.len) {
            return `popLone read head ${loneId[j]} [${loneAddr[j]}, ${loneLen[j]}], reference head ${hj} [${seg.addr}, ${seg.len}]`;
          }
          if (j > 0) {
            popped = (popped + 1) & 0xffff;
            if (++pops + 1 > published) return `popLone popped ${pops + 1} chains, only ${published} were published`;
          }
          dev.pushUsed(hj, seg.len, false, 1);
        }
        if (k > 0) continue;
      }
      dev.popChain(chain);
      if (typeof want[0] === 'string') return `device accepted the chain at head ${head}; the reference rejects it (${(want as string[]).join(' or ')})`;
      const segs = want as Seg[];
      if (chain.id !== head || chain.n !== segs.length) return `chain at head ${head}: device read id ${chain.id} with ${chain.n} segments, reference ${segs.length}`;
      for (let k = 0; k < segs.length; k++) {
        if (chain.addr[k] !== segs[k].addr || chain.len[k] !== segs[k].len || (chain.write[k] === 1) !== segs[k].write) {
          return `chain at head ${head}, segment ${k}: device read [${chain.addr[k]}, ${chain.len[k]}, w=${chain.write[k]}], reference [${segs[k].addr}, ${segs[k].len}, w=${segs[k].write}]`;
        }
      }
      dev.pushUsed(head, chain.writeCapacity, false, 1);
      if (chance(rng, 0.5)) { dev.publishUsed(); dev.needInterrupt(); }
      if (chance(rng, 0.2)) { if (chance(rng, 0.5)) dev.enableKicks(); else dev.disableKicks(); }
    }
  };

  // Well-behaved rounds first: indices and descriptors in varied states when the attack comes.
  const rounds = rng.int(4);
  for (let round = 0; round < rounds; round++) {
    const free = freeList(r);
    const heads: number[] = [];
    const k = 1 + rng.int(Math.min(n, 4));
    for (let i = 0; i < k && free.length > 0; i++) heads.push(validChain(r, free));
    publish(r, heads);
    const p = drain(heads.length);
    if (p) return { cls: 'valid-prefix', code: null, problem: p };
    dev.publishUsed();
  }

  // The hostile batch: a few valid chains, then the attack.
  const all = freeList(r);
  const heads: number[] = [];
  const wholeTable = cls === 'chain-too-long' || cls === 'chain-over-seg-max' || cls === 'random-descriptors';
  // Descriptors for the attack (at least one; all of them for the whole-table classes), the rest for valid chains.
  const free = wholeTable ? all : all.splice(0, 1 + rng.int(n));
  const prefix = wholeTable ? 0 : rng.int(3);
  for (let i = 0; i < prefix && all.length > 0; i++) heads.push(validChain(r, all));
  const h = hostile(r, cls, free);
  if (h.head !== undefined) heads.push(h.head);
  // Random descriptors may happen to be valid: a head past the queue after them guarantees an error.
  if (cls === 'random-descriptors') {
    heads.length = 0;
    for (let i = rng.int(Math.min(n, 5)); i > 0; i--) heads.push(rng.int(n));
    heads.push(n + rng.int(65536 - n));
  }
  publish(r, heads, h.idx);
  const before = mem.u8.slice();
  const published = h.idx !== undefined ? 0 : heads.length;
  const allowedWrites = guard.writable;
  let result: FuzzCaseResult;
  try {
    const p = drain(published);
    result = { cls, code: null, problem: p ?? (LEGAL.has(cls) ? null : 'no error: the device accepted the hostile input') };
  } catch (e) {
    // What the oracle allows for the step that threw.
    let allowed: string[] | null;
    if (stage === 'poll') allowed = h.idx !== undefined ? ['AVAIL_IDX_JUMP'] : [];
    else {
      const want = refSplitChain(r.dv, ref, curHead);
      allowed = typeof want[0] === 'string' ? (want as string[]) : null;
    }
    result = judge(cls, e, 'device', allowed);
  }
  // Guest memory: only the used ring may differ.
  const changed = changedOutside(before, mem.u8, allowedWrites);
  if (!result.problem && changed.length) result.problem = `guest memory changed outside the used ring: ${JSON.stringify(changed)}`;
  if (result.problem) result.problem += ` [queue ${n}${inOrder ? ', in-order' : ''}${indirect ? ', indirect' : ''}, seg_max ${segMax}]`;
  return result;
}

export const splitDeviceTarget: FuzzTarget = { classes: SPLIT_DEVICE_CLASSES, run: splitDeviceCase };
