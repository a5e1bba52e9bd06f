/** `vqlab explore`, `vqlab replay`, `vqlab bugs`: the deterministic simulator from the command line. */
import { Command, Option } from 'commander';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { CHOICE_KINDS, DEFAULT_SIM, REPLAY_VERSION, VARY_DIMS, configFor, decodeReplay, explore, replay, shrink, type SimConfig, type SimResult, type VaryDim } from '../sim/sim.js';
import { BUGS, bugByName } from '../sim/bugs.js';
import { checkWritable, choice, EXIT_OK, EXIT_VIOLATION, floatArg, freshOutDir, intArg, listArg, orderArg, printJson, showProgress, table, toJsonKeys, UsageError } from './common.js';
import { checkFormat, formatStamp } from '../version.js';
import { join } from 'node:path';
import { MEMORY_MODELS } from '../sim/memory.js';
import { validateConfig, DEFAULT_CONFIG } from '../harness/config.js';

function sideBySide(r: SimResult, last = 40): string {
  const rows = r.tail.slice(-last).map((e) => [String(e.step), e.side === 'driver' ? e.text : '', e.side === 'device' ? e.text : '']);
  return table(rows, ['step', 'driver', 'device']);
}

/** Where an unfinished run stopped: both sides' state and the queue's indices. */
function endState(r: SimResult): string {
  const kv = (o: Record<string, number | boolean>): string => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ');
  return `driver: ${kv(r.end.driver)}\ndevice: ${kv(r.end.device)}\nqueue:  ${kv(r.end.queue)}\nlast progress at step ${r.end.last_progress_step} of ${r.steps}\n`;
}

const unfinished = (rule: string | undefined): boolean => rule === 'STALL' || rule === 'LIVELOCK';

