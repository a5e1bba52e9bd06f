/**
 * Random used-ring traces for the reference-model tests: a stream of abstract actions interpreted
 * against the outstanding buffers, so most traces run a while before any rule breaks (legal
 * stretches, then now and then a duplicate, a stale id, a len past the capacity, a FLUSH with a
 * hole or without the feature, an id out of range, an id made available twice).
 */
import fc from 'fast-check';
import { ORDER_SPECS, type OrderSpec, type RingKind } from '../../src/spec/features.js';

export interface Action { op: number; a: number; b: number; c: number }
export const actionsArb = fc.array(fc.record({ op: fc.nat(99), a: fc.nat(1000), b: fc.nat(1000), c: fc.nat(99) }), { minLength: 1, maxLength: 60 });
export const ringArb = fc.constantFrom<RingKind>('split', 'packed');
export const orderArb = fc.constantFrom<OrderSpec>(...ORDER_SPECS);

export type Step =
  | { kind: 'avail'; id: number; descriptors: number; indirect: boolean; capacity: number }
  | { kind: 'used'; id: number; len: number; flush: boolean };

/** What the interpreter needs to know of the state (from the model under test's twin). */
export interface View {
  /** Outstanding ids, oldest first. */
  outstanding(): number[];
  /** Capacity of the outstanding instance of id (or 0). */
  capacityOf(id: number): number;
  /** Would FLUSH on an entry naming id leave no hole (a guess is fine: it only shapes the trace). */
  flushLooksValid(id: number): boolean;
}

/** Turn one action into a step, given the current state. */
export function interpret(x: Action, maxId: number, flushDefined: boolean, v: View): Step {
  const out = v.outstanding();
  if (x.op < 40 || out.length === 0) {
    const free: number[] = [];
    for (let i = 0; i < maxId; i++) if (!out.includes(i)) free.push(i);
    let id: number;
    if (x.c >= 95 || free.length === 0) id = x.c >= 97 ? maxId + (x.a % 3) : out.length ? out[x.a % out.length] : maxId;
    else if (x.c >= 91 && out.length) id = out[x.a % out.length];
    else id = free[x.a % free.length];
    const descriptors = 1 + (x.b % 4);
    const indirect = (x.b >> 2) % 4 === 0;
    const capacity = x.c % 5 === 0 ? 0xffffffff : 16 * (x.b % 9);
    return { kind: 'avail', id, descriptors, indirect, capacity };
  }
  const id = x.c < 90 ? out[x.a % Math.min(out.length, 1 + (x.b % 4))] : x.a % (maxId + 2);
  const mode = x.b % 3;
  const flush = mode === 0 ? false : mode === 1 ? flushDefined && v.flushLooksValid(id) : flushDefined || x.c % 10 === 0;
  const cap = v.capacityOf(id);
  const len = x.c % 17 === 0 ? (cap === 0xffffffff ? cap : cap + 1) : x.a % (Math.min(cap, 4096) + 1);
  return { kind: 'used', id, len, flush };
}
