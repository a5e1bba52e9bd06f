#!/usr/bin/env node
// Measures the planted-bug catalogue (docs/races.md): for each bug, every strategy (random, PCT,
// exhaustive) under every memory model in the simulator (schedules to the first violation, time),
// and the detection rate of the same bug wrapped around the REAL memory layer in two worker threads.
// Usage: node scripts/bug-catalogue.mjs [--real-runs N] [--budget-s S] [--bugs a,b] [--real-from saved.json] [--json]   (or --table-from saved.json)
// --real-from reuses the real-thread measurements of the bugs a saved run has (they take minutes
// each) and measures only the bugs it lacks; the simulator columns are always measured afresh.
import { explore, configFor, DEFAULT_SIM } from '../dist/src/sim/sim.js';
import { BUGS } from '../dist/src/sim/bugs.js';
import { runThreaded } from '../dist/src/harness/run.js';
import { DEFAULT_CONFIG } from '../dist/src/harness/config.js';

const arg = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? Number(process.argv[i + 1]) : d; };
const realRuns = arg('--real-runs', 10);
const budgetMs = arg('--budget-s', 10) * 1000;
const json = process.argv.includes('--json');
const fromIdx = process.argv.indexOf('--table-from');
const bugsIdx = process.argv.indexOf('--bugs');
const only = bugsIdx > 0 ? String(process.argv[bugsIdx + 1] ?? '').split(',') : null;
const unknown = (only ?? []).filter((n) => !BUGS.some((b) => b.name === n));
if (!(realRuns >= 0) || !(budgetMs > 0) || unknown.length) {
  console.error(`usage: node scripts/bug-catalogue.mjs [--real-runs N] [--budget-s S] [--bugs a,b] [--json]${unknown.length ? ` (no planted bug ${unknown.join(', ')})` : ''}`);
  process.exit(2);
}
const realIdx = process.argv.indexOf('--real-from');
const savedReal = new Map(realIdx > 0 ? JSON.parse((await import('node:fs')).readFileSync(process.argv[realIdx + 1], 'utf8')).rows.map((r) => [r.bug, r.real]) : []);
const MODELS = ['sc', 'tso', 'relaxed', 'weak'];
const rows = [];
if (fromIdx > 0) rows.push(...JSON.parse((await import('node:fs')).readFileSync(process.argv[fromIdx + 1], 'utf8')).rows);
for (const b of fromIdx > 0 ? [] : BUGS.filter((x) => !only || only.includes(x.name))) {
  const sim = {};
  for (const model of MODELS) for (const strategy of ['random', 'pct', 'exhaustive']) {
    const base = configFor({ ...DEFAULT_SIM, bug: b.name, model, strategy, ...(strategy === 'exhaustive' ? { queueSize: 2, buffers: 3, faultRate: b.name === 'flush-with-hole' ? 0.5 : 0 } : {}) });
    const r = explore(base, { budgetMs, preemptionBound: 2 });
    sim[`${model}/${strategy}`] = { found: r.found, schedules: r.schedules, elapsed_ms: r.elapsed_ms, rule: r.violation?.rule ?? null, complete: r.complete };
  }
  let caught = 0; let timeouts = 0; const rules = new Set(); let ms = 0;
  const saved = savedReal.get(b.name);
  for (let i = 0; i < (saved ? 0 : realRuns); i++) {
    const cfg = { ...DEFAULT_CONFIG, ring: b.needs.ring ?? 'split', order: b.needs.order ?? 'partial', notify: b.needs.notify ?? 'poll', eventIdx: b.needs.eventIdx ?? false, segments: b.needs.segments ?? 1,
      faultRate: 0.01, faultLatencyUs: 20, buffers: 200000, queueSize: 64, seed: i + 1, timeoutS: 20, stallTimeoutMs: 2000, plantBug: b.name };
    const t0 = performance.now();
    const r = await runThreaded(cfg);
    ms += performance.now() - t0;
    // A run that merely ran out of time is not a detection.
    const code = r.violations[0]?.rule ?? r.failure?.code ?? null;
    if (code === 'TIMEOUT') timeouts++;
    else if (!r.ok) { caught++; rules.add(code); }
  }
  const row = { bug: b.name, side: b.side, shows_from: b.model, sim, real: saved ?? { runs: realRuns, caught, timeouts, rules: [...rules], ms_per_run: Math.round(ms / Math.max(1, realRuns)) } };
  rows.push(row);
  process.stderr.write(`${b.name}: real ${row.real.caught}/${row.real.runs}${saved ? ' (saved)' : ''}\n`);
}
if (json) { console.log(JSON.stringify({ node: process.version, budget_ms: budgetMs, rows }, null, 2)); process.exit(0); }
const cell = (s) => (s.found ? `${s.schedules} / ${s.elapsed_ms} ms` : s.complete ? `none (all ${s.schedules})` : `none (${s.schedules})`);
console.log('| bug | shows under | random: schedules / time | PCT | exhaustive (q=2, 3 buffers, bound 2) | rule | real threads (x86) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const models = MODELS.filter((m) => r.sim[`${m}/random`]?.found || r.sim[`${m}/pct`]?.found || r.sim[`${m}/exhaustive`]?.found);
  const m = r.shows_from;
  const rule = r.sim[`${m}/random`].rule ?? r.sim[`${m}/pct`].rule ?? r.sim[`${m}/exhaustive`].rule;
  console.log(`| ${r.bug} | ${models.join(', ') || 'none'} | ${cell(r.sim[`${m}/random`])} | ${cell(r.sim[`${m}/pct`])} | ${cell(r.sim[`${m}/exhaustive`])} | ${rule} | ${r.real.caught}/${r.real.runs}${r.real.rules.length ? ' ' + r.real.rules.join(', ') : ''}${r.real.timeouts ? ` (${r.real.timeouts} timed out)` : ''} |`);
}
