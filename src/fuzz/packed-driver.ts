/**
 * A hostile device against the packed ring's driver side (PackedDriverRing.pollUsed / readUsed /
 * consumeUsed with the shared UsedTracker.onUsed, exactly the driver loop's reclaim sequence).
 *
 * Each case: a packed queue of random size (any 1..300), ordering mode and features; the real driver
 * ring adds and publishes buffers (direct chains or indirect tables, so buffers take 1..4 slots);
 * a well-behaved device (a mirror tracker deciding what is legal, its own used position and wrap
 * counter) writes used descriptors for a few rounds — singles, IN_ORDER batches and FLUSH batches
 * that skip several buffers' slots across the wrap — which the driver must accept, ending where the
 * device ends. Then the device writes one hostile sequence of one class. The driver runs over a
 * GuardedMemory that allows it no write while it reclaims. It must end in a typed VqError from the
 * driver whose code the class's oracle allows, reclaiming no more entries than were written, with
 * guest memory outside the descriptor ring byte-identical. `skip-ahead` is legal input (a used
 * descriptor written past the driver's position): the driver must reclaim nothing and raise nothing.
 */
import { AtomicsMemory } from '../memory/ops.js';
import { guestLayout } from '../memory/guest.js';
import { featureBits, negotiate, type Negotiated, type OrderMode } from '../spec/features.js';
import type { PackedRingLayout } from '../spec/layout.js';
import { VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_FLUSH, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE } from '../spec/constants.js';
import { PackedDriverRing } from '../packed/driver.js';
import { UsedTracker } from '../order/tracker.js';
import type { Rng } from '../util/rng.js';
import { GuardedMemory, changedOutside } from './guarded.js';
import { chance, judge, pick, type FuzzCaseResult, type FuzzTarget } from './types.js';

export const PACKED_DRIVER_CLASSES = [
  'id-out-of-range', 'id-not-outstanding', 'used-twice', 'len-beyond-buffer', 'flush-without-feature',
  'flush-with-hole', 'batch-with-hole', 'batch-skipped-id', 'wrong-wrap', 'stale-wrap-after-lap',
  'skip-ahead', 'random-entries', 'junk-len-without-write',
] as const;

const SEG_BYTES = 16;
const FLUSH = VIRTQ_DESC_F_FLUSH;
const AVAIL = VIRTQ_DESC_F_AVAIL;
const USED = VIRTQ_DESC_F_USED;
const WRITE = VIRTQ_DESC_F_WRITE;
/** Written from the spec (2.8.1): a driver's available bits, and a used descriptor's, in lap w. */
const availOf = (w: number): number => (w ? AVAIL : USED);
const usedOf = (w: number): number => (w ? AVAIL | USED : 0);

const ALL_CODES = ['USED_BAD_ID', 'USED_ID_NOT_OUTSTANDING', 'USED_BAD_LEN', 'USED_FLUSH_WITHOUT_FEATURE',
  'USED_FLUSH_WITH_HOLE', 'USED_BATCH_OVERRUN', 'USED_OUT_OF_ORDER', 'PACKED_BAD_WRAP'];

/**
 * One used descriptor. `bits` overrides the AVAIL/USED bits of the device's lap; `advance` is how
 * far the device's used position moves after it (default 1); `ahead` writes it that many slots past
 * the device's position (which does not move); `atDriver` writes it at the driver's position.
 * `write`: VIRTQ_DESC_F_WRITE (default: set when len is not 0, as a device that wrote len bytes does;
 * 2.8.4: without it len is reserved and ignored by drivers).
 */
interface Entry { id: number; len: number; flush: boolean; bits?: number; advance?: number; ahead?: number; atDriver?: boolean; write?: boolean }

