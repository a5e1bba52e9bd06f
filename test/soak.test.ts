import { describe, expect, it } from 'vitest';
import { SoakMonitor, soakLine } from '../src/harness/soak.js';
import { SOAK_AUTO_BUFFERS } from '../src/cli/run.js';

// Soak runs: the monitor's own memory is bounded whatever the run's length, the
// baseline is taken after the warm-up, and the summary says start / end / peak and growth.
const MB = 1024 * 1024;

describe('SoakMonitor', () => {
  it('keeps a bounded, evenly decimated series over a very long run', () => {
    let rss = 100 * MB;
    const m = new SoakMonitor(2, 16, 1, () => ({ rss, heapUsed: 10 * MB }));
    for (let t = 0; t < 100_000; t++) { rss = (100 + (t % 7)) * MB; m.sample(t * 1000, t * 1e6); }
    expect(m.held).toBeLessThan(32);
    const s = m.summary();
    expect(s.samples.length).toBeLessThanOrEqual(33);
    // Evenly spaced: constant gaps between kept samples (except the appended last one).
    const gaps = s.samples.slice(1, -1).map((x, i) => x.t_s - s.samples[i].t_s);
    expect(new Set(gaps).size).toBe(1);
    expect(s.samples[s.samples.length - 1].t_s).toBe(99_999);
    expect(s.rss_peak_mb).toBe(106);
    expect(s.window_rate_min).toBe(1);
    expect(s.window_rate_max).toBe(1);
  });
  it('takes the baseline after the warm-up and reports growth', () => {
    let rss = 50 * MB;
    const m = new SoakMonitor(2, 64, 1, () => ({ rss, heapUsed: 5 * MB }));
    m.sample(0, 0);
    rss = 80 * MB; m.sample(1000, 1e6);
    rss = 90 * MB; m.sample(2500, 2e6);  // first sample after the 2 s warm-up: the baseline
    rss = 95 * MB; m.sample(3000, 3e6);  // too soon after the previous one: not sampled
    rss = 92 * MB; m.sample(4000, 4e6);
    const s = m.summary();
    expect(s.rss_before_mb).toBe(50);
    expect(s.rss_start_mb).toBe(90);
    expect(s.rss_end_mb).toBe(92);
    expect(s.rss_growth_mb).toBe(2);
    expect(s.rss_peak_mb).toBe(92);
    expect(s.samples.map((x) => x.t_s)).toEqual([0, 1, 2.5, 4]);
  });
  it('formats a progress line', () => {
    expect(soakLine({ t_s: 12, buffers: 25, rss_mb: 80.5, heap_mb: 12 }, 100, 0, 1.5)).toBe('soak 25.0%  25/100 buffers  1.50 M/s  rss 80.5 MB  heap 12 MB  violations 0  t 12 s');
    expect(SOAK_AUTO_BUFFERS).toBe(1e8);
  });
});
