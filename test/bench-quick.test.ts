import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The CI line: `vqlab bench --quick` runs here, end to end, as a user runs it. Structure
// only — no figure is asserted (speed is measured in `vqlab bench`, never in tests).
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;

describe('vqlab bench --quick (CI)', () => {
  it('runs the quick plan: every cell conformant, JSON report with commands, ratios and targets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqlab-quick-'));
    try {
      const out = join(dir, 'quick.json');
      // The quick plan with small runs and two repeats: every cell, peer, repeat-paired ratio and
      // output as a user gets them, at a size a starved CI machine gets through in minutes (its
      // 54 runs of 100 000 buffers took over 15 min on 2 vCPUs beside two CPU hogs).
      const r = spawnSync('node', [bin, 'bench', '--quick', '--repeat', '2', '--checked-repeat', '1', '--buffers', '20000', '--peer-messages', '20000', '--out', out, '--chart', join(dir, 'quick.svg')], { encoding: 'utf8', timeout: 900_000 });
      expect(r.status, r.stderr).toBe(0);
      // The readable table on stdout: peers, cells, targets.
      expect(r.stdout).toMatch(/index-only SPSC, publish every 32 \(ceiling\)/);
      expect(r.stdout).toMatch(/split partial p=0\.01 L=50µs q=256 poll/);
      expect(r.stdout).toMatch(/PARTIAL_ORDER ≥ 0\.95 × max\(IN_ORDER, none\)/);
      const rep = JSON.parse(readFileSync(out, 'utf8'));
      // 2 rings × 3 orders × 2 fault rates, plus the wait extra; timed unchecked, conformance from checked twins.
      expect(rep.timing).toBe('unchecked');
      expect(rep.cells).toHaveLength(13);
      for (const c of rep.cells) {
        expect(c.violations).toBe(0);
        expect(c.runs).toBe(2);
        expect(c.command).toMatch(/^vqlab run --ring (split|packed) --order (none|in-order|partial) /);
        expect(c.buffers_per_s.median).toBeGreaterThan(0);
        expect(c.per_repeat.buffers_per_s).toHaveLength(2);
        expect(c.command).toMatch(/--no-check --json$/);
        expect(c.checked.runs).toBe(1);
        expect(c.checked.command).not.toMatch(/--no-check/);
        expect(c.checked.violations + c.checked.failures).toBe(0);
      }
      expect(r.stdout).toMatch(/^timing: timed runs without the live checker; conformance from separate checked runs/m);
      expect(r.stdout).toMatch(/PARTIAL_ORDER ≥ 0\.95 × max\(IN_ORDER, none\): \d+ of 4 groups unchecked, \d+ of 4 checked/);
      for (const k of ['spsc', 'spsc-batch32', 'ringbuf', 'pingpong']) expect(rep.peers[k].bad).toBe(0);
      expect(rep.command).toMatch(/^vqlab bench --quick --repeat 2 --checked-repeat 1 --buffers 20000 --peer-messages 20000/);
      expect(rep.plan).toMatchObject({ buffers: 20000, peer_messages: 20000, repeat: 2 });
      expect(rep.targets.length).toBeGreaterThan(8);
      for (const t of rep.targets) expect(typeof t.met === 'boolean' || t.met === null).toBe(true);
      expect(rep.targets.find((t: { target: string }) => t.target.startsWith('every run conformant')).met).toBe(true);
      for (const k of ['throughput', 'p99', 'used']) expect(readFileSync(join(dir, `quick-${k}.svg`), 'utf8')).toMatch(/^<svg/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 960_000); // under a minute on an idle machine; the bounds only catch a hang
});