export function packedDriverCase(rng: Rng, cls: string): FuzzCaseResult {
  const n = chance(rng, 0.5) ? 1 + rng.int(8) : 1 + rng.int(300);
  // Classes that only exist under some orderings draw from those (others fall back to a sibling).
  const orders: readonly OrderMode[] = cls === 'flush-with-hole' || cls === 'batch-with-hole' ? ['partial']
    : cls === 'flush-without-feature' ? ['none', 'in-order'] : cls === 'batch-skipped-id' ? ['in-order', 'partial'] : ['none', 'in-order', 'partial'];
  const order: OrderMode = pick(rng, orders);
  const indirect = chance(rng, 0.5);
  const segments = 1 + rng.int(Math.min(4, n));
  const nRead = segments >= 2 ? 1 : 0;
  const nWrite = segments - nRead;
  const capacity = nWrite * SEG_BYTES;
  const gl = guestLayout({ ring: 'packed', queueSize: n, segments, segmentBytes: SEG_BYTES, indirect });
  const L = gl.ring as PackedRingLayout;
  const descEnd = L.desc.offset + L.desc.size;
  const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
  const guard = new GuardedMemory(mem);
  // While adding, the driver may write its descriptors, its event suppression area, the tables and
  // the buffers; not the device's event suppression area. While reclaiming: nothing.
  const driverWrites: [number, number][] = [[0, L.deviceEvent.offset], [L.deviceEvent.offset + L.deviceEvent.size, gl.totalSize]];
  guard.writable = driverWrites;
  const bits = featureBits({ ring: 'packed', order, eventIdx: chance(rng, 0.5), indirect });
  const f: Negotiated = negotiate(bits, bits);
  const window = n * (1 + rng.int(4));
  const t = new UsedTracker(window, n, f.order, f.partialOrder, 'driver');
  const ring = new PackedDriverRing(guard, L, gl, f, { indirectMin: 2, segmentBytes: SEG_BYTES });
  // The device's model of the same queue: what a well-behaved device may write next, and where.
  const mirror = new UsedTracker(window, n, f.order, f.partialOrder, 'device');
  /** Outstanding ids in available order (the device's view). */
  let out: number[] = [];
  let usedPos = 0;
  let usedWrap = 1;
  let written = 0;

  const add = (): void => {
    let added = 0;
    while (ring.canAdd(segments) && t.inFlight < window) {
      const id = ring.add(nRead, nWrite);
      const w = ring.weightOf(id);
      t.makeAvailable(id, w, capacity);
      mirror.makeAvailable(id, w, capacity);
      out.push(id);
      added++;
      if (chance(rng, 0.3)) break;
    }
    if (added > 0) { ring.publish(); ring.needKick(); }
  };
  /** Write a used descriptor at the device's position (flags last), then skip `advance` slots. */
  const put = (e: Entry, advance: number, at = usedPos, wrapAt = usedWrap): void => {
    const d = L.desc.offset + at * 16;
    mem.st16(d + 12, e.id & 0xffff);
    mem.st32(d + 8, e.len >>> 0);
    mem.st16Release(d + 14, (e.bits ?? usedOf(wrapAt)) | (e.flush ? FLUSH : 0) | ((e.write ?? e.len !== 0) ? WRITE : 0));
    if (at === usedPos) {
      usedPos += advance;
      while (usedPos >= n) { usedPos -= n; usedWrap ^= 1; }
    }
    written++;
  };
  /** Apply a legal entry for `id` to the mirror; returns the slots it skips. */
  const apply = (id: number, flush: boolean, len: number): number => {
    mirror.onUsed(id, flush, len);
    const done = new Set<number>();
    for (let i = 0; i < mirror.count; i++) done.add(mirror.idAtSeq((mirror.firstSeq + i) >>> 0));
    out = out.filter((x) => !done.has(x));
    return mirror.weight;
  };
  /** A legal next entry for the mode (applied to the mirror); null when nothing is outstanding. */
  const legal = (): { e: Entry; advance: number } | null => {
    if (out.length === 0) return null;
    let id: number;
    let flush = false;
    if (order === 'in-order' || (order === 'partial' && mirror.lastFlush && chance(rng, 0.5))) {
      id = out[rng.int(out.length)];
      flush = order === 'partial';
    } else {
      id = out[rng.int(out.length)];
      flush = order === 'partial' && mirror.flushValidAfter(id) && chance(rng, 0.5);
    }
    const len = rng.int(capacity + 1);
    return { e: { id, len, flush }, advance: apply(id, flush, len) };
  };
  /** A legal entry that completes exactly the oldest outstanding buffer. */
  const oldest = (): { e: Entry; advance: number } => {
    const id = out[0];
    const flush = order === 'partial' && mirror.flushValidAfter(id);
    return { e: { id, len: 0, flush }, advance: apply(id, flush, 0) };
  };
  const reclaim = (limit: number): string | null => {
    for (let k = 0; ; k++) {
      if (k > limit) return `driver consumed ${k} used descriptors, only ${limit} were written`;
      if (!ring.pollUsed()) return null;
      ring.readUsed();
      const c = t.onUsed(ring.usedId, ring.usedFlush, ring.usedLen);
      ring.consumeUsed(t.weight);
      for (let i = 0; i < c; i++) ring.free(t.idAtSeq((t.firstSeq + i) >>> 0));
    }
  };
  const where = (): string => `[order ${order}, queue ${n}, ${segments} segments${indirect ? ', indirect' : ''}]`;

  // Well-behaved rounds: the driver must accept every legal entry and end where the device is.
  for (let round = rng.int(6); round > 0; round--) {
    add();
    const before = written;
    for (let k = rng.int(out.length + 1); k > 0; k--) {
      const l = legal();
      if (!l) break;
      put(l.e, l.advance);
    }
    guard.writable = [];
    try {
      const p = reclaim(written - before);
      if (p) return { cls: 'valid-prefix', code: null, problem: `${p} ${where()}` };
    } catch (e) {
      return { cls: 'valid-prefix', code: (e as { code?: string }).code ?? null, problem: `driver rejected a legal entry: ${(e as Error).message} ${where()}` };
    }
    guard.writable = driverWrites;
    const st = ring.state();
    if (t.inFlight !== mirror.inFlight || st.last_used !== usedPos || st.used_wrap !== usedWrap) {
      return { cls: 'valid-prefix', code: null, problem: `driver at ${st.last_used}/${st.used_wrap} with ${t.inFlight} in flight, device at ${usedPos}/${usedWrap} with ${mirror.inFlight} ${where()}` };
    }
  }

  // The attack: a list of steps (used descriptors); the driver reclaims after each step, and the
  // hostile step must end in one of the allowed codes.
  add();
  while (ring.canAdd(segments) && t.inFlight < window) add();
  const steps: Entry[][] = [];
  let allowed: string[] = [];
  /** A legal class here: the driver must reclaim nothing and raise nothing. */
  let legalNothing = false;
  const need = (k: number): boolean => out.length >= k;
  const fallback: Record<string, string> = {
    'id-not-outstanding': 'used-twice', 'used-twice': 'id-out-of-range', 'flush-without-feature': 'flush-with-hole',
    'flush-with-hole': 'wrong-wrap', 'batch-with-hole': 'wrong-wrap', 'batch-skipped-id': 'len-beyond-buffer',
    'stale-wrap-after-lap': 'wrong-wrap', 'skip-ahead': 'id-out-of-range', 'junk-len-without-write': 'id-out-of-range',
  };

  const plan = (): boolean => {
    switch (cls) {
      case 'id-out-of-range':
        steps.push([{ id: n + rng.int(65536 - n), len: 0, flush: false }]);
        allowed = ['USED_BAD_ID'];
        return true;
      case 'id-not-outstanding': {
        const outSet = new Set(out);
        const free = Array.from({ length: n }, (_, i) => i).filter((i) => !outSet.has(i));
        if (free.length === 0) return false;
        steps.push([{ id: pick(rng, free), len: 0, flush: order === 'partial' && chance(rng, 0.3) }]);
        allowed = ['USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER'];
        return true;
      }
      case 'used-twice': {
        // A legal entry for the oldest buffer, then the same id again while others are in flight.
        if (!need(2)) return false;
        const l = oldest();
        steps.push([{ ...l.e, advance: l.advance }], [{ id: l.e.id, len: 0, flush: false }]);
        allowed = ['USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER'];
        return true;
      }
      case 'len-beyond-buffer': {
        const l = legal()!;
        l.e.len = capacity + 1 + rng.int(0xffffffff - capacity);
        l.e.write = true;
        steps.push([l.e]);
        allowed = ['USED_BAD_LEN'];
        return true;
      }
      case 'junk-len-without-write': {
        // Legal: WRITE clear, so the length field is reserved (2.8.4) and may hold anything, even
        // more than the buffer holds; the driver must take the entry (as 0 bytes written). Then an
        // id out of range at the driver's position, which it must reject, with buffers in flight.
        if (!need(2)) return false;
        const l = oldest();
        steps.push([{ ...l.e, len: rng.int(2) ? 0xffffffff - rng.int(1000) : capacity + 1 + rng.int(1 << 20), write: false, advance: l.advance }]);
        steps.push([{ id: n + rng.int(65536 - n), len: 0, flush: false }]);
        allowed = ['USED_BAD_ID'];
        return true;
      }
      case 'flush-without-feature': {
        if (order === 'partial') return false;
        const l = legal()!;
        l.e.flush = true;
        steps.push([l.e]);
        allowed = ['USED_FLUSH_WITHOUT_FEATURE'];
        return true;
      }
      case 'flush-with-hole':
      case 'batch-with-hole': {
        // A plain entry past the oldest outstanding buffer (a hole behind it), then FLUSH on another
        // later one while the hole is still there; for batch-with-hole both are visible at once.
        if (order !== 'partial' || !need(3)) return false;
        const j = 1 + rng.int(out.length - 1);
        let k = 1 + rng.int(out.length - 1);
        if (k === j) k = j === out.length - 1 ? 1 : j + 1;
        const a: Entry = { id: out[j], len: 0, flush: false, advance: mirror.weightOfId(out[j]) };
        const b: Entry = { id: out[k], len: 0, flush: true };
        if (cls === 'batch-with-hole') steps.push([a, b]);
        else steps.push([a], [b]);
        allowed = ['USED_FLUSH_WITH_HOLE'];
        return true;
      }
      case 'batch-skipped-id': {
        // A batch entry (IN_ORDER, or FLUSH after FLUSH) covering b ≥ 2 buffers with one left in
        // flight, then an entry at the next position naming one the batch already completed.
        if (order === 'none' || !need(3) || (order === 'partial' && !mirror.lastFlush)) return false;
        const b = 2 + rng.int(out.length - 2);
        const skippedId = out[rng.int(b - 1)];
        const id = out[b - 1];
        const advance = apply(id, order === 'partial', 0);
        steps.push([{ id, len: 0, flush: order === 'partial', advance }], [{ id: skippedId, len: 0, flush: false }]);
        allowed = ['USED_OUT_OF_ORDER'];
        return true;
      }
      case 'wrong-wrap': {
        // A legal entry with AVAIL/USED bits no device writes at the driver's position in this lap.
        const l = legal()!;
        l.e.bits = pick(rng, [usedOf(usedWrap ^ 1), availOf(usedWrap ^ 1)]);
        steps.push([l.e]);
        allowed = ['PACKED_BAD_WRAP'];
        return true;
      }
      case 'stale-wrap-after-lap': {
        // Legal entries for the oldest buffers until the device's position wraps (one buffer left in
        // flight), then an entry from a device that forgot to flip its wrap counter.
        let p = usedPos;
        let last = -1;
        for (let i = 0; i < out.length - 1; i++) {
          p += mirror.weightOfId(out[i]);
          if (p >= n) { last = i; break; }
        }
        if (last < 0) return false;
        const startWrap = usedWrap;
        const pre: Entry[] = [];
        for (let i = 0; i <= last; i++) { const l = oldest(); pre.push({ ...l.e, advance: l.advance }); }
        const l = legal()!;
        l.e.bits = usedOf(startWrap);
        for (const e of pre) steps.push([e]);
        steps.push([l.e]);
        allowed = ['PACKED_BAD_WRAP'];
        return true;
      }
      case 'skip-ahead': {
        // A used descriptor written past the driver's position (the device skipped slots): the
        // driver must not look there; nothing reclaimed, nothing raised.
        if (t.inFlight === 0 || n < 2) return false;
        const l = legal()!;
        l.e.ahead = 1 + rng.int(n - 1);
        steps.push([l.e]);
        legalNothing = true;
        return true;
      }
      case 'random-entries': {
        // Random descriptors, each at the driver's position (so it reads every one), then one it must
        // reject if it still has buffers in flight.
        for (let k = 1 + rng.int(6); k > 0; k--) {
          steps.push([{
            id: chance(rng, 0.8) ? pick(rng, out.length ? out : [0]) : rng.int(n + 4),
            len: chance(rng, 0.8) ? rng.int(capacity + 1) : rng.int(4 * capacity + 2),
            flush: chance(rng, 0.3),
            write: chance(rng, 0.7),
            bits: chance(rng, 0.9) ? undefined : pick(rng, [0, AVAIL, USED, AVAIL | USED]),
            atDriver: true,
          }]);
        }
        steps.push([{ id: n + rng.int(65536 - n), len: 0, flush: false, atDriver: true }]);
        allowed = ALL_CODES;
        return true;
      }
    }
    throw new Error(`unknown packed driver fuzz class ${cls}`);
  };

  for (let tries = 0; !plan(); tries++) {
    // The queue's state does not allow this class (too few outstanding, wrong mode): a sibling.
    cls = fallback[cls] ?? 'id-out-of-range';
    if (tries > 8) cls = 'id-out-of-range';
  }
  const before = mem.u8.slice();
  let total = 0;
  guard.writable = [];
  const reclaimedBefore = t.entries;
  try {
    for (const s of steps) {
      for (const e of s) {
        if (e.ahead !== undefined) {
          let p = usedPos + e.ahead;
          let w = usedWrap;
          while (p >= n) { p -= n; w ^= 1; }
          put(e, 0, p, w);
        } else if (e.atDriver) {
          const st = ring.state();
          put(e, 0, st.last_used as number, st.used_wrap as number);
        } else put(e, e.advance ?? 1);
      }
      total += s.length;
      const p = reclaim(total + 1);
      if (p) return { cls, code: null, problem: `${p} ${where()}` };
    }
    if (legalNothing) {
      const got = t.entries - reclaimedBefore;
      return got === 0 ? { cls, code: null, problem: null } : { cls, code: null, problem: `driver reclaimed ${got} entries from a used descriptor written past its position ${where()}` };
    }
    // Random entries may end with nothing in flight, where the driver rightly reads no further.
    if (cls === 'random-entries' && t.inFlight === 0) return { cls, code: null, problem: null };
    return { cls, code: null, problem: `no error: the driver accepted the hostile entries ${where()}` };
  } catch (e) {
    const r = judge(cls, e, 'driver', allowed);
    // Only the device's own writes (the descriptor ring) differ from the snapshot; the driver wrote nothing.
    const changed = changedOutside(before, mem.u8, [[L.desc.offset, descEnd]]);
    if (!r.problem && changed.length) r.problem = `guest memory changed outside the descriptor ring: ${JSON.stringify(changed)}`;
    if (r.problem) r.problem += ` ${where()}`;
    return r;
  }
}

export const packedDriverTarget: FuzzTarget = { classes: PACKED_DRIVER_CLASSES, run: packedDriverCase };
