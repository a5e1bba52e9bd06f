import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { tinyReport } from './helpers/bench-report.js';
import { benchCharts, benchHtml, chartPaths, chartRows } from '../src/bench/charts.js';

// Charts of a hand-made report: structure only (which series, panels and points are drawn), no
// benchmark is run and nothing is timed.
describe('bench charts', () => {
  it('rows: the sweep cells only (extras out), fault rate 0 shared by every latency series', () => {
    expect(chartRows(tinyReport()).length).toBe(12);
    const rows = chartRows(tinyReport([10, 50]));
    // 2 rings × 3 orders × (rate 0 once per latency ×2 + rate 0.05 per latency ×2)
    expect(rows.length).toBe(24);
    expect(new Set(rows.map((r) => r.setting))).toEqual(new Set(['q=64 poll L=10µs', 'q=64 poll L=50µs']));
    expect(rows.filter((r) => r.fault_rate === '0' && r.ring === 'split' && r.order === 'IN_ORDER').length).toBe(2);
  });

  it('renders throughput (with error bars), p99 and used/buffer as SVG: every order, both rings, every fault rate', async () => {
    const svgs = await benchCharts(tinyReport());
    for (const k of ['throughput', 'p99', 'used'] as const) {
      const s = svgs[k];
      expect(s.startsWith('<svg')).toBe(true);
      for (const label of ['none', 'IN_ORDER', 'PARTIAL_ORDER', 'split', 'packed', 'fault rate', '0.05']) expect(s, `${k}: ${label}`).toContain(label);
      expect(s).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing to fetch
    }
    expect(svgs.throughput).toContain('M buffers/s');
    expect(svgs.p99).toContain('p99 latency');
    expect(svgs.used).toContain('used entries / buffer');
    // One line per order per ring panel (3 × 2) in the order's colour, and a min–max rule per point.
    for (const s of Object.values(svgs)) {
      const lines = [...s.matchAll(/<path[^>]*stroke="(#[0-9a-f]{6})"[^>]*>/g)].filter((m) => /d="M[^"]*L/.test(m[0]));
      for (const colour of ['#7f7f7f', '#1f77b4', '#d62728']) expect(lines.filter((m) => m[1] === colour).length).toBeGreaterThanOrEqual(2);
    }
    expect(svgs.throughput.match(/class="mark-rule/g)?.length).toBeGreaterThanOrEqual(1);
  });

  it('HTML is one self-contained page with all three figures and the text report', async () => {
    const html = await benchHtml(tinyReport([10, 50]), 'TEXT REPORT <table>');
    expect(html.match(/<svg/g)?.length).toBe(3);
    expect(html).toContain('L=50µs');
    expect(html).toContain('TEXT REPORT &lt;table&gt;');
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('chart paths: .html is one page, .svg a stem for three files', () => {
    expect(chartPaths('a/b.html')).toEqual({ html: 'a/b.html' });
    expect(chartPaths('a/full.svg')).toEqual({ svg: { throughput: 'a/full-throughput.svg', p99: 'a/full-p99.svg', used: 'a/full-used.svg' } });
  });

  it('vqlab bench --from report.json --chart x.html --chart x.svg renders without running', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-charts-'));
    writeFileSync(join(dir, 'r.json'), JSON.stringify(tinyReport()));
    const out = execFileSync(process.execPath, ['bin/vqlab.js', 'bench', '--from', join(dir, 'r.json'), '--chart', join(dir, 'c.html'), '--chart', join(dir, 'c.svg')], { encoding: 'utf8' });
    expect(out).toMatch(/^\s+target\s+measured/m);
    expect(out).not.toMatch(/issue/i);
    expect(readFileSync(join(dir, 'c.html'), 'utf8')).toContain('PARTIAL_ORDER');
    for (const k of ['throughput', 'p99', 'used']) expect(existsSync(join(dir, `c-${k}.svg`))).toBe(true);
  });
});
