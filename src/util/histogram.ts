/**
 * Log-linear latency histogram (HDR-style: 16 sub-buckets per power of two, ~6% resolution),
 * fixed size, no allocation per sample. Values in nanoseconds.
 */
const SUB = 16;
const SUB_BITS = 4;
const MAX_EXP = 40;

export class Histogram {
  readonly counts = new Float64Array(MAX_EXP * SUB);
  total = 0;
  max = 0;

  /**
   * The value for recordInputN. A double passed as an argument to a call V8 does not inline is
   * boxed (a heap number per call: the driver's reclaim allocated ~8 bytes per buffer under
   * PARTIAL_ORDER with faults, one per single entry); through a typed array it stays unboxed.
   */
  readonly input = new Float64Array(1);

  record(ns: number): void { this.recordN(ns, 1); }

  /** `n` samples of the same value (buffers that were made available and used together). */
  recordN(ns: number, n: number): void {
    this.input[0] = ns;
    this.recordInputN(n);
  }

  /** `n` samples of the value in input[0] (the hot path's allocation-free recordN). */
  recordInputN(n: number): void {
    const ns = this.input[0];
    let v = ns < 1 ? 1 : Math.floor(ns);
    if (v > this.max) this.max = v;
    const e = 31 - Math.clz32(v > 0x7fffffff ? 0x7fffffff : v);
    let idx: number;
    if (e < SUB_BITS) idx = v;
    else idx = (e - SUB_BITS + 1) * SUB + ((v >>> (e - SUB_BITS)) & (SUB - 1));
    if (idx >= this.counts.length) idx = this.counts.length - 1;
    this.counts[idx] += n;
    this.total += n;
  }

  /** Lower bound of bucket idx. */
  static bucketValue(idx: number): number {
    if (idx < SUB) return idx;
    const e = Math.floor(idx / SUB) + SUB_BITS - 1;
    const m = idx % SUB;
    return (SUB + m) * 2 ** (e - SUB_BITS);
  }

  /**
   * Quantile q in µs, to the precision the buckets have: a sample is known to within its bucket,
   * 1/16 of its power of two (~6 %), so two significant digits; more would print noise.
   */
  static quantileUs(counts: ArrayLike<number>, total: number, q: number): number {
    return toHistogramPrecision(Histogram.quantile(counts, total, q) / 1000);
  }

  static quantile(counts: ArrayLike<number>, total: number, q: number): number {
    if (total === 0) return 0;
    const target = Math.max(1, Math.ceil(q * total));
    let acc = 0;
    for (let i = 0; i < counts.length; i++) {
      acc += counts[i];
      if (acc >= target) return Histogram.bucketValue(i);
    }
    return Histogram.bucketValue(counts.length - 1);
  }
}

/** Significant digits a bucket value carries: SUB = 16 sub-buckets per power of two resolve ~6 %. */
export const HISTOGRAM_DIGITS = 2;

/** x rounded to the histogram's precision (two significant digits). */
export function toHistogramPrecision(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(HISTOGRAM_DIGITS));
}
