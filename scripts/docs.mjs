#!/usr/bin/env node
// The docs' figures and transcripts that do not depend on timing, produced by the code itself:
// fault counts for a seed, the `npm start` sample (timings shown as …), `vqlab check` outputs,
// simulator transcripts, schedule counts, the planted-bug catalogue's simulator columns. Each lives
// in README.md or docs/*.md between `<!-- generated:NAME -->` and `<!-- /generated -->`; this
// script rewrites those regions (or, with --check, exits 1 naming every region that differs, which
// is what the test suite runs). Timing figures are not measured here: each carries its command,
// commit and machine (scripts/run-table.mjs, vqlab bench, scripts/bug-catalogue.mjs); a region that
// quotes one renders it from the report saved in docs/bench/, never by running it again.
//   npm run build && node scripts/docs.mjs [--check] [--only name,name] [--list] [--pages dir]
// (--pages: read and write README.md and docs/*.md under another directory, as the tests do.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin', 'vqlab.js');
const args = process.argv.slice(2);
const check = args.includes('--check');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? String(args[onlyIdx + 1] ?? '').split(',').filter(Boolean) : null;
const pagesIdx = args.indexOf('--pages');
const pages = pagesIdx >= 0 ? String(args[pagesIdx + 1] ?? '') : root;

