/**
 * The reference model (src/check/reference.ts) beside the simulator's live checker. It reads the
 * same event records (the driver's avail and reclaim records, the device's used entries) and
 * answers from its own model, independent of the UsedTracker that the driver, the device and the
 * checker share. A disagreement is a finding (REFERENCE_DISAGREES):
 *  - a used entry breaks a rule by one opinion and not the other, or not the same rule;
 *  - the driver reclaimed a different number of buffers for an entry than the reference says it
 *    stands for;
 *  - a side moved its used position past an entry by other than the entry's ring slots (split,
 *    one used element per buffer; packed, the sum of the chains' descriptor slots): the checker
 *    counts one slot per buffer, so only this can see a slot bug.
 */
import { ReferenceStream, type RefRule } from '../check/reference.js';
import { availRunOf, availStepOf, EV_AVAIL, EV_FLUSH_BIT, EV_RECLAIM, EV_RECLAIM_SINGLES, EV_USED } from '../check/events.js';
import type { Negotiated, OrderSpec, RingKind } from '../spec/features.js';
import { orderWindowOf, type RunConfig } from '../harness/config.js';
import type { VirtioDriver } from '../driver/driver.js';
import type { VirtioDevice } from '../device/device.js';

const REF_RULES: ReadonlySet<string> = new Set<RefRule>([
  'USED_BAD_ID', 'USED_ID_NOT_OUTSTANDING', 'USED_OUT_OF_ORDER', 'USED_BAD_LEN', 'USED_FLUSH_WITHOUT_FEATURE',
  'USED_FLUSH_WITH_HOLE', 'USED_BEFORE_AVAIL', 'AVAIL_BAD_HEAD', 'AVAIL_IDX_JUMP',
]);

export class SimReferenceHook {
  readonly ref: ReferenceStream;
  /** Per used entry logged: the buffers and the ring slots the reference says it stands for. */
  private readonly counts: number[] = [];
  private readonly slots: number[] = [];
  /** The slots each side moved past, per used entry, in ring order (device: written; driver: reclaimed). */
  private readonly deviceMoved: number[] = [];
  private readonly driverMoved: number[] = [];
  /** Reclaim records not yet paired with their used entry (the driver log is read before the device log). */
  private readonly reclaims: [number, number][] = [];
  private reclaimed = 0;
  private driverChecked = 0;
  private violation: { rule: string; message: string } | null = null;
  private finding: string | null = null;

  constructor(
    ring: RingKind,
    order: OrderSpec,
    queueSize: number,
    window: number,
    /** The descriptor slots of the chain the driver made available as `id` (read as its avail record is). */
    private readonly slotsOf: (id: number) => number,
  ) {
    this.ref = new ReferenceStream({ ring, order, maxId: queueSize, window });
  }

  /** The device wrote a used entry and moved its used position `slots` further. */
  deviceWrote(slots: number): void { this.deviceMoved.push(slots); }
  /** The driver moved past a used entry, `slots` further. */
  driverConsumed(slots: number): void { this.driverMoved.push(slots); }

  driverRecord(w0: number, w1: number): void {
    if (this.finding || this.violation) return;
    const type = w0 & 0xff;
    const id = (w0 >>> 8) & 0xffff;
    if (type === EV_AVAIL) {
      const n = availRunOf(w0);
      const step = availStepOf(w0);
      for (let k = 0; k < n; k++) {
        const b = (id + step * k) & 0xffff;
        this.ref.avail(b, this.slotsOf(b), false, w1 >>> 0);
      }
    } else if (type === EV_RECLAIM) this.reclaims.push([id, w1]);
    else if (type === EV_RECLAIM_SINGLES) for (let k = 0; k < w1; k++) this.reclaims.push([-1, 1]);
    this.pairReclaims();
  }

