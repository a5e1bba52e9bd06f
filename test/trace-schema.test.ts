import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseTrace } from '../src/cli/check.js';
import { TRACE_FORMAT_VERSION } from '../src/check/checker.js';

// The JSON trace is validated by hand in parseTrace (named, one-line errors); the schema shipped in
// schema/trace.schema.json says the same for other tools. A real draft 2020-12 validator and
// parseTrace must agree on every trace of this corpus.
const schema = JSON.parse(readFileSync(new URL('../schema/trace.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(schema);
const ours = (t: unknown): boolean => { try { parseTrace(JSON.stringify(t), 't'); return true; } catch { return false; } };

const base = { ring: 'split', order: 'partial', queue_size: 8, avail: [0, 1, 2], used: [{ id: 1, len: 4 }, { id: 0, len: 4, flush: true }] };
const good: unknown[] = [
  base,
  { ...base, format_version: TRACE_FORMAT_VERSION },
  { format: 'vqlab-trace', format_version: TRACE_FORMAT_VERSION, vqlab_version: '0.1.0', ...base },
  { ...base, order: 'in-order,partial' }, { ...base, order: 'partial,in-order' }, { ...base, order: ['in-order', 'partial'] }, { ...base, order: ['none'] },
  { ...base, order: 'none', used: [{ id: 1, len: 4, flags: 0 }] },
  { ...base, ring: 'packed', queue_size: 3, avail: [900, 7, 65535], used: [{ id: 7 }, { id: 900, flags: 0x808a, flush: true }] },
  { ...base, avail: [0, { id: 1 }, { id: 2, capacity: 4096 }], capacity: { 0: 16, 65535: 0 } },
  { ...base, complete: false, avail_before: [2, 3] },
  { ...base, meta: { source: 'a device model', queue: 0 } },
  { ring: 'packed', order: 'none', queue_size: 32768, avail: [], used: [] },
  { ring: 'split', order: 'in-order', queue_size: 1, avail: [0], used: [{ id: 0, len: 4294967295 }] },
];
const bad: unknown[] = [
  [base], 'trace', null, 42,
  { ...base, ring: 'ring' }, { ...base, ring: undefined },
  { ...base, order: 'weird' }, { ...base, order: 'in-order, partial' }, { ...base, order: 'partial,none' }, { ...base, order: ['in-order', 'in-order'] },
  { ...base, order: [] }, { ...base, order: ['none', 'partial'] }, { ...base, order: 1 },
  { ...base, queue_size: 3 }, { ...base, queue_size: 0 }, { ...base, queue_size: 65536 }, { ...base, ring: 'packed', queue_size: 32769 }, { ...base, queue_size: 8.5 },
  { ...base, avail: [65536] }, { ...base, avail: [-1] }, { ...base, avail: ['0'] }, { ...base, avail: 0 },
  { ...base, avail: [{ capacity: 3 }] }, { ...base, avail: [{ id: 1, capacity: -1 }] }, { ...base, avail: [{ id: 1, capacity: 2 ** 32 }] }, { ...base, avail: [{ id: 1, cap: 2 }] },
  { ...base, used: [{ len: 4 }] }, { ...base, used: [{ id: 1, len: -4 }] }, { ...base, used: [{ id: 1, flush: 1 }] }, { ...base, used: [{ id: 1, flags: 65536 }] },
  { ...base, used: [{ id: 1, flag: 8 }] }, { ...base, used: {} },
  { ...base, capacity: { '01': 4 } }, { ...base, capacity: { 65536: 4 } }, { ...base, capacity: { x: 4 } }, { ...base, capacity: { 1: -4 } }, { ...base, capacity: [4] },
  { ...base, complete: 'yes' }, { ...base, avail_before: [-1, 0] }, { ...base, avail_before: 'x' },
  { ...base, format_version: TRACE_FORMAT_VERSION + 1 }, { ...base, format_version: 0 }, { ...base, format_version: '1' },
  { ...base, extra: true }, { ...base, meta: 'a string' },
  { ...base, format: 'vqlab-run' }, { ...base, format: 'vqlab-trace', vqlab_version: 1 },
];
// What a schema cannot say (arithmetic across fields): vqlab refuses these, the schema accepts them.
const beyondSchema: unknown[] = [
  { ...base, avail_before: [3, 2] },                       // decreasing
  { ...base, avail_before: [2] },                          // not one per used entry
  { ...base, avail_before: [2, 4] },                       // more than the avail events
  { ...base, used: [{ id: 1, flags: 0x8000, flush: false }] }, // flush disagrees with the split FLUSH bit
  { ...base, ring: 'packed', used: [{ id: 1, flags: 8, flush: false }] },
];

describe('schema/trace.schema.json and vqlab check agree', () => {
  it('the schema is a valid draft 2020-12 schema', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.properties.format_version.maximum).toBe(TRACE_FORMAT_VERSION);
  });
  it.each(good.map((t, i) => [i, t]))('good trace %i: both accept', (_i, t) => {
    expect(validate(t), JSON.stringify(validate.errors)).toBe(true);
    expect(ours(t)).toBe(true);
  });
  it.each(bad.map((t, i) => [i, t]))('bad trace %i: both refuse', (_i, t) => {
    expect(validate(t)).toBe(false);
    expect(ours(t)).toBe(false);
  });
  it.each(beyondSchema.map((t, i) => [i, t]))('cross-field rule %i: vqlab refuses what the schema cannot see', (_i, t) => {
    expect(validate(t)).toBe(true);
    expect(ours(t)).toBe(false);
  });
});