export function exploreCommand(): Command {
  const d = DEFAULT_SIM;
  return new Command('explore')
    .description('search schedules of the deterministic simulator (same driver and device code, modelled memory) for a violation')
    .addOption(new Option('--ring <kind>', 'ring layout').choices(['split', 'packed']).default(d.ring))
    .option('--order <list>', 'ordering features: none | in-order | partial | in-order,partial (both: IN_ORDER rules, FLUSH defined)', orderArg('--order'), d.order)
    .addOption(new Option('--model <m>', 'memory model: sc; tso (store buffers, FIFO); relaxed (stores may drain out of order); weak (relaxed, and plain loads may read older values: ARM-like)').choices([...MEMORY_MODELS]).default(d.model))
    .addOption(new Option('--strategy <s>', 'schedule search: random; pct; exhaustive (every schedule within --preemption-bound)').choices(['random', 'pct', 'exhaustive']).default(d.strategy))
    .option('--depth <d>', 'PCT depth (priority change points + 1)', intArg('--depth', 1, 20), d.depth)
    .option('--preemption-bound <k>', 'exhaustive: non-default choices (preemptions, delayed stores) per schedule', intArg('--preemption-bound', 0, 8), 2)
    .option('--max-schedules <n>', 'stop after this many schedules (with --budget-s, whichever comes first)', intArg('--max-schedules', 1, Number.MAX_SAFE_INTEGER))
    .option('--bug <name>', 'plant a bug from the catalogue (vqlab bugs)')
    .option('--queue-size <n>', 'queue size', intArg('--queue-size', 1, 256), d.queueSize)
    .option('--buffers <n>', 'buffers per schedule', intArg('--buffers', 1, 100_000), d.buffers)
    .addOption(new Option('--notify <mode>', 'notification mode').choices(['poll', 'wait']).default(d.notify))
    .option('--event-idx', 'negotiate EVENT_IDX')
    .option('--segments <n>', 'descriptors per buffer (a chain; one indirect table with --indirect)', intArg('--segments', 1, 64), d.segments)
    .option('--indirect', 'negotiate INDIRECT_DESC (buffers of 2+ segments go through an indirect table)')
    .option('--vary <dims>', `random/pct: draw these per schedule (${VARY_DIMS.join(',')}); the replay string records the draw`, listArg('--vary', choice('--vary', VARY_DIMS)))
    .option('--max-steps <n>', 'steps per schedule; a schedule that reaches it unfinished is a finding (STALL / LIVELOCK)', intArg('--max-steps', 20, 10_000_000), d.maxSteps)
    .option('--fault-rate <p>', 'page-fault probability', floatArg('--fault-rate', 0, 1), d.faultRate)
    .option('--budget-s <s>', 'time budget', floatArg('--budget-s', 0.01, 86_400), 10)
    .option('--seed <n>', 'first seed (schedule k uses seed + k)', intArg('--seed', 0, 0xffffffff), d.seed)
    .option('--artifact <file>', 'where to write the failing case (default: failure.json in a new directory under the system temp directory; the path is printed)')
    .option('--no-shrink', 'do not minimise a failing case')
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress line on stderr')
    .addHelpText('after', '\nExit status: 1 when a violation is found (its replay string is printed), 0 otherwise.')
    .action((o: Record<string, unknown>) => {
      const bug = (o.bug as string | undefined) ?? null;
      if (bug && !bugByName(bug)) throw new UsageError(`unknown --bug ${bug} (vqlab bugs lists them)`);
      const base: SimConfig = configFor({
        ...d, ring: o.ring as SimConfig['ring'], order: o.order as SimConfig['order'], model: o.model as SimConfig['model'],
        strategy: o.strategy as SimConfig['strategy'], depth: o.depth as number, bug, queueSize: o.queueSize as number,
        buffers: o.buffers as number, notify: o.notify as SimConfig['notify'], eventIdx: o.eventIdx === true,
        faultRate: o.faultRate as number, seed: o.seed as number, segments: o.segments as number, indirect: o.indirect === true, maxSteps: o.maxSteps as number,
      });
      const vary = (o.vary as VaryDim[] | undefined) ?? [];
      if (vary.length && base.strategy === 'exhaustive') throw new UsageError('--vary is for random and pct search (exhaustive search covers one configuration)');
      if (!vary.includes('queue-size') && !vary.includes('ring') && base.ring === 'split' && (base.queueSize & (base.queueSize - 1)) !== 0) throw new UsageError('split --queue-size must be a power of 2');
      // The same checks a run makes (a chain must fit the queue, …), as one usage line.
      if (!vary.length) validateConfig({ ...DEFAULT_CONFIG, ring: base.ring, order: base.order, queueSize: base.queueSize, segments: base.segments, indirect: base.indirect, eventIdx: base.eventIdx, notify: base.notify });
      if (o.artifact !== undefined) checkWritable('--artifact', o.artifact as string);
      if (base.strategy === 'exhaustive' && base.buffers > 8) process.stderr.write(`note: exhaustive search grows fast with --buffers ${base.buffers}; 2–4 buffers and --queue-size 2 are typical\n`);
      const tty = !o.json && showProgress(o.quiet as boolean | undefined);
      const r = explore(base, {
        budgetMs: (o.budgetS as number) * 1000, preemptionBound: o.preemptionBound as number, maxSchedules: o.maxSchedules as number | undefined,
        vary,
        onProgress: tty ? (n, ms) => process.stderr.write(`\rexplore: ${n} schedules, ${(ms / 1000).toFixed(1)} s of ${o.budgetS} s`) : undefined,
      });
      if (tty) process.stderr.write('\r'.padEnd(60) + '\r');
      let minimal: ReturnType<typeof shrink> | null = null;
      let artifact: string | null = null;
      if (r.found && r.replay && r.result) {
        const failing = decodeReplay(r.replay);
        minimal = o.shrink === false ? { ...failing, result: r.result, tries: 0 } : shrink(failing);
        const m = minimal.result;
        artifact = (o.artifact as string | undefined) ?? join(freshOutDir('explore'), 'failure.json');
        writeFileSync(artifact, JSON.stringify(toJsonKeys({
          ...formatStamp('vqlab-failure'), kind: 'sim-failure', vqlab_sim_artifact: 1, replay: m.replay, original_replay: r.replay,
          replay_command: `vqlab replay ${m.replay}`, violation: m.violation, config: minimal.config,
          preemptions: m.preemptions, steps: m.steps, tail: m.tail, end: m.end,
        }), null, 2) + '\n');
      }
      const out = {
        found: r.found, bug: r.bug, schedules: r.schedules, elapsed_ms: r.elapsed_ms, violation: r.violation,
        replay: minimal ? minimal.result.replay : null, original_replay: r.replay, model: base.model, strategy: base.strategy,
        complete: r.complete, preemption_bound: base.strategy === 'exhaustive' ? o.preemptionBound : null,
        minimal: minimal ? { buffers: minimal.config.buffers, queue_size: minimal.config.queueSize, preemptions: minimal.result.preemptions, steps: minimal.result.steps, shrink_tries: minimal.tries } : null,
        original: r.result ? { buffers: decodeReplay(r.result.replay).config.buffers, queue_size: decodeReplay(r.result.replay).config.queueSize, preemptions: r.result.preemptions, steps: r.result.steps } : null,
        artifact,
        // An unfinished schedule: where both sides and the queue stood.
        end: minimal && unfinished(minimal.result.violation?.rule) ? minimal.result.end : null,
        vary,
      };
      const what = `${base.ring} ${base.order}, ${base.model}, ${base.strategy}${bug ? `, bug ${bug}` : ''}`;
      if (o.json) printJson(out);
      else if (r.found && minimal) {
        process.stdout.write(`FOUND ${r.violation?.rule} after ${r.schedules} schedule(s), ${r.elapsed_ms} ms (${what})\n${r.violation?.message}\n`);
        process.stdout.write(`shrunk: ${r.result ? decodeReplay(r.result.replay).config.buffers : base.buffers} → ${minimal.config.buffers} buffers, queue ${r.result ? decodeReplay(r.result.replay).config.queueSize : base.queueSize} → ${minimal.config.queueSize}, ${r.result?.preemptions} → ${minimal.result.preemptions} non-default choices, ${r.result?.steps} → ${minimal.result.steps} steps\n`);
        if (unfinished(minimal.result.violation?.rule)) process.stdout.write(endState(minimal.result));
        process.stdout.write(`replay: vqlab replay ${out.replay}\nartifact: ${artifact}\n`);
      } else if (base.strategy === 'exhaustive') {
        process.stdout.write(`nothing found: ${r.complete ? 'all' : 'budget ran out after'} ${r.schedules} distinct schedules with ≤ ${o.preemptionBound} non-default choices, ${r.elapsed_ms} ms (${what})\n`);
      } else process.stdout.write(`nothing found in ${r.schedules} schedules, ${r.elapsed_ms} ms (${what})\n`);
      process.exitCode = r.found ? EXIT_VIOLATION : EXIT_OK;
    });
}

