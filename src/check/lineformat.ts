/**
 * A line format for traces that other implementations can emit cheaply, one event per line:
 *
 *   # comments and blank lines are ignored
 *   ring split            header: split|packed
 *   order partial         header: none|in-order|partial
 *   queue_size 8          header
 *   complete              optional header: every buffer made available must be used
 *   avail <id> [<capacity>]
 *   used <id> <len> <flags>
 *
 * `flags` is `F` (FLUSH) or `-`, or the ring's own numeric flags: split virtq_used_elem.flags
 * (FLUSH = 0x8000) or packed used-descriptor flags (FLUSH = 8; AVAIL/USED bits are ignored).
 * It carries exactly what the JSON form of `vqlab check` carries, and round-trips with it.
 */
import type { TraceInput } from './checker.js';
import { VIRTQ_DESC_F_FLUSH, VIRTQ_USED_ELEM_F_FLUSH } from '../spec/constants.js';

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
  let complete = false;
  const avail: number[] = [];
  const used: TraceInput['used'] = [];
  const capacity: Record<string, number> = {};
  const availBefore: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const t = lines[i].replace(/#.*/, '').trim();
    if (!t) continue;
    const [k, a, b, c, ...rest] = t.split(/\s+/);
    if (rest.length) throw new TraceFormatError(`line ${ln}: too many fields`);
    switch (k) {
      case 'ring':
        if (a !== 'split' && a !== 'packed') throw new TraceFormatError(`line ${ln}: ring must be split or packed`);
        ring = a; break;
      case 'order':
        if (a !== 'none' && a !== 'in-order' && a !== 'partial') throw new TraceFormatError(`line ${ln}: order must be none, in-order or partial`);
        order = a; break;
      case 'queue_size': queueSize = num(a, 'queue_size', ln, 32768); break;
      case 'complete': complete = true; break;
      case 'avail': {
        const id = num(a, 'id', ln, 0xffff);
        avail.push(id);
        if (b !== undefined) capacity[String(id)] = num(b, 'capacity', ln, 0xffffffff);
        break;
      }
      case 'used': {
        if (!ring) throw new TraceFormatError(`line ${ln}: "ring" must come before the first used line`);
        const id = num(a, 'id', ln, 0xffff);
        const len = num(b, 'len', ln, 0xffffffff);
        let flush: boolean;
        if (c === 'F') flush = true;
        else if (c === '-' || c === undefined) flush = false;
        else flush = (num(c, 'flags', ln, 0xffff) & (ring === 'split' ? VIRTQ_USED_ELEM_F_FLUSH : VIRTQ_DESC_F_FLUSH)) !== 0;
        used.push(flush ? { id, len, flush: true } : { id, len });
        availBefore.push(avail.length);
        break;
      }
      default: throw new TraceFormatError(`line ${ln}: unknown record "${k}" (expected ring, order, queue_size, complete, avail, used)`);
    }
  }
  if (!ring || !order || queueSize === undefined) throw new TraceFormatError('the header needs ring, order and queue_size lines');
  const t: TraceInput = { ring, order, queue_size: queueSize, avail, used };
  if (Object.keys(capacity).length) t.capacity = capacity;
  if (complete) t.complete = true;
  // Keep the interleaving only when it says more than "all avail first".
  if (availBefore.some((n) => n < avail.length)) t.avail_before = availBefore;
  return t;
}

export function formatLineTrace(t: TraceInput): string {
  const out = ['# vqlab trace', `ring ${t.ring}`, `order ${t.order}`, `queue_size ${t.queue_size}`];
  if (t.complete) out.push('complete');
  const availLine = (id: number): string => {
    const cap = t.capacity?.[String(id)];
    return cap === undefined ? `avail ${id}` : `avail ${id} ${cap}`;
  };
  let a = 0;
  t.used.forEach((u, i) => {
    const before = t.avail_before ? t.avail_before[i] : t.avail.length;
    while (a < before && a < t.avail.length) out.push(availLine(t.avail[a++]));
    out.push(`used ${u.id} ${u.len ?? 0} ${u.flush ? 'F' : '-'}`);
  });
  while (a < t.avail.length) out.push(availLine(t.avail[a++]));
  return out.join('\n') + '\n';
}
