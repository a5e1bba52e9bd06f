import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The docs cannot go stale: every figure or transcript they quote that does not depend on timing is
// produced by scripts/docs.mjs from the code as it is now, and this test fails when a committed page
// differs from what the generator produces (fix: `npm run build && npm run docs`, then commit).
const repo = new URL('..', import.meta.url).pathname;
const docsScript = join(repo, 'scripts', 'docs.mjs');
const pages = (): string[] => ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (f: string): string => readFileSync(join(repo, f), 'utf8');

describe('the docs', () => {
  it('every generated figure and transcript matches what the code produces now', () => {
    const r = spawnSync(process.execPath, [docsScript, '--check'], { cwd: repo, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/docs up to date: \d+ generated region/);
  }, 240_000);

  it('the check fails, naming the region, when a page quotes a figure the code no longer produces', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-docs-'));
    try {
      cpSync(join(repo, 'docs'), join(dir, 'docs'), { recursive: true });
      writeFileSync(join(dir, 'README.md'), read('README.md'));
      const cli = join(dir, 'docs', 'cli.md');
      const text = readFileSync(cli, 'utf8');
      expect(text).toMatch(/<!-- generated:stop-grace -->[^<]+<!-- \/generated -->/);
      writeFileSync(cli, text.replace(/<!-- generated:stop-grace -->[^<]+<!-- \/generated -->/, '<!-- generated:stop-grace -->1 s<!-- /generated -->'));
      const stale = spawnSync(process.execPath, [docsScript, '--check', '--only', 'stop-grace', '--pages', dir], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
      expect(stale.status, stale.stderr).toBe(1);
      expect(stale.stderr).toMatch(/docs\/cli\.md: stop-grace/);
      // Without --check it rewrites the region from the code.
      const fixed = spawnSync(process.execPath, [docsScript, '--only', 'stop-grace', '--pages', dir], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
      expect(fixed.status, fixed.stderr).toBe(0);
      expect(readFileSync(cli, 'utf8')).toBe(text);
      // A region the generator does not know is an error, not a silently kept figure.
      writeFileSync(cli, `${text}\n<!-- generated:no-such-figure -->42<!-- /generated -->\n`);
      const unknown = spawnSync(process.execPath, [docsScript, '--check', '--only', 'stop-grace', '--pages', dir], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/unknown generated region 'no-such-figure'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the README is a user README: at most 300 lines, linking every docs page, the spec and the two commands', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    for (const f of pages().filter((p) => p.startsWith('docs/'))) expect(readme, `README.md must link ${f}: add one line for it to the README's Documentation list`).toContain(`](${f})`);
    expect(readme).toContain('https://docs.oasis-open.org/virtio/virtio/');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });

  it('every relative link in the README and the docs points at a file that exists', () => {
    for (const f of pages()) {
      const base = f.includes('/') ? join(repo, 'docs') : repo;
      for (const m of read(f).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue;
        expect(existsSync(join(base, target)), `${f} links ${target}`).toBe(true);
      }
    }
  });

  it('no text about how or when vqlab was developed, in the docs, the code or its output', () => {
    const PROCESS = /issue [0-9]|issue's|workplace|shared\/docs|shared\/seed|\bsessions?\b|playwright|lab notebook|this sitting/i;
    const DATED = /\b20\d\d-\d\d-\d\d\b/;
    const files: string[] = [...pages()];
    const walk = (d: string): void => {
      for (const e of readdirSync(join(repo, d), { withFileTypes: true })) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|mjs|js|md)$/.test(e.name) && p !== 'test/docs.test.ts') files.push(p);
      }
    };
    for (const d of ['src', 'workers', 'bench', 'bin', 'examples', 'scripts', 'test']) walk(d);
    const hits: string[] = [];
    for (const f of files) {
      read(f).split('\n').forEach((line, i) => {
        if (PROCESS.test(line) || (f.endsWith('.md') && DATED.test(line))) hits.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(hits).toEqual([]);
  });
});