export function replayCommand(): Command {
  return new Command('replay')
    .description('re-run one simulator schedule bit for bit from its replay string (or an artifact file) and show the events leading to the violation')
    .argument('<replay>', `a ${REPLAY_VERSION}:… string or an artifact file written by explore`)
    .option('--json', 'print JSON')
    .action((arg: string, o: { json: boolean }) => {
      let str = arg.trim();
      if (!str.startsWith('vqsim') && existsSync(arg)) {
        let doc: unknown;
        try { doc = JSON.parse(readFileSync(arg, 'utf8')); } catch (e) { throw new UsageError(`${arg}: not a vqlab artifact (${(e as Error).message})`); }
        checkFormat(doc, ['vqlab-failure'], arg);
        str = (doc as { replay?: string } | null)?.replay as string;
        if (typeof str !== 'string') throw new UsageError(`${arg}: no "replay" string in it (expected an artifact of vqlab explore)`);
      }
      let c: ReturnType<typeof decodeReplay>;
      try { c = decodeReplay(str); } catch (e) { throw new UsageError((e as Error).message); }
      const r = replay(c);
      if (o.json) printJson(r);
      else {
        const k = c.config;
        const picks = r.choices.map((v, i) => (v ? `${CHOICE_KINDS[r.kinds[i]]}@${i}=${v}` : '')).filter(Boolean);
        process.stdout.write(`${k.ring} ${k.order} model ${k.model} strategy ${k.strategy} seed ${k.seed} queue ${k.queueSize} buffers ${k.buffers}${k.segments > 1 ? ` segments ${k.segments}` : ''}${k.indirect ? ' indirect' : ''}${k.eventIdx ? ' event-idx' : ''} ${k.notify}${k.bug ? ` bug ${k.bug}` : ''}: ${r.steps} steps, ${r.ops} memory operations\n`);
        process.stdout.write(`schedule: ${r.choices.length} choices, ${r.preemptions} non-default${picks.length ? `: ${picks.slice(0, 12).join(' ')}${picks.length > 12 ? ' …' : ''}` : ''}\n\n`);
        process.stdout.write(sideBySide(r) + '\n\n');
        process.stdout.write(r.found ? `VIOLATION ${r.violation?.rule} (${r.violation?.side}): ${r.violation?.message}\n` : 'no violation\n');
        if (unfinished(r.violation?.rule)) process.stdout.write('\n' + endState(r));
      }
      process.exitCode = r.found ? EXIT_VIOLATION : EXIT_OK;
    });
}

export function bugsCommand(): Command {
  return new Command('bugs')
    .description('list the planted-bug catalogue (injected through the memory layer, no ring code edited)')
    .option('--json', 'print JSON')
    .action((o: { json: boolean }) => {
      if (o.json) { printJson(BUGS.map(({ name, side, what, needs, model }) => ({ name, side, what, needs, shows_from_model: model }))); return; }
      process.stdout.write(table(BUGS.map((b) => [b.name, b.side, b.model, b.what]), ['bug', 'side', 'shows from', 'what']) + '\n');
    });
}
