import { describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tinyReport } from './helpers/bench-report.js';
import { Histogram, toHistogramPrecision } from '../src/util/histogram.js';
import { checkFormat, FORMATS, VQLAB_VERSION } from '../src/version.js';
import { fromJsonKeys, toJsonKeys } from '../src/util/json.js';

// The command line as a user meets it: output files checked before long runs, what was written
// said, one error prefix, one JSON key style, format versions, progress only where it can be drawn.
const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vqlab-polish-'));
const vqlab = (args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000, cwd: opts.cwd, env: { ...process.env, ...opts.env } });
const oneLine = (r: { status: number | null; stdout: string; stderr: string }): string => {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^vqlab: /);
  return lines[0];
};
const report = (): string => { const f = join(dir, `r-${Math.random().toString(36).slice(2)}.json`); writeFileSync(f, JSON.stringify(tinyReport())); return f; };

describe('bench: output paths checked before the run, what was written said', () => {
  it('--chart x.png is refused and nothing is written', () => {
    const png = join(dir, 'x.png');
    expect(oneLine(vqlab(['bench', '--quick', '--chart', png]))).toMatch(/--chart .*x\.png: charts are written as \.html .* or \.svg/);
    expect(existsSync(png)).toBe(false);
    // Also when rendering a saved report.
    oneLine(vqlab(['bench', '--from', report(), '--chart', png]));
    expect(existsSync(png)).toBe(false);
  });
  it('--out in a missing directory, --out not .json, --chart in a missing directory, --out a directory: exit 2 before running', () => {
    expect(oneLine(vqlab(['bench', '--quick', '--out', join(dir, 'no/such/dir/r.json')]))).toMatch(/does not exist/);
    expect(oneLine(vqlab(['bench', '--quick', '--out', join(dir, 'r.txt')]))).toMatch(/name it \*\.json/);
    expect(oneLine(vqlab(['bench', '--quick', '--chart', join(dir, 'nope/c.svg')]))).toMatch(/does not exist/);
    mkdirSync(join(dir, 'adir.json'));
    expect(oneLine(vqlab(['bench', '--quick', '--out', join(dir, 'adir.json')]))).toMatch(/is a directory/);
  });
  it('--from … --chart prints each file it wrote (stderr), the table on stdout', () => {
    const r = vqlab(['bench', '--from', report(), '--chart', join(dir, 'w.svg'), '--chart', join(dir, 'w.html')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/index-only SPSC/);
    for (const f of ['w-throughput.svg', 'w-p99.svg', 'w-used.svg', 'w.html']) {
      expect(r.stderr).toContain(`vqlab: wrote chart ${join(dir, f)}`);
      expect(existsSync(join(dir, f))).toBe(true);
    }
  });
  it('a write that fails after a run is reported, the JSON saved elsewhere, and the caller still prints the table', async () => {
    const { writeOutputs } = await import('../src/cli/bench.js');
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err.push(String(s)); return true; });
    let ok: boolean;
    try {
      ok = await writeOutputs(tinyReport(), { out: join(dir, 'vanished/r.json'), chart: [], json: false } as never, true);
    } finally { spy.mockRestore(); }
    expect(ok).toBe(false);
    expect(err.join('')).toMatch(/^vqlab: could not write --out .*vanished\/r\.json: ENOENT/m);
    const saved = /saved to (\S+) /.exec(err.join(''))?.[1];
    expect(saved && JSON.parse(readFileSync(saved, 'utf8'))).toMatchObject({ format: 'vqlab-bench', plan: { fault_rates: [0, 0.05] } });
  });
});

