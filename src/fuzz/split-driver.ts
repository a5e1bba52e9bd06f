/**
 * A hostile device against the split ring's driver side (SplitDriverRing.pollUsed / readUsed /
 * consumeUsed with the shared UsedTracker.onUsed, exactly the driver loop's reclaim sequence).
 *
 * Each case: a queue of random size, ordering mode and features; the real driver ring adds and
 * publishes buffers; a well-behaved device (a mirror tracker deciding what is legal) uses some of
 * them for a few rounds, which the driver must accept; then the device writes one hostile sequence
 * of used entries / used.idx of one class. The driver runs over a GuardedMemory that allows it no
 * write while it reclaims. It must end in a typed VqError from the driver whose code the class's
 * oracle allows, reclaiming no more entries than were written, with guest memory byte-identical.
 */
import { AtomicsMemory } from '../memory/ops.js';
import { guestLayout } from '../memory/guest.js';
import { featureBits, negotiate, type Negotiated, type OrderMode } from '../spec/features.js';
import type { SplitRingLayout } from '../spec/layout.js';
import { USED_IDX, USED_RING, USED_ELEM_SIZE, VIRTQ_USED_ELEM_F_FLUSH } from '../spec/constants.js';
import { SplitDriverRing } from '../split/driver.js';
import { UsedTracker } from '../order/tracker.js';
import type { Rng } from '../util/rng.js';
import { GuardedMemory, changedOutside } from './guarded.js';
import { chance, judge, pick, type FuzzCaseResult, type FuzzTarget } from './types.js';

export const SPLIT_DRIVER_CLASSES = [
  'id-out-of-range', 'id-not-outstanding', 'used-twice', 'len-beyond-buffer', 'flush-without-feature',
  'flush-with-hole', 'batch-with-hole', 'batch-skipped-id', 'used-idx-jump', 'used-idx-backwards',
  'batch-overrun', 'bad-flags', 'random-entries', 'used-idx-past-outstanding',
] as const;

const SEG_BYTES = 16;
const FLUSH = VIRTQ_USED_ELEM_F_FLUSH;

interface Entry { id: number; len: number; flags: number }

