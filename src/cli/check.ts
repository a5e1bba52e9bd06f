/** `vqlab check`: the live checker's rules over a trace from any implementation. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { checkTrace, TRACE_FORMAT_VERSION, type CheckResult, type TraceInput } from '../check/checker.js';
import { parseOrderSpec } from '../spec/features.js';
import { VIRTQ_DESC_F_FLUSH, VIRTQ_USED_ELEM_F_FLUSH } from '../spec/constants.js';
import { parseLineTrace, TraceFormatError } from '../check/lineformat.js';
import { referenceCheckTrace, referenceDisagreement } from '../check/reference.js';
import { EXIT_OK, EXIT_VIOLATION, printJson, UsageError } from './common.js';
import { runQemuCheck, type QemuCliOptions } from './check-qemu.js';

// The JSON trace's fields (schema/trace.schema.json; docs/trace-format.md). An unknown field is
// refused rather than ignored: a misspelt "avail_before" would otherwise silently change the verdict.
const TOP_FIELDS = new Set(['format', 'format_version', 'vqlab_version', 'ring', 'order', 'queue_size', 'avail', 'used', 'capacity', 'complete', 'avail_before', 'meta']);
const AVAIL_FIELDS = new Set(['id', 'capacity']);
const USED_FIELDS = new Set(['id', 'len', 'flush', 'flags']);
const ORDER_STRINGS = new Set(['none', 'in-order', 'partial', 'in-order,partial', 'partial,in-order']);
/** A decimal buffer id 0..65535 without leading zeros, as a "capacity" key. */
const ID_KEY = /^(0|[1-9]\d{0,4})$/;

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff;
const isU32 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
const unknownField = (o: Record<string, unknown>, known: Set<string>): string | undefined => Object.keys(o).find((k) => !known.has(k));

/**
 * Validate a JSON trace (the rules of schema/trace.schema.json, plus those a schema cannot say:
 * avail_before's order and bounds, flush agreeing with flags) and return it with `order` normalized.
 * Every refusal is a UsageError naming the field.
 */