describe('help: choices and readable defaults', () => {
  it('no "(default: false)" or "(default: "")" in any command\'s help; choices listed', () => {
    for (const c of ['run', 'bench', 'explore', 'replay', 'bugs', 'fuzz', 'stress', 'layout', 'litmus']) {
      const r = vqlab([c, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout, c).not.toMatch(/\(default: (false|"")\)/);
      expect(r.stdout, c).not.toMatch(/default: \[\]/);
    }
    const run = vqlab(['run', '--help']).stdout;
    expect(run).toMatch(/--ring <kind>\s+ring layout \(choices: "split", "packed", default:\s+"split"\)/);
    // run's options in groups, each under its heading.
    const headings = [...run.matchAll(/^([A-Z][A-Za-z ]+):$/gm)].map((m) => m[1]);
    expect(headings).toEqual(['Queue and features', 'Workload', 'Notification and pacing', 'Your own driver or device', 'Checking and limits', 'Output and replay', 'Options']);
    expect(oneLine(vqlab(['run', '--ring', 'circular']))).toMatch(/Allowed choices are split, packed/);
  });
});

describe('one error prefix', () => {
  it('commander\'s errors and vqlab\'s own both start with "vqlab: "', () => {
    for (const args of [['run', '--bogus'], ['run', '--ring'], ['stress', 'merge'], ['layout', 'extra'], ['run', '--queue-size', '96'], ['nosuch']]) oneLine(vqlab(args));
  });
});

describe('JSON: snake_case keys everywhere', () => {
  const camel = (x: unknown, path = ''): string[] => {
    if (Array.isArray(x)) return x.flatMap((v, i) => camel(v, `${path}[${i}]`));
    if (!x || typeof x !== 'object') return [];
    return Object.entries(x).flatMap(([k, v]) => [...(/^[a-z]+[A-Z]/.test(k) ? [`${path}.${k}`] : []), ...camel(v, `${path}.${k}`)]);
  };
  it('run, layout, bench --from, fuzz, explore, replay, bugs, litmus --model-only, stress', () => {
    const outs: [string, string[]][] = [
      ['run', ['run', '--buffers', '2000', '--json']], ['layout', ['layout', '--json']], ['bench', ['bench', '--from', report(), '--json']],
      ['fuzz', ['fuzz', '--cases', '20', '--json']], ['explore', ['explore', '--bug', 'flush-with-hole', '--max-schedules', '50', '--artifact', join(dir, 'e.json'), '--json']],
      ['bugs', ['bugs', '--json']], ['litmus', ['litmus', '--model-only', '--json']],
      ['stress', ['stress', '--kinds', 'sim', '--rings', 'split', '--orders', 'partial', '--event-idx', 'off', '--sim-strategies', 'random', '--sim-budget-ms', '50', '--json']],
    ];
    for (const [name, args] of outs) {
      const r = vqlab(args);
      expect([0, 1], `${name}: ${r.stderr}`).toContain(r.status);
      expect(camel(JSON.parse(r.stdout)), name).toEqual([]);
    }
    const art = JSON.parse(readFileSync(join(dir, 'e.json'), 'utf8'));
    expect(camel(art)).toEqual([]);
    const rep = vqlab(['replay', art.replay, '--json']);
    expect(camel(JSON.parse(rep.stdout))).toEqual([]);
    // The Perfetto trace keeps the Trace Event format's own keys; vqlab's metadata in it is snake_case.
    const tr = join(dir, 'trace.json');
    expect(vqlab(['run', '--buffers', '2000', '--trace-out', tr]).status).toBe(0);
    const t = JSON.parse(readFileSync(tr, 'utf8'));
    expect(Object.keys(t)).toEqual(['traceEvents', 'displayTimeUnit', 'metadata']);
    expect(camel(t.metadata)).toEqual([]);
  });
  it('the conversion keeps data keys and reads back both styles', () => {
    expect(toJsonKeys({ queueSize: 4, 'spsc-batch32': 1, BAD_DESC: 2, nested: [{ faultLatencyUs: 1 }] })).toEqual({ queue_size: 4, 'spsc-batch32': 1, BAD_DESC: 2, nested: [{ fault_latency_us: 1 }] });
    expect(fromJsonKeys({ queue_size: 4, faultRate: 0.1, event_log_records: 8 })).toEqual({ queueSize: 4, faultRate: 0.1, eventLogRecords: 8 });
  });
});

describe('format versions: every artefact says what it is; readers refuse what they cannot read', () => {
  it('run --json, bench, stress and failure artefacts carry format, format_version and the package version', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(VQLAB_VERSION).toBe(pkg.version);
    expect(vqlab(['--version']).stdout.trim()).toBe(pkg.version);
    const run = JSON.parse(vqlab(['run', '--buffers', '2000', '--json']).stdout);
    expect(run).toMatchObject({ format: 'vqlab-run', format_version: FORMATS['vqlab-run'], vqlab_version: pkg.version });
    const bench = JSON.parse(vqlab(['bench', '--from', report(), '--json']).stdout);
    expect(bench).toMatchObject({ format: 'vqlab-bench', format_version: FORMATS['vqlab-bench'], vqlab_version: pkg.version });
  });
  it('a newer format version is refused with exit 2 by bench --from, stress merge, run --from and replay', () => {
    const future = (doc: object, name: string): string => { const f = join(dir, name); writeFileSync(f, JSON.stringify({ ...doc, format_version: 99, vqlab_version: '9.9.9' })); return f; };
    const b = future({ ...tinyReport(), format: 'vqlab-bench' }, 'future-bench.json');
    expect(oneLine(vqlab(['bench', '--from', b]))).toMatch(/vqlab-bench format version 99 \(written by vqlab 9\.9\.9\); this vqlab \(.*\) reads version 1/);
    const s = future({ format: 'vqlab-stress', vqlab_stress: 1, campaign_id: 'x', results: [] }, 'future-stress.json');
    expect(oneLine(vqlab(['stress', 'merge', s]))).toMatch(/format version 99/);
    const a = future({ format: 'vqlab-failure', vqlab_artifact: 1, kind: 'run-failure', config: {} }, 'future-artifact.json');
    expect(oneLine(vqlab(['run', '--from', a]))).toMatch(/format version 99/);
    expect(oneLine(vqlab(['replay', a]))).toMatch(/format version 99/);
    // A document of another kind is named as such.
    const runDoc = future({ format: 'vqlab-run' }, 'run-as-bench.json');
    expect(oneLine(vqlab(['bench', '--from', runDoc]))).toMatch(/a vqlab-run document .* expected vqlab-bench/);
    // Documents from before the stamp are still read (their shape is checked as before).
    expect(() => checkFormat({ cells: [] }, ['vqlab-bench'], 'x')).not.toThrow();
  });
  it('a failure artefact in snake_case (or the older camelCase) replays with run --from', () => {
    const cfg = { ring: 'split', order: 'in-order', queue_size: 64, buffers: 3000, fault_rate: 0, seed: 3 };
    const snake = join(dir, 'art-snake.json');
    writeFileSync(snake, JSON.stringify({ format: 'vqlab-failure', format_version: 1, vqlab_version: VQLAB_VERSION, kind: 'run-failure', config: cfg }));
    const r = JSON.parse(vqlab(['run', '--from', snake, '--json']).stdout);
    expect(r).toMatchObject({ ok: true, ring: 'split', order: 'in-order', queue_size: 64, buffers: 3000, config: { queue_size: 64, fault_rate: 0, seed: 3 } });
    const camel = join(dir, 'art-camel.json');
    writeFileSync(camel, JSON.stringify({ vqlab_artifact: 1, kind: 'run-failure', config: { ring: 'packed', queueSize: 50, buffers: 2000, faultRate: 0 } }));
    expect(JSON.parse(vqlab(['run', '--from', camel, '--json']).stdout)).toMatchObject({ ok: true, ring: 'packed', queue_size: 50, buffers: 2000 });
  });
});

