import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyReport } from './helpers/bench-report.js';

// Start-up: vega and vega-lite (optional dependencies, most of the installed packages) are loaded
// by `bench --chart` only. Every module URL a command resolves is logged through a resolve hook;
// the chart command itself is the control that shows the hook sees vega when it is loaded.
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
const hook = new URL('./helpers/import-log.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vqlab-startup-'));

function imports(args: string[], env: Record<string, string> = {}): { status: number | null; urls: string[]; stderr: string } {
  const log = join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', hook, bin, ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, VQLAB_IMPORT_LOG: log, ...env } });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  rmSync(log, { force: true });
  return { status: r.status, urls, stderr: r.stderr };
}
const vega = (urls: string[]): string[] => urls.filter((u) => /\/node_modules\/vega(-[a-z-]+)?\//.test(u));

describe('start-up: vega is loaded by bench --chart only', () => {
  const trace = join(dir, 'trace.json');
  writeFileSync(trace, JSON.stringify({ ring: 'split', order: 'in-order', queue_size: 4, avail: [0, 1, 2], used: [{ id: 2, len: 0 }] }));
  const commands: string[][] = [['--help'], ['--version'], ['run', '--buffers', '2000'], ['check', trace], ['layout'], ['bugs'], ['bench', '--help'], ['stress', '--help']];
  for (const args of commands) {
    it(`vqlab ${args.join(' ').replace(dir, '…')}`, () => {
      const r = imports(args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.urls.some((u) => u.includes('/dist/src/cli/index.js'))).toBe(true); // the hook saw the CLI load
      expect(vega(r.urls)).toEqual([]);
    });
  }
  it('control: bench --from … --chart loads vega (the hook does see it)', () => {
    const report = join(dir, 'report.json');
    writeFileSync(report, JSON.stringify(tinyReport()));
    const r = imports(['bench', '--from', report, '--chart', join(dir, 'c.svg')]);
    expect(r.status, r.stderr).toBe(0);
    expect(vega(r.urls).length).toBeGreaterThan(0);
  });
  it('without vega installed: every other command works, --chart is refused before anything runs with a message naming the packages', () => {
    const report = join(dir, 'report2.json');
    writeFileSync(report, JSON.stringify(tinyReport()));
    const hide = { VQLAB_HIDE_PACKAGES: 'vega,vega-lite' };
    expect(imports(['bench', '--from', report], hide).status).toBe(0);
    expect(imports(['run', '--buffers', '2000'], hide).status).toBe(0);
    const r = imports(['bench', '--quick', '--chart', join(dir, 'nope.html')], hide);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['vqlab: --chart: charts need the optional packages vega and vega-lite, which are not installed (npm install vega vega-lite)']);
  });
});
