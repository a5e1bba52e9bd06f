import { describe, expect, it } from 'vitest';
import { FaultModel } from '../src/device/faults.js';

/** Which of `n` buffers fault, as a bit per buffer. */
const pattern = (rate: number, seed: number, n: number): Uint8Array => {
  const f = new FaultModel({ rate, latencyUs: 10, seed });
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = f.next() ? 1 : 0;
  return out;
};

describe('FaultModel: independent faults per buffer, drawn as geometric gaps', () => {
  it('rate 0 never faults, rate 1 always does', () => {
    expect(pattern(0, 1, 100_000).some((x) => x === 1)).toBe(false);
    expect(pattern(1, 1, 10_000).every((x) => x === 1)).toBe(true);
    expect(new FaultModel({ rate: 0, latencyUs: 1, seed: 1 }).enabled).toBe(false);
  });

  it('a seed replays the same faults; another seed gives others', () => {
    expect(pattern(0.01, 5, 50_000)).toEqual(pattern(0.01, 5, 50_000));
    expect(pattern(0.01, 5, 50_000)).not.toEqual(pattern(0.01, 6, 50_000));
  });

  it('skipping clearAhead buffers at a time (the device\'s batch path) faults exactly the buffers next() would', () => {
    for (const rate of [0, 0.01, 0.3, 1]) {
      const n = 50_000;
      const f = new FaultModel({ rate, latencyUs: 10, seed: 9 });
      const out = new Uint8Array(n);
      let chunks = 0;
      for (let i = 0; i < n;) {
        // Runs of up to 64 (the pop budget), cut at the next fault as the device cuts them.
        const run = Math.min(f.clearAhead, 1 + (i % 64), n - i);
        if (run > 0) { f.skip(run); i += run; chunks++; continue; }
        out[i++] = f.next() ? 1 : 0;
      }
      expect(out).toEqual(pattern(rate, 9, n));
      if (rate < 1) expect(chunks).toBeGreaterThan(0);
    }
  });

  for (const rate of [0.001, 0.01, 0.05, 0.3]) {
    it(`rate ${rate}: the fault frequency, and a fault right after a fault, within 5 sigma of Bernoulli(${rate})`, () => {
      const n = 2_000_000;
      const p = pattern(rate, 11, n);
      let faults = 0, pairs = 0;
      for (let i = 0; i < n; i++) { faults += p[i]; if (i > 0 && p[i] === 1 && p[i - 1] === 1) pairs++; }
      const sigma = Math.sqrt(n * rate * (1 - rate));
      expect(Math.abs(faults - n * rate)).toBeLessThan(5 * sigma);
      // Independence: P(fault | the previous faulted) is rate too (not 0, not clustered).
      const prev = faults;
      const sigmaPairs = Math.sqrt(prev * rate * (1 - rate));
      expect(Math.abs(pairs - prev * rate)).toBeLessThan(5 * sigmaPairs + 1);
    });
  }
});
