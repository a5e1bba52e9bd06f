/**
 * A line format for traces that other implementations can emit cheaply, one event per line
 * (docs/trace-format.md has the full description):
 *
 *   # comments and blank lines are ignored
 *   format_version 1      optional header: the trace format version (1 when absent)
 *   ring split            header: split|packed
 *   order partial         header: none|in-order|partial|in-order,partial
 *   queue_size 8          header
 *   complete              optional header: every buffer made available must be used
 *   avail <id> [<capacity>]        capacity: writable bytes of this instance of the buffer
 *   used <id> <len> <flags>
 *
 * `flags` is `F` (FLUSH) or `-`, or the ring's own numeric flags word: split virtq_used_elem.flags
 * (FLUSH = 0x8000) or packed used-descriptor flags (FLUSH = 8, WRITE = 2; AVAIL/USED ignored),
 * checked as the ring defines them. It carries exactly what the JSON form of `vqlab check`
 * carries, and round-trips with it.
 */
import { availOf, TRACE_FORMAT_VERSION, type AvailItem, type TraceInput, type UsedItem } from './checker.js';
import { parseOrderSpec } from '../spec/features.js';

export class TraceFormatError extends Error {}

const num = (s: string | undefined, what: string, line: number, max: number): number => {
  const n = s !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > max) throw new TraceFormatError(`line ${line}: ${what} must be an integer in 0..${max}, got ${s ?? 'nothing'}`);
  return n;
};

export function parseLineTrace(text: string): TraceInput {
  let ring: TraceInput['ring'] | undefined;
  let order: TraceInput['order'] | undefined;
  let queueSize: number | undefined;
  let version: number | undefined;
  let complete = false;
  const avail: AvailItem[] = [];
  const used: UsedItem[] = [];
  const availBefore: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const t = lines[i].replace(/#.*/, '').trim();
    if (!t) continue;
    const [k, a, b, c, ...rest] = t.split(/\s+/);
    if (rest.length) throw new TraceFormatError(`line ${ln}: too many fields`);
    switch (k) {
      case 'format_version':
        version = num(a, 'format_version', ln, 0xffff);
        if (version > TRACE_FORMAT_VERSION) throw new TraceFormatError(`line ${ln}: format_version ${version} is newer than this vqlab reads (${TRACE_FORMAT_VERSION})`);
        if (version < 1) throw new TraceFormatError(`line ${ln}: format_version must be 1..${TRACE_FORMAT_VERSION}`);
        break;
      case 'ring':
        if (a !== 'split' && a !== 'packed') throw new TraceFormatError(`line ${ln}: ring must be split or packed`);
        ring = a; break;
      case 'order': {
        const o = b === undefined ? parseOrderSpec(a) : null;
        if (o === null) throw new TraceFormatError(`line ${ln}: order must be none, in-order, partial or in-order,partial`);
        order = o; break;
      }
      case 'queue_size': queueSize = num(a, 'queue_size', ln, 32768); break;
      case 'complete': complete = true; break;
      case 'avail': {
        const id = num(a, 'id', ln, 0xffff);
        avail.push(b === undefined ? id : { id, capacity: num(b, 'capacity', ln, 0xffffffff) });
        break;
      }
      case 'used': {
        if (!ring) throw new TraceFormatError(`line ${ln}: "ring" must come before the first used line`);
        const id = num(a, 'id', ln, 0xffff);
        const len = num(b, 'len', ln, 0xffffffff);
        if (c === 'F') used.push({ id, len, flush: true });
        else if (c === '-' || c === undefined) used.push({ id, len });
        else used.push({ id, len, flags: num(c, 'flags', ln, 0xffff) });
        availBefore.push(avail.length);
        break;
      }
      default: throw new TraceFormatError(`line ${ln}: unknown record "${k}" (expected format_version, ring, order, queue_size, complete, avail, used)`);
    }
  }
  if (!ring || !order || queueSize === undefined) throw new TraceFormatError('the header needs ring, order and queue_size lines');
  const t: TraceInput = { ring, order, queue_size: queueSize, avail, used };
  if (version !== undefined) t.format_version = version;
  if (complete) t.complete = true;
  // Keep the interleaving only when it says more than "all avail first".
  if (availBefore.some((n) => n < avail.length)) t.avail_before = availBefore;
  return t;
}

export function formatLineTrace(t: TraceInput): string {
  const out = ['# vqlab trace'];
  if (t.format_version !== undefined) out.push(`format_version ${t.format_version}`);
  out.push(`ring ${t.ring}`, `order ${t.order}`, `queue_size ${t.queue_size}`);
  if (t.complete) out.push('complete');
  // Each avail line carries its instance's capacity (its own, or the trace's per-id default).
  const availLine = (a: AvailItem): string => {
    const { id, capacity } = availOf(t, a);
    return capacity === undefined ? `avail ${id}` : `avail ${id} ${capacity}`;
  };
  const flagsOf = (u: UsedItem): string => (u.flags !== undefined ? `0x${u.flags.toString(16)}` : u.flush ? 'F' : '-');
  let a = 0;
  t.used.forEach((u, i) => {
    const before = t.avail_before ? t.avail_before[i] : t.avail.length;
    while (a < before && a < t.avail.length) out.push(availLine(t.avail[a++]));
    out.push(`used ${u.id} ${u.len ?? 0} ${flagsOf(u)}`);
  });
  while (a < t.avail.length) out.push(availLine(t.avail[a++]));
  return out.join('\n') + '\n';
}
