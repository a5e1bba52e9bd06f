/**
 * The planted-bug catalogue: ways ring code goes wrong, injected WITHOUT editing the ring code —
 * most are a wrapper around one side's MemoryOps that drops a barrier or rewrites a store the way a
 * buggy driver or device would write it; a few (`patch`) replace one method of a built side's
 * object, for bugs in what a side computes rather than in how it touches memory. `vqlab bugs`
 * lists them; `vqlab explore --bug <name>` looks for them.
 */
import type { MemoryOps } from '../memory/ops.js';
import type { GuestLayout } from '../memory/guest.js';
import {
  AVAIL_IDX, AVAIL_RING, PACKED_DESC_FLAGS, PACKED_DESC_SIZE, USED_ELEM_FLAGS, USED_ELEM_SIZE, USED_IDX, USED_RING,
  VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_USED, VIRTQ_USED_ELEM_F_FLUSH,
} from '../spec/constants.js';
import type { MemoryModel } from './memory.js';
import type { VirtioDriver } from '../driver/driver.js';
import type { VirtioDevice } from '../device/device.js';

export interface BugSpec {
  name: string;
  side: 'driver' | 'device';
  what: string;
  /** The configuration it needs to show (ring, order, notify, event idx). */
  needs: { ring?: 'split' | 'packed'; order?: 'none' | 'in-order' | 'partial'; notify?: 'poll' | 'wait'; eventIdx?: boolean; segments?: number };
  /**
   * The strongest model under which it can show (sc: a program-order bug; tso / relaxed: a missing
   * write or full barrier; weak: a missing read barrier — a plain load where an acquire belongs).
   */
  model: MemoryModel;
  /** The side's memory as the buggy code would use it. */
  wrap?(mem: MemoryOps, gl: GuestLayout): MemoryOps;
  /** Or: one method of the built side replaced by its buggy version. */
  patch?(side: VirtioDriver | VirtioDevice): void;
}

/** A MemoryOps that forwards everything; bugs override one method. */
class Wrap implements MemoryOps {
  constructor(readonly inner: MemoryOps) {}
  get size(): number { return this.inner.size; }
  ld8(o: number): number { return this.inner.ld8(o); }
  st8(o: number, v: number): void { this.inner.st8(o, v); }
  ld16(o: number): number { return this.inner.ld16(o); }
  st16(o: number, v: number): void { this.inner.st16(o, v); }
  ld32(o: number): number { return this.inner.ld32(o); }
  st32(o: number, v: number): void { this.inner.st32(o, v); }
  ld64(o: number): number { return this.inner.ld64(o); }
  st64(o: number, v: number): void { this.inner.st64(o, v); }
  st16Release(o: number, v: number): void { this.inner.st16Release(o, v); }
  ld16Acquire(o: number): number { return this.inner.ld16Acquire(o); }
  mb(): void { this.inner.mb(); }
}

const split = (gl: GuestLayout): { avail: number; used: number; n: number; usedEvent: number; availEvent: number } => {
  const r = gl.ring as { avail: { offset: number }; used: { offset: number }; usedEvent: { offset: number }; availEvent: { offset: number }; queueSize: number };
  return { avail: r.avail.offset, used: r.used.offset, n: r.queueSize, usedEvent: r.usedEvent.offset, availEvent: r.availEvent.offset };
};
/** Is o the flags field of a packed ring descriptor? */
const isPackedFlags = (gl: GuestLayout, o: number): boolean => {
  const d = o - gl.ring.desc.offset;
  return d >= 0 && d < gl.ring.desc.size && d % PACKED_DESC_SIZE === PACKED_DESC_FLAGS;
};
const inUsedFlags = (gl: GuestLayout, o: number): boolean => {
  const s = split(gl);
  const rel = o - (s.used + USED_RING);
  return rel >= 0 && rel < s.n * USED_ELEM_SIZE && rel % USED_ELEM_SIZE === USED_ELEM_FLAGS;
};

