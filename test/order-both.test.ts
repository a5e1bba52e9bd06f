import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { Checker } from '../src/check/checker.js';
import { expandCampaign, DEFAULT_CAMPAIGN } from '../src/stress/campaign.js';
import { validateConfig, DEFAULT_CONFIG } from '../src/harness/config.js';
import { VqError } from '../src/errors.js';

// Both ordering features at once (VIRTIO_F_IN_ORDER and VIRTIO_F_PARTIAL_ORDER): IN_ORDER's rules
// hold and FLUSH is a defined bit. The CLI tests run the built CLI (after `npm run build`).
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 240_000 });

describe('the checker with both ordering features (IN_ORDER rules, FLUSH defined)', () => {
  const checker = () => new Checker({ ring: 'split', order: 'in-order', flushAllowed: true, queueSize: 4 });
  it('in-order batches with or without FLUSH pass', () => {
    const c = checker();
    for (const id of [0, 1, 2, 3]) c.avail(id);
    expect(c.used(1, 0, true)).toBe(true);
    expect(c.used(3, 0, false)).toBe(true);
    expect(c.violations).toEqual([]);
    expect(c.buffersUsed).toBe(4);
  });
  it('an entry naming a buffer an earlier batch completed is USED_OUT_OF_ORDER, FLUSH or not', () => {
    for (const flush of [false, true]) {
      const c = checker();
      for (const id of [0, 1, 2]) c.avail(id);
      c.used(1, 0, flush);
      c.used(0, 0, flush);
      expect(c.violations.map((v) => v.rule)).toEqual(['USED_OUT_OF_ORDER']);
    }
  });
});

describe('configuration: order lists', () => {
  it('a run config takes in-order,partial; anything else is BAD_CONFIG', () => {
    expect(validateConfig({ ...DEFAULT_CONFIG, order: 'in-order,partial' }).order).toBe('in-order,partial');
    expect(() => validateConfig({ ...DEFAULT_CONFIG, order: 'partial,in-order' as never })).toThrow(VqError);
  });
  it('a stress campaign over in-order+partial has its own keys', () => {
    const { runs } = expandCampaign({ ...DEFAULT_CAMPAIGN, rings: ['split'], orders: ['in-order,partial'], eventIdx: [false], indirect: [false], queueSizes: [64], segments: [1], faultRates: [0.01], notify: ['poll'], seeds: 1 });
    expect(runs.map((r) => r.key)).toEqual([expect.stringMatching(/^split\/in-order\+partial\//)]);
  });
});

describe('CLI: --order in-order,partial', () => {
  it('vqlab run --order partial,in-order negotiates both; the JSON reports them', () => {
    const r = vqlab(['run', '--order', 'partial,in-order', '--buffers', '3000', '--fault-rate', '0.01', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, order: 'in-order,partial', buffers: 3000 });
    expect(out.features).toEqual(expect.arrayContaining(['VIRTIO_F_IN_ORDER', 'VIRTIO_F_PARTIAL_ORDER']));
    expect(out.flushes).toBe(out.used_entries);
  });
  it('vqlab explore --order in-order,partial runs clean', () => {
    const r = vqlab(['explore', '--order', 'in-order,partial', '--budget-s', '0.5', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ found: false });
  });
  it('bad order lists: one line, exit 2', () => {
    for (const args of [['run', '--order', 'in-order,in-order'], ['run', '--order', 'in-order,,partial'], ['run', '--order', 'none,partial'],
      ['run', '--order', 'in-order,partial,none'], ['explore', '--order', 'partial,bogus'], ['stress', '--orders', 'none,in-order+none'],
      ['stress', '--orders', 'in-order,partial+partial']]) {
      const r = vqlab(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    }
  });
  it('--help names the order lists', () => {
    expect(vqlab(['run', '--help']).stdout).toMatch(/in-order,partial/);
    expect(vqlab(['explore', '--help']).stdout).toMatch(/in-order,partial/);
    expect(vqlab(['stress', '--help']).stdout).toMatch(/in-order\+partial/);
  });
});
