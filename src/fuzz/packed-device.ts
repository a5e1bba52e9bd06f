/**
 * A hostile driver against the packed ring's device side (PackedDeviceRing.pollAvail / popChain,
 * then the device tracker's makeAvailable for the Buffer ID — exactly the device loop's pop sequence).
 *
 * Each case lays out a packed queue of random size (any 1..300, not only powers of two) and features
 * in a fresh guest memory; a well-behaved driver publishes a few batches of valid chains (direct,
 * indirect, direct followed by an indirect table; reserved ids in non-last descriptors set to junk),
 * which the device pops — checked segment by segment against a reference walk — and uses (one entry
 * per chain in any order, or IN_ORDER batches that skip several chains' slots across the wrap). Then
 * the driver publishes one batch: a few valid chains and one hostile chain of one class. The device
 * runs over a GuardedMemory: any out-of-bounds or misaligned access, and any write at all while it
 * pops the hostile batch, is a crash. It must end in a typed VqError from the device whose code the
 * reference walk (an independent, byte-level implementation of the packed descriptor rules over a
 * DataView, 64-bit addresses as BigInt) allows, after popping no more than was published, with guest
 * memory byte-identical. Two classes are legal input (`skip-ahead`, `valid-batch`): the device must
 * then pop exactly what the reference pops and raise nothing.
 */
import { AtomicsMemory } from '../memory/ops.js';
import { segmentWalk, type RefParams, type Seg } from './reference.js';
import { alignUp, packedRingLayout, type PackedRingLayout } from '../spec/layout.js';
import { featureBits, negotiate, type OrderMode } from '../spec/features.js';
import {
  PACKED_DESC_SIZE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE,
} from '../spec/constants.js';
import { PackedDeviceRing } from '../packed/device.js';
import { UsedTracker } from '../order/tracker.js';
import { Chain } from '../ring/chain.js';
import type { Rng } from '../util/rng.js';
import { GuardedMemory, changedOutside } from './guarded.js';
import { chance, judge, pick, shuffled, type FuzzCaseResult, type FuzzTarget } from './types.js';

const NEXT = VIRTQ_DESC_F_NEXT;
const WRITE = VIRTQ_DESC_F_WRITE;
const INDIRECT = VIRTQ_DESC_F_INDIRECT;
const AVAIL = VIRTQ_DESC_F_AVAIL;
const USED = VIRTQ_DESC_F_USED;
const BITS = AVAIL | USED;
/** Entries per indirect table slot in the fuzz layout (valid tables use at most this many). */
const TABLE_SLOT = 8;
/** Extra table slots beyond one per ring slot (hostile classes take up to two more). */
const TABLE_EXTRA = 8;
const DATA_BYTES = 4096;

/** Written from the spec (2.8.1), not imported from src/packed: the bits a driver sets in lap w. */
const availOf = (w: number): number => (w ? AVAIL : USED);
/** The bits of a used descriptor the device writes in lap w. */
const usedOf = (w: number): number => (w ? AVAIL | USED : 0);

export type PRefChain = { segs: Seg[]; id: number; weight: number } | string[];

/** The reference's view of the device's position: 'avail', 'none', or the codes a bad head allows. */
export function refPackedPoll(dv: DataView, p: RefParams, pos: number, wrap: number): 'avail' | 'none' | string[] {
  const bits = dv.getUint16(p.descBase + pos * 16 + 14, true) & BITS;
  if (bits === availOf(wrap)) return 'avail';
  if (bits === usedOf(wrap)) return ['PACKED_BAD_WRAP'];
  return 'none';
}

/**
 * Reference walk of the packed chain at (pos, wrap), whose head is known to be available: its
 * segments, Buffer ID and ring slots, or the codes the first descriptor that breaks a rule allows
 * (all of them: the device may check a descriptor's rules in any order). `outstanding` holds the
 * Buffer IDs the device still has in flight.
 */
