import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/harness/config.js';

/*
 * The Linux kernel's drivers/vhost/vringh.c (6.1) as vqlab's device, against vqlab's JS driver,
 * in real threads under the live checker. Built by scripts/third-party.sh through
 * scripts/third-party/kernel-device.sh (GPL-2.0: extracted and built into a cache directory,
 * never committed). docs/wasm-sides.md, "Third-party rings", says what these pin.
 */
const cache = process.env.VQLAB_THIRD_PARTY_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vqlab-third-party');
const sources = existsSync(join(cache, 'src/drivers/vhost/vringh.c'));
const device = join(cache, 'vringh-device.wasm');
if (!sources) console.warn(`THIRD-PARTY TESTS SKIPPED: no Linux vringh.c in ${cache} (run scripts/third-party.sh; it needs apt-get install clang lld linux-source-6.1)`);

// Segments of 30 bytes: not whole words, so each descriptor's piece of the pattern starts a word
// of its own inside the glue's bounce buffer (vringh_iov_pull_kern / push_kern move them).
const base: RunConfig = { ...DEFAULT_CONFIG, deviceModule: device, buffers: 4000, queueSize: 64, order: 'none', segments: 3, segmentBytes: 30, faultRate: 0.01, timeoutS: 60 };

/** Inversions of available order among used entries, as the checker matched them (trace spans). */
function inversions(tracePath: string): { spans: number; inversions: number } {
  const t = JSON.parse(readFileSync(tracePath, 'utf8')) as { traceEvents: { ph: string; cat?: string; args?: { seq: number } }[] };
  let max = -1;
  let spans = 0;
  let inv = 0;
  for (const e of t.traceEvents) {
    if (e.ph !== 'b' || e.cat !== 'buffer') continue;
    spans++;
    if (e.args!.seq < max) inv++;
    else max = e.args!.seq;
  }
  return { spans, inversions: inv };
}

describe.skipIf(!sources)('Linux vringh.c as the device under vqlab\'s live checker', () => {
  it('was built from the extracted sources (scripts/third-party.sh)', () => {
    expect(existsSync(device), `${device} missing: scripts/third-party/kernel-device.sh failed to build it`).toBe(true);
  });

  it('split, EVENT_IDX and INDIRECT_DESC each negotiated or not, poll and wait, with page faults: clean', async () => {
    for (const notify of ['poll', 'wait'] as const) {
      for (const eventIdx of [false, true]) {
        for (const indirect of [false, true]) {
          const what = JSON.stringify({ notify, eventIdx, indirect });
          const r = await runThreaded({ ...base, eventIdx, indirect, notify });
          expect(r.failure, what).toBeNull();
          expect(r.violations, what).toEqual([]);
          expect(r.ok, what).toBe(true);
          expect(r.buffers).toBe(base.buffers);
          expect([r.lost, r.duplicated, r.corrupted, r.lost_wakeups], what).toEqual([0, 0, 0, 0]);
          expect(r.features.includes('VIRTIO_F_EVENT_IDX'), what).toBe(eventIdx);
          expect(r.features.includes('VIRTIO_F_INDIRECT_DESC'), what).toBe(indirect);
          // The run's fault model drew faults (seeded), and the glue parked them: vringh went on.
          expect(r.faults, what).toBeGreaterThan(0);
          expect(r.used_entries).toBe(base.buffers);
        }
      }
    }
  });

  it('one-segment buffers (the run\'s default shape), queue 256, EVENT_IDX: clean', async () => {
    const r = await runThreaded({ ...base, segments: 1, segmentBytes: 16, queueSize: 256, eventIdx: true, indirect: true });
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.buffers).toBe(base.buffers);
  });

  it('completes out of available order around a fault (vringh_complete_kern takes any head), in order without faults', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-vringh-'));
    try {
      const faulty = join(dir, 'faults.json');
      const r = await runThreaded({ ...base, buffers: 2000, eventIdx: true, traceOut: faulty, traceMaxEvents: 100_000 });
      expect(r.ok).toBe(true);
      expect(r.faults).toBeGreaterThan(0);
      const f = inversions(faulty);
      expect(f.spans).toBe(2000);
      expect(f.inversions).toBeGreaterThan(0);

      const clean = join(dir, 'no-faults.json');
      const q = await runThreaded({ ...base, buffers: 2000, eventIdx: true, faultRate: 0, traceOut: clean, traceMaxEvents: 100_000 });
      expect(q.ok).toBe(true);
      expect(q.faults).toBe(0);
      expect(inversions(clean)).toEqual({ spans: 2000, inversions: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a driver bug repeating an outstanding head in avail.ring is named the driver\'s (AVAIL_BAD_HEAD), not vringh\'s', async () => {
    // vringh does not check heads against what it holds; the harness reads the entry it popped.
    const r = await runThreaded({ ...base, segments: 1, segmentBytes: 16, buffers: 2000, seed: 1, plantBug: 'id-reused-while-outstanding' });
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('AVAIL_BAD_HEAD');
    expect(r.failure?.side).toBe('device');
  });

  it('the packed ring: vringh 6.1 has none, and the module does not offer RING_PACKED (a clear error, not a run)', async () => {
    await expect(runThreaded({ ...base, ring: 'packed' })).rejects.toMatchObject({ code: 'FEATURE_NOT_OFFERED' });
  });
});
