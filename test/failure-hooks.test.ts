import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { runThreaded, type RunResult } from '../src/harness/run.js';
import { DEFAULT_CONFIG, type RunConfig, type TestHooks } from '../src/harness/config.js';

// Worker failures in vqlab's own driver and device (cfg.testHooks, test-only): each side throws,
// exits, hangs (never looks at the stop flag) and goes idle. Every run must end within its bound
// with ok = false, a typed failure naming the side, both sides' state and the queue, and both
// workers gone (exit codes recorded: no orphan). Time is bounded only against a hang (HANG_MS: no
// start-up or stop on a loaded machine comes near it): how fast a run ends is the harness's
// figure to report, never a test's to race.
const base: RunConfig = { ...DEFAULT_CONFIG, order: 'partial', faultRate: 0.01, buffers: 50_000_000, timeoutS: 60, stallTimeoutMs: 400, eventLogRecords: 1 << 14 };
const HANG_MS = 30_000;
// Where a death, not a stall, is the expected end: a stall bound no descheduled side reaches on a
// loaded machine (400 ms could, and the run would end as STALL before the hook fired).
const NO_FALSE_STALL: Partial<RunConfig> = { stallTimeoutMs: 20_000 };

async function timed(h: TestHooks, over: Partial<RunConfig> = {}): Promise<{ r: RunResult; ms: number }> {
  const t0 = performance.now();
  const r = await runThreaded({ ...base, ...over, testHooks: h });
  return { r, ms: performance.now() - t0 };
}

function expectReport(r: RunResult): void {
  expect(r.ok).toBe(false);
  const f = r.failure!;
  expect(f).toBeTruthy();
  for (const side of [f.driver, f.device]) {
    expect(side).toHaveProperty('state');
    expect(side.exit_code).not.toBeNull(); // the worker is gone
  }
  expect(f.queue).toMatchObject({ ring: 'split', queue_size: base.queueSize });
  expect(f.queue).toHaveProperty('avail_idx');
  expect(f.queue).toHaveProperty('used_idx');
}

describe('worker failures in vqlab\'s own sides end the run within the bound, with a report', () => {
  for (const side of ['driver', 'device'] as const) {
    it(`${side} throws → WORKER_DIED from the ${side}, its message and its ring state`, async () => {
      const { r, ms } = await timed({ side, fault: 'throw', afterBuffers: 5000 }, NO_FALSE_STALL);
      expectReport(r);
      expect(r.failure!.code).toBe('WORKER_DIED');
      expect(r.failure!.side).toBe(side);
      expect(r.failure!.message).toMatch(/test hook/);
      expect((r.failure![side] as { ring: unknown }).ring).toBeTruthy(); // the side described its ring before dying
      expect(r.buffers).toBeGreaterThan(0);
      expect(ms).toBeLessThan(HANG_MS);
    });
    it(`${side} worker exits → WORKER_DIED with the exit code`, async () => {
      const { r, ms } = await timed({ side, fault: 'exit', afterBuffers: 5000, exitCode: 9 }, NO_FALSE_STALL);
      expectReport(r);
      expect(r.failure!.code).toBe('WORKER_DIED');
      expect(r.failure!.details).toMatchObject({ exitCode: 9 });
      expect(ms).toBeLessThan(HANG_MS);
    });
    it(`${side} hangs (busy, deaf to stop) → STALL after the stall bound, then terminated`, async () => {
      const { r, ms } = await timed({ side, fault: 'hang', afterBuffers: 5000 });
      expectReport(r);
      expect(r.failure!.code).toBe('STALL');
      expect(r.failure!.side).toBe('harness');
      expect(ms).toBeGreaterThanOrEqual(base.stallTimeoutMs);
      expect(ms).toBeLessThan(HANG_MS);
      // From the stall to both workers gone: the grace, then terminate() — reported, never a hang.
      expect((r.failure!.driver as { stop_ms: number }).stop_ms).toBeLessThan(HANG_MS);
    });
    it(`${side} goes idle → STALL; both workers stop on request (no terminate needed)`, async () => {
      const { r, ms } = await timed({ side, fault: 'idle', afterBuffers: 5000 }, { notify: 'wait' });
      expectReport(r);
      expect(r.failure!.code).toBe('STALL');
      expect(r.failure!.driver.exit_code).toBe(0);
      expect(r.failure!.device.exit_code).toBe(0);
      expect(ms).toBeGreaterThanOrEqual(base.stallTimeoutMs);
      expect(ms).toBeLessThan(HANG_MS);
    });
  }
  it('a hook set to fire before any work fails the run at once (device throws on its first step)', async () => {
    const { r } = await timed({ side: 'device', fault: 'throw', afterBuffers: 0 }, NO_FALSE_STALL);
    expectReport(r);
    expect(r.failure!.code).toBe('WORKER_DIED');
  });
  // The live checker's own thread: a dead or deaf checker ends the run too, never a hang.
  it('checker thread throws → CHECKER_DIED from the harness, both sides stopped', async () => {
    const { r, ms } = await timed({ side: 'checker', fault: 'throw', afterBuffers: 2000 }, NO_FALSE_STALL);
    expectReport(r);
    expect(r.failure!.code).toBe('CHECKER_DIED');
    expect(r.failure!.message).toMatch(/test hook: checker thread throws/);
    expect(r.buffers).toBeGreaterThan(0);
    expect(ms).toBeLessThan(HANG_MS);
  });
  it('checker thread exits → CHECKER_DIED with the exit code in the message', async () => {
    const { r, ms } = await timed({ side: 'checker', fault: 'exit', afterBuffers: 2000, exitCode: 7 }, NO_FALSE_STALL);
    expectReport(r);
    expect(r.failure!.code).toBe('CHECKER_DIED');
    expect(r.failure!.message).toMatch(/code 7/);
    expect(ms).toBeLessThan(HANG_MS);
  });
  it('checker thread hangs → the full event logs hold the sides: CHECKER_STALL (the harness\'s, not the ring\'s STALL), then the checker is terminated', async () => {
    const { r, ms } = await timed({ side: 'checker', fault: 'hang', afterBuffers: 2000 });
    expectReport(r);
    expect(r.failure!.code).toBe('CHECKER_STALL');
    expect(r.failure!.message).toMatch(/event logs? full/);
    expect(ms).toBeLessThan(HANG_MS);
  });
  it('rejects a malformed hook as BAD_CONFIG', async () => {
    await expect(runThreaded({ ...base, testHooks: { side: 'neither', fault: 'throw', afterBuffers: 1 } as unknown as TestHooks })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });
});

describe('lost wake-ups are the ring\'s, never the scheduler\'s', () => {
  it('a device held up between its interrupt decision and the doorbell (longer than two wake timeouts) is not a lost wake-up', async () => {
    const device = new URL('./fixtures/modules/late-interrupt-device.mjs', import.meta.url).pathname;
    const r = await runThreaded({ ...DEFAULT_CONFIG, deviceModule: device, notify: 'wait', buffers: 2000, wakeTimeoutMs: 100, spinBeforeWait: 1, spinUs: 0, faultRate: 0, stallTimeoutMs: 20_000 });
    expect(r.failure ?? r.violations[0] ?? null).toBeNull();
    expect(r.lost_wakeups).toBe(0);
  });
});

describe('a side that dies leaves its last events to the checker', () => {
  it('a device that writes a used entry with a bad length and dies before used.idx: the death and the USED_BAD_LEN both reported', async () => {
    // The driver never sees the entry (used.idx is never stored), so only the checker's read of the
    // device's log can name it; the checker thread must read the log to its end after the death.
    // It reads nothing while the run lasts (idle: as one starved of CPU at nice 19 on a busy machine).
    const device = new URL('./fixtures/modules/dies-after-bad-used-device.mjs', import.meta.url).pathname;
    const r = await runThreaded({ ...DEFAULT_CONFIG, deviceModule: device, buffers: 100_000, faultRate: 0, stallTimeoutMs: 20_000,
      testHooks: { side: 'checker', fault: 'idle', afterBuffers: 0 } });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ side: 'device', message: expect.stringContaining('device dies after used entry 999') });
    const bad = r.violations.find((v) => v.rule === 'USED_BAD_LEN');
    expect(bad, JSON.stringify(r.violations)).toBeDefined();
    expect(bad!.message).toMatch(/^used len 1048576 exceeds writable capacity \d+ of id \d+$/);
    expect(bad!.entry).toBe(999);
  });
});

