/** `vqlab layout`: a queue's memory map. */
import { Command, Option } from 'commander';
import { packedRingLayout, splitRingLayout } from '../spec/layout.js';
import { intArg, printJson, table } from './common.js';

export function layoutCommand(): Command {
  return new Command('layout')
    .description('print the memory map of a queue (offsets and sizes with the spec alignments)')
    .addOption(new Option('--ring <kind>', 'ring layout').choices(['split', 'packed']).default('split'))
    .option('--queue-size <n>', 'queue size', intArg('--queue-size', 1, 32768), 256)
    .option('--json', 'print JSON')
    .action((o: { ring: 'split' | 'packed'; queueSize: number; json: boolean }) => {
      const l = o.ring === 'split' ? splitRingLayout(o.queueSize) : packedRingLayout(o.queueSize);
      if (o.json) { printJson(l); return; }
      const rows = Object.entries(l)
        .filter(([, v]) => typeof v === 'object')
        .map(([k, v]) => { const r = v as { offset: number; size: number }; return [k, r.offset, r.size, r.offset + r.size]; });
      process.stdout.write(`${o.ring} ring, queue size ${o.queueSize}, ${l.totalSize} bytes\n` + table(rows, ['part', 'offset', 'size', 'end']) + '\n');
    });
}
