import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/harness/config.js';

const ex = (name: string): string => new URL(`../examples/${name}`, import.meta.url).pathname;
const base: RunConfig = { ...DEFAULT_CONFIG, buffers: 5000, queueSize: 64, faultRate: 0, segments: 2, segmentBytes: 32, timeoutS: 600 }; // a hang bound: starved beside CPU hogs a 20 000-buffer run took 31 s

// The same harness, checker and figures run vqlab's own device and a user's module side by side.
describe('side contract: user modules and vqlab\'s own sides through one harness', () => {
  for (const notify of ['poll', 'wait'] as const) {
    for (const eventIdx of [false, true]) {
      it(`minimal example device (${notify}, event_idx=${eventIdx}) passes every check; vqlab's device does too`, async () => {
        for (const deviceModule of [ex('minimal-device.mjs'), '']) {
          const r = await runThreaded({ ...base, order: 'none', notify, eventIdx, deviceModule });
          expect(r.failure).toBeNull();
          expect(r.ok).toBe(true);
          expect(r.buffers).toBe(5000);
          expect(r.used_entries).toBe(5000);
          expect([r.lost, r.duplicated, r.corrupted]).toEqual([0, 0, 0]);
          expect(r.features.includes('VIRTIO_F_EVENT_IDX')).toBe(eventIdx);
        }
      });
    }
  }

  for (const notify of ['poll', 'wait'] as const) {
    it(`packed twin: minimal packed example device (${notify}, event_idx, 3 segments, queue 50) and vqlab's packed device`, async () => {
      for (const deviceModule of [ex('minimal-packed-device.mjs'), '']) {
        const r = await runThreaded({ ...base, ring: 'packed', queueSize: 50, segments: 3, order: 'none', notify, eventIdx: true, deviceModule });
        expect(r.failure).toBeNull();
        expect(r.ok).toBe(true);
        expect(r.used_entries).toBe(5000);
        expect([r.lost, r.duplicated, r.corrupted]).toEqual([0, 0, 0]);
      }
    });
  }

  // The fault model reaches a user's device: the examples park faulting buffers and go on out of
  // order; one draw per buffer in available order, as vqlab's device does, so the same seed gives
  // the same faults.
  for (const notify of ['poll', 'wait'] as const) {
    for (const ring of ['split', 'packed'] as const) {
      it(`minimal ${ring} example device with faults (${notify}): faults happen, are resolved, every check passes`, async () => {
        const cfg: RunConfig = { ...base, ring, queueSize: ring === 'split' ? 64 : 50, segments: ring === 'split' ? 2 : 3, buffers: 20000, faultRate: 0.02, order: 'none', notify, eventIdx: true };
        const mine = await runThreaded({ ...cfg, deviceModule: ex(ring === 'split' ? 'minimal-device.mjs' : 'minimal-packed-device.mjs') });
        expect(mine.failure).toBeNull();
        expect(mine.ok).toBe(true);
        expect(mine.violations).toEqual([]);
        expect(mine.used_entries).toBe(20000);
        expect([mine.lost, mine.duplicated, mine.corrupted]).toEqual([0, 0, 0]);
        expect(mine.faults).toBeGreaterThan(200);
        const theirs = await runThreaded({ ...cfg, deviceModule: '' });
        expect(theirs.ok).toBe(true);
        expect(mine.faults).toBe(theirs.faults);
      });
    }
  }

  it('a module\'s `features` export is its offer: ordering the example does not offer is not negotiated', async () => {
    const r = await runThreaded({ ...base, order: 'partial', deviceModule: ex('minimal-device.mjs') });
    expect(r.ok).toBe(true);
    expect(r.order).toBe('none');
    expect(r.accepted_features).toContain('VIRTIO_F_PARTIAL_ORDER');
    expect(r.features).not.toContain('VIRTIO_F_PARTIAL_ORDER');
  });

  it('the buggy PARTIAL_ORDER example is caught with the right rule', async () => {
    const r = await runThreaded({ ...base, order: 'partial', deviceModule: ex('buggy-partial-device.mjs') });
    expect(r.ok).toBe(false);
    expect(r.violations.map((v) => v.rule)).toContain('USED_FLUSH_WITH_HOLE');
    const v = r.violations.find((x) => x.rule === 'USED_FLUSH_WITH_HOLE')!;
    expect(v.seed).toBe(base.seed);
    expect(r.failure?.driver).toBeTruthy();
    expect(r.failure?.device).toBeTruthy();
  });

  it('--driver: a user driver module runs against vqlab\'s device with the same checks', async () => {
    for (const ring of ['split', 'packed'] as const) {
      const r = await runThreaded({ ...base, ring, order: 'partial', faultRate: 0.02, driverModule: ex('counting-driver.mjs') });
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.buffers).toBe(5000);
      expect(r.flushes).toBeGreaterThan(0);
    }
  });

  it('a module that does not fit the contract is a clear BAD_CONFIG failure, not a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-plugin-'));
    const p = join(dir, 'half.mjs');
    writeFileSync(p, 'export function createDevice() { return { step() { return 0; } }; }\n');
    const r = await runThreaded({ ...base, deviceModule: p });
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('BAD_CONFIG');
    expect(r.failure?.message).toMatch(/no start\(\)/);
    await expect(runThreaded({ ...base, deviceModule: join(dir, 'missing.mjs') })).rejects.toThrow(/not found/);
  });
});
