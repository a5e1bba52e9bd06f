/** `vqlab litmus`: the classic shapes and the ring's own, for real between two workers and in the simulator's models. */
import { Command, InvalidArgumentError } from 'commander';
import { LITMUS_SHAPES, shapeByName, targetKey, type LitmusShape } from '../litmus/shapes.js';
import { runLitmus, type LitmusCount } from '../litmus/real.js';
import type { LitmusMode } from '../litmus/worker.js';
import { allowedOutcomes } from '../sim/litmus.js';
import { MEMORY_MODELS } from '../sim/memory.js';
import { choice, EXIT_OK, EXIT_VIOLATION, floatArg, intArg, listArg, printJson, showProgress, table } from './common.js';

const MODES: LitmusMode[] = ['plain', 'atomics', 'vqlab'];

const shapesArg = listArg('--shapes', (n: string): LitmusShape => {
  const s = shapeByName(n);
  if (!s) throw new InvalidArgumentError(`unknown shape "${n}" (one of ${LITMUS_SHAPES.map((x) => x.name).join(', ')})`);
  return s;
});
const modesArg = listArg('--modes', choice('--modes', MODES));

const allowedBy = (s: LitmusShape): string => {
  const t = targetKey(s);
  const ms = MEMORY_MODELS.filter((m) => allowedOutcomes(s, m).has(t));
  return ms.length ? ms.join(',') : 'none';
};

export function litmusCommand(): Command {
  return new Command('litmus')
    .description('litmus shapes (SB, MP, LB and the ring\'s publish/consume and notify/sleep pairs) run for real between two workers, counted per outcome, next to what the simulator\'s memory models allow')
    .option('--shapes <list>', `comma-separated (default all: ${LITMUS_SHAPES.map((s) => s.name).join(',')})`, shapesArg)
    .option('--modes <list>', 'plain (typed-array accesses, barriers dropped) | atomics (every access Atomics.*) | vqlab (the ring\'s own layer: plain data, Atomics for publication and fences)', modesArg, MODES)
    .option('--iterations <n>', 'iterations per shape and mode', intArg('--iterations', 1, 100_000_000), 100_000)
    .option('--timeout-s <s>', 'time limit per shape and mode', floatArg('--timeout-s', 0.1, 86_400), 120)
    .option('--model-only', 'only print what the simulator\'s models allow (no threads)')
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress line on stderr')
    .addHelpText('after', `
Exit status: 1 when a run saw an outcome that even the weakest model (weak) forbids in atomics or vqlab
mode (vqlab's barrier assumptions would not hold on this machine), 0 otherwise, 2 on bad usage.
Example: vqlab litmus --shapes SB,notify-sleep --iterations 1000000`)
    .action(async (o: { shapes?: LitmusShape[]; modes: LitmusMode[]; iterations: number; timeoutS: number; modelOnly: boolean; json: boolean; quiet?: boolean }) => {
      const shapes = o.shapes ?? LITMUS_SHAPES;
      const model = shapes.map((s) => ({ shape: s.name, what: s.what, target: targetKey(s), meaning: s.meaning, allowed_by: allowedBy(s).split(',').filter((x) => x !== 'none') }));
      if (o.modelOnly) {
        if (o.json) printJson(model);
        else process.stdout.write(table(model.map((m) => [m.shape, m.target, m.allowed_by.join(',') || 'none', m.meaning]), ['shape', 'outcome of interest', 'allowed by', 'meaning']) + '\n');
        return;
      }
      const results: LitmusCount[] = [];
      const tty = !o.json && showProgress(o.quiet);
      let k = 0;
      const total = shapes.length * o.modes.length;
      for (const s of shapes) for (const mode of o.modes) {
        if (tty) process.stderr.write(`\rlitmus ${++k}/${total}: ${s.name} ${mode} …`.padEnd(60));
        results.push(await runLitmus(s, mode, o.iterations, o.timeoutS * 1000));
      }
      if (tty) process.stderr.write('\r'.padEnd(61) + '\r');
      const bad = results.filter((r) => r.mode !== 'plain' && r.unexpected.length > 0);
      if (o.json) printJson({ iterations: o.iterations, node: process.version, model, results, ok: bad.length === 0 });
      else {
        const cell = (s: LitmusShape, mode: LitmusMode): string => {
          const r = results.find((x) => x.shape === s.name && x.mode === mode);
          if (!r) return '';
          const allowed = r.allowed_by.length ? r.allowed_by[0] + (r.allowed_by.length > 1 ? '+' : '') : 'none';
          return `${r.target_count} (${allowed})${r.unexpected.length ? ' !' : ''}`;
        };
        const rows = shapes.map((s) => [s.name, targetKey(s), allowedBy(s), ...o.modes.map((m) => cell(s, m))]);
        process.stdout.write(`${o.iterations} iterations per cell, Node ${process.version}. Each cell: how often the outcome of interest was seen,\n(and the strongest memory model that allows it for the program as that mode runs it — plain drops the barriers,\natomics makes every access sequentially consistent; none: every model forbids it)\n\n`);
        process.stdout.write(table(rows, ['shape', 'outcome of interest', 'models allow (as written)', ...o.modes]) + '\n');
        for (const r of results) for (const u of r.unexpected) process.stdout.write(`\n! ${r.shape} ${r.mode}: outcome ${u} seen ${r.outcomes[u]} times; even the weak model forbids it`);
        if (results.some((r) => r.unexpected.length)) process.stdout.write('\n');
      }
      process.exitCode = bad.length ? EXIT_VIOLATION : EXIT_OK;
    });
}