/** One command's run, cached: several regions quote the same run. */
const runs = new Map();
const scratch = mkdtempSync(join(tmpdir(), 'vqlab-docs-'));
function vqlab(argv, { input, status = 0 } = {}) {
  const key = JSON.stringify([argv, input ?? null]);
  if (!runs.has(key)) {
    // In a scratch directory: commands that write an artifact write it there, named as the user sees it.
    // TMPDIR too: files a command puts in a temporary directory go there, and leave with it.
    const r = spawnSync(process.execPath, [bin, ...argv], { cwd: scratch, input, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: scratch } });
    if (r.status !== status) throw new Error(`vqlab ${argv.join(' ')}: exit ${r.status} (expected ${status})\n${r.stdout}\n${r.stderr}`);
    runs.set(key, r.stdout);
  }
  return runs.get(key);
}
function node(argv) {
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** A `vqlab run` summary with its timing-dependent figures shown as …; what the seed fixes stays. */
function maskRun(out) {
  // A number not glued to a word (p50 and p99 are names, not figures).
  const num = /(?<![A-Za-z\d.])\d+(?:\.\d+)?/g;
  return out.trimEnd().split('\n').map((line) => {
    const label = line.slice(0, 15).trim();
    if (['throughput', 'warm-up', 'warm-up curve', 'latency µs', 'used entries'].includes(label)) return line.slice(0, 15) + line.slice(15).replace(num, '…');
    if (label === 'faults') { let k = 0; return line.slice(0, 15) + line.slice(15).replace(num, (m) => (k++ === 0 ? m : '…')); }
    // Even a busy-polling side sleeps (and is kicked) when the run stalls on the machine.
    if (label === 'notifications') return line.slice(0, 15) + line.slice(15).replace(/(?<![A-Za-z\d.]|per )\d+(?:\.\d+)?/g, '…');
    return line;
  }).join('\n');
}
const block = (lang, text) => '```' + lang + '\n' + text.trimEnd() + '\n```';
const faultsOf = (out) => Number(/^faults\s+(\d+)/m.exec(out)?.[1]);

const DEVICE_RUN = ['run', '--device', 'examples/minimal-device.mjs', '--order', 'none', '--fault-rate', '0.01', '--buffers', '20000'];
const OWN_RUN = ['run', '--order', 'none', '--fault-rate', '0.01', '--buffers', '20000'];
const deviceRun = (argv) => {
  // Side modules are named relative to where vqlab runs: the repository.
  const r = spawnSync(process.execPath, [bin, ...argv], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`vqlab ${argv.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
let deviceOut = null;
const deviceSummary = () => (deviceOut ??= deviceRun(DEVICE_RUN));

const CHECK_JSON = '{"ring":"split","order":"partial","queue_size":8,"avail":[0,1,2,3,4,5],\n "used":[{"id":1,"len":4},{"id":2,"len":4},{"id":0,"len":4,"flush":true},{"id":5,"len":4,"flush":true}]}';
const CHECK_LINES = 'ring split\norder in-order\nqueue_size 4\navail 0\navail 1\navail 2\nused 1 16 -\nused 0 16 -\n';

const EXPLORE = ['explore', '--bug', 'no-mb-before-kick-check', '--model', 'tso'];
// The artifact goes to a fresh temporary directory, shown as the user would see it under /tmp.
const explored = () => vqlab(EXPLORE, { status: 1 }).replace(/, \d+ ms \(/, ', … ms (')
  .replaceAll(scratch, '/tmp').replace(/(vqlab-[a-z]+-)[A-Za-z0-9]{6}\b/g, '$1XXXXXX');
const replayString = () => {
  const m = /replay: vqlab replay (\S+)/.exec(vqlab(EXPLORE, { status: 1 }));
  if (!m) throw new Error('vqlab explore printed no replay string');
  return m[1];
};
const exhaustive = (extra, status = 0) => JSON.parse(vqlab(['explore', '--strategy', 'exhaustive', ...extra, '--json'], { status }));

/** Every generated region: name → its text (a block, or inline text for a region inside a sentence). */
const REGIONS = {
  // README: the `npm start` sample.
  start: () => block('', maskRun(vqlab(['run']))),
  // README: a user's device module through vqlab run.
  'device-faults': () => block('', `$ vqlab ${DEVICE_RUN.join(' ')}\n${maskRun(deviceSummary())}`),
  // docs/sides.md: the same seed faults the same buffers with vqlab's own device.
  'device-faults-both': () => {
    const own = deviceRun(OWN_RUN);
    const mine = deviceSummary();
    if (faultsOf(own) !== faultsOf(mine)) throw new Error(`the minimal device faulted ${faultsOf(mine)} buffers, vqlab's own ${faultsOf(own)}: the docs say they are the same`);
    const pick = (out) => maskRun(out).split('\n').filter((l) => /^(faults|result)\s/.test(l)).join('\n');
    return block('', `$ vqlab ${DEVICE_RUN.join(' ')}\n${pick(mine)}\n$ vqlab ${OWN_RUN.join(' ')}\n${pick(own)}`);
  },
  // README: vqlab check on JSON and on the line format.
  check: () => {
    const ok = vqlab(['check'], { input: CHECK_JSON });
    const bad = vqlab(['check'], { input: CHECK_LINES, status: 1 });
    return block('', `$ echo '${CHECK_JSON}' | vqlab check\n${ok.trimEnd()}\n\n$ printf '${CHECK_LINES.replace(/\n/g, '\\n')}' | vqlab check\n${bad.trimEnd()}`);
  },
  // docs/cli.md: vqlab check --json.
  'check-json': () => block('', `$ echo '${CHECK_JSON}' | vqlab check --json\n${vqlab(['check', '--json'], { input: CHECK_JSON }).trimEnd()}`),
  // README: a QEMU trace log through the converter.
  qemu: () => {
    const lines = node(['examples/qemu-trace-to-vqlab.mjs', 'examples/qemu-sample.log', '--queue-size', '4']);
    return block('', `$ node examples/qemu-trace-to-vqlab.mjs examples/qemu-sample.log --queue-size 4 | vqlab check\n${vqlab(['check'], { input: lines }).trimEnd()}`);
  },
  // README and docs/races.md: a planted bug found, shrunk, with its replay string.
  explore: () => block('', `$ vqlab ${EXPLORE.join(' ')}\n${explored().trimEnd()}`),
  // docs/races.md: the replay of that string.
  replay: () => block('', `$ vqlab replay ${replayString()}\n${vqlab(['replay', replayString()], { status: 1 }).trimEnd()}`),
  // docs/races.md: the buffer whose fault the replay's device resolves before it fails to interrupt.
  'walkthrough-fault-id': () => {
    const m = /^\d+\s+resolve id (\d+)$/m.exec(vqlab(['replay', replayString()], { status: 1 }));
    if (!m) throw new Error('the replay transcript resolves no fault');
    return m[1];
  },
  // docs/races.md: exhaustive search of the lost wake-up's case, with and without the bug.
  'walkthrough-exhaustive': () => {
    const base = ['--queue-size', '4', '--buffers', '5', '--notify', 'wait', '--model', 'tso', '--preemption-bound', '2', '--budget-s', '600', '--no-shrink'];
    const withBug = exhaustive([...base, '--bug', 'no-mb-before-kick-check', '--artifact', join(scratch, 'walk.json')], 1);
    const without = exhaustive(base);
    if (!withBug.found || without.found || !without.complete) throw new Error('walk-through: expected the bug found and the correct ring clean and complete');
    return `finds the lost wake-up after ${withBug.schedules} schedules with the bug; without it, it covers all ${without.schedules} schedules within the bound and finds nothing`;
  },
  // docs/races.md: exhaustive search of the correct ring.
  'exhaustive-correct': () => {
    const rows = [['split', '2'], ['packed', '2']].map(([ring, b]) => {
      const r = exhaustive(['--ring', ring, '--queue-size', '2', '--buffers', '3', '--fault-rate', '0', '--preemption-bound', b, '--budget-s', '600']);
      if (r.found || !r.complete) throw new Error(`exhaustive ${ring} bound ${b}: found ${r.found}, complete ${r.complete}`);
      return `| ${ring} | ${b} | all ${r.schedules} | none |`;
    });
    return ['| ring | bound | schedules | violations |', '|---|---|---|---|', ...rows].join('\n');
  },
  // docs/races.md: the catalogue's simulator columns (schedule counts are fixed by the seeds).
  catalogue: async () => {
    const { explore, configFor, DEFAULT_SIM } = await import(join(root, 'dist/src/sim/sim.js'));
    const { BUGS } = await import(join(root, 'dist/src/sim/bugs.js'));
    const CAP = 2000;
    const capped = (cfg) => { let n = 0; return explore(cfg, { budgetMs: Infinity, shouldStop: () => ++n > CAP }); };
    const cell = (r) => (r.found ? `${r.schedules}` : r.complete ? `none (all ${r.schedules})` : `none in ${CAP}`);
    const rows = BUGS.map((b) => {
      const random = capped(configFor({ ...DEFAULT_SIM, bug: b.name, model: b.model, strategy: 'random' }));
      const pct = capped(configFor({ ...DEFAULT_SIM, bug: b.name, model: b.model, strategy: 'pct' }));
      const ex = explore(configFor({ ...DEFAULT_SIM, bug: b.name, model: b.model, strategy: 'exhaustive', queueSize: 2, buffers: 3, faultRate: b.name === 'flush-with-hole' ? 0.5 : 0 }), { budgetMs: Infinity, preemptionBound: 2 });
      const rule = random.violation?.rule ?? pct.violation?.rule ?? ex.violation?.rule ?? '—';
      return `| ${b.name} | ${b.side} | ${b.model} | ${cell(random)} | ${cell(pct)} | ${cell(ex)} | ${rule} |`;
    });
    return ['| bug | side | weakest model it needs | random: schedules to the first violation | PCT | exhaustive (queue 2, 3 buffers, bound 2) | rule |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
  },
  // docs/races.md: the catalogue's real-thread column, from the measurement committed beside it
  // (docs/bug-catalogue.json, written by scripts/bug-catalogue.mjs --json: a timing-dependent run,
  // so it is rendered here, not re-measured; a bug the file lacks is named, not left out).
  'catalogue-real': async () => {
    const { BUGS } = await import(join(root, 'dist/src/sim/bugs.js'));
    const saved = JSON.parse(readFileSync(join(pages, 'docs', 'bug-catalogue.json'), 'utf8'));
    const real = new Map(saved.rows.map((r) => [r.bug, r.real]));
    const rows = BUGS.map((b) => {
      const r = real.get(b.name);
      if (!r) return `| ${b.name} | not measured (run scripts/bug-catalogue.mjs --real-from docs/bug-catalogue.json) |`;
      return `| ${b.name} | ${r.caught}/${r.runs}${r.rules.length ? ' ' + r.rules.join(', ') : ''}${r.timeouts ? ` (${r.timeouts} timed out)` : ''} |`;
    });
    return ['| bug | real threads (x86): runs that reported a violation |', '|---|---|', ...rows].join('\n');
  },
  // docs/benchmarks.md: the PARTIAL_ORDER map's summary and decisive groups, rendered from the saved
  // report (a timing measurement: the page quotes it with its command, commit and machine; the check
  // renders it again from the same file, it never measures).
  'partial-map': async () => {
    const { summaryText, formatDecisivePartial } = await import(join(root, 'dist/src/bench/partial-report.js'));
    const r = JSON.parse(readFileSync(join(root, 'docs/bench/partial.json'), 'utf8'));
    return `${block('', summaryText(r))}\n\n${block('', formatDecisivePartial(r))}`;
  },
  // docs/cli.md: how long a worker gets to stop before it is terminated (src/harness/run.ts).
  'stop-grace': async () => {
    const { STOP_GRACE_MS } = await import(join(root, 'dist/src/harness/run.js'));
    return `${STOP_GRACE_MS / 1000} s`;
  },
};

if (args.includes('--list')) { console.log(Object.keys(REGIONS).join('\n')); process.exit(0); }
const unknownOnly = (only ?? []).filter((n) => !(n in REGIONS));
if (unknownOnly.length || !pages || args.some((a) => a.startsWith('--') && !['--check', '--only', '--list', '--pages'].includes(a))) {
  console.error(`usage: node scripts/docs.mjs [--check] [--only ${Object.keys(REGIONS).join(',')}] [--list] [--pages dir]${unknownOnly.length ? ` (no region ${unknownOnly.join(', ')})` : ''}`);
  process.exit(2);
}

const files = ['README.md', ...readdirSync(join(pages, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const REGION = /<!-- generated:([a-z0-9-]+) -->([\s\S]*?)<!-- \/generated -->/g;
const produced = new Map();
const stale = [];
const used = new Set();
try {
  for (const f of files) {
    const path = join(pages, f);
    const text = readFileSync(path, 'utf8');
    let out = '';
    let last = 0;
    for (const m of text.matchAll(REGION)) {
      const [whole, name, old] = m;
      if (!(name in REGIONS)) throw new Error(`${f}: unknown generated region '${name}' (known: ${Object.keys(REGIONS).join(', ')})`);
      used.add(name);
      let next = old;
      if (!only || only.includes(name)) {
        if (!produced.has(name)) produced.set(name, await REGIONS[name]());
        const body = produced.get(name);
        // A region on lines of its own holds a block; one inside a sentence holds inline text.
        next = old.startsWith('\n') ? `\n${body}\n` : body;
        if (next !== old) stale.push(`${f}: ${name}`);
      }
      out += text.slice(last, m.index) + `<!-- generated:${name} -->${next}<!-- /generated -->`;
      last = m.index + whole.length;
    }
    out += text.slice(last);
    if (!check && out !== text) writeFileSync(path, out);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const unused = Object.keys(REGIONS).filter((n) => !used.has(n) && (!only || only.includes(n)));
if (unused.length) { console.error(`regions no page uses: ${unused.join(', ')}`); process.exit(1); }
if (check) {
  if (stale.length) {
    console.error(`out of date (run \`npm run build && npm run docs\` and commit the result):\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`docs up to date: ${produced.size} generated region(s) checked`);
} else {
  console.log(stale.length ? `updated:\n  ${stale.join('\n  ')}` : `docs up to date: ${produced.size} generated region(s)`);
}
