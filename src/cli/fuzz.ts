/** `vqlab fuzz`: hostile-input cases against one side of a ring (src/fuzz/). */
import { Command, Option } from 'commander';
import { runFuzz, type FuzzReport } from '../fuzz/run.js';
import type { FuzzSide } from '../fuzz/types.js';
import type { RingKind } from '../spec/features.js';
import { EXIT_OK, EXIT_VIOLATION, intArg, printJson, table, UsageError } from './common.js';

export function fuzzCommand(): Command {
  return new Command('fuzz')
    .description('feed one side of a ring hostile memory from the other side: every case must end in a typed error from the attacked side')
    .addOption(new Option('--side <side>', 'device: a hostile driver attacks it; driver: a hostile device attacks it; both').choices(['device', 'driver', 'both']).default('both'))
    .addOption(new Option('--ring <kind>', 'ring layout').choices(['split', 'packed']).default('split'))
    .option('--cases <n>', 'number of cases (per side)', intArg('--cases', 1, 1e9), 10_000)
    .option('--seed <n>', 'campaign seed (case i uses a seed derived from it and i)', intArg('--seed', 0, 0xffffffff), 1)
    .option('--case <i>', 'replay only case i of the campaign', intArg('--case', 0, 1e9))
    .option('--class <name>', 'only this hostile-input class (see the report for the names)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Exit status: 0 when every case passed, 1 on a crash or a wrong outcome, 2 on bad usage.
Example: vqlab fuzz --side device --ring split --cases 100000 --seed 7 --json`)
    .action((o: { side: FuzzSide | 'both'; ring: RingKind; cases: number; seed: number; case?: number; class?: string; json: boolean }) => {
      if (o.side === 'both' && (o.case !== undefined || o.class !== undefined)) throw new UsageError('--case and --class need one --side (device or driver)');
      const sides: FuzzSide[] = o.side === 'both' ? ['device', 'driver'] : [o.side];
      const reports: FuzzReport[] = sides.map((side) => runFuzz({ ring: o.ring, side, cases: o.cases, seed: o.seed, onlyCase: o.case, onlyClass: o.class }));
      const ok = reports.every((r) => r.ok);
      if (o.json) printJson({ ok, reports });
      else process.stdout.write(reports.map(formatFuzz).join('\n\n') + '\n');
      process.exitCode = ok ? EXIT_OK : EXIT_VIOLATION;
    });
}

export function formatFuzz(r: FuzzReport): string {
  const attacker = r.side === 'device' ? 'driver' : 'device';
  const rows: (string | number)[][] = [
    ['target', `${r.ring} ring, ${r.side} side (attacked by a hostile ${attacker}), seed ${r.seed}`],
    ['cases', `${r.cases} in ${(r.elapsed_ms / 1000).toFixed(2)} s: ${r.cases_per_s} cases/s, slowest ${r.slowest_case_ms} ms`],
    ['outcome', `${r.passed - r.legal_ok} typed errors as expected, ${r.legal_ok} legal inputs completed correctly, ${r.crashes} crashes, ${r.wrong_outcomes} wrong outcomes`],
  ];
  let s = table(rows);
  const kinds = Object.entries(r.errors_by_kind).sort((a, b) => b[1] - a[1]);
  if (kinds.length) s += '\n\n' + table(kinds.map(([k, v]) => [k, v]), ['error (by kind)', 'cases']);
  for (const f of r.failures.slice(0, 10)) s += `\n${f.kind} in case ${f.case} (${f.cls}): ${f.message.split('\n')[0]}\n  replay: ${f.replay}`;
  s += `\nresult: ${r.ok ? 'OK' : 'FAILED'}`;
  return s;
}
