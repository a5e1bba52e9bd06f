import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG } from '../src/harness/config.js';
import type { TraceEvent } from '../src/trace/perfetto.js';

// No Perfetto trace processor is installable here (npm or Debian), so this is a schema check of the
// Chrome Trace Event format's required fields and pairing rules, said plainly.
function validate(events: TraceEvent[]): void {
  const open = new Map<string, number>();
  const flows = new Map<string, Set<string>>();
  for (const e of events) {
    expect(typeof e.name).toBe('string');
    expect(['M', 'i', 'b', 'e', 's', 'f', 'X', 'B', 'E']).toContain(e.ph);
    expect(Number.isFinite(e.ts) && e.ts >= 0).toBe(true);
    expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
    if (e.ph === 'i') expect(['t', 'p', 'g']).toContain(e.s);
    if (e.ph === 'b' || e.ph === 'e' || e.ph === 's' || e.ph === 'f') { expect(typeof e.cat).toBe('string'); expect(typeof e.id).toBe('string'); }
    if (e.ph === 'b') open.set(`${e.cat}/${e.id}`, (open.get(`${e.cat}/${e.id}`) ?? 0) + 1);
    if (e.ph === 'e') open.set(`${e.cat}/${e.id}`, (open.get(`${e.cat}/${e.id}`) ?? 0) - 1);
    if (e.ph === 's' || e.ph === 'f') { const k = `${e.cat}/${e.id}`; if (!flows.has(k)) flows.set(k, new Set()); flows.get(k)!.add(e.ph); }
  }
  for (const [k, n] of open) expect(n, `async span ${k} unbalanced`).toBe(0);
  for (const [k, s] of flows) expect([...s].sort(), `flow ${k}`).toEqual(['f', 's']);
}

describe('trace export (Chrome Trace Event / Perfetto JSON)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vqlab-trace-'));

  for (const ring of ['split', 'packed'] as const) it(`${ring}: both sides as tracks, buffers as spans, FLUSH entries, faults, kicks and interrupts with flows`, async () => {
    const out = join(dir, `run-${ring}.json`);
    const r = await runThreaded({ ...DEFAULT_CONFIG, ring, buffers: 6000, queueSize: ring === 'split' ? 64 : 50, notify: 'wait', eventIdx: true, faultRate: 0.02, faultLatencyUs: 40, traceOut: out });
    expect(r.ok).toBe(true);
    const t = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: TraceEvent[]; metadata: Record<string, unknown> };
    validate(t.traceEvents);
    const names = t.traceEvents.filter((e) => e.ph === 'M').map((e) => (e.args as { name: string }).name);
    expect(names).toEqual(['vqlab', 'driver', 'device']);
    const count = (ph: string, cat: string): number => t.traceEvents.filter((e) => e.ph === ph && e.cat === cat).length;
    expect(count('b', 'buffer')).toBe(6000);
    expect(count('b', 'fault')).toBe(r.faults);
    expect(count('i', 'flush')).toBe(r.flushes);
    expect(count('i', 'flush') + count('i', 'used')).toBe(r.used_entries);
    expect(count('s', 'notify')).toBeGreaterThan(0);
    expect(t.metadata.dropped_events).toBe(0);
    expect(t.metadata.seed).toBe(DEFAULT_CONFIG.seed);
  });

  it('is bounded on long runs: a window of the last events, dropped count in the metadata', async () => {
    const out = join(dir, 'bounded.json');
    const r = await runThreaded({ ...DEFAULT_CONFIG, buffers: 30000, traceOut: out, traceMaxEvents: 2000 });
    expect(r.ok).toBe(true);
    const t = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: TraceEvent[]; metadata: { dropped_events: number } };
    validate(t.traceEvents);
    expect(t.traceEvents.length).toBeLessThanOrEqual(2000 + 3);
    expect(t.metadata.dropped_events).toBeGreaterThan(0);
  });
});
