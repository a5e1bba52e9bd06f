/**
 * The fuzz runner: N seeded cases against one side of one ring. Case i draws everything from
 * Rng(subSeed(seed, i)), so `--seed S --case i` replays it alone. A case passes when the attacked
 * side raised a typed VqError the case's oracle allows; anything else escaping (a TypeError, a
 * RangeError, a MemoryBreach from the guard) is a crash. Cases run synchronously with bounded
 * loops; the runner also records the slowest case, so "bounded time" is measured, not assumed.
 */
import { Rng, subSeed } from '../util/rng.js';
import type { RingKind } from '../spec/features.js';
import { VqError } from '../errors.js';
import type { FuzzSide, FuzzTarget } from './types.js';
import { splitDeviceTarget } from './split-device.js';
import { splitDriverTarget } from './split-driver.js';
import { packedDeviceTarget } from './packed-device.js';
import { packedDriverTarget } from './packed-driver.js';

/** Targets by ring and attacked side. A ring joins the fuzzer by adding its two targets here. */
export const FUZZ_TARGETS: Partial<Record<RingKind, Record<FuzzSide, FuzzTarget>>> = {
  split: { device: splitDeviceTarget, driver: splitDriverTarget },
  packed: { device: packedDeviceTarget, driver: packedDriverTarget },
};

export interface FuzzOptions {
  ring: RingKind;
  side: FuzzSide;
  cases: number;
  seed: number;
  /** Run only this case index (replay). */
  onlyCase?: number;
  /** Run only this hostile-input class. */
  onlyClass?: string;
  /** Stop after this many failures are recorded (the counts still cover every case). */
  maxFailures?: number;
  onProgress?: (done: number, failures: number) => void;
}

export interface FuzzFailure {
  case: number;
  cls: string;
  kind: 'crash' | 'wrong-outcome';
  message: string;
  replay: string;
}

export interface FuzzReport {
  ring: RingKind;
  side: FuzzSide;
  seed: number;
  cases: number;
  passed: number;
  /** Passing cases whose input was legal (the attacked side completed it correctly, no error). */
  legal_ok: number;
  crashes: number;
  wrong_outcomes: number;
  elapsed_ms: number;
  cases_per_s: number;
  slowest_case_ms: number;
  /** Typed errors raised by the attacked side, by code (passing cases). */
  errors_by_kind: Record<string, number>;
  /** Cases per hostile-input class. */
  cases_by_class: Record<string, number>;
  failures: FuzzFailure[];
  ok: boolean;
}

export function fuzzTarget(ring: RingKind, side: FuzzSide): FuzzTarget {
  const t = FUZZ_TARGETS[ring]?.[side];
  if (!t) throw new VqError('BAD_CONFIG', 'config', `no ${side} fuzz target for the ${ring} ring yet (available: ${Object.keys(FUZZ_TARGETS).join(', ')})`);
  return t;
}

export function runFuzz(o: FuzzOptions): FuzzReport {
  const target = fuzzTarget(o.ring, o.side);
  if (o.onlyClass !== undefined && !target.classes.includes(o.onlyClass)) {
    throw new VqError('BAD_CONFIG', 'config', `unknown ${o.ring} ${o.side} fuzz class "${o.onlyClass}" (one of ${target.classes.join(', ')})`);
  }
  const maxFailures = o.maxFailures ?? 20;
  const report: FuzzReport = {
    ring: o.ring, side: o.side, seed: o.seed, cases: 0, passed: 0, legal_ok: 0, crashes: 0, wrong_outcomes: 0,
    elapsed_ms: 0, cases_per_s: 0, slowest_case_ms: 0, errors_by_kind: {}, cases_by_class: {}, failures: [], ok: true,
  };
  const first = o.onlyCase ?? 0;
  const last = o.onlyCase !== undefined ? o.onlyCase + 1 : o.cases;
  const t0 = performance.now();
  let lastProgress = t0;
  for (let i = first; i < last; i++) {
    const rng = new Rng(subSeed(o.seed, i));
    const c0 = performance.now();
    let cls = o.onlyClass ?? target.classes[rng.int(target.classes.length)];
    const replay = `vqlab fuzz --ring ${o.ring} --side ${o.side} --seed ${o.seed} --case ${i}${o.onlyClass ? ` --class ${o.onlyClass}` : ''}`;
    try {
      const r = target.run(rng, cls);
      cls = r.cls;
      if (r.problem) {
        report.wrong_outcomes++;
        if (report.failures.length < maxFailures) report.failures.push({ case: i, cls, kind: 'wrong-outcome', message: r.problem, replay });
      } else {
        report.passed++;
        if (r.code) report.errors_by_kind[r.code] = (report.errors_by_kind[r.code] ?? 0) + 1;
        else report.legal_ok++;
      }
    } catch (e) {
      report.crashes++;
      const msg = e instanceof Error ? `${e.name}: ${e.message}${e.stack ? `\n${e.stack.split('\n').slice(1, 4).join('\n')}` : ''}` : String(e);
      if (report.failures.length < maxFailures) report.failures.push({ case: i, cls, kind: 'crash', message: msg, replay });
    }
    report.cases_by_class[cls] = (report.cases_by_class[cls] ?? 0) + 1;
    const now = performance.now();
    if (now - c0 > report.slowest_case_ms) report.slowest_case_ms = now - c0;
    report.cases++;
    if (o.onProgress && now - lastProgress > 200) { lastProgress = now; o.onProgress(report.cases, report.crashes + report.wrong_outcomes); }
  }
  report.elapsed_ms = Math.round((performance.now() - t0) * 1000) / 1000;
  report.cases_per_s = report.elapsed_ms > 0 ? Math.round((report.cases * 1000) / report.elapsed_ms) : 0;
  report.slowest_case_ms = Math.round(report.slowest_case_ms * 1000) / 1000;
  report.ok = report.crashes === 0 && report.wrong_outcomes === 0;
  return report;
}
