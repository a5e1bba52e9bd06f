/** `vqlab check`: the live checker's rules over a trace from any implementation. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { checkTrace, TRACE_FORMAT_VERSION, type TraceInput } from '../check/checker.js';
import { parseOrderSpec } from '../spec/features.js';
import { VIRTQ_DESC_F_FLUSH, VIRTQ_USED_ELEM_F_FLUSH } from '../spec/constants.js';
import { parseLineTrace, TraceFormatError } from '../check/lineformat.js';
import { EXIT_OK, EXIT_VIOLATION, printJson, UsageError } from './common.js';

export function parseTrace(text: string, source: string): TraceInput {
  let t: unknown;
  try { t = JSON.parse(text); } catch (e) { throw new UsageError(`${source}: not valid JSON (${(e as Error).message})`); }
  const o = t as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new UsageError(`${source}: expected one JSON object`);
  if (o.ring !== 'split' && o.ring !== 'packed') throw new UsageError(`${source}: "ring" must be "split" or "packed"`);
  if (o.format_version !== undefined) {
    const v = o.format_version;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UsageError(`${source}: "format_version" must be a positive integer`);
    if (v > TRACE_FORMAT_VERSION) throw new UsageError(`${source}: "format_version" ${v} is newer than this vqlab reads (${TRACE_FORMAT_VERSION}); upgrade vqlab`);
  }
  const order = parseOrderSpec(o.order);
  if (order === null) throw new UsageError(`${source}: "order" must be "none", "in-order", "partial" or "in-order,partial" (or a list of "in-order" and "partial")`);
  const q = o.queue_size;
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 32768) throw new UsageError(`${source}: "queue_size" must be an integer in 1..32768`);
  if (o.ring === 'split' && (q & (q - 1)) !== 0) throw new UsageError(`${source}: split "queue_size" must be a power of 2`);
  const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff;
  const isU32 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
  if (!Array.isArray(o.avail)) throw new UsageError(`${source}: "avail" must be an array of buffer ids (0..65535) or {id, capacity} objects`);
  o.avail.forEach((a: unknown, i: number) => {
    if (isId(a)) return;
    const e = a as Record<string, unknown>;
    if (!e || typeof e !== 'object' || Array.isArray(e) || !isId(e.id)) throw new UsageError(`${source}: avail[${i}] must be a buffer id (0..65535) or {"id": n, "capacity": c}`);
    if (e.capacity !== undefined && !isU32(e.capacity)) throw new UsageError(`${source}: avail[${i}].capacity must be a 32-bit unsigned integer`);
  });
  if (o.capacity !== undefined) {
    const cm = o.capacity as Record<string, unknown>;
    if (!cm || typeof cm !== 'object' || Array.isArray(cm) || !Object.entries(cm).every(([k, v]) => /^\d+$/.test(k) && Number(k) <= 0xffff && isU32(v))) {
      throw new UsageError(`${source}: "capacity" must map buffer ids to 32-bit unsigned capacities`);
    }
  }
  if (!Array.isArray(o.used)) throw new UsageError(`${source}: "used" must be an array of {id, len, flush}`);
  o.used.forEach((u: unknown, i: number) => {
    const e = u as Record<string, unknown>;
    if (!e || typeof e !== 'object' || !isId(e.id)) throw new UsageError(`${source}: used[${i}].id must be a buffer id (0..65535)`);
    if (e.len !== undefined && !(typeof e.len === 'number' && Number.isInteger(e.len) && e.len >= 0 && e.len <= 0xffffffff)) throw new UsageError(`${source}: used[${i}].len must be a 32-bit unsigned integer`);
    if (e.flush !== undefined && typeof e.flush !== 'boolean') throw new UsageError(`${source}: used[${i}].flush must be a boolean`);
    if (e.flags !== undefined) {
      if (!(typeof e.flags === 'number' && Number.isInteger(e.flags) && e.flags >= 0 && e.flags <= 0xffff)) throw new UsageError(`${source}: used[${i}].flags must be a 16-bit unsigned integer`);
      const flushBit = o.ring === 'split' ? VIRTQ_USED_ELEM_F_FLUSH : VIRTQ_DESC_F_FLUSH;
      if (e.flush !== undefined && e.flush !== ((e.flags & flushBit) !== 0)) throw new UsageError(`${source}: used[${i}].flush disagrees with the FLUSH bit of used[${i}].flags`);
    }
  });
  if (o.avail_before !== undefined) {
    const ab = o.avail_before;
    if (!Array.isArray(ab) || ab.length !== o.used.length || !ab.every((n, i) => Number.isInteger(n) && n >= 0 && n <= (o.avail as number[]).length && (i === 0 || n >= ab[i - 1]))) {
      throw new UsageError(`${source}: "avail_before" must be a non-decreasing array of counts, one per used entry`);
    }
  }
  return { ...o, order } as unknown as TraceInput;
}

export function checkCommand(): Command {
  return new Command('check')
    .description('check a trace (JSON: ring, order, queue_size, avail, used) against the ordering rules')
    .argument('[file]', 'trace file (default: stdin)')
    .option('--format <f>', 'json | lines (default: json, or lines when the input does not start with "{")')
    .addHelpText('after', `
Input: {"ring":"split","order":"partial","queue_size":8,"avail":[0,1,2],"used":[{"id":1,"len":16},{"id":0,"len":16,"flush":true},{"id":2,"len":16,"flush":true}]}
Line format (one event per line): header lines "ring split", "order partial", "queue_size 8", then
"avail <id> [capacity]" and "used <id> <len> <F|-|flags>". See examples/qemu-trace-to-vqlab.mjs.
Output: {"ok": bool, "first_bad": index into used or null, "rule": string, ...}. Exit 1 when not ok, 2 on bad input.`)
    .action((file: string | undefined, o: { format?: string }) => {
      let text: string;
      try { text = readFileSync(file ?? 0, 'utf8'); } catch (e) { throw new UsageError(`cannot read ${file ?? 'stdin'}: ${(e as Error).message}`); }
      const src = file ?? 'stdin';
      if (o.format !== undefined && o.format !== 'json' && o.format !== 'lines') throw new UsageError(`--format must be json or lines, got ${o.format}`);
      const lines = o.format === 'lines' || (o.format === undefined && !text.trimStart().startsWith('{'));
      let trace: TraceInput;
      if (lines) {
        try { trace = parseLineTrace(text); } catch (e) { if (e instanceof TraceFormatError) throw new UsageError(`${src}: ${e.message}`); throw e; }
        if (trace.ring === 'split' && (trace.queue_size & (trace.queue_size - 1)) !== 0) throw new UsageError(`${src}: split queue_size must be a power of 2`);
      } else trace = parseTrace(text, src);
      const r = checkTrace(trace);
      printJson(r);
      process.exitCode = r.ok ? EXIT_OK : EXIT_VIOLATION;
    });
}