export function refPackedChain(dv: DataView, p: RefParams, pos: number, wrap: number, outstanding: ReadonlySet<number>): PRefChain {
  const { segs, inWindow, add } = segmentWalk(p);
  const read = (off: number): { addr: bigint; len: number; id: number; flags: number } =>
    ({ addr: dv.getBigUint64(off, true), len: dv.getUint32(off + 8, true), id: dv.getUint16(off + 12, true), flags: dv.getUint16(off + 14, true) });
  const finish = (id: number, weight: number): PRefChain => {
    if (id >= p.n) return ['AVAIL_BAD_HEAD'];
    if (outstanding.has(id)) return ['AVAIL_BAD_HEAD'];
    return { segs, id, weight };
  };
  let slot = pos;
  let w = wrap;
  for (let k = 0; ; k++) {
    if (k >= p.n) return ['DESC_CHAIN_TOO_LONG'];
    const d = read(p.descBase + slot * 16);
    // A continuation must be available in the lap of its own slot (the head was polled already).
    if (k > 0 && (d.flags & BITS) !== availOf(w)) return ['PACKED_BAD_WRAP'];
    if (++slot === p.n) { slot = 0; w ^= 1; }
    const c: string[] = [];
    if (d.flags & ~(NEXT | WRITE | INDIRECT | BITS)) c.push('DESC_BAD_FLAGS');
    if (d.flags & INDIRECT) {
      if (d.flags & NEXT) c.push('DESC_INDIRECT_AND_NEXT');
      // 2.8.19: no INDIRECT in a list linked by NEXT (one type of descriptor per list).
      if (k > 0) c.push('DESC_INDIRECT_IN_CHAIN');
      if (!p.indirect) c.push('DESC_INDIRECT_NOT_NEGOTIATED');
      if (d.len === 0 || d.len % 16 !== 0) c.push('DESC_INDIRECT_BAD_LEN');
      else if (d.len / 16 > p.n) c.push('DESC_CHAIN_TOO_LONG');
      if (!inWindow(d.addr, d.len)) c.push('DESC_ADDR_OUT_OF_RANGE');
      // No alignment rule for a table: the DataView reads it byte-exact wherever it is.
      if (c.length) return c;
      // 2.8.6: a table of d.len / 16 descriptors read in order (no NEXT); only WRITE is valid in it.
      for (let j = 0; j < d.len / 16; j++) {
        const e = read(Number(d.addr) + j * 16);
        const ce: string[] = [];
        if (e.flags & INDIRECT) ce.push('DESC_NESTED_INDIRECT');
        if (e.flags & ~WRITE) ce.push('DESC_BAD_FLAGS');
        if (ce.length) return ce;
        const r = add(e.addr, e.len, (e.flags & WRITE) !== 0);
        if (r) return r;
      }
      // An indirect descriptor ends the chain: it carries the Buffer ID.
      return finish(d.id, k + 1);
    }
    if (c.length) return c;
    const r = add(d.addr, d.len, (d.flags & WRITE) !== 0);
    if (r) return r;
    if (!(d.flags & NEXT)) return finish(d.id, k + 1);
  }
}

export const PACKED_DEVICE_CLASSES = [
  'chain-too-long', 'chain-over-seg-max', 'next-into-unavailable', 'bad-wrap-head', 'bad-wrap-middle',
  'write-before-read', 'bad-flags', 'indirect-and-next', 'nested-indirect', 'indirect-bad-len', 'indirect-misaligned',
  'indirect-too-long', 'indirect-not-negotiated', 'indirect-bad-flags', 'indirect-write-before-read',
  'indirect-table-out-of-range', 'addr-out-of-range', 'addr-high-word', 'addr-overflow', 'addr-into-ring',
  'id-out-of-range', 'id-outstanding', 'random-descriptors', 'skip-ahead', 'valid-batch', 'indirect-in-chain',
] as const;

/**
 * Classes whose input is legal: the device must pop it exactly as the reference does, and raise
 * nothing (a misaligned table is valid; its entries are written byte-exact where it starts).
 */
const LEGAL = new Set<string>(['skip-ahead', 'valid-batch', 'indirect-misaligned']);

/** One ring descriptor the driver writes; `bits` overrides the AVAIL/USED bits of its lap. */
interface D { addr: bigint; len: number; id: number; flags: number; bits?: number }

interface Rig {
  rng: Rng;
  n: number;
  L: PackedRingLayout;
  mem: AtomicsMemory;
  dv: DataView;
  dmaStart: number;
  tableBase: number;
  tables: number;
  dataBase: number;
  size: number;
  indirect: boolean;
  segMax: number;
  tableSlot: number;
  /** The driver's next slot and wrap counter. */
  dPos: number;
  dWrap: number;
  /** Ids the driver may use (not in flight at the device). */
  freeIds: number[];
}

/** A data segment's address and length somewhere in the data area. */
function dataSeg(r: Rig): [bigint, number] {
  const len = r.rng.int(64);
  return [BigInt(r.dataBase + r.rng.int(DATA_BYTES - len + 1)), len];
}

/** A fresh 16-aligned indirect table slot. */
function takeTable(r: Rig): number {
  const t = r.tableBase + (r.tableSlot % r.tables) * TABLE_SLOT * 16;
  r.tableSlot++;
  return t;
}

