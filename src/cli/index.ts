/** The `vqlab` command line. */
import { Command, CommanderError } from 'commander';
import { runCommand } from './run.js';
import { checkCommand } from './check.js';
import { layoutCommand } from './layout.js';
import { benchCommand } from './bench.js';
import { bugsCommand, exploreCommand, replayCommand } from './explore.js';
import { fuzzCommand } from './fuzz.js';
import { stressCommand } from './stress.js';
import { litmusCommand } from './litmus.js';
import { EXIT_USAGE, UsageError } from './common.js';
import { isVqError } from '../errors.js';
import { VQLAB_VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('vqlab')
    .description('a laboratory for virtio virtqueues: split and packed rings, IN_ORDER and PARTIAL_ORDER,\ndriver and device in two worker threads over one SharedArrayBuffer')
    .version(VQLAB_VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    // Options after a command are that command's (stress and stress merge both have --json).
    .enablePositionalOptions();
  for (const c of [runCommand(), checkCommand(), layoutCommand(), benchCommand(), fuzzCommand(), stressCommand(), exploreCommand(), replayCommand(), bugsCommand(), litmusCommand()]) program.addCommand(c.exitOverride());
  // Commander prints its own message; we only set the exit code.
  // One line per usage error: commander puts its "did you mean" suggestion on a second line.
  // One prefix for every error line, commander's ("error: …") and vqlab's own ("vqlab: …").
  const output = { writeErr: (s: string) => process.stderr.write(s.replace(/^error: /, 'vqlab: ').replace(/\n\(Did you mean (.*?)\?\)/, ' (did you mean $1?)')) };
  const configure = (c: Command): void => { c.configureOutput(output); c.commands.forEach(configure); };
  configure(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Output piped into `head` and closed early: stop quietly instead of an EPIPE stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; });
  // No command, or `help <unknown>`: one line and exit 2 (commander would print the whole help, exit 0/1).
  const args = argv.slice(2);
  const names = program.commands.map((c) => c.name());
  if (args.length === 0 || (args[0] === 'help' && args[1] !== undefined && !names.includes(args[1]))) {
    process.stderr.write(`vqlab: ${args.length === 0 ? 'missing command' : `unknown command '${args[1]}'`} (one of ${names.join(', ')}); see vqlab --help\n`);
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    if (e instanceof UsageError || (isVqError(e) && (e.code === 'BAD_CONFIG' || e.code === 'BAD_FORMAT' || e.code === 'BAD_QUEUE_SIZE' || e.code === 'FEATURE_CONFLICT' || e.code === 'FEATURE_NOT_OFFERED'))) {
      process.stderr.write(`vqlab: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`vqlab: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    return 1;
  }
}
