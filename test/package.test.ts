import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The package as a user gets it: `npm pack`, the tarball installed into an empty project, then the CLI
// through npx, the API from an ESM script, and the types through tsc. The pack skips the prepack clean
// build (`npm test` has just built dist/, and CI's `npm ci` has just run the same clean build as
// `prepare`); the scripts themselves are checked below.
// No network: the project gets a lockfile built from this repository's (the runtime dependencies'
// versions and integrity hashes), so `npm ci --offline` takes every tarball from the npm cache that
// `npm ci` in this repository has just filled.
const repo = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

let dir = '';
let tarball = '';
const env = { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
const run = (cmd: string, args: string[], cwd = dir, input?: string): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000, input });
const ok = (r: SpawnSyncReturns<string>) => `exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;

describe('the packed tarball, installed into an empty project', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vqlab-pack-'));
    const packed = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], repo);
    expect(packed.status, ok(packed)).toBe(0);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
    tarball = info.filename;
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    // What the whitelist must ship, and what it must not.
    for (const f of ['LICENSE', 'README.md', 'bin/vqlab.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/index.js', 'dist/workers/device.js', 'dist/workers/driver.js', 'dist/workers/checker.js', 'examples/minimal-device.mjs']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|bench|dist\/bench|dist\/test|scripts)\/|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    // Every page the README links is in the package (relative links stay valid on npm and in node_modules).
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    for (const m of readme.matchAll(/\]\((docs\/[^)#\s]+)/g)) expect(files, `README links ${m[1]}`).toContain(m[1]);

    const packages: Record<string, unknown> = {
      '': { name: 'vqlab-install-test', version: '1.0.0', dependencies: { vqlab: `file:${tarball}` } },
      'node_modules/vqlab': { version: pkg.version, resolved: `file:${tarball}`, license: pkg.license, dependencies: pkg.dependencies, optionalDependencies: pkg.optionalDependencies, bin: pkg.bin, engines: pkg.engines },
    };
    for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) if (path !== '' && !entry.dev) packages[path] = entry;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'vqlab-install-test', version: '1.0.0', private: true, type: 'module', dependencies: { vqlab: `file:${tarball}` } }, null, 2));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'vqlab-install-test', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    const installed = run('npm', ['ci', '--offline']);
    expect(installed.status, `npm ci --offline in the test project (the npm cache is filled by \`npm ci\` here)\n${ok(installed)}`).toBe(0);
  }, 300_000);

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('prepack and prepare build from clean (no stale file of a deleted source can ship), portably', () => {
    for (const s of ['prepack', 'prepare']) expect(pkg.scripts[s]).toBe('npm run build:clean --silent');
    expect(pkg.scripts['build:clean']).toMatch(/^node -e "require\('fs'\)\.rmSync\('dist',\{recursive:true,force:true\}\)" && tsc -p tsconfig\.json$/);
  });

  it('ships no sources, tests or build scripts, and no dist/bench', () => {
    expect(existsSync(join(dir, 'node_modules', 'vqlab', 'src'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules', 'vqlab', 'dist', 'bench'))).toBe(false);
    expect(readFileSync(join(dir, 'node_modules', 'vqlab', 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('npx vqlab --version prints the package version', () => {
    const r = run('npx', ['vqlab', '--version']);
    expect(r.status, ok(r)).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  }, 240_000);

  // Each step is bounded work; the timeouts only have to outlast a loaded 2-core machine.
  it('npx vqlab run --buffers 20000', () => {
    const r = run('npx', ['vqlab', 'run', '--buffers', '20000']);
    expect(r.status, ok(r)).toBe(0);
    expect(r.stdout).toMatch(/buffers\s+20000 of 20000/);
    expect(r.stdout).toMatch(/result\s+OK/);
  }, 240_000);

  it('npx vqlab check on a trace file: 0 for a good trace, 1 for a bad one', () => {
    const good = { ring: 'split', order: 'partial', queue_size: 8, avail: [0, 1, 2, 3], used: [{ id: 1, len: 4 }, { id: 0, len: 4, flush: true }, { id: 3, len: 4, flush: true }] };
    writeFileSync(join(dir, 'good.json'), JSON.stringify(good));
    const r = run('npx', ['vqlab', 'check', 'good.json']);
    expect(r.status, ok(r)).toBe(0);
    // IN_ORDER: the entry for id 1 stands for ids 0 and 1, so a later entry for id 0 uses it twice.
    const bad = { ring: 'split', order: 'in-order', queue_size: 8, avail: [0, 1, 2, 3], used: [{ id: 1, len: 4 }, { id: 0, len: 4 }] };
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const b = run('npx', ['vqlab', 'check', 'bad.json']);
    expect(b.status, ok(b)).toBe(1);
    expect(b.stdout).toMatch(/^violation USED_OUT_OF_ORDER at used entry 1/);
  }, 240_000);

  it('an ESM script imports the API: a threaded run and a trace check', () => {
    writeFileSync(join(dir, 'use.mjs'), `
import { runThreaded, DEFAULT_CONFIG, checkTrace, VQLAB_VERSION } from 'vqlab';
const r = await runThreaded({ ...DEFAULT_CONFIG, buffers: 5000 });
const c = checkTrace({ ring: 'packed', order: 'in-order', queue_size: 4, avail: [0, 1], used: [{ id: 1, len: 0 }] });
console.log(JSON.stringify({ version: VQLAB_VERSION, buffers: r.buffers, violations: r.violations.length, checked: c.ok }));
`);
    const r = run('node', ['use.mjs']);
    expect(r.status, ok(r)).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ version: pkg.version, buffers: 5000, violations: 0, checked: true });
  }, 240_000);

  it("a TypeScript file type-checks against the package's types (and a wrong one does not)", () => {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')] },
      files: ['use.ts'],
    }));
    const src = `
import { runThreaded, DEFAULT_CONFIG, checkTrace, type RunConfig, type RunResult, type CheckResult } from 'vqlab';
import type { SideModule, SideContext } from 'vqlab';
const cfg: RunConfig = { ...DEFAULT_CONFIG, ring: 'packed', buffers: 1000 };
const result: Promise<RunResult> = runThreaded(cfg);
const c: CheckResult = checkTrace({ ring: 'split', order: 'none', queue_size: 4, avail: [0], used: [{ id: 0, len: 0 }] });
const side: SideModule = { createDevice: (ctx: SideContext) => { void ctx; throw new Error('not a device'); } };
export { result, c, side };
`;
    writeFileSync(join(dir, 'use.ts'), src);
    const r = run('node', [tsc, '-p', 'tsconfig.json']);
    expect(r.status, ok(r)).toBe(0);
    writeFileSync(join(dir, 'use.ts'), src.replace("ring: 'packed'", "ring: 'circular'"));
    const bad = run('node', [tsc, '-p', 'tsconfig.json']);
    expect(bad.status, ok(bad)).not.toBe(0);
    expect(bad.stdout).toMatch(/circular/);
  }, 240_000);
});
