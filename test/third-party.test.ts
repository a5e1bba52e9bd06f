import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/harness/config.js';

/*
 * Linux's tools/virtio/ringtest/virtio_ring_0_9.c as a vqlab side, built by scripts/third-party.sh
 * (GPL-2.0: fetched and built into a cache directory, never committed). It is a benchmark ring,
 * not a conforming implementation; these tests pin what vqlab's checker says about it
 * (docs/wasm-sides.md, "Third-party rings").
 */
const cache = process.env.VQLAB_THIRD_PARTY_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vqlab-third-party');
const sources = existsSync(join(cache, 'src/tools/virtio/ringtest/virtio_ring_0_9.c'));
const driver = join(cache, 'ringtest-driver.wasm');
const device = join(cache, 'ringtest-device.wasm');
if (!sources) console.warn(`THIRD-PARTY TESTS SKIPPED: no Linux ringtest sources in ${cache} (run scripts/third-party.sh; it needs apt-get install clang lld linux-source-6.1)`);

const base: RunConfig = { ...DEFAULT_CONFIG, buffers: 10_000, queueSize: 256, order: 'none', faultRate: 0, timeoutS: 60 };

describe.skipIf(!sources)('Linux ringtest virtio_ring_0_9.c under vqlab\'s live checker', () => {
  it('was built from the extracted sources (scripts/third-party.sh)', () => {
    expect(existsSync(driver), `${driver} missing: scripts/third-party.sh failed to build it`).toBe(true);
    expect(existsSync(device), `${device} missing: scripts/third-party.sh failed to build it`).toBe(true);
  });

  it('with EVENT_IDX negotiated (what it always uses), as the driver and as the device, poll and wait: clean', async () => {
    for (const notify of ['poll', 'wait'] as const) {
      for (const side of [{ driverModule: driver }, { deviceModule: device }]) {
        const r = await runThreaded({ ...base, eventIdx: true, notify, ...side });
        expect(r.failure, JSON.stringify({ notify, side })).toBeNull();
        expect(r.ok).toBe(true);
        expect(r.buffers).toBe(10_000);
        expect([r.lost, r.duplicated, r.corrupted, r.lost_wakeups]).toEqual([0, 0, 0, 0]);
        expect(r.features).toContain('VIRTIO_F_EVENT_IDX');
      }
    }
  });

  it('without EVENT_IDX it still suppresses notifications by the event indexes: in wait mode vqlab\'s side sleeps through work (LOST_WAKEUP), either way round', async () => {
    for (const [side, sleeper] of [[{ driverModule: driver }, 'device'], [{ deviceModule: device }, 'driver']] as const) {
      // vqlab's side sleeps at its first idle round (no spinning first): how often it sleeps must not
      // depend on whether the peer ever pauses longer than the default spin (1 ms), which on an idle
      // machine it may never do in 10 000 buffers; every sleep after the first kick is a lost wake-up.
      const r = await runThreaded({ ...base, eventIdx: false, notify: 'wait', wakeTimeoutMs: 50, spinBeforeWait: 1, spinUs: 0, ...side });
      expect(r.ok, `the run ended ${JSON.stringify(r.failure)}`).toBe(false);
      expect(r.features).not.toContain('VIRTIO_F_EVENT_IDX');
      expect(r.violations[0].rule, JSON.stringify(r.failure)).toBe('LOST_WAKEUP');
      expect(r.violations[0].message).toContain(`${sleeper} slept`);
    }
  });

  it('against itself: its device writes used.len = desc.len - 1 into its driver\'s device-readable buffers (USED_BAD_LEN)', async () => {
    const r = await runThreaded({ ...base, eventIdx: true, driverModule: driver, deviceModule: device });
    expect(r.ok).toBe(false);
    expect(r.violations[0].rule).toBe('USED_BAD_LEN');
    expect(r.violations[0].message).toBe(`used len ${base.segmentBytes - 1} exceeds writable capacity 0 of id 0`);
  });
});