export const BUGS: BugSpec[] = [
  {
    name: 'no-wmb-before-avail-idx', side: 'driver', model: 'relaxed', needs: { ring: 'split' },
    what: 'driver publishes avail.idx with a plain store: no write barrier after the descriptors and ring entry',
    wrap: (m, gl) => new (class extends Wrap { override st16Release(o: number, v: number): void { if (o === split(gl).avail + AVAIL_IDX) this.inner.st16(o, v); else this.inner.st16Release(o, v); } })(m),
  },
  {
    name: 'no-wmb-before-packed-head', side: 'driver', model: 'relaxed', needs: { ring: 'packed' },
    what: 'driver writes the packed batch\'s head flags with a plain store: no write barrier after the rest of the batch',
    wrap: (m, gl) => new (class extends Wrap { override st16Release(o: number, v: number): void { const d = o - gl.ring.desc.offset; if (d >= 0 && d < gl.ring.desc.size && d % PACKED_DESC_SIZE === PACKED_DESC_FLAGS) this.inner.st16(o, v); else this.inner.st16Release(o, v); } })(m),
  },
  {
    name: 'publish-idx-before-entry', side: 'driver', model: 'sc', needs: { ring: 'split' },
    what: 'driver stores avail.idx before the avail.ring entry it publishes (the entry is written after the index)',
    wrap: (m, gl) => new (class extends Wrap {
      private held: [number, number][] = [];
      override st16(o: number, v: number): void {
        const s = split(gl);
        if (o >= s.avail + AVAIL_RING && o < s.avail + AVAIL_RING + 2 * s.n) this.held.push([o, v]); else this.inner.st16(o, v);
      }
      override st16Release(o: number, v: number): void {
        this.inner.st16Release(o, v);
        if (o === split(gl).avail + AVAIL_IDX) { for (const [ho, hv] of this.held) this.inner.st16(ho, hv); this.held = []; }
      }
    })(m),
  },
  {
    name: 'no-mb-before-kick-check', side: 'driver', model: 'tso', needs: { notify: 'wait' },
    what: 'driver drops the full barrier between publishing and reading the device\'s suppression state (and before sleeping)',
    wrap: (m) => new (class extends Wrap { override mb(): void {} })(m),
  },
  {
    name: 'no-mb-before-interrupt-check', side: 'device', model: 'tso', needs: { notify: 'wait' },
    what: 'device drops the full barrier between publishing used entries and reading the driver\'s suppression state (and before sleeping)',
    wrap: (m) => new (class extends Wrap { override mb(): void {} })(m),
  },
  {
    name: 'flush-with-hole', side: 'device', model: 'sc', needs: { ring: 'split', order: 'partial' },
    what: 'device sets FLUSH on every used entry, also with older buffers still outstanding',
    wrap: (m, gl) => new (class extends Wrap { override st16(o: number, v: number): void { this.inner.st16(o, inUsedFlags(gl, o) ? v | VIRTQ_USED_ELEM_F_FLUSH : v); } })(m),
  },
  {
    name: 'batch-without-flush', side: 'device', model: 'sc', needs: { ring: 'split', order: 'partial' },
    what: 'device writes batch entries without FLUSH (a batch is only allowed after a FLUSH entry and carries FLUSH)',
    wrap: (m, gl) => new (class extends Wrap { override st16(o: number, v: number): void { this.inner.st16(o, inUsedFlags(gl, o) ? v & ~VIRTQ_USED_ELEM_F_FLUSH : v); } })(m),
  },
  {
    name: 'batch-off-by-one', side: 'device', model: 'sc', needs: { ring: 'split', order: 'in-order' },
    what: 'device moves used.idx one further than the batch it wrote',
    wrap: (m, gl) => new (class extends Wrap {
      private extra = 0;
      override st16Release(o: number, v: number): void { if (o === split(gl).used + USED_IDX) { this.extra++; this.inner.st16Release(o, (v + this.extra) & 0xffff); } else this.inner.st16Release(o, v); }
    })(m),
  },
  {
    name: 'wrap-counter-not-flipped', side: 'device', model: 'sc', needs: { ring: 'packed' },
    what: 'packed device never flips its wrap counter: used descriptors always carry AVAIL = USED = 1',
    wrap: (m, gl) => new (class extends Wrap {
      override st16Release(o: number, v: number): void {
        const d = o - gl.ring.desc.offset;
        const isFlags = d >= 0 && d < gl.ring.desc.size && d % PACKED_DESC_SIZE === PACKED_DESC_FLAGS;
        this.inner.st16Release(o, isFlags && (v & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)) === 0 ? v | VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : v);
      }
    })(m),
  },
  {
    name: 'event-idx-off-by-one', side: 'driver', model: 'sc', needs: { ring: 'split', notify: 'wait', eventIdx: true },
    what: 'driver asks for an interrupt one entry too late (used_event = last_used + 1)',
    wrap: (m, gl) => new (class extends Wrap { override st16Release(o: number, v: number): void { this.inner.st16Release(o, o === split(gl).usedEvent ? (v + 1) & 0xffff : v); } })(m),
  },
  {
    // 2.7.10: the device asks for a kick when avail.idx passes avail_event; one too far, and a
    // driver that publishes a single buffer and then has nothing more to add (a full queue of 1)
    // never kicks. Its disable store (last_avail - 1) also lands one further, on last_avail: only
    // an extra kick. Larger queues mask it: the next batch's kick wakes the device.
    name: 'avail-event-off-by-one', side: 'device', model: 'sc', needs: { ring: 'split', notify: 'wait', eventIdx: true },
    what: 'device asks for a kick one buffer too late (avail_event = last_avail + 1)',
    wrap: (m, gl) => new (class extends Wrap { override st16Release(o: number, v: number): void { this.inner.st16Release(o, o === split(gl).availEvent ? (v + 1) & 0xffff : v); } })(m),
  },
  {
    name: 'id-reused-while-outstanding', side: 'driver', model: 'sc', needs: { ring: 'split' },
    what: 'driver puts the previous head into avail.ring again: an id made available while still outstanding',
    wrap: (m, gl) => new (class extends Wrap {
      private last = -1;
      private count = 0;
      override st16(o: number, v: number): void {
        const s = split(gl);
        if (o >= s.avail + AVAIL_RING && o < s.avail + AVAIL_RING + 2 * s.n) {
          if (++this.count % 3 === 0 && this.last >= 0) v = this.last;
          this.last = v;
        }
        this.inner.st16(o, v);
      }
    })(m),
  },
  // ---- the consumer side: a plain load where the read barrier belongs (shows under weak only) ----
  {
    name: 'device-plain-avail-idx', side: 'device', model: 'weak', needs: { ring: 'split' },
    what: 'device reads avail.idx with a plain load (no read barrier before the avail.ring entry and the descriptors)',
    wrap: (m, gl) => new (class extends Wrap { override ld16Acquire(o: number): number { return o === split(gl).avail + AVAIL_IDX ? this.inner.ld16(o) : this.inner.ld16Acquire(o); } })(m),
  },
  {
    name: 'driver-plain-used-idx', side: 'driver', model: 'weak', needs: { ring: 'split' },
    what: 'driver reads used.idx with a plain load (no read barrier before the used.ring element)',
    wrap: (m, gl) => new (class extends Wrap { override ld16Acquire(o: number): number { return o === split(gl).used + USED_IDX ? this.inner.ld16(o) : this.inner.ld16Acquire(o); } })(m),
  },
  {
    name: 'device-plain-avail-flags', side: 'device', model: 'weak', needs: { ring: 'packed' },
    what: 'packed device reads a descriptor\'s flags with a plain load, then its addr, len and id (no read barrier between)',
    wrap: (m, gl) => new (class extends Wrap { override ld16Acquire(o: number): number { return isPackedFlags(gl, o) ? this.inner.ld16(o) : this.inner.ld16Acquire(o); } })(m),
  },
  {
    name: 'driver-plain-used-flags', side: 'driver', model: 'weak', needs: { ring: 'packed' },
    what: 'packed driver reads a used descriptor\'s flags with a plain load, then its id and len (no read barrier between)',
    wrap: (m, gl) => new (class extends Wrap { override ld16Acquire(o: number): number { return isPackedFlags(gl, o) ? this.inner.ld16(o) : this.inner.ld16Acquire(o); } })(m),
  },
  // ---- bugs in what a side computes (patched methods) ----
  {
    name: 'packed-head-flags-early', side: 'driver', model: 'tso', needs: { ring: 'packed' },
    what: 'packed driver stores a batch\'s first head flags at once, like the others, instead of holding them back (publish() still writes them last, by then perhaps over the device\'s used flags): the queue stalls',
    patch: (side) => {
      // The ring's put() writes one descriptor and holds the batch's first head flags back for publish().
      const ring = (side as VirtioDriver).ring as unknown as { put: (...a: number[]) => void; pendingHead: number; pendingFlags: number; mem: MemoryOps };
      const put = ring.put;
      ring.put = function (this: typeof ring, ...a: number[]): void {
        const first = this.pendingHead < 0;
        put.apply(this, a);
        if (first) this.mem.st16(this.pendingHead, this.pendingFlags);
      };
    },
  },
  {
    name: 'tracker-batch-weight', side: 'driver', model: 'sc', needs: { ring: 'packed', order: 'in-order', segments: 2 },
    what: 'the driver\'s tracker leaves the named buffer\'s own descriptor slots out of a batch\'s weight (chains of 2 or more descriptors; the live checker, which counts every buffer as one slot, cannot see it)',
    patch: (side) => {
      // Under IN_ORDER every used entry is a batch; its weight should be the running sum through the named buffer.
      const tr = (side as VirtioDriver).tracker as unknown as { onUsed: (id: number, flush: boolean, len: number) => number; weight: number; unit: boolean; weightOfId: (id: number) => number };
      const onUsed = tr.onUsed;
      tr.onUsed = function (this: typeof tr, id: number, flush: boolean, len: number): number {
        const k = onUsed.call(this, id, flush, len);
        if (!this.unit) this.weight -= this.weightOfId(id);
        return k;
      };
    },
  },
];

export const bugByName = (name: string): BugSpec | undefined => BUGS.find((b) => b.name === name);
