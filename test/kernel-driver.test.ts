import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/harness/config.js';

/*
 * The Linux kernel's virtqueue driver, drivers/virtio/virtio_ring.c (6.1), as a vqlab WebAssembly
 * driver against vqlab's JS device, in real threads under the live checker. Built by
 * scripts/third-party.sh (scripts/third-party/kernel-driver.sh; GPL-2.0: built into a cache
 * directory, never committed). docs/wasm-sides.md, "The kernel's virtio_ring.c", says what these pin.
 */
const repo = new URL('..', import.meta.url).pathname;
const cache = process.env.VQLAB_THIRD_PARTY_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vqlab-third-party');
const sources = existsSync(join(cache, 'src/drivers/virtio/virtio_ring.c'));
const driver = join(cache, 'kernel-driver.wasm');
if (!sources) console.warn(`KERNEL DRIVER TESTS SKIPPED: no drivers/virtio/virtio_ring.c in ${cache} (run scripts/third-party.sh; it needs apt-get install clang lld linux-source-6.1)`);

// Small: 3000 buffers of 3 segments (1 readable + 2 writable), faults on, queue 64.
const base: RunConfig = {
  ...DEFAULT_CONFIG, driverModule: driver, buffers: 3000, queueSize: 64, segments: 3, order: 'none', faultRate: 0.02, timeoutS: 120,
};

describe.skipIf(!sources)('the kernel\'s virtio_ring.c as the driver, against vqlab\'s device', () => {
  it('was built from the extracted sources (scripts/third-party.sh)', () => {
    expect(existsSync(driver), `${driver} missing: scripts/third-party.sh failed to build it`).toBe(true);
  });

  for (const ring of ['split', 'packed'] as const) {
    for (const feats of [{ eventIdx: true, indirect: true }, { eventIdx: false, indirect: false }]) {
      for (const notify of ['poll', 'wait'] as const) {
        it(`${ring}, EVENT_IDX ${feats.eventIdx ? 'and INDIRECT negotiated' : 'and INDIRECT not negotiated'}, ${notify}, device faults: clean`, async () => {
          const r = await runThreaded({ ...base, ring, notify, ...feats });
          expect(r.failure, JSON.stringify(r.failure)).toBeNull();
          expect(r.violations).toEqual([]);
          expect(r.ok).toBe(true);
          expect(r.buffers).toBe(3000);
          expect([r.lost, r.duplicated, r.corrupted, r.lost_wakeups]).toEqual([0, 0, 0, 0]);
          expect(r.faults).toBeGreaterThan(0);
          expect(r.checked_reclaims).toBe(3000);
          for (const [name, on] of [['VIRTIO_F_EVENT_IDX', feats.eventIdx], ['VIRTIO_F_INDIRECT_DESC', feats.indirect], ['VIRTIO_F_RING_PACKED', ring === 'packed']] as const) {
            if (on) expect(r.features).toContain(name);
            else expect(r.features).not.toContain(name);
          }
        });
      }
    }
  }

  it('puts every multi-segment buffer in an indirect table when INDIRECT is negotiated, none when it is not (its log line, through the CLI)', () => {
    for (const ring of ['split', 'packed']) {
      for (const indirect of [true, false]) {
        const args = [join(repo, 'bin/vqlab.js'), 'run', '--driver', driver, '--ring', ring, '--order', 'none', '--event-idx',
          '--buffers', '2000', '--segments', '3', '--queue-size', '64', '--fault-rate', '0.02', '--timeout-s', '120', ...(indirect ? ['--indirect'] : [])];
        const p = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 180_000 });
        expect(p.status, p.stderr).toBe(0);
        expect(p.stdout).toMatch(/^result +OK/m);
        expect(p.stderr).toContain(`kernel-driver: 2000 buffers made available, ${indirect ? 2000 : 0} of them in an indirect table`);
      }
    }
  });

  // The bug variants (item: what vqlab catches of a barrier removed or an index store moved):
  // whether a run catches them depends on timing, so docs/wasm-sides.md gives what
  // scripts/kernel-variants.mjs measured; here each patch must apply and change the module, and a
  // run must end in a verdict, clean or a rule vqlab names, never a harness failure.
  const patches = readdirSync(join(repo, 'scripts/third-party/kernel')).filter((f) => f.endsWith('.patch')).map((f) => f.replace(/\.patch$/, ''));
  it('builds each bug variant from its patch, and each run of one ends in a verdict', async () => {
    expect(patches.length).toBeGreaterThanOrEqual(2);
    const plain = readFileSync(driver);
    for (const name of patches) {
      const path = join(cache, `kernel-driver-${name}.wasm`);
      expect(existsSync(path), `${path} missing: scripts/third-party.sh did not build it`).toBe(true);
      expect(Buffer.compare(readFileSync(path), plain), `${name} left the module unchanged`).not.toBe(0);
      const r = await runThreaded({ ...base, driverModule: path, ring: name.startsWith('packed') ? 'packed' : 'split', eventIdx: true, faultRate: 0.01 });
      if (!r.ok) expect(['CHECKER_DIED', 'BAD_CONFIG', 'TIMEOUT', 'ABORTED'], JSON.stringify(r.failure)).not.toContain(r.failure?.code);
      else expect(r.buffers).toBe(3000);
    }
  });

  it('refuses buffers of more segments than its scatterlist array holds (64), with a typed error', async () => {
    const r = await runThreaded({ ...base, indirect: true, segments: 65, segMax: 128, queueSize: 256, buffers: 100 });
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('BAD_CONFIG');
    expect(r.failure?.message).toContain('vqlab_init refused this run (returned 3');
  });

  it('refuses an ordering feature it does not negotiate, with a typed error', async () => {
    const r = await runThreaded({ ...base, order: 'partial', buffers: 100 });
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('BAD_CONFIG');
    expect(r.failure?.message).toContain('vqlab_init refused this run');
  });
});
