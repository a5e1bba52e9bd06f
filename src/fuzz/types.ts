/** What a fuzz case reports, and the small helpers every generator shares. */
import { Rng } from '../util/rng.js';
import { isVqError } from '../errors.js';

export type FuzzSide = 'device' | 'driver';

/** The outcome of one hostile case, decided by the case itself (the runner adds crashes and time). */
export interface FuzzCaseResult {
  /** The hostile-input class the case exercised. */
  cls: string;
  /** The typed error the attacked side raised (null: it raised none). */
  code: string | null;
  /** Why the case failed (null: it passed: a typed error from the attacked side, as the oracle expects). */
  problem: string | null;
}

/** A case generator: builds hostile memory from `rng`, drives the attacked ring, judges the outcome. */
export type FuzzCase = (rng: Rng, cls: string) => FuzzCaseResult;

export interface FuzzTarget {
  classes: readonly string[];
  run: FuzzCase;
}

export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];
export const chance = (rng: Rng, p: number): boolean => rng.float() < p;

export function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = a[i]; a[i] = a[j]; a[j] = t; }
  return a;
}

/**
 * Judge an error thrown while the attacked side handled hostile input: it must be a VqError from
 * `side` with a code the oracle allows. Anything that is not a VqError is rethrown: the runner
 * counts it as a crash.
 */
export function judge(cls: string, e: unknown, side: FuzzSide, allowed: readonly string[] | null): FuzzCaseResult {
  if (!isVqError(e)) throw e;
  if (e.side !== side) return { cls, code: e.code, problem: `error from side ${e.side}, expected ${side}: ${e.message}` };
  if (allowed === null) return { cls, code: e.code, problem: `${e.code} on input the oracle accepts: ${e.message}` };
  if (!allowed.includes(e.code)) return { cls, code: e.code, problem: `${e.code} (${e.message}); the oracle expects ${allowed.join(' or ')}` };
  return { cls, code: e.code, problem: null };
}
