/**
 * What differs between split and packed, as two small interfaces. Everything above them (the
 * driver and device loops, ordering, faults, events, checking) is shared. Each worker only ever
 * sees one implementation, so the call sites stay monomorphic.
 */
import type { Chain } from './chain.js';

export interface DriverRing {
  /** Could a buffer of `segments` descriptors be added now (descriptors / ids / slots free)? */
  canAdd(segments: number): boolean;
  /**
   * Write a buffer's descriptors (not yet visible to the device): `nRead` readable then `nWrite`
   * writable segments at the buffer pool slot of the returned buffer id. Returns the id.
   */
  add(nRead: number, nWrite: number): number;
  /**
   * Add up to `max` buffers of the same shape while they fit (as add() one after another): their
   * ids go to ids[0..], their weights (weightOf) to weights[0..] unless unitWeights() says every
   * buffer of that shape weighs 1 (weights is then left as it was); returns how many. The driver's
   * batch path: one call per publish round, so the per-buffer loop lives inside the ring.
   */
  addMany(max: number, nRead: number, nWrite: number, ids: Uint16Array, weights: Uint16Array): number;
  /** Every buffer of this shape takes one ring slot (its weight is 1): then addMany writes no weights. */
  unitWeights(nRead: number, nWrite: number): boolean;
  /** Ring slots the buffer with this id occupies (split: 1 used-ring entry; packed: descriptors). */
  weightOf(id: number): number;
  /** Publish everything added since the last publish (the spec's write barrier + index / flags store). */
  publish(): void;
  /** Full barrier, then the device's suppression state: should the driver kick? */
  needKick(): boolean;
  /** Is a used entry visible at the driver's current position? (acquire) */
  pollUsed(): boolean;
  /** Read the used entry at the current position into usedId / usedLen / usedFlush. */
  readUsed(): void;
  usedId: number;
  usedLen: number;
  usedFlush: boolean;
  /** Move past the entry just read, skipping `weight` slots (a batch), checking it stays in bounds. */
  consumeUsed(weight: number): void;
  /** Return a completed buffer's descriptors / id to the free pool. */
  free(id: number): void;
  enableInterrupts(): void;
  disableInterrupts(): void;
  /** Guest address of segment k of buffer `id` (the buffer pool). */
  segmentAddr(id: number, k: number): number;
  /** Queue state for failure reports. */
  state(): Record<string, number | boolean>;
}

export interface DeviceRing {
  /** Is an available buffer visible at the device's current position? (acquire) */
  pollAvail(): boolean;
  /** Read and validate the chain at the current position into `chain`, and move past it. */
  popChain(chain: Chain): void;
  /**
   * The common buffer in bulk: pop up to `max` consecutive available chains that are each one
   * writable descriptor (no NEXT, no INDIRECT) inside the DMA window, exactly as popChain would,
   * into ids / addrs / lens from index `at`; returns how many. It stops before anything else (a
   * longer chain, a readable descriptor, a bad head or address, the end of what is available),
   * which popChain then pops or rejects as usual, so it never throws. The device's batch path: the
   * per-buffer loop lives in the ring, with its cursors in locals.
   */
  popLone(max: number, ids: Uint16Array, addrs: Float64Array, lens: Uint32Array, at: number): number;
  /** Write a used entry at the current used position and skip `weight` slots (not yet published for split). */
  pushUsed(id: number, len: number, flush: boolean, weight: number): void;
  /** Make pushed entries visible (split: used.idx store-release; packed: already visible). */
  publishUsed(): void;
  /** Full barrier, then the driver's suppression state: should the device interrupt? */
  needInterrupt(): boolean;
  enableKicks(): void;
  disableKicks(): void;
  state(): Record<string, number | boolean>;
}