export function parseTrace(text: string, source: string): TraceInput {
  let t: unknown;
  try { t = JSON.parse(text); } catch (e) { throw new UsageError(`${source}: not valid JSON (${(e as Error).message})`); }
  const bad = (what: string): UsageError => new UsageError(`${source}: ${what}`);
  if (!isObject(t)) throw bad(`expected one JSON object (a trace), got ${Array.isArray(t) ? 'an array' : t === null ? 'null' : typeof t}`);
  const o = t;
  // The stamp and the version first: a newer trace may not have the shape this version knows.
  if (o.format !== undefined && o.format !== 'vqlab-trace') throw bad(`"format" is ${JSON.stringify(o.format)}: not a trace (a trace's "format", when given, is "vqlab-trace")`);
  if (o.vqlab_version !== undefined && typeof o.vqlab_version !== 'string') throw bad('"vqlab_version" must be a string');
  if (o.format_version !== undefined) {
    const v = o.format_version;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad('"format_version" must be a positive integer');
    if (v > TRACE_FORMAT_VERSION) throw bad(`"format_version" ${v} is newer than this vqlab reads (${TRACE_FORMAT_VERSION}); upgrade vqlab`);
  }
  const extra = unknownField(o, TOP_FIELDS);
  if (extra !== undefined) throw bad(`unknown field "${extra}" (a trace has ${[...TOP_FIELDS].join(', ')})`);
  if (o.ring !== 'split' && o.ring !== 'packed') throw bad('"ring" must be "split" or "packed"');
  const order = typeof o.order === 'string' && !ORDER_STRINGS.has(o.order) ? null : parseOrderSpec(o.order);
  if (order === null) throw bad('"order" must be "none", "in-order", "partial" or "in-order,partial" (or a list of "in-order" and "partial")');
  const q = o.queue_size;
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 32768) throw bad('"queue_size" must be an integer in 1..32768');
  if (o.ring === 'split' && (q & (q - 1)) !== 0) throw bad('split "queue_size" must be a power of 2');
  if (!Array.isArray(o.avail)) throw bad('"avail" must be an array of buffer ids (0..65535) or {"id", "capacity"} objects');
  o.avail.forEach((a: unknown, i: number) => {
    if (isId(a)) return;
    if (!isObject(a) || !isId(a.id)) throw bad(`avail[${i}] must be a buffer id (0..65535) or {"id": n, "capacity": c}`);
    const x = unknownField(a, AVAIL_FIELDS);
    if (x !== undefined) throw bad(`avail[${i}] has an unknown field "${x}" (id, capacity)`);
    if (a.capacity !== undefined && !isU32(a.capacity)) throw bad(`avail[${i}].capacity must be a 32-bit unsigned integer`);
  });
  if (o.capacity !== undefined) {
    const cm = o.capacity;
    if (!isObject(cm) || !Object.entries(cm).every(([k, v]) => ID_KEY.test(k) && Number(k) <= 0xffff && isU32(v))) {
      throw bad('"capacity" must map buffer ids ("0".."65535") to 32-bit unsigned capacities');
    }
  }
  if (!Array.isArray(o.used)) throw bad('"used" must be an array of {"id", "len", "flush", "flags"} objects');
  o.used.forEach((e: unknown, i: number) => {
    if (!isObject(e) || !isId(e.id)) throw bad(`used[${i}].id must be a buffer id (0..65535)`);
    const x = unknownField(e, USED_FIELDS);
    if (x !== undefined) throw bad(`used[${i}] has an unknown field "${x}" (id, len, flush, flags)`);
    if (e.len !== undefined && !isU32(e.len)) throw bad(`used[${i}].len must be a 32-bit unsigned integer`);
    if (e.flush !== undefined && typeof e.flush !== 'boolean') throw bad(`used[${i}].flush must be a boolean`);
    if (e.flags !== undefined) {
      if (!(typeof e.flags === 'number' && Number.isInteger(e.flags) && e.flags >= 0 && e.flags <= 0xffff)) throw bad(`used[${i}].flags must be a 16-bit unsigned integer`);
      const flushBit = o.ring === 'split' ? VIRTQ_USED_ELEM_F_FLUSH : VIRTQ_DESC_F_FLUSH;
      if (e.flush !== undefined && e.flush !== ((e.flags & flushBit) !== 0)) throw bad(`used[${i}].flush disagrees with the FLUSH bit of used[${i}].flags`);
    }
  });
  if (o.complete !== undefined && typeof o.complete !== 'boolean') throw bad('"complete" must be a boolean');
  if (o.avail_before !== undefined) {
    const ab = o.avail_before;
    if (!Array.isArray(ab) || ab.length !== o.used.length || !ab.every((n, i) => Number.isInteger(n) && n >= 0 && n <= (o.avail as unknown[]).length && (i === 0 || n >= ab[i - 1]))) {
      throw bad('"avail_before" must be a non-decreasing array of counts (at most the number of avail events), one per used entry');
    }
  }
  if (o.meta !== undefined && !isObject(o.meta)) throw bad('"meta" must be an object');
  return { ...o, order } as unknown as TraceInput;
}

/** The result in a line or two, for a person. */
export function summarize(r: CheckResult): string {
  const counts = `${r.buffers_used} buffers used, ${r.batched_entries} batched entries, ${r.flushes} flushes`;
  if (r.ok) return `ok: ${r.used_entries} used entries, ${counts}\n`;
  const where = r.first_bad === null ? 'in the trace as a whole' : `at used entry ${r.first_bad}`;
  return `violation ${r.rule} ${where}: ${r.message ?? ''}\n  (the trace has ${r.used_entries} used entries; before the violation: ${counts})\n`;
}

