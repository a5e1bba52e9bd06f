import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { configOf, DEFAULT_CONFIG } from '../src/harness/config.js';
import * as api from '../src/index.js';

// vqlab as a library: partial configurations over the defaults, errors that name the API's fields,
// internals behind `vqlab/internals`, the side contract's types importable from 'vqlab', and the
// example script runs.
const root = new URL('..', import.meta.url).pathname;
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 240_000 });

describe('runThreaded(Partial<RunConfig>)', () => {
  it('fills what is not given from DEFAULT_CONFIG', async () => {
    const r = await runThreaded({ buffers: 3000, queueSize: 64 });
    expect(r.ok).toBe(true);
    expect(r.buffers).toBe(3000);
    expect(r.config).toMatchObject({ ...DEFAULT_CONFIG, buffers: 3000, queueSize: 64 });
  });
  it('bad settings are BAD_CONFIG naming the RunConfig field, not a flag', async () => {
    await expect(runThreaded({ ring: 'circular' as never })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: 'BAD_CONFIG: ring must be one of split|packed, got circular', details: { field: 'ring' } });
    await expect(runThreaded({ segments: 8, queueSize: 4 })).rejects.toThrow(/\(use indirect or fewer segments\)$/);
    await expect(runThreaded({ faultLatencyUs: -1 })).rejects.toThrow(/^BAD_CONFIG: faultLatencyUs must be/);
    await expect(runThreaded({ deviceModule: '/nonexistent/device.mjs' })).rejects.toThrow(/^BAD_CONFIG: deviceModule module not found/);
    await expect(runThreaded({ eventIdx: 'yes' as never })).rejects.toThrow(/^BAD_CONFIG: eventIdx must be true or false/);
    // A misspelt field is not silently ignored.
    await expect(runThreaded({ bufers: 10 } as never)).rejects.toThrow(/^BAD_CONFIG: unknown setting bufers/);
  });
  it('the CLI names the same problems by their flags', () => {
    const r = node(['bin/vqlab.js', 'run', '--segments', '8', '--queue-size', '4']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^vqlab: BAD_CONFIG: a buffer of 8 descriptors cannot fit a queue of 4 \(use --indirect or fewer --segments\)$/);
    expect(() => configOf({ timeoutS: 0 }, 'cli')).toThrow(/^BAD_CONFIG: --timeout-s must be positive/);
    expect(() => configOf({ timeoutS: 0 })).toThrow(/^BAD_CONFIG: timeoutS must be positive/);
  });
});

describe('the package\'s exports', () => {
  it('the public API has the run, check and explore entry points and no ring classes; vqlab/internals has those', () => {
    for (const k of ['runThreaded', 'checkTrace', 'explore', 'replay', 'configOf', 'DEFAULT_CONFIG', 'DEFAULT_SIM', 'createBuiltinDevice', 'VQLAB_VERSION']) expect(api, k).toHaveProperty(k);
    for (const k of ['SplitDriverRing', 'SplitDeviceRing', 'PackedDriverRing', 'PackedDeviceRing', 'AtomicsMemory', 'UsedTracker', 'VirtioDriver', 'VirtioDevice']) expect(api, k).not.toHaveProperty(k);
    // Through the package name, as an installed package is used (Node resolves its own name via "exports").
    const r = node(['--input-type=module', '-e', "const a = await import('vqlab'); const i = await import('vqlab/internals'); console.log(JSON.stringify([typeof a.runThreaded, 'SplitDriverRing' in a, typeof i.SplitDriverRing, typeof i.AtomicsMemory]))"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['function', false, 'function', 'function']);
  });
  it('examples/api.mjs runs: a run, a bad config, a checked trace, a found bug', () => {
    const r = node(['examples/api.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run: OK, 20000 buffers/m);
    expect(r.stdout).toMatch(/^bad config: BAD_CONFIG \(BAD_CONFIG: ring must be one of split\|packed, got circular\)$/m);
    expect(r.stdout).toMatch(/^trace: conformant, 3 buffers in 1 used entry$/m);
    expect(r.stdout).toMatch(/^explore: LOST_WAKEUP after \d+ schedule\(s\); replay with: vqlab replay vqsim/m);
  });
  it("import type { SideModule, SideContext } from 'vqlab' type-checks a side module, and catches a wrong one", () => {
    const dir = join(root, 'test-results', 'api-types');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const module = (body: string): string => `import type { Side, SideContext, SideModule } from 'vqlab';
export const features = ['VERSION_1'];
export function createDevice(ctx: SideContext): Side {
  const L = ctx.guest.ring;
  let done = false;
  ${body}
  return {
    start() {}, step() { return 0; }, hasWork() { return false; }, prepareSleep() { return true; }, afterWake() {},
    lostWakeup() {}, finish() {}, get finished() { return done || ctx.driverDone(); }, state() { return { ring: L.ring === 'split' }; },
  };
}
const m: SideModule = { createDevice };
export default m;
`;
    writeFileSync(join(dir, 'good.ts'), module('const n: number = ctx.queueSize + ctx.spec.VIRTQ_DESC_F_NEXT; void n; ctx.mem.mb();'));
    writeFileSync(join(dir, 'bad.ts'), module('const n: string = ctx.queueSize; void n; ctx.notAField();'));
    const tsc = (f: string) => node([join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', join(dir, f)]);
    const good = tsc('good.ts');
    expect(good.status, good.stdout).toBe(0);
    const bad = tsc('bad.ts');
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(bad.stdout).toMatch(/Property 'notAField' does not exist on type 'SideContext'/);
  });
});
