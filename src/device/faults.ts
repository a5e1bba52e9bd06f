/**
 * Page-fault model: each buffer the device touches faults with probability `rate`; the fault
 * resolves `latencyUs` later (as a PRI page request would). Seeded, so a run replays.
 */
import { Rng } from '../util/rng.js';

export interface FaultConfig {
  rate: number;
  latencyUs: number;
  seed: number;
}

export class FaultModel {
  private readonly rng: Rng;
  /** ln(1 - rate): the geometric gap's scale (0 when rate is 0). */
  private readonly logKeep: number;
  /** Buffers still to go before the next fault. */
  private gap: number;
  readonly latencyMs: number;
  constructor(readonly cfg: FaultConfig) {
    this.rng = new Rng(cfg.seed);
    const rate = Math.min(1, Math.max(0, cfg.rate));
    this.logKeep = rate > 0 ? Math.log1p(-rate) : 0;
    this.latencyMs = cfg.latencyUs / 1000;
    this.gap = this.draw();
  }
  get enabled(): boolean { return this.logKeep !== 0; }

  /**
   * Does the next buffer fault? Each buffer faults independently with probability `rate`; the
   * count of buffers between two faults is then geometric, so it is drawn once per fault
   * (inverse CDF) and a buffer costs a decrement, not a random draw.
   */
  next(): boolean {
    if (this.gap > 0) { this.gap--; return false; }
    this.gap = this.draw();
    return this.logKeep !== 0;
  }

  /** Buffers that will not fault before the next one that does (next() returns false that many times). */
  get clearAhead(): number { return this.gap; }

  /** next() for `n` ≤ clearAhead buffers at once (none of them faults). */
  skip(n: number): void { this.gap -= n; }

  /** Buffers without a fault before the next one: floor(ln U / ln(1 - rate)), U uniform in (0, 1]. */
  private draw(): number {
    // Rate 0: never; re-armed whenever it runs out. Capped so the count stays a small integer.
    if (this.logKeep === 0) return MAX_GAP;
    const g = Math.floor(Math.log((this.rng.u32() + 1) / 4294967296) / this.logKeep);
    return (g < MAX_GAP ? g : MAX_GAP) | 0; // | 0: an int field (ln 1 = 0 gives -0, a double)
  }
}

const MAX_GAP = 0x3fffffff;
