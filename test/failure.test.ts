import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG } from '../src/harness/config.js';

// Misbehaving sides are user modules wrapping vqlab's own example device: no test hooks in the
// production code. Each must end the run (never hang), with both sides' state and ok = false. How
// long the end takes is not asserted beyond a bound no loaded machine reaches: that is the
// harness's figure to report (stop_ms), not the test's to race.
const dir = mkdtempSync(join(tmpdir(), 'vqlab-fail-'));
const minimal = new URL('../examples/minimal-device.mjs', import.meta.url).href;
function wrapped(name: string, misbehave: string): string {
  const p = join(dir, `${name}.mjs`);
  writeFileSync(p, `import { createDevice as base, features as f } from '${minimal}';
export const features = f;
export function createDevice(ctx) {
  const d = base(ctx);
  let steps = 0;
  const step = d.step.bind(d);
  d.step = () => { if (++steps === 200) { ${misbehave} } return step(); };
  return d;
}\n`);
  return p;
}
/** Far beyond any start-up or stop on a loaded machine, far below the runs' own length: only a hang fails it. */
const HANG_MS = 30_000;
const base = { ...DEFAULT_CONFIG, order: 'none' as const, faultRate: 0, buffers: 2_000_000, timeoutS: 60 };

describe('worker failures end the run with a report, within the bound', () => {
  it('a device that throws: WORKER_DIED with its message, both sides reported', async () => {
    const t0 = performance.now();
    const r = await runThreaded({ ...base, deviceModule: wrapped('throws', "throw new Error('boom in the device');") });
    expect(performance.now() - t0).toBeLessThan(HANG_MS);
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('WORKER_DIED');
    expect(r.failure?.message).toMatch(/boom in the device/);
    expect(r.failure?.side).toBe('device');
    expect(r.failure?.driver.state).toBeTruthy();
    expect(r.failure?.queue).toMatchObject({ ring: 'split' });
  });
  it('a device worker that exits: WORKER_DIED with the exit code', async () => {
    const r = await runThreaded({ ...base, deviceModule: wrapped('exits', 'process.exit(7);') });
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('WORKER_DIED');
    expect(r.failure?.details).toMatchObject({ exitCode: 7 });
  });
  it('a device that stalls (spins forever): STALL after the bound, the worker terminated', async () => {
    const t0 = performance.now();
    const r = await runThreaded({ ...base, stallTimeoutMs: 500, deviceModule: wrapped('hangs', 'for (;;) {}') });
    const took = performance.now() - t0;
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('STALL');
    expect(r.failure?.message).toMatch(/no progress/);
    expect(took).toBeGreaterThanOrEqual(500); // not before the stall bound (a lower bound: load cannot break it)
    expect(took).toBeLessThan(HANG_MS);
    expect(r.failure?.device).toMatchObject({ state: 'running' });
    expect(r.failure?.queue).toHaveProperty('avail_idx');
  });
  it('the time limit ends a run (TIMEOUT) and an abort (Ctrl-C) ends it with partial results', async () => {
    const r = await runThreaded({ ...base, buffers: 1e9, timeoutS: 2 });
    expect(r.failure?.code).toBe('TIMEOUT');
    expect(r.buffers).toBeGreaterThanOrEqual(0); // on a loaded machine the workers may not have started yet
    // Abort once buffers are moving (not after a fixed time): the partial result then has some.
    const ac = new AbortController();
    const a = await runThreaded({ ...base, buffers: 1e9 }, { signal: ac.signal, progressIntervalMs: 50, onProgress: (p) => { if (p.reclaimed > 0) ac.abort(); } });
    expect(a.failure?.code).toBe('ABORTED');
    expect(a.buffers).toBeGreaterThan(0);
    expect(a.ok).toBe(false);
  });
});

describe('CLI: every bad flag or value is one line on stderr and exit 2', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  const cases: string[][] = [
    ['run', '--queue-size', '100'], ['run', '--queue-size', '-4'], ['run', '--buffers', '0'], ['run', '--buffers', 'lots'],
    ['run', '--order', 'sideways'], ['run', '--ring', 'circular'], ['run', '--fault-rate', '1.5'], ['run', '--notify', 'smoke'],
    ['run', '--segments', '300', '--queue-size', '256'], ['run', '--device-features', 'NOPE'], ['run', '--ring', 'packed', '--device-features', 'VERSION_1'],
    ['run', '--no-check', '--trace-out', '/tmp/x.json'], ['run', '--device', '/nonexistent.mjs'], ['run', '--bogus'],
    ['runn'], ['layout', '--queue-size', '3'], ['bench', '--repeat', '0'], ['check', '/nonexistent.json'],
  ];
  for (const args of cases) {
    it(args.join(' '), () => {
      const r = spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});
