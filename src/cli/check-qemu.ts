/** `vqlab check --format qemu`: a QEMU trace log, every queue of every device lifetime checked. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { checkQemuTrace, parseQueueSpec, parseSidecar, QemuTraceError, type QemuCheckResult, type QueueSpec } from '../trace/qemu.js';
import { EXIT_OK, EXIT_VIOLATION, printJson, table, UsageError } from './common.js';

export interface QemuCliOptions {
  queue?: string[];
  sidecar?: string;
  complete?: boolean;
  json?: boolean;
}

/** A file's text; gzip (by its magic bytes) is unpacked. */
export function readMaybeGzip(file: string | undefined): string {
  let buf: Buffer;
  try { buf = readFileSync(file ?? 0); } catch (e) { throw new UsageError(`cannot read ${file ?? 'stdin'}: ${(e as Error).message}`); }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try { buf = gunzipSync(buf); } catch (e) { throw new UsageError(`${file ?? 'stdin'}: bad gzip data (${(e as Error).message})`); }
  }
  return buf.toString('utf8');
}

export function runQemuCheck(file: string | undefined, o: QemuCliOptions): void {
  const src = file ?? 'stdin';
  let result: QemuCheckResult;
  try {
    const specs: QueueSpec[] = [];
    if (o.sidecar !== undefined) specs.push(...parseSidecar(readMaybeGzip(o.sidecar)));
    for (const q of o.queue ?? []) specs.push(parseQueueSpec(q));
    result = checkQemuTrace(readMaybeGzip(file), { queues: specs, complete: o.complete === true });
  } catch (e) {
    if (e instanceof QemuTraceError) throw new UsageError(`${src}: ${e.message}`);
    throw e;
  }
  // The per-queue traces stay out of the JSON (they are the whole log again).
  if (o.json) printJson({ ...result, queues: result.queues.map(({ trace: _t, ...q }) => q) });
  else process.stdout.write(formatQemuResult(result));
  process.exitCode = result.ok ? EXIT_OK : EXIT_VIOLATION;
}

const src = (s: string): string => (s === 'assumed' ? '?' : '');

/** The human form: a table of queues, then each queue's verdict with its notes, then a summary. */
export function formatQemuResult(r: QemuCheckResult): string {
  const rows = r.queues.map((q) => [
    `${q.device}:${q.index ?? '?'}/${q.lifetime}`, `${q.ring}${src(q.ring_from)}`, `${q.order}${src(q.order_from)}`, `${q.queue_size}${q.size_from === 'inferred' ? '≥' : ''}`,
    q.ids, q.pops, q.used_entries, q.outstanding, q.max_in_flight, q.verdict === 'ok' ? 'ok' : `${q.verdict}: ${q.rule}`,
  ]);
  const out = [table(rows, ['queue/life', 'ring', 'order', 'size', 'ids', 'pops', 'used', 'left', 'max', 'verdict'])];
  out.push('(? assumed: the trace cannot tell; ≥ the least size the trace allows; left: popped, not used when the lifetime ended)');
  // Notes shared by several queues are printed once, after the queues they concern.
  const notes = new Map<string, string[]>();
  for (const q of r.queues) {
    const name = `${q.device}:${q.index ?? '?'}/${q.lifetime}`;
    const lines: string[] = [];
    if (q.verdict !== 'ok') lines.push(`  ${q.rule}${q.first_bad !== null ? ` at used entry ${q.first_bad}` : ''}: ${q.message ?? ''}`);
    if (q.outstanding > 0) lines.push(`  ${q.outstanding} buffer(s) popped but not used at the ${q.ended_by === 'reset' ? 'reset' : 'end of the trace'}${q.filled_unused > 0 ? ` (${q.filled_unused} of them completed by the device)` : ''}${q.ended_by === 'reset' ? ': discarded by the reset' : q.trace.complete ? ': lost' : ''}`);
    if (lines.length) out.push(`${name} (vq ${q.vq}): ${q.verdict}`, ...lines);
    for (const n of q.notes) notes.set(n, [...(notes.get(n) ?? []), name]);
  }
  for (const [n, qs] of notes) out.push(`note (${qs.join(', ')}): ${n}`);
  for (const m of r.qemu_messages) out.push(`QEMU line ${m.line}: ${m.message}`);
  const s = r.summary;
  out.push(`${s.queues} queue lifetime(s) on ${s.devices} device(s): ${s.ok} ok, ${s.violations} with violations, ${s.device_errors} with device errors; ${s.buffers_popped} buffers popped, ${s.used_entries} used, ${s.outstanding} left; ids: ${s.ids}`);
  return out.join('\n') + '\n';
}

export { QemuTraceError };
