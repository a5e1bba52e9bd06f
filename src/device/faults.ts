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
  private readonly threshold: number;
  readonly latencyMs: number;
  constructor(readonly cfg: FaultConfig) {
    this.rng = new Rng(cfg.seed);
    // Integer threshold: one u32 draw and a compare per buffer.
    this.threshold = Math.round(Math.min(1, Math.max(0, cfg.rate)) * 4294967296);
    this.latencyMs = cfg.latencyUs / 1000;
  }
  get enabled(): boolean { return this.threshold > 0; }
  /** Does the next buffer fault? */
  next(): boolean {
    return this.threshold > 0 && this.rng.u32() < this.threshold;
  }
}
