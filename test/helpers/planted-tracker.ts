import { vi } from 'vitest';
import { UsedTracker } from '../../src/order/tracker.js';

/**
 * A bug planted in the used tracker itself, as a code edit of its running-sum branch would make
 * it: a batch's weight leaves out the named buffer's own descriptor slots, only where weights are
 * not all 1 (chains). The live checker shares the tracker, so only the reference model can see it.
 * Undo with vi.restoreAllMocks().
 */
export function plantWeightBug(): void {
  const onUsed = UsedTracker.prototype.onUsed;
  const makeAvailable = UsedTracker.prototype.makeAvailable;
  const multi = new WeakSet<UsedTracker>();
  vi.spyOn(UsedTracker.prototype, 'makeAvailable').mockImplementation(function (this: UsedTracker, id: number, weight: number, capacity: number) {
    if (weight !== 1) multi.add(this);
    return makeAvailable.call(this, id, weight, capacity);
  });
  vi.spyOn(UsedTracker.prototype, 'onUsed').mockImplementation(function (this: UsedTracker, id: number, flush: boolean, len: number) {
    const batchEntry = this.mode === 'in-order' || (this.mode === 'partial' && flush && this.lastFlush);
    const n = onUsed.call(this, id, flush, len);
    if (batchEntry && multi.has(this)) this.weight -= this.weightOfId(id);
    return n;
  });
}