/** A 16-byte descriptor at `off` (flags null: leave them, for a head published later). */
function store(r: Rig, off: number, addr: bigint, len: number, id: number, flags: number | null, release = false): void {
  if (off % 4 !== 0) {
    // An entry of a misaligned table: byte-exact (nothing publishes it; its table is published).
    r.dv.setBigUint64(off, BigInt.asUintN(64, addr), true); r.dv.setUint32(off + 8, len >>> 0, true); r.dv.setUint16(off + 12, id & 0xffff, true);
    if (flags !== null) r.dv.setUint16(off + 14, flags & 0xffff, true);
    return;
  }
  const m = r.mem;
  const a = BigInt.asUintN(64, addr);
  m.st32(off, Number(a & 0xffffffffn));
  m.st32(off + 4, Number(a >> 32n));
  m.st32(off + 8, len >>> 0);
  m.st16(off + 12, id & 0xffff);
  if (flags === null) return;
  if (release) m.st16Release(off + 14, flags & 0xffff);
  else m.st16(off + 14, flags & 0xffff);
}

/** Write a batch of ring descriptors at the driver's position; the first one's flags last (publish). */
function writeBatch(r: Rig, ds: D[]): void {
  if (ds.length === 0) return;
  if (ds.length > r.n) throw new Error(`fuzz harness: batch of ${ds.length} slots in a ring of ${r.n}`);
  let pos = r.dPos;
  let wrap = r.dWrap;
  let headOff = -1;
  let headFlags = 0;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i];
    const off = r.L.desc.offset + pos * PACKED_DESC_SIZE;
    const f = (d.flags & ~BITS) | (d.bits ?? availOf(wrap));
    if (i === 0) {
      // The head keeps its old flags until everything else is written.
      store(r, off, d.addr, d.len, d.id, null);
      headOff = off;
      headFlags = f;
    } else store(r, off, d.addr, d.len, d.id, f);
    if (++pos === r.n) { pos = 0; wrap ^= 1; }
  }
  r.mem.st16Release(headOff + 14, headFlags);
  r.dPos = pos;
  r.dWrap = wrap;
}

function takeId(r: Rig): number {
  return r.freeIds.length ? r.freeIds.splice(r.rng.int(r.freeIds.length), 1)[0] : r.rng.int(r.n);
}

/** A junk value for the reserved id field of a descriptor that does not end its chain. */
const junk = (r: Rig): number => (chance(r.rng, 0.5) ? 0 : r.rng.int(65536));

/**
 * A valid chain of at most `budget` ring slots: direct descriptors, or one indirect descriptor
 * (2.8.19: never both in one list). `lead` > 0 builds the invalid shape instead: that many direct
 * readable descriptors linked by NEXT to an indirect one (class indirect-in-chain).
 */
function validChain(r: Rig, budget: number, lead = 0): D[] {
  const rng = r.rng;
  const id = takeId(r);
  const useTable = lead > 0 || (r.indirect && chance(rng, 0.35));
  if (useTable) {
    const leadOk = lead;
    const m = 1 + rng.int(Math.max(1, Math.min(TABLE_SLOT, r.segMax - leadOk, r.n)));
    // Readable first: lead descriptors are readable, the table is some readable then writable entries.
    const nR = rng.int(m + 1);
    const t = takeTable(r);
    for (let k = 0; k < m; k++) {
      const [a, l] = dataSeg(r);
      store(r, t + k * 16, a, l, junk(r), k >= nR ? WRITE : 0);
    }
    const out: D[] = [];
    for (let k = 0; k < leadOk; k++) { const [a, l] = dataSeg(r); out.push({ addr: a, len: l, id: junk(r), flags: NEXT }); }
    // The WRITE flag on a descriptor that points to a table is ignored by the spec's reading; vqlab
    // does not set it (a packed device treats the flags as the table's).
    out.push({ addr: BigInt(t), len: m * 16, id, flags: INDIRECT });
    return out;
  }
  const m = 1 + rng.int(Math.min(budget, r.segMax, 6));
  const nR = rng.int(m + 1);
  const out: D[] = [];
  for (let k = 0; k < m; k++) {
    const [a, l] = dataSeg(r);
    const last = k === m - 1;
    out.push({ addr: a, len: l, id: last ? id : junk(r), flags: (k >= nR ? WRITE : 0) | (last ? 0 : NEXT) });
  }
  return out;
}

/** A run of `m` valid direct descriptors (readable then writable from `writableFrom`), the last with `id`. */
function plain(r: Rig, m: number, id: number, writableFrom = m): D[] {
  const out: D[] = [];
  for (let k = 0; k < m; k++) {
    const [a, l] = dataSeg(r);
    const last = k === m - 1;
    out.push({ addr: a, len: l, id: last ? id : junk(r), flags: (k >= writableFrom ? WRITE : 0) | (last ? 0 : NEXT) });
  }
  return out;
}

/** Ring position (slot, wrap) `k` slots after the driver's position. */
function at(r: Rig, k: number): { slot: number; wrap: number } {
  const s = r.dPos + k;
  return s >= r.n ? { slot: s - r.n, wrap: r.dWrap ^ 1 } : { slot: s, wrap: r.dWrap };
}

