// vqlab as a library: a run in real threads, a trace checked, a simulator search. Run it from a
// clone (after `npm run build`) or from a project where vqlab is installed:
//
//   node examples/api.mjs
//
import { runThreaded, checkTrace, explore, configFor, DEFAULT_SIM, isVqError } from 'vqlab';

// 1. A run: only the fields that differ from DEFAULT_CONFIG.
const run = await runThreaded({ ring: 'packed', order: 'partial', buffers: 20_000, faultRate: 0.01 });
console.log(`run: ${run.ok ? 'OK' : 'FAILED'}, ${run.buffers} buffers, ${run.used_entries} used entries, ${run.flushes} FLUSH, ${run.faults} faults`);

// Bad settings are typed errors naming the field.
try {
  await runThreaded({ ring: 'circular' });
} catch (e) {
  if (!isVqError(e)) throw e;
  console.log(`bad config: ${e.code} (${e.message})`);
}

// 2. A trace from any implementation: under IN_ORDER one used entry (id 2) stands for buffers 0, 1 and 2.
const trace = checkTrace({ ring: 'split', order: 'in-order', queue_size: 4, avail: [0, 1, 2], used: [{ id: 2, len: 0 }] });
console.log(`trace: ${trace.ok ? 'conformant' : `violation ${trace.rule}`}, ${trace.buffers_used} buffers in ${trace.used_entries} used entry`);

// 3. The simulator: search schedules for a planted bug under the TSO memory model.
const found = explore(configFor({ ...DEFAULT_SIM, bug: 'no-mb-before-kick-check', model: 'tso' }), { budgetMs: 10_000, maxSchedules: 1000 });
console.log(`explore: ${found.found ? `${found.violation.rule} after ${found.schedules} schedule(s); replay with: vqlab replay ${found.replay}` : 'nothing found'}`);
