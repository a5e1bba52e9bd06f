import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

// Every bad flag or value: ONE line on stderr, nothing on stdout, exit code 2 (after `npm run build`).
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
const vqlab = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 240_000 });

const BAD: string[][] = [
  // no command, unknown commands
  [], ['frobnicate'], ['help', 'nope'], ['--bogus'],
  // sizes: zero, negative, too large, not integers, not numbers, missing
  ['run', '--queue-size', '0'], ['run', '--queue-size', '65536'], ['run', '--queue-size', '0x10'], ['run', '--queue-size'],
  ['run', '--ring', 'packed', '--queue-size', '40000'], ['run', '--segments', '0'], ['run', '--segment-bytes', '-1'],
  ['run', '--buffers', '1.5'], ['run', '--buffers', ' '], ['run', '--buffers', '-1'], ['run', '--seed', '-1'], ['run', '--seed', '1e20'],
  ['run', '--fault-rate', 'NaN'], ['run', '--fault-rate', '-0.1'], ['run', '--fault-latency-us', '-5'], ['run', '--timeout-s', '0'],
  ['run', '--stall-timeout-ms', '-1'], ['run', '--publish-batch', '0'], ['run', '--trace-max-events', '5'],
  ['run', '--poll-backoff', '-1'], ['run', '--poll-backoff', '2e9'], ['run', '--spin-us', 'soon'], ['run', '--spin-us', '1.5'], ['run', '--checker-nice', '20'], ['run', '--checker-nice', 'low'],
  // queue sizes the ring forbids, conflicting options, unknown names
  ['run', '--queue-size', '96'], ['run', '--segments', '2', '--indirect', '--queue-size', '1'], ['run', '--segments', '8', '--queue-size', '4'],
  ['run', '--order', 'IN_ORDER'], ['run', '--device-features', ''], ['run', '--device-features', 'EVENT_IDX,NOPE'],
  ['run', 'extra-argument'], ['run', '--driver', '/nonexistent/driver.mjs'],
  // fuzz
  ['fuzz', '--cases', '0'], ['fuzz', '--cases', '-3'], ['fuzz', '--side', 'sideways'], ['fuzz', '--seed', 'abc'],
  ['fuzz', '--class', 'loop'], ['fuzz', '--side', 'device', '--class', 'no-such-class'], ['fuzz', '--ring', 'circular'], ['fuzz', 'extra'],
  // layout, check, bench
  ['layout', '--queue-size', '99999'], ['layout', '--ring', 'packed', '--queue-size', '0'], ['check', '/nonexistent.json'], ['bench', '--bogus'],
  ['bench', '--rings', 'split', '--queue-sizes', '100'], ['bench', '--orders', 'IN_ORDER'], ['bench', '--fault-rates', '0,2'], ['bench', '--notify', 'poll,,wait'], ['bench', '--queue-sizes', '0'],
];

describe('CLI: bad input → one line on stderr, exit 2', () => {
  for (const args of BAD) {
    it(`vqlab ${args.join(' ') || '(nothing)'}`, () => {
      const r = vqlab(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0].length).toBeGreaterThan(10);
      expect(lines[0]).toMatch(/^vqlab: /); // one prefix, commander's errors included
      expect(r.stderr).not.toMatch(/ at .*\.js:\d+/); // no stack trace
    });
  }
  it('help and version still exit 0 on stdout', () => {
    for (const args of [['--help'], ['--version'], ['fuzz', '--help'], ['help', 'run']]) {
      const r = vqlab(args);
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    }
  });
  it('output closed early (| head) ends quietly', () => {
    const r = spawnSync('sh', ['-c', `node ${bin} layout --queue-size 32768 --json | head -c 10 >/dev/null; echo done`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('done');
    expect(r.stderr).not.toMatch(/EPIPE/);
  });
});

describe('CLI: stress bad input → one line, exit 2', () => {
  const cases: string[][] = [
    ['stress', '--shard', '3/2'], ['stress', '--shard', '0/1'], ['stress', '--shard', 'x'], ['stress', '--rings', 'circular'],
    ['stress', '--rings', 'split', '--queue-sizes', '100'], ['stress', '--queue-sizes', '8,,16'], ['stress', '--fault-rates', '2'],
    ['stress', '--event-idx', 'maybe'], ['stress', '--pairs', '0'], ['stress', '--seeds', '-1'], ['stress', 'merge'],
    ['stress', 'merge', '/nonexistent.json'], ['stress', 'mergee'],
    ['run', '--from', '/nonexistent-artifact.json'], ['run', '--from', '/etc/hostname'],
    ['stress', '--kinds', 'threaded,fuzzy'], ['stress', '--sim-models', 'arm'], ['stress', '--sim-strategies', 'dfs,random'],
    ['stress', '--sim-queue-sizes', '0'], ['stress', '--sim-fault-rates', '-0.1'], ['stress', '--sim-buffers', '0'],
    ['stress', '--sim-budget-ms', 'soon'], ['stress', '--kinds', 'sim', '--sim-bug', 'no-such-bug'],
    ['run', '--progress-s', '-1'], ['run', '--progress-s', 'often'], ['run', '--bug', 'no-such-bug'],
  ];
  for (const args of cases) {
    it(`vqlab ${args.join(' ')}`, () => {
      const r = vqlab(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    });
  }
});