/**
 * The hostile chain of class `cls`, at most `budget` ring slots, to be written `offset` slots after
 * the driver's position. Each class keeps everything but its one defect valid.
 */
function hostile(r: Rig, cls: string, budget: number, offset: number, prefixIds: number[]): D[] {
  const rng = r.rng;
  const n = r.n;
  const m = (): number => 1 + rng.int(Math.min(budget, r.segMax));
  const idOk = (): number => takeId(r);
  const tableOf = (k: number, flags: (j: number) => number): number => {
    const t = takeTable(r);
    for (let j = 0; j < k; j++) { const [a, l] = dataSeg(r); store(r, t + 16 * j, a, l, junk(r), flags(j)); }
    return t;
  };
  const kMax = (): number => Math.min(TABLE_SLOT, n, r.segMax);
  switch (cls) {
    case 'chain-too-long': {
      // NEXT on every slot round the whole ring (budget = n here): longer than the queue.
      const ds = plain(r, budget, idOk());
      for (const d of ds) d.flags |= NEXT;
      return ds;
    }
    case 'chain-over-seg-max':
      return plain(r, Math.min(budget, r.segMax + 1), idOk());
    case 'next-into-unavailable': {
      // The chain's last slot says NEXT, and what follows is whatever the last lap left there.
      const ds = plain(r, m(), idOk());
      ds[ds.length - 1].flags |= NEXT;
      return ds;
    }
    case 'bad-wrap-head': {
      // A head with AVAIL = USED = the device's wrap counter: a used descriptor of the lap to come.
      const ds = validChain(r, budget);
      ds[0].bits = usedOf(at(r, offset).wrap);
      return ds;
    }
    case 'bad-wrap-middle': {
      if (budget < 2 || r.segMax < 2) return hostile(r, 'bad-wrap-head', budget, offset, prefixIds);
      const len = 2 + rng.int(Math.min(budget, r.segMax) - 1);
      const ds = plain(r, len, idOk());
      const j = 1 + rng.int(len - 1);
      const w = at(r, offset + j).wrap;
      ds[j].bits = pick(rng, [usedOf(w), usedOf(w ^ 1), availOf(w ^ 1)]);
      return ds;
    }
    case 'write-before-read': {
      if (budget < 2 || r.segMax < 2) return hostile(r, 'indirect-write-before-read', budget, offset, prefixIds);
      const len = 2 + rng.int(Math.min(budget, r.segMax) - 1);
      const ds = plain(r, len, idOk());
      const w = rng.int(len - 1);
      const rd = w + 1 + rng.int(len - 1 - w);
      for (let j = 0; j < len; j++) {
        const writable = j === rd ? false : j >= w && (j === w || rng.int(2) === 1);
        ds[j].flags = (ds[j].flags & NEXT) | (writable ? WRITE : 0);
      }
      return ds;
    }
    case 'bad-flags': {
      const ds = plain(r, m(), idOk(), rng.int(3));
      const bad = pick(rng, [0x8, 0x10, 0x20, 0x40, 0x100 << rng.int(7)]);
      ds[rng.int(ds.length)].flags |= bad;
      return ds;
    }
    case 'indirect-and-next': {
      const t = tableOf(1 + rng.int(kMax()), () => 0);
      const ds: D[] = [{ addr: BigInt(t), len: 16 * (1 + rng.int(kMax())), id: idOk(), flags: INDIRECT | NEXT }];
      if (budget >= 2 && chance(rng, 0.5)) ds.push(...plain(r, 1, idOk()));
      return ds;
    }
    case 'nested-indirect': {
      const k = 1 + rng.int(kMax());
      const bad = rng.int(k);
      const inner = takeTable(r);
      const t = tableOf(k, (j) => (j === bad ? INDIRECT | (chance(rng, 0.3) ? WRITE : 0) : 0));
      store(r, t + 16 * bad, BigInt(inner), 16, 0, INDIRECT);
      return [{ addr: BigInt(t), len: 16 * k, id: idOk(), flags: INDIRECT }];
    }
    case 'indirect-bad-len':
      return [{ addr: BigInt(takeTable(r)), len: chance(rng, 0.2) ? 0 : 16 * rng.int(kMax()) + 1 + rng.int(15), id: idOk(), flags: INDIRECT }];
    case 'indirect-misaligned': {
      // Legal: a valid table at any alignment but 16, inside its slot (at most TABLE_SLOT - 1 entries).
      const k = 1 + rng.int(Math.max(1, Math.min(kMax(), TABLE_SLOT - 1)));
      const t = takeTable(r) + 1 + rng.int(15);
      const nR = rng.int(k + 1);
      for (let j = 0; j < k; j++) { const [a, l] = dataSeg(r); store(r, t + 16 * j, a, l, junk(r), j >= nR ? WRITE : 0); }
      return [{ addr: BigInt(t), len: 16 * k, id: idOk(), flags: INDIRECT }];
    }
    case 'indirect-in-chain': {
      // Direct descriptors linked by NEXT to an indirect one: valid in a split ring (2.7.5.3.2),
      // not in a packed one (2.8.19).
      if (budget < 2 || !r.indirect) return hostile(r, 'indirect-and-next', budget, offset, prefixIds);
      return validChain(r, budget, 1 + rng.int(Math.min(budget - 1, 3)));
    }
    case 'indirect-too-long': {
      // More entries than the queue, or than the device's seg_max.
      if (r.segMax < n && r.segMax < TABLE_SLOT && chance(rng, 0.5)) {
        const k = r.segMax + 1;
        return [{ addr: BigInt(tableOf(k, () => 0)), len: 16 * k, id: idOk(), flags: INDIRECT }];
      }
      return [{ addr: BigInt(r.tableBase), len: 16 * (n + 1 + rng.int(4 * n)), id: idOk(), flags: INDIRECT }];
    }
    case 'indirect-not-negotiated': {
      const k = 1 + rng.int(kMax());
      return [{ addr: BigInt(tableOf(k, () => 0)), len: 16 * k, id: idOk(), flags: INDIRECT }];
    }
    case 'indirect-bad-flags': {
      const k = 1 + rng.int(kMax());
      const bad = rng.int(k);
      const f = pick(rng, [NEXT, NEXT | WRITE, 0x8, 0x10, AVAIL, USED, 0x100 << rng.int(7)]);
      return [{ addr: BigInt(tableOf(k, (j) => (j === bad ? f : 0))), len: 16 * k, id: idOk(), flags: INDIRECT }];
    }
    case 'indirect-write-before-read': {
      const k = Math.max(2, 1 + rng.int(kMax()));
      if (k > Math.min(TABLE_SLOT, n, r.segMax) || !r.indirect) return hostile(r, 'nested-indirect', budget, offset, prefixIds);
      const w = rng.int(k - 1);
      const rd = w + 1 + rng.int(k - 1 - w);
      return [{ addr: BigInt(tableOf(k, (j) => (j === rd ? 0 : j >= w ? WRITE : 0))), len: 16 * k, id: idOk(), flags: INDIRECT }];
    }
    case 'indirect-table-out-of-range': {
      const v = rng.int(4);
      const addr = v === 0 ? BigInt(r.size - 16 * rng.int(2)) : v === 1 ? BigInt(16 * rng.int(r.dmaStart >> 4))
        : v === 2 ? 2n ** 40n + 16n * BigInt(rng.int(1000)) : 2n ** 64n - 16n * BigInt(1 + rng.int(4));
      return [{ addr, len: 16 * (1 + rng.int(kMax())), id: idOk(), flags: INDIRECT }];
    }
    case 'addr-out-of-range':
    case 'addr-high-word':
    case 'addr-overflow':
    case 'addr-into-ring': {
      let addr: bigint; let len: number;
      if (cls === 'addr-out-of-range') { len = 1 + rng.int(64); addr = BigInt(r.size - len + 1 + rng.int(4096)); }
      else if (cls === 'addr-high-word') { addr = BigInt(1 + rng.int(0xffffffff)) * 4294967296n + BigInt(rng.int(0xffffffff)); len = rng.int(64); }
      else if (cls === 'addr-overflow') {
        // addr + len wraps past 2^64 (to a small, in-window-looking value), or len alone overruns memory.
        if (chance(rng, 0.6)) { const back = 1 + rng.int(4096); addr = 2n ** 64n - BigInt(back); len = back + r.dataBase + rng.int(DATA_BYTES); }
        else { addr = BigInt(r.dataBase + rng.int(DATA_BYTES)); len = 0xffffffff - rng.int(r.size); }
      } else { const a = rng.int(r.dmaStart); addr = BigInt(a); len = 1 + rng.int(r.dmaStart - a); }
      // The victim: a ring descriptor, or an entry of an indirect table.
      if (r.indirect && chance(rng, 0.3)) {
        const k = 1 + rng.int(kMax());
        const victim = rng.int(k);
        const t = tableOf(k, (j) => (j >= k - 1 ? WRITE : 0));
        store(r, t + 16 * victim, addr, len, 0, victim >= k - 1 ? WRITE : 0);
        return [{ addr: BigInt(t), len: 16 * k, id: idOk(), flags: INDIRECT }];
      }
      const ds = plain(r, m(), idOk(), rng.int(3));
      const v = ds[rng.int(ds.length)];
      v.addr = addr; v.len = len;
      return ds;
    }
    case 'id-out-of-range': {
      const ds = validChain(r, budget);
      ds[ds.length - 1].id = n + rng.int(65536 - n);
      return ds;
    }
    case 'id-outstanding': {
      const ds = validChain(r, budget);
      ds[ds.length - 1].id = pick(rng, prefixIds);
      return ds;
    }
  }
  throw new Error(`unknown packed device fuzz class ${cls}`);
}