describe('Ctrl-C', () => {
  it('an interrupted run whose checker cannot answer is still ABORTED (its missing summary is no second failure)', async () => {
    const ac = new AbortController();
    // The checker goes deaf after its first entry (as one still starting on a loaded machine is);
    // once its full logs have held the sides for a while, the run is interrupted: the report must
    // name the interruption, not CHECKER_DIED.
    let last = -1;
    let since = 0;
    const onProgress = (p: { elapsedMs: number; reclaimed: number }): void => {
      if (p.reclaimed !== last) { last = p.reclaimed; since = p.elapsedMs; } else if (p.reclaimed > 0 && p.elapsedMs - since > 300) ac.abort();
    };
    const r = await runThreaded({ ...base, stallTimeoutMs: 60_000, testHooks: { side: 'checker', fault: 'hang', afterBuffers: 1 } },
      { signal: ac.signal, progressIntervalMs: 1, onProgress });
    expect(r.ok).toBe(false);
    expect(r.failure!.code).toBe('ABORTED');
  });
  it('an abort that came before the run got going (while its workers started) still ends it as ABORTED', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await runThreaded({ ...base, buffers: 1e9, timeoutS: 600, stallTimeoutMs: 0 }, { signal: ac.signal });
    expect(r.ok).toBe(false);
    expect(r.failure!.code).toBe('ABORTED');
  });
  it('SIGINT to `vqlab run` ends it with partial results and a non-zero exit', async () => {
    const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
    // Progress lines on stderr say when buffers are moving: interrupt then, not after a fixed time.
    const child = spawn('node', [bin, 'run', '--buffers', '1000000000', '--json', '--progress-s', '0.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    const moving = new Promise<void>((res) => child.stderr.on('data', (b: Buffer) => { err += b.toString(); if (/ [1-9]\d*\/1000000000 buffers/.test(err)) res(); }));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    await moving;
    const t0 = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(HANG_MS);
    expect(code).toBe(1);
    const r = JSON.parse(out) as RunResult;
    expect(r.failure?.code).toBe('ABORTED');
    expect(r.buffers).toBeGreaterThan(0);
    expect(r.failure?.driver.exit_code).not.toBeNull();
    expect(r.failure?.device.exit_code).not.toBeNull();
  });
});
