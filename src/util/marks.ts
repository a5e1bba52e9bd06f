/**
 * Progress marks over a run of `total` items: (items done, clock) at the first call and at the
 * first call at or past each sixteenth of the run, the last one at its end. The second half (from
 * the mark at or past half the run to the end) is the run's steady state; the first carries
 * start-up and JIT warm-up. The driver's reclaim and the bench peers' receivers take them.
 *
 * Why a mark from the very start rather than one at half-run: a branch first taken at half-run is
 * compiled without type feedback and deoptimizes the hot loop around it exactly where the steady
 * window begins (`node --trace-deopt`); taken from the start, it has feedback long before half.
 * The caller tests `done >= due[0]` (one load per call) and calls mark() only then. `due` is a
 * double (Infinity once the run is complete), so it lives in a Float64Array: a class field going
 * from a Smi to a double would change the owner's map mid-run.
 */
export const MARKS = 16;

export class ProgressMarks {
  /** The count at which the next mark is due. */
  readonly due = new Float64Array([1]);
  // [done, ms] pairs. floor(done * MARKS / total) grows by at least one from mark to mark and is at
  // most MARKS, so there are at most MARKS + 1 marks.
  private readonly at = new Float64Array(2 * (MARKS + 1));
  private n = 0;

  constructor(readonly total: number) {}

  /** Record (done, t); the next mark is due at the next sixteenth, ceil(j * total / 16), so half the run is one. */
  mark(done: number, t: number): void {
    const k = this.n;
    this.at[2 * k] = done;
    this.at[2 * k + 1] = t;
    this.n = k + 1;
    const total = this.total;
    this.due[0] = done >= total ? Infinity : Math.ceil(((Math.floor((done * MARKS) / total) + 1) * total) / MARKS);
  }

  /** Index of the first mark at or past half the run, or -1. */
  private half(): number {
    for (let k = 0; k < this.n; k++) if (this.at[2 * k] * 2 >= this.total) return k;
    return -1;
  }

  /** The clock at the first mark at or past half the run, or -1. */
  halfAt(): number {
    const h = this.half();
    return h < 0 ? -1 : this.at[2 * h + 1];
  }

  /** The second half: items and ms from the half mark to the end, or null before the run is complete. */
  steady(): { count: number; ms: number } | null {
    const e = this.n - 1;
    if (e < 0 || this.at[2 * e] < this.total) return null;
    const h = this.half();
    return { count: this.at[2 * e] - this.at[2 * h], ms: this.at[2 * e + 1] - this.at[2 * h + 1] };
  }

  /** Every mark so far, in order. */
  list(): { done: number; ms: number }[] {
    const out: { done: number; ms: number }[] = [];
    for (let k = 0; k < this.n; k++) out.push({ done: this.at[2 * k], ms: this.at[2 * k + 1] });
    return out;
  }
}