export function packedDeviceCase(rng: Rng, cls: string): FuzzCaseResult {
  const n = chance(rng, 0.5) ? 1 + rng.int(8) : 1 + rng.int(300);
  const indirect = cls === 'indirect-not-negotiated' ? false : cls.startsWith('indirect') || cls === 'nested-indirect' ? true : chance(rng, 0.5);
  const eventIdx = chance(rng, 0.5);
  const order: OrderMode = chance(rng, 0.5) ? 'none' : 'in-order';
  const L = packedRingLayout(n);
  const dmaStart = alignUp(L.totalSize, 64);
  const tables = n + TABLE_EXTRA;
  const tableBase = dmaStart;
  const dataBase = tableBase + tables * TABLE_SLOT * 16;
  const size = dataBase + DATA_BYTES;
  const mem = new AtomicsMemory(new SharedArrayBuffer(size));
  const guard = new GuardedMemory(mem);
  if (cls === 'chain-over-seg-max' && n === 1) cls = 'chain-too-long';
  const segMax = cls === 'chain-over-seg-max' ? 1 + rng.int(Math.min(n - 1, 8)) : chance(rng, 0.2) ? 1 + rng.int(2 * n) : 2 * n + TABLE_SLOT;
  const r: Rig = {
    rng, n, L, mem, dv: new DataView(mem.buffer), dmaStart, tableBase, tables, dataBase, size, indirect, segMax, tableSlot: 0,
    dPos: 0, dWrap: 1, freeIds: Array.from({ length: n }, (_, i) => i),
  };
  const bits = featureBits({ ring: 'packed', order, eventIdx, indirect });
  const f = negotiate(bits, bits);
  const dev = new PackedDeviceRing(guard, L, f, dmaStart);
  // While using buffers the device may write the descriptor ring and its own event suppression area.
  const devWrites: [number, number][] = [[L.desc.offset, L.desc.offset + L.desc.size], [L.deviceEvent.offset, L.deviceEvent.offset + L.deviceEvent.size]];
  guard.writable = devWrites;
  const tr = new UsedTracker(n, n, f.order, false, 'device');
  const chain = new Chain(segMax, dmaStart, size);
  const ref: RefParams = { descBase: L.desc.offset, n, indirect, dmaStart, size, segMax };
  /** The device's position as the reference follows it. */
  let pos = 0;
  let wrap = 1;
  const outstanding = new Set<number>();
  let popped: number[] = [];
  let stage: 'poll' | 'pop' = 'poll';
  const loneId = new Uint16Array(4);
  const loneAddr = new Float64Array(4);
  const loneLen = new Uint32Array(4);

  /** Pop everything visible, checking each chain against the reference; returns a problem or null. */
  const drain = (maxPops: number): string | null => {
    for (let pops = 0; ; pops++) {
      if (pops > maxPops) return `device popped ${pops} chains, at most ${maxPops} were published`;
      stage = 'poll';
      const wantPoll = refPackedPoll(r.dv, ref, pos, wrap);
      const got = dev.pollAvail();
      if (!got) return wantPoll === 'avail' ? `device missed the available chain at slot ${pos} (wrap ${wrap})` : typeof wantPoll === 'object' ? `device accepted AVAIL=USED=${wrap} at slot ${pos}` : null;
      if (wantPoll !== 'avail') return `device found a chain at slot ${pos} (wrap ${wrap}); the reference sees ${wantPoll}`;
      stage = 'pop';
      const want = refPackedChain(r.dv, ref, pos, wrap, outstanding);
      if (chance(rng, 0.5)) {
        // The batch path first: popLone may take a chain only where the reference sees an available
        // one-slot chain of one writable segment (its Buffer ID is then the tracker's to judge),
        // must take the first one when it is that, and never throws or takes more than asked.
        const max = 1 + rng.int(4);
        const k = dev.popLone(max, loneId, loneAddr, loneLen, 0);
        if (k > max) return `popLone(${max}) took ${k} chains`;
        for (let j = 0; j < Math.max(k, 1); j++) {
          const avail = j === 0 || refPackedPoll(r.dv, ref, pos, wrap) === 'avail';
          const wj = j === 0 ? want : avail ? refPackedChain(r.dv, ref, pos, wrap, outstanding) : null;
          const dOff = L.desc.offset + pos * 16;
          const direct = avail && (r.dv.getUint16(dOff + 14, true) & ~BITS) === WRITE;
          const seg = wj && !Array.isArray(wj) && wj.weight === 1 && wj.segs.length === 1 && wj.segs[0].write ? wj.segs[0] : null;
          if (j >= k) {
            if (direct && seg) return `popLone passed over the one-descriptor writable chain at slot ${pos}`;
            break;
          }
          if (!direct) return `popLone took the chain at slot ${pos} (wrap ${wrap}); the reference gives ${JSON.stringify(wj)}`;
          // Taken: the tracker rules on the Buffer ID (the only thing the reference may reject here).
          tr.makeAvailable(loneId[j], 1, loneLen[j]);
          if (!seg) return `popLone took the chain at slot ${pos}; the reference gives ${JSON.stringify(wj)}`;
          const id = r.dv.getUint16(dOff + 12, true);
          if (loneId[j] !== id || loneAddr[j] !== seg.addr || loneLen[j] !== seg.len) {
            return `popLone read id ${loneId[j]} [${loneAddr[j]}, ${loneLen[j]}] at slot ${pos}, reference id ${id} [${seg.addr}, ${seg.len}]`;
          }
          outstanding.add(id);
          popped.push(id);
          if (++pos >= n) { pos -= n; wrap ^= 1; }
          if (j > 0 && ++pops > maxPops) return `popLone popped ${pops + 1} chains, at most ${maxPops} were published`;
        }
        if (k > 0) {
          const st = dev.state();
          if (st.next_avail !== pos || st.avail_wrap !== wrap) return `device position ${st.next_avail}/${st.avail_wrap} after popLone, reference ${pos}/${wrap}`;
          continue;
        }
      }
      dev.popChain(chain);
      tr.makeAvailable(chain.id, chain.weight, chain.writeCapacity);
      if (Array.isArray(want)) return `device accepted the chain at slot ${pos}; the reference rejects it (${want.join(' or ')})`;
      if (chain.id !== want.id || chain.weight !== want.weight || chain.n !== want.segs.length) {
        return `chain at slot ${pos}: device read id ${chain.id}, ${chain.weight} slots, ${chain.n} segments; reference id ${want.id}, ${want.weight} slots, ${want.segs.length} segments`;
      }
      for (let k = 0; k < want.segs.length; k++) {
        const s = want.segs[k];
        if (chain.addr[k] !== s.addr || chain.len[k] !== s.len || (chain.write[k] === 1) !== s.write) {
          return `chain at slot ${pos}, segment ${k}: device read [${chain.addr[k]}, ${chain.len[k]}, w=${chain.write[k]}], reference [${s.addr}, ${s.len}, w=${s.write}]`;
        }
      }
      outstanding.add(want.id);
      popped.push(want.id);
      pos += want.weight;
      if (pos >= n) { pos -= n; wrap ^= 1; }
      const st = dev.state();
      if (st.next_avail !== pos || st.avail_wrap !== wrap) return `device position ${st.next_avail}/${st.avail_wrap} after the chain, reference ${pos}/${wrap}`;
    }
  };

  /** Use every popped chain: one entry each in any order, or IN_ORDER batches. */
  const useAll = (): void => {
    if (order === 'in-order') {
      let i = 0;
      while (i < popped.length) {
        const j = Math.min(popped.length - 1, i + rng.int(4));
        const id = popped[j];
        tr.onUsed(id, false, rng.int(tr.capacityOfId(id) + 1));
        dev.pushUsed(id, 0, false, tr.weight);
        i = j + 1;
      }
    } else {
      for (const id of shuffled(rng, popped.length).map((k) => popped[k])) {
        tr.onUsed(id, false, 0);
        dev.pushUsed(id, rng.int(tr.capacityOfId(id) + 1), false, tr.weight);
      }
    }
    for (const id of popped) { outstanding.delete(id); r.freeIds.push(id); }
    popped = [];
    if (chance(rng, 0.5)) dev.needInterrupt();
    if (chance(rng, 0.3)) { if (chance(rng, 0.5)) dev.enableKicks(); else dev.disableKicks(); }
    const st = dev.state();
    if (st.used_pos !== pos || st.used_wrap !== wrap) throw new Error(`fuzz harness: used position ${st.used_pos}/${st.used_wrap}, expected ${pos}/${wrap}`);
  };

  // Well-behaved rounds first: positions and wrap counters in varied states when the attack comes.
  for (let round = rng.int(5); round > 0; round--) {
    r.tableSlot = 0;
    const ds: D[] = [];
    let chains = 0;
    for (let k = 1 + rng.int(4); k > 0 && ds.length < n; k--) { ds.push(...validChain(r, n - ds.length)); chains++; }
    writeBatch(r, ds);
    const p = drain(chains);
    if (p) return { cls: 'valid-prefix', code: null, problem: p };
    useAll();
  }

  // The hostile batch: a few valid chains (kept outstanding), then the attack.
  r.tableSlot = 0;
  const ds: D[] = [];
  const wholeRing = cls === 'chain-too-long' || cls === 'random-descriptors';
  let prefix = wholeRing || cls === 'chain-over-seg-max' || n < 2 ? 0 : rng.int(3);
  if (cls === 'id-outstanding' && n >= 2) prefix = Math.max(prefix, 1);
  if (cls === 'id-outstanding' && n < 2) cls = 'id-out-of-range';
  const prefixIds: number[] = [];
  for (let i = 0; i < prefix && ds.length < n - 1; i++) {
    const c = validChain(r, n - 1 - ds.length);
    prefixIds.push(c[c.length - 1].id);
    ds.push(...c);
  }
  let chains = prefixIds.length;
  let legalPops = -1;
  if (cls === 'random-descriptors') {
    // Random bytes over the ring and the table area, flags biased to the defined bits, every slot
    // available in its lap; the last slot of the lap says AVAIL = USED = wrap, so the walk must end
    // in an error there if nothing earlier breaks a rule.
    const u8 = mem.u8;
    for (let o = tableBase; o < dataBase; o++) u8[o] = rng.int(256);
    for (let o = tableBase; o < dataBase; o += 16) {
      if (chance(rng, 0.6)) store(r, o, ...dataSeg(r), junk(r), pick(rng, [0, WRITE, WRITE, NEXT, INDIRECT, rng.int(65536)]));
    }
    for (let k = 0; k < n; k++) {
      const [a, l] = dataSeg(r);
      const v = rng.int(10);
      const addr = v < 6 ? a : v < 8 ? BigInt(tableBase + 16 * rng.int(tables * TABLE_SLOT)) : BigInt(rng.int(0x7fffffff)) * BigInt(rng.int(0x7fffffff));
      const len = v >= 6 && v < 8 ? 16 * (1 + rng.int(TABLE_SLOT)) : chance(rng, 0.9) ? l : rng.int(0xffffffff);
      const fl = chance(rng, 0.8) ? pick(rng, [0, NEXT, WRITE, NEXT | WRITE, INDIRECT, NEXT | INDIRECT]) : rng.int(65536);
      ds.push({ addr, len, id: chance(rng, 0.9) ? rng.int(n + 1) : rng.int(65536), flags: fl });
    }
    ds[n - 1].bits = usedOf(at(r, n - 1).wrap);
    chains = n;
  } else if (cls === 'skip-ahead') {
    // Legal: the driver writes available descriptors further on but leaves the device's position as
    // the last lap left it (never published there): the device must see nothing.
    const gap = ds.length + 1 + rng.int(Math.max(1, n - 1 - ds.length));
    if (gap < n) {
      const c = validChain(r, n - gap);
      for (let k = c.length - 1; k >= 0; k--) {
        const { slot, wrap: w } = at(r, gap + k);
        store(r, L.desc.offset + slot * 16, c[k].addr, c[k].len, c[k].id, (c[k].flags & ~BITS) | availOf(w), k === 0);
      }
    }
    legalPops = chains;
  } else if (cls === 'valid-batch') {
    // Legal: a batch filling up to the whole ring, crossing the wrap.
    while (ds.length < n && chance(rng, 0.9)) { ds.push(...validChain(r, n - ds.length)); chains++; }
    if (ds.length === 0) { ds.push(...validChain(r, n)); chains++; }
    legalPops = chains;
  } else {
    const budget = cls === 'chain-too-long' ? n : n - ds.length;
    const h = hostile(r, cls, budget, ds.length, prefixIds);
    ds.push(...h);
    chains++;
    if (LEGAL.has(cls)) legalPops = chains;
  }
  writeBatch(r, ds);
  const before = mem.u8.slice();
  // Popping writes nothing: any write now is an illegal-write crash.
  guard.writable = [];
  let result: FuzzCaseResult;
  try {
    const p = drain(chains);
    if (p) result = { cls, code: null, problem: p };
    else if (LEGAL.has(cls)) {
      result = popped.length === legalPops ? { cls, code: null, problem: null } : { cls, code: null, problem: `legal batch: device popped ${popped.length} chains, expected ${legalPops}` };
    } else result = { cls, code: null, problem: 'no error: the device accepted the hostile input' };
  } catch (e) {
    let allowed: string[] | null;
    if (stage === 'poll') {
      const w = refPackedPoll(r.dv, ref, pos, wrap);
      allowed = typeof w === 'object' ? w : null;
    } else {
      const want = refPackedChain(r.dv, ref, pos, wrap, outstanding);
      allowed = Array.isArray(want) ? want : null;
    }
    result = judge(cls, e, 'device', allowed);
  }
  const changed = changedOutside(before, mem.u8, []);
  if (!result.problem && changed.length) result.problem = `guest memory changed while the device popped: ${JSON.stringify(changed)}`;
  if (result.problem) result.problem += ` [queue ${n}, ${order}, indirect ${indirect}, seg_max ${segMax}]`;
  return result;
}

export const packedDeviceTarget: FuzzTarget = { classes: PACKED_DEVICE_CLASSES, run: packedDeviceCase };