describe('artefacts go where the user asked, or to a fresh temporary directory (printed), never the working directory', () => {
  it('explore without --artifact', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'vqlab-cwd-'));
    const r = vqlab(['explore', '--bug', 'flush-with-hole', '--max-schedules', '50'], { cwd });
    expect(r.status).toBe(1);
    expect(readdirSync(cwd)).toEqual([]);
    const art = /^artifact: (.+)$/m.exec(r.stdout)?.[1];
    expect(art && dirname(dirname(art))).toBe(tmpdir());
    expect(JSON.parse(readFileSync(art!, 'utf8'))).toMatchObject({ format: 'vqlab-failure', kind: 'sim-failure' });
    expect(oneLine(vqlab(['explore', '--artifact', join(dir, 'missing/f.json')]))).toMatch(/does not exist/);
  });
  it('stress without --out: a failing campaign writes into a new temporary directory and says where', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'vqlab-cwd-'));
    const r = vqlab(['stress', '--kinds', 'sim', '--rings', 'packed', '--orders', 'in-order', '--event-idx', 'off', '--sim-models', 'sc', '--sim-strategies', 'random',
      '--sim-bug', 'wrap-counter-not-flipped', '--sim-budget-ms', '60000'], { cwd });
    expect(r.status, r.stderr).toBe(1);
    expect(readdirSync(cwd)).toEqual([]);
    const where = /^failure artifacts in (.+)$/m.exec(r.stdout)?.[1];
    expect(where && dirname(where)).toBe(tmpdir());
    expect(readdirSync(where!).filter((f) => f.startsWith('failure-'))).toHaveLength(1);
    writeFileSync(join(dir, 'a-file'), '');
    expect(oneLine(vqlab(['stress', '--out', join(dir, 'a-file')], { cwd }))).toMatch(/exists and is not a directory/);
  });
});