  deviceRecord(w0: number, w1: number): void {
    if (this.finding || this.violation || (w0 & 0xff) !== EV_USED) return;
    const e = this.counts.length;
    const r = this.ref.used(e, (w0 >>> 8) & 0xffff, w1 >>> 0, (w0 & EV_FLUSH_BIT) !== 0);
    if (!r.ok) { this.violation = r; return; }
    this.counts.push(r.ids.length);
    this.slots.push(r.slots);
    // The device moved its position before it logged the entry.
    if (this.deviceMoved[e] !== r.slots) {
      this.finding = `the device moved its used position ${this.deviceMoved[e]} slot(s) for used entry ${e} (id ${r.ids[r.ids.length - 1]}); the reference says ${r.slots} (buffers ${r.ids.join(', ')})`;
    }
    this.pairReclaims();
  }

  private pairReclaims(): void {
    while (!this.finding && this.reclaims.length > 0 && this.reclaimed < this.counts.length) {
      const [id, count] = this.reclaims.shift()!;
      const e = this.reclaimed++;
      if (this.counts[e] !== count) this.finding = `the driver reclaimed ${count} buffer(s) for used entry ${e}${id >= 0 ? ` (id ${id})` : ''}; the reference says it stands for ${this.counts[e]}`;
    }
    for (; !this.finding && this.driverChecked < this.driverMoved.length && this.driverChecked < this.slots.length; this.driverChecked++) {
      const e = this.driverChecked;
      if (this.driverMoved[e] !== this.slots[e]) this.finding = `the driver moved its used position ${this.driverMoved[e]} slot(s) past used entry ${e}; the reference says ${this.slots[e]}`;
    }
  }

  /**
   * After the checker has drained the same records: a description of the first disagreement, or
   * null. `checkerRule` is the checker's first violation (null: none).
   */
  compare(checkerRule: string | null): string | null {
    this.pairReclaims();
    if (this.finding) return this.finding;
    const mine = this.violation?.rule ?? null;
    const theirs = checkerRule !== null && REF_RULES.has(checkerRule) ? checkerRule : null;
    if (checkerRule !== null && theirs === null) return null; // another kind of rule (data, wake-ups): not the reference's business
    if (mine !== theirs) {
      return this.finding = `the checker says ${theirs ?? 'ok'}, the reference says ${mine ?? 'ok'}${this.violation ? ` (${this.violation.message})` : ''}`;
    }
    return null;
  }
}

/** The ordering features a negotiation leaves, as the reference reads them. */
const orderSpecOf = (f: Negotiated): OrderSpec => (f.inOrder && f.partialOrder ? 'in-order,partial' : f.inOrder ? 'in-order' : f.partialOrder ? 'partial' : 'none');

/** What the simulator calls: records by side (0 driver, 1 device), and the comparison after each check. */
export interface AttachedHook {
  record(side: number, w0: number, w1: number): void;
  compare(checkerRule: string | null): string | null;
}

/**
 * A hook for one simulated run: the reference learns each chain's slots from the driver's ring as
 * its avail record is read, and the slots each side moves past from the rings' own calls (the
 * device's pushUsed, the driver's consumeUsed), wrapped on these two instances only.
 */
export function attachReferenceHook(cfg: RunConfig, f: Negotiated, driver: VirtioDriver, device: VirtioDevice): AttachedHook {
  const h = new SimReferenceHook(cfg.ring, orderSpecOf(f), cfg.queueSize, orderWindowOf(cfg), (id) => driver.ring.weightOf(id));
  const dev = device.ring;
  const push = dev.pushUsed.bind(dev);
  dev.pushUsed = (id, len, flush, weight) => { push(id, len, flush, weight); h.deviceWrote(weight); };
  const drv = driver.ring;
  const consume = drv.consumeUsed.bind(drv);
  drv.consumeUsed = (weight) => { consume(weight); h.driverConsumed(weight); };
  return {
    record: (side, w0, w1) => { if (side === 0) h.driverRecord(w0, w1); else h.deviceRecord(w0, w1); },
    compare: (rule) => h.compare(rule),
  };
}
