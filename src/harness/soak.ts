/**
 * Soak runs: a long `vqlab run` (1e8, 1e9 buffers) must keep constant memory and keep checking. The
 * run itself is already constant-memory (wrapping Float64 counters, wrapping event logs drained
 * every few ms into the live checker's fixed tracker windows, a fixed latency histogram, a windowed
 * trace); this monitor proves it from the outside: it samples the process's RSS (both workers are
 * threads of this process) and the main thread's heap while the run moves, keeps a bounded,
 * evenly-decimated series of samples, and summarises start / end / peak and the spread of the
 * throughput over windows. Nothing in it grows with the number of buffers.
 */

export interface SoakSample {
  /** Seconds since the run started. */
  t_s: number;
  buffers: number;
  rss_mb: number;
  heap_mb: number;
}

export interface SoakSummary {
  /** RSS before the workers started. */
  rss_before_mb: number;
  /** First sample after the warm-up (workers running, JIT settled): the baseline. */
  rss_start_mb: number;
  /** Last sample while the run was still moving. */
  rss_end_mb: number;
  rss_peak_mb: number;
  /** rss_end − rss_start. */
  rss_growth_mb: number;
  heap_start_mb: number;
  heap_end_mb: number;
  heap_peak_mb: number;
  /** Throughput over sampling windows (≥ 1 s each), M buffers/s. */
  window_rate_min: number;
  window_rate_max: number;
  /** At most 2 × maxSamples samples, evenly spaced over the run (decimated as it goes). */
  samples: SoakSample[];
  warmup_s: number;
}

const MB = 1024 * 1024;
const r1 = (x: number): number => Math.round(x * 10) / 10;

export class SoakMonitor {
  private readonly rssBefore: number;
  private samples: SoakSample[] = [];
  /** Keep every stride-th sample (doubles when the series fills up). */
  private stride = 1;
  private seen = 0;
  private start: SoakSample | null = null;
  private last: SoakSample | null = null;
  private peakRss = 0;
  private peakHeap = 0;
  private lastT = -1;
  private lastBuffers = 0;
  private rateMin = Infinity;
  private rateMax = 0;

  constructor(
    /** Seconds to wait before taking the baseline. */
    readonly warmupS = 2,
    /** Samples kept: between maxSamples and 2 × maxSamples. */
    readonly maxSamples = 64,
    /** Least time between samples. */
    readonly everyS = 1,
    private readonly mem: () => { rss: number; heapUsed: number } = () => process.memoryUsage(),
  ) {
    this.rssBefore = this.mem().rss;
  }

  /** Called from the run's progress hook; samples at most once per `everyS`. */
  sample(elapsedMs: number, buffers: number): SoakSample | null {
    const t = elapsedMs / 1000;
    if (this.lastT >= 0 && t - this.lastT < this.everyS) return null;
    const m = this.mem();
    const s: SoakSample = { t_s: r1(t), buffers, rss_mb: r1(m.rss / MB), heap_mb: r1(m.heapUsed / MB) };
    if (this.lastT >= 0 && t > this.lastT) {
      const rate = (buffers - this.lastBuffers) / (t - this.lastT) / 1e6;
      // Windows at the very start or after the last buffer say nothing about the steady state.
      if (t >= this.warmupS && buffers > this.lastBuffers) {
        if (rate < this.rateMin) this.rateMin = rate;
        if (rate > this.rateMax) this.rateMax = rate;
      }
    }
    this.lastT = t;
    this.lastBuffers = buffers;
    if (m.rss > this.peakRss) this.peakRss = m.rss;
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed;
    if (!this.start && t >= this.warmupS) this.start = s;
    this.last = s;
    if (this.seen++ % this.stride === 0) {
      this.samples.push(s);
      if (this.samples.length >= 2 * this.maxSamples) {
        this.samples = this.samples.filter((_, i) => i % 2 === 0);
        this.stride *= 2;
      }
    }
    return s;
  }

  /** Number of samples the series holds (bounded). */
  get held(): number { return this.samples.length; }

  summary(): SoakSummary {
    const start = this.start ?? this.samples[0] ?? this.last;
    const end = this.last;
    const rs = start?.rss_mb ?? r1(this.rssBefore / MB);
    const re = end?.rss_mb ?? rs;
    const samples = this.samples.slice();
    if (end && samples[samples.length - 1] !== end) samples.push(end);
    return {
      rss_before_mb: r1(this.rssBefore / MB),
      rss_start_mb: rs,
      rss_end_mb: re,
      rss_peak_mb: r1(Math.max(this.peakRss, this.rssBefore) / MB),
      rss_growth_mb: r1(re - rs),
      heap_start_mb: start?.heap_mb ?? 0,
      heap_end_mb: end?.heap_mb ?? 0,
      heap_peak_mb: r1(this.peakHeap / MB),
      window_rate_min: Number.isFinite(this.rateMin) ? Math.round(this.rateMin * 1000) / 1000 : 0,
      window_rate_max: Math.round(this.rateMax * 1000) / 1000,
      samples,
      warmup_s: this.warmupS,
    };
  }
}

/** One progress line for logs (soak runs print one every --progress-s when stderr is not a terminal). */
export function soakLine(s: SoakSample, total: number, violations: number, rateM: number): string {
  const pct = total > 0 ? ((100 * s.buffers) / total).toFixed(1) : '0';
  return `soak ${pct}%  ${s.buffers}/${total} buffers  ${rateM.toFixed(2)} M/s  rss ${s.rss_mb} MB  heap ${s.heap_mb} MB  violations ${violations}  t ${s.t_s} s`;
}