describe('progress output: only on a terminal that can draw it, never with --quiet', () => {
  // `script` gives the command a terminal (stdout and stderr both go to it).
  const pty = (args: string[], env: Record<string, string>): string => {
    const cmd = [process.execPath, bin, ...args].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    return r.stdout;
  };
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.runIf(hasScript)('run: a bar on a terminal; none with TERM=dumb or --quiet', () => {
    const args = ['run', '--buffers', '20000', '--fault-rate', '0'];
    expect(pty(args, { TERM: 'xterm' })).toMatch(/run \[/);
    expect(pty(args, { TERM: 'dumb' })).not.toMatch(/run \[/);
    expect(pty([...args, '--quiet'], { TERM: 'xterm' })).not.toMatch(/run \[/);
  }, 300_000);
});

describe('run summary: the steady rate is the headline, the warm-up apart', () => {
  it('throughput is the second half\'s rate; warm-up, time to the first buffer and the whole run on a line of their own', () => {
    const r = vqlab(['run', '--buffers', '20000', '--fault-rate', '0', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const line = (label: string): string => r.stdout.split('\n').find((l) => l.startsWith(label.padEnd(15))) ?? '';
    expect(line('throughput')).toMatch(/^throughput\s+[\d.]+ M buffers\/s steady \(the run's second half\)$/);
    expect(line('warm-up')).toMatch(/^warm-up\s+[\d.]+ M buffers\/s over the first half, after [\d.]+ ms to the first buffer; whole run [\d.]+ M\/s in [\d.]+ ms$/);
    expect(line('warm-up curve')).toMatch(/M buffers\/s per sixteenth of the run: [\d. ]+$/);
    const j = JSON.parse(vqlab(['run', '--buffers', '20000', '--fault-rate', '0', '--json']).stdout);
    expect(j.warmup_buffers_per_s).toBeGreaterThan(0);
    expect(j.first_reclaim_ms).toBeGreaterThanOrEqual(0);
    expect(j.steady_buffers_per_s).toBeGreaterThan(0);
  });
});

describe('latencies to the histogram\'s precision', () => {
  it('two significant digits: values in one bucket print alike, never digits finer than a bucket', () => {
    const h = new Histogram();
    for (const ns of [12_288, 12_300, 12_700, 1_234_567, 987]) h.record(ns);
    for (const q of [0.1, 0.5, 0.99]) {
      const us = Histogram.quantileUs(h.counts, h.total, q);
      expect(String(us).replace(/^0\.0*|\./g, '').replace(/0+$/, '').length).toBeLessThanOrEqual(2);
    }
    expect(toHistogramPrecision(12.288)).toBe(12);
    expect(toHistogramPrecision(0.768)).toBe(0.77);
    expect(toHistogramPrecision(1234.5)).toBe(1200);
    const r = JSON.parse(vqlab(['run', '--buffers', '5000', '--json']).stdout);
    for (const k of ['p50', 'p99']) expect(r.latency_us[k]).toBe(toHistogramPrecision(r.latency_us[k]));
  });
});