export function checkCommand(): Command {
  return new Command('check')
    .description('check a virtqueue trace (JSON or line format) against the spec\'s and the proposal\'s rules')
    .argument('[file]', 'trace file; "-" or nothing: stdin')
    .option('--format <f>', 'json | lines | qemu (default: json when the input starts with "{" or "[", else lines)')
    .option('--json', 'print the result as JSON (default: a short summary)')
    .option('--reference', 'also check with the independent reference model (src/check/reference.ts); exit 1 if the two disagree')
    .option('--queue <spec>', 'qemu: what a queue negotiated, e.g. blk0:0,size=256,ring=packed,features=in-order (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--sidecar <file>', 'qemu: a file of --queue values, one per line')
    .option('--complete', 'qemu: buffers still in flight at the end of the trace are lost')
    .addHelpText('after', `
JSON input: {"ring":"split","order":"partial","queue_size":8,"avail":[0,1,{"id":2,"capacity":512}],
  "used":[{"id":1,"len":16},{"id":0,"len":16,"flush":true},{"id":2,"len":16,"flush":true}]}
Line format (one event per line): header lines "ring split", "order partial", "queue_size 8", then
"avail <id> [capacity]" and "used <id> <len> <F|-|flags>".
Every field, the rules and their codes: docs/trace-format.md; schema: schema/trace.schema.json.
QEMU trace logs (-trace 'virtqueue_*' -trace 'virtio_*' -D log): --format qemu, every queue of every
device lifetime checked; --queue/--sidecar say sizes and features (docs/qemu-traces.md).
Output: a summary, or with --json {"ok", "first_bad" (index into used, or null), "rule", "message",
counts}. Exit 0 when the trace conforms, 1 on a violation, 2 on bad input.
--reference also checks it with the independent reference model and reports where the two
disagree (JSON: "reference", the model's verdict, and "disagreement", null or the first field that
differs); exit 1 also when they disagree.`)
    .action((file: string | undefined, o: { format?: string; json?: boolean; reference?: boolean } & QemuCliOptions) => {
      const stdin = file === undefined || file === '-';
      if (o.format === 'qemu') return runQemuCheck(stdin ? undefined : file, o);
      if (o.queue || o.sidecar !== undefined || o.complete) throw new UsageError('--queue, --sidecar and --complete go with --format qemu');
      const src = stdin ? 'stdin' : file;
      if (o.format !== undefined && o.format !== 'json' && o.format !== 'lines') throw new UsageError(`--format must be json, lines or qemu, got ${o.format}`);
      if (stdin && process.stdin.isTTY) process.stderr.write('vqlab check: reading a trace from stdin (end it with Ctrl-D; "vqlab check --help" for the format)\n');
      let text: string;
      try { text = readFileSync(stdin ? 0 : file, 'utf8'); } catch (e) { throw new UsageError(`cannot read ${src}: ${(e as Error).message}`); }
      const head = text.trimStart()[0];
      const lines = o.format === 'lines' || (o.format === undefined && head !== '{' && head !== '[');
      let trace: TraceInput;
      if (lines) {
        try { trace = parseLineTrace(text); } catch (e) { if (e instanceof TraceFormatError) throw new UsageError(`${src}: ${e.message}`); throw e; }
        if (trace.ring === 'split' && (trace.queue_size & (trace.queue_size - 1)) !== 0) throw new UsageError(`${src}: split queue_size must be a power of 2`);
      } else trace = parseTrace(text, src);
      const r = checkTrace(trace);
      if (o.reference) {
        // A second opinion that shares no code with the tracker the checker (and both sides) use.
        const { completions: _, ...ref } = referenceCheckTrace(trace);
        const disagreement = referenceDisagreement(r, ref);
        if (o.json) printJson({ ...r, reference: ref, disagreement });
        else process.stdout.write(summarize(r) + (disagreement === null ? 'reference model: agrees\n' : `reference model DISAGREES: ${disagreement}\n`));
        process.exitCode = r.ok && disagreement === null ? EXIT_OK : EXIT_VIOLATION;
        return;
      }
      if (o.json) printJson(r);
      else process.stdout.write(summarize(r));
      process.exitCode = r.ok ? EXIT_OK : EXIT_VIOLATION;
    });
}