export function splitDriverCase(rng: Rng, cls: string): FuzzCaseResult {
  const n = 1 << rng.int(9);
  const order: OrderMode = pick(rng, ['none', 'in-order', 'partial'] as const);
  const indirect = chance(rng, 0.5);
  const segments = 1 + rng.int(Math.min(4, n));
  const nRead = segments >= 2 ? 1 : 0;
  const nWrite = segments - nRead;
  const capacity = nWrite * SEG_BYTES;
  const gl = guestLayout({ ring: 'split', queueSize: n, segments, segmentBytes: SEG_BYTES, indirect });
  const L = gl.ring as SplitRingLayout;
  const mem = new AtomicsMemory(new SharedArrayBuffer(gl.totalSize));
  const guard = new GuardedMemory(mem);
  // The driver may write everything but the used ring while it adds buffers; nothing while it reclaims.
  const driverWrites: [number, number][] = [[0, L.used.offset], [L.used.offset + L.used.size, gl.totalSize]];
  guard.writable = driverWrites;
  const bits = featureBits({ ring: 'split', order, eventIdx: chance(rng, 0.5), indirect });
  const f: Negotiated = negotiate(bits, bits);
  const window = n * (1 + rng.int(4));
  const t = new UsedTracker(window, n, f.order, f.partialOrder, 'driver');
  const ring = new SplitDriverRing(guard, L, gl, f, { indirectMin: 2, segmentBytes: SEG_BYTES }, () => t.outstanding);
  // The device's model of the same queue: what a well-behaved device may write next.
  const mirror = new UsedTracker(window, n, f.order, f.partialOrder, 'device');
  /** Outstanding ids in available order (the device's view). */
  let out: number[] = [];
  let usedIdx = 0;
  let written = 0;

  const add = (k: number): void => {
    let added = 0;
    while (added < k && ring.canAdd(segments) && t.inFlight < window) {
      const id = ring.add(nRead, nWrite);
      t.makeAvailable(id, 1, capacity);
      mirror.makeAvailable(id, 1, capacity);
      out.push(id);
      added++;
    }
    if (added > 0) { ring.publish(); ring.needKick(); }
  };
  const put = (e: Entry, advance: number, publish = true): void => {
    const o = L.used.offset + USED_RING + (usedIdx & (n - 1)) * USED_ELEM_SIZE;
    mem.st16(o, e.id); mem.st16(o + 2, e.flags); mem.st32(o + 4, e.len >>> 0);
    usedIdx = (usedIdx + advance) & 0xffff;
    written++;
    if (publish) mem.st16Release(L.used.offset + USED_IDX, usedIdx);
  };
  /** A legal next entry for the mode (applied to the mirror); null when nothing is outstanding. */
  const legal = (opts: { batch?: boolean; single?: boolean } = {}): { e: Entry; advance: number } | null => {
    if (out.length === 0) return null;
    let id: number;
    let flush = false;
    if (order === 'in-order' || (order === 'partial' && mirror.lastFlush && (opts.batch || (!opts.single && chance(rng, 0.5))))) {
      id = out[opts.batch ? Math.max(1, out.length - 1 - rng.int(out.length)) : rng.int(out.length)] ?? out[0];
      flush = order === 'partial';
    } else {
      id = out[rng.int(out.length)];
      flush = order === 'partial' && mirror.flushValidAfter(id) && chance(rng, 0.5);
    }
    const len = rng.int(capacity + 1);
    mirror.onUsed(id, flush, len);
    const done = new Set<number>();
    for (let i = 0; i < mirror.count; i++) done.add(mirror.idAtSeq((mirror.firstSeq + i) >>> 0));
    out = out.filter((x) => !done.has(x));
    return { e: { id, len, flags: flush ? FLUSH : 0 }, advance: mirror.weight };
  };
  const reclaim = (limit: number): string | null => {
    for (let k = 0; ; k++) {
      if (k > limit) return `driver consumed ${k} used entries, only ${limit} were written`;
      if (!ring.pollUsed()) return null;
      ring.readUsed();
      const c = t.onUsed(ring.usedId, ring.usedFlush, ring.usedLen);
      ring.consumeUsed(t.weight);
      for (let i = 0; i < c; i++) ring.free(t.idAtSeq((t.firstSeq + i) >>> 0));
    }
  };

  // Well-behaved rounds: the driver must accept every legal entry.
  for (let round = rng.int(5); round > 0; round--) {
    add(1 + rng.int(n));
    const before = written;
    for (let k = rng.int(out.length + 1); k > 0; k--) {
      const l = legal();
      if (!l) break;
      put(l.e, l.advance, chance(rng, 0.5));
    }
    mem.st16Release(L.used.offset + USED_IDX, usedIdx);
    guard.writable = [];
    try {
      const p = reclaim(written - before);
      if (p) return { cls: 'valid-prefix', code: null, problem: p };
    } catch (e) {
      return { cls: 'valid-prefix', code: e instanceof Error ? (e as { code?: string }).code ?? null : null, problem: `driver rejected a legal entry (${order}): ${(e as Error).message}` };
    }
    guard.writable = driverWrites;
    if (t.inFlight !== mirror.inFlight) return { cls: 'valid-prefix', code: null, problem: `driver has ${t.inFlight} in flight, device ${mirror.inFlight}` };
  }

  // The attack. Each class is a list of steps (entries, then a used.idx store); the driver reclaims
  // after each step, and the hostile step must end in one of the allowed codes.
  add(n);
  const outstanding = (): number => t.outstanding;
  const steps: { entries: [Entry, number][]; idx?: number }[] = [];
  let allowed: string[] = [];
  const fallback = (c: string): FuzzCaseResult => splitDriverAttack(c);
  const need = (k: number): boolean => out.length >= k;

  function splitDriverAttack(c: string): FuzzCaseResult {
    cls = c;
    return run();
  }

  function plan(): boolean {
    switch (cls) {
      case 'id-out-of-range':
        steps.push({ entries: [[{ id: n + rng.int(65536 - n), len: 0, flags: 0 }, 1]] });
        allowed = ['USED_BAD_ID'];
        return true;
      case 'id-not-outstanding': {
        const outSet = new Set(out);
        const free = Array.from({ length: n }, (_, i) => i).filter((i) => !outSet.has(i));
        if (free.length === 0) return false;
        steps.push({ entries: [[{ id: pick(rng, free), len: 0, flags: order === 'partial' && chance(rng, 0.3) ? FLUSH : 0 }, 1]] });
        allowed = ['USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER'];
        return true;
      }
      case 'used-twice': {
        if (!need(2)) return false;
        const l = legal({ single: true })!;
        steps.push({ entries: [[l.e, l.advance]] });
        steps.push({ entries: [[{ ...l.e, flags: 0 }, 1]] });
        // Nothing left outstanding after the first entry: the second one's used.idx step is the jump.
        allowed = mirror.outstanding === 0 ? ['USED_IDX_JUMP'] : ['USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER'];
        return true;
      }
      case 'len-beyond-buffer': {
        const l = legal()!;
        l.e.len = capacity + 1 + rng.int(0xffffffff - capacity);
        steps.push({ entries: [[l.e, l.advance]] });
        allowed = ['USED_BAD_LEN'];
        return true;
      }
      case 'flush-without-feature': {
        if (order === 'partial') return false;
        const l = legal()!;
        l.e.flags |= FLUSH;
        steps.push({ entries: [[l.e, l.advance]] });
        allowed = ['USED_FLUSH_WITHOUT_FEATURE'];
        return true;
      }
      case 'flush-with-hole':
      case 'batch-with-hole': {
        // A plain entry past the oldest outstanding buffer (a hole behind it), then FLUSH on another
        // later one while the hole is still there (not a batch: the previous entry had no FLUSH).
        if (order !== 'partial' || !need(3)) return false;
        const j = 1 + rng.int(out.length - 1);
        let k = 1 + rng.int(out.length - 1);
        if (k === j) k = j === out.length - 1 ? 1 : j + 1;
        if (cls === 'batch-with-hole') {
          // ... and both written in one publish: the driver sees them as one batch of work.
          steps.push({ entries: [[{ id: out[j], len: 0, flags: 0 }, 1], [{ id: out[k], len: 0, flags: FLUSH }, 1]] });
        } else {
          steps.push({ entries: [[{ id: out[j], len: 0, flags: 0 }, 1]] });
          steps.push({ entries: [[{ id: out[k], len: 0, flags: FLUSH }, 1]] });
        }
        allowed = ['USED_FLUSH_WITH_HOLE'];
        return true;
      }
      case 'batch-skipped-id': {
        // A batch entry (IN_ORDER, or FLUSH after FLUSH) covering b ≥ 2 buffers, then an entry that
        // names one the batch already completed.
        if (order === 'none' || !need(2) || (order === 'partial' && !mirror.lastFlush)) return false;
        const b = 2 + rng.int(out.length - 1);
        const skippedId = out[rng.int(b - 1)];
        steps.push({ entries: [[{ id: out[b - 1], len: 0, flags: order === 'partial' ? FLUSH : 0 }, b]] });
        steps.push({ entries: [[{ id: skippedId, len: 0, flags: 0 }, 1]] });
        allowed = ['USED_OUT_OF_ORDER', 'USED_IDX_JUMP'];
        return true;
      }
      case 'used-idx-jump': {
        const l = legal();
        const e = l?.e ?? { id: 0, len: 0, flags: 0 };
        steps.push({ entries: [[e, 0]], idx: (usedIdx + outstanding() + 1 + rng.int(Math.max(1, 65535 - outstanding()))) & 0xffff });
        allowed = ['USED_IDX_JUMP'];
        return true;
      }
      case 'used-idx-past-outstanding': {
        // A buffer used ahead of the oldest (a hole behind it), then used.idx moved past what is
        // outstanding but not past what is in flight: the completed-ahead buffer is in flight and
        // can never be used again, so the advance is already impossible.
        if (order === 'in-order' || !need(2)) return false;
        const id = out[1 + rng.int(out.length - 1)];
        mirror.onUsed(id, false, 0);
        out = out.filter((x) => x !== id);
        steps.push({ entries: [[{ id, len: 0, flags: 0 }, 1]] });
        const over = mirror.outstanding + 1 + rng.int(mirror.inFlight - mirror.outstanding);
        steps.push({ entries: [], idx: (usedIdx + 1 + over) & 0xffff });
        allowed = ['USED_IDX_JUMP'];
        return true;
      }
      case 'used-idx-backwards':
        steps.push({ entries: [], idx: (usedIdx - 1 - rng.int(1000)) & 0xffff });
        allowed = ['USED_IDX_JUMP'];
        return true;
      case 'batch-overrun': {
        if (order === 'none' || !need(2) || (order === 'partial' && !mirror.lastFlush)) return false;
        const b = 2 + rng.int(out.length - 1);
        steps.push({ entries: [[{ id: out[b - 1], len: 0, flags: order === 'partial' ? FLUSH : 0 }, 1 + rng.int(b - 1)]] });
        allowed = ['USED_BATCH_OVERRUN'];
        return true;
      }
      case 'bad-flags': {
        const l = legal()!;
        l.e.flags |= 1 + rng.int(0x7fff);
        steps.push({ entries: [[l.e, l.advance]] });
        allowed = ['USED_BAD_FLAGS'];
        return true;
      }
      case 'random-entries': {
        for (let s = 1 + rng.int(3); s > 0; s--) {
          const es: [Entry, number][] = [];
          for (let k = 1 + rng.int(3); k > 0; k--) {
            es.push([{ id: chance(rng, 0.8) ? pick(rng, out.length ? out : [0]) : rng.int(n + 4), len: chance(rng, 0.8) ? rng.int(capacity + 1) : rng.int(4 * capacity + 2), flags: pick(rng, [0, 0, FLUSH, 1 + rng.int(0xffff)]) }, 1 + rng.int(2)]);
          }
          steps.push({ entries: es });
        }
        steps.push({ entries: [[{ id: n + rng.int(65536 - n), len: 0, flags: 0 }, 1]] });
        allowed = ['USED_BAD_ID', 'USED_ID_NOT_OUTSTANDING', 'USED_BAD_LEN', 'USED_IDX_JUMP', 'USED_FLUSH_WITHOUT_FEATURE',
          'USED_FLUSH_WITH_HOLE', 'USED_BATCH_OVERRUN', 'USED_OUT_OF_ORDER', 'USED_BAD_FLAGS'];
        return true;
      }
    }
    throw new Error(`unknown split driver fuzz class ${cls}`);
  }

  function run(): FuzzCaseResult {
    if (!plan()) {
      // The queue's state does not allow this class (too few outstanding, wrong mode): a sibling.
      const alt: Record<string, string> = {
        'id-not-outstanding': 'used-twice', 'used-twice': 'id-out-of-range', 'flush-without-feature': 'flush-with-hole',
        'flush-with-hole': 'flush-without-feature', 'batch-with-hole': 'bad-flags', 'batch-skipped-id': 'used-idx-jump',
        'batch-overrun': 'used-idx-jump', 'used-idx-past-outstanding': 'used-idx-jump',
      };
      if (order === 'partial' && (cls === 'flush-without-feature')) return fallback('bad-flags');
      return fallback(alt[cls] ?? 'id-out-of-range');
    }
    const before = mem.u8.slice();
    let total = 0;
    guard.writable = [];
    try {
      for (const s of steps) {
        const from = usedIdx;
        for (const [e, adv] of s.entries) put(e, adv, false);
        // The bound is the used-ring slots the device published, not the entries it wrote: an entry
        // that advances used.idx by 2 without a batch exposes a stale slot, which the driver may
        // rightly read as an entry (found by `vqlab fuzz --side driver --cases 100000`, case 10264).
        total += Math.max(s.entries.length, ((s.idx ?? usedIdx) - from) & 0xffff);
        mem.st16Release(L.used.offset + USED_IDX, s.idx ?? usedIdx);
        if (s.idx !== undefined) usedIdx = s.idx;
        const p = reclaim(total + 1);
        if (p) return { cls, code: null, problem: p };
      }
      return { cls, code: null, problem: `no error: the driver accepted the hostile entries (${order})` };
    } catch (e) {
      const r = judge(cls, e, 'driver', allowed);
      // Only the device's own writes (the used ring) differ from the snapshot; the driver wrote nothing.
      const changed = changedOutside(before, mem.u8, [[L.used.offset, L.used.offset + L.used.size]]);
      if (!r.problem && changed.length) r.problem = `guest memory changed outside the used ring: ${JSON.stringify(changed)}`;
      if (r.problem) r.problem += ` [order ${order}, queue ${n}]`;
      return r;
    }
  }
  return run();
}

export const splitDriverTarget: FuzzTarget = { classes: SPLIT_DRIVER_CLASSES, run: splitDriverCase };
