import { describe, expect, it } from 'vitest';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG } from '../src/harness/config.js';

// Real worker threads over one SharedArrayBuffer. Small runs: correctness, never timing.
for (const ring of ['split', 'packed'] as const) {
describe(`${ring} ring, two worker threads: every ordering × EVENT_IDX × INDIRECT × notify mode`, () => {
  // Packed queue sizes need not be powers of two: use one that is not.
  const queueSize = ring === 'split' ? 64 : 100;
  for (const order of ['none', 'in-order', 'partial'] as const) {
    for (const eventIdx of [false, true]) {
      for (const indirect of [false, true]) {
        for (const notify of ['poll', 'wait'] as const) {
          it(`${order} event_idx=${eventIdx} indirect=${indirect} ${notify}`, async () => {
            const r = await runThreaded({
              ...DEFAULT_CONFIG, ring, order, eventIdx, indirect, notify,
              queueSize, buffers: 4000, segments: 3, segmentBytes: 24, faultRate: 0.02, faultLatencyUs: 30,
              seed: 7, timeoutS: 600,
            });
            expect(r.failure).toBeNull();
            expect(r.violations).toEqual([]);
            expect(r.ok).toBe(true);
            expect(r.buffers).toBe(4000);
            expect([r.lost, r.duplicated, r.corrupted, r.lost_wakeups]).toEqual([0, 0, 0, 0]);
            expect(r.faults).toBeGreaterThan(0);
            const names = r.features;
            expect(names.includes('VIRTIO_F_EVENT_IDX')).toBe(eventIdx);
            expect(names.includes('VIRTIO_F_INDIRECT_DESC')).toBe(indirect);
            if (order === 'none') { expect(r.batched_entries).toBe(0); expect(r.used_entries).toBe(4000); expect(r.flushes).toBe(0); }
            if (order === 'in-order') { expect(r.flushes).toBe(0); expect(r.stall_ms).toBeGreaterThan(0); }
            if (order === 'partial') { expect(r.flushes).toBeGreaterThan(0); expect(r.stall_ms).toBe(0); }
            if (notify === 'poll') expect(r.driver_sleeps + r.device_sleeps).toBe(0);
            // The warm-up curve: a rate per sixteenth of the run (fewer when one reclaim spans two).
            expect(r.progress_buffers_per_s.length).toBeGreaterThan(0);
            expect(r.progress_buffers_per_s.length).toBeLessThanOrEqual(16);
            expect(r.progress_buffers_per_s.every((x) => x > 0)).toBe(true);
            // The warm-up apart from the steady rate: the first half's rate and the time to the first buffer.
            expect(r.warmup_buffers_per_s).toBeGreaterThan(0);
            expect(r.first_reclaim_ms).toBeGreaterThanOrEqual(0);
            expect(r.first_reclaim_ms!).toBeLessThanOrEqual(r.elapsed_ms);
          });
        }
      }
    }
  }

  it('no faults: IN_ORDER and PARTIAL_ORDER both batch (PARTIAL_ORDER with FLUSH on every batch entry)', async () => {
    const base = { ...DEFAULT_CONFIG, ring, queueSize: ring === 'split' ? 128 : 129, buffers: 20000, faultRate: 0, seed: 3 };
    const io = await runThreaded({ ...base, order: 'in-order' });
    const po = await runThreaded({ ...base, order: 'partial' });
    expect(io.ok && po.ok).toBe(true);
    expect(io.used_entries).toBeLessThan(20000);
    expect(po.used_entries).toBeLessThan(20000);
    expect(po.flushes).toBe(po.used_entries);
  });

  it('the live checker runs in its own thread at nice 19 (or 0 on request) and checks every entry either way', async () => {
    const base = { ...DEFAULT_CONFIG, ring, buffers: 30000, order: 'partial' as const, faultRate: 0.02, seed: 5 };
    const low = await runThreaded(base);
    const equal = await runThreaded({ ...base, checkerNice: 0 });
    for (const r of [low, equal]) {
      expect(r.ok).toBe(true);
      expect(r.checked_used_entries).toBe(r.used_entries);
      expect(r.checked_reclaims).toBe(r.used_entries);
    }
    if (process.platform === 'linux') expect(low.checker_niced).toBe(true);
    expect(equal.checker_niced).toBe(false);
  });

  it('the live checker can be turned off; data verification too', async () => {
    const r = await runThreaded({ ...DEFAULT_CONFIG, ring, buffers: 5000, check: false, verifyData: false });
    expect(r.ok).toBe(true);
    expect(r.check).toBe(false);
    expect(r.buffers).toBe(5000);
  });
});
}

// Both ordering features negotiated: IN_ORDER's rules (the device stalls on a fault and batches in
// order), FLUSH a defined bit that vqlab's device sets on every entry; the driver's tracker and the
// live checker run in-order with FLUSH allowed. Real threads, faults on.
describe('both ordering features negotiated (in-order,partial), two worker threads', () => {
  for (const ring of ['split', 'packed'] as const) {
    for (const [eventIdx, indirect, notify] of [[false, false, 'poll'], [true, true, 'wait']] as const) {
      it(`${ring} event_idx=${eventIdx} indirect=${indirect} ${notify}`, async () => {
        const r = await runThreaded({
          ...DEFAULT_CONFIG, ring, order: 'in-order,partial', eventIdx, indirect, notify,
          queueSize: ring === 'split' ? 64 : 100, buffers: 4000, segments: 3, segmentBytes: 24, faultRate: 0.02, faultLatencyUs: 30,
          seed: 9, timeoutS: 600,
        });
        expect(r.failure).toBeNull();
        expect(r.violations).toEqual([]);
        expect(r.ok).toBe(true);
        expect(r.buffers).toBe(4000);
        expect([r.lost, r.duplicated, r.corrupted, r.lost_wakeups]).toEqual([0, 0, 0, 0]);
        expect(r.order).toBe('in-order,partial');
        expect(r.features).toEqual(expect.arrayContaining(['VIRTIO_F_IN_ORDER', 'VIRTIO_F_PARTIAL_ORDER']));
        expect(r.faults).toBeGreaterThan(0);
        expect(r.stall_ms).toBeGreaterThan(0); // IN_ORDER rules: head-of-line blocking on a fault
        expect(r.flushes).toBe(r.used_entries); // FLUSH on every (in-order) entry
        expect(r.checked_used_entries).toBe(r.used_entries);
      });
    }
  }
});
