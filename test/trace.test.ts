import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG } from '../src/harness/config.js';
import { TraceBuilder, type TraceEvent } from '../src/trace/perfetto.js';
import { EV_AVAIL, EV_FLUSH_BIT, EV_IRQ, EV_KICK, EV_RECLAIM, EV_TIME, EV_USED } from '../src/check/events.js';

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
  // Flow v1 binding as the catapult viewer (chrome://tracing) and Perfetto import it: a flow start,
  // and an end with bp 'e', bind to a slice enclosing their time on their own thread; with none
  // there the arrow is dropped (catapult: 'flow_slice_end_error'). This trace's thread slices are
  // its thread-scoped instants.
  const at = new Set(events.filter((e) => e.ph === 'i' && e.s === 't').map((e) => `${e.tid}@${e.ts}`));
  for (const e of events) if (e.ph === 's' || e.ph === 'f') expect(at.has(`${e.tid}@${e.ts}`), `flow ${e.ph} ${e.id} binds to no slice`).toBe(true);
}

/** Async spans (cat/id → [begin, end]). */
function spans(events: TraceEvent[], cat: string): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const e of events) if (e.cat === cat && (e.ph === 'b' || e.ph === 'e')) {
    const s = m.get(e.id!) ?? [NaN, NaN];
    s[e.ph === 'b' ? 0 : 1] = e.ts;
    m.set(e.id!, s);
  }
  return m;
}

describe("TraceBuilder, fed in the live checker's drain order (driver log, then device log)", () => {
  const T = (t: number): [number, number] => [EV_TIME, t];
  const avail = (id: number): [number, number] => [EV_AVAIL | (id << 8), 16];
  // Driver log as one drain reads it: round at 10 makes id 0 available (seq 0) and kicks; round at
  // 30 reclaims it, makes id 0 available again (seq 1) and kicks twice (two publishes); round at 40.
  const driverLog: [number, number][] = [T(10), avail(0), [EV_KICK, 1], T(30), [EV_RECLAIM, 1], avail(0), [EV_KICK, 2], [EV_KICK, 3], T(40)];
  // Device log, read after it: round at 20 uses id 0 (FLUSH) and interrupts; round at 35.
  const deviceLog: [number, number][] = [T(20), [EV_USED | EV_FLUSH_BIT, 16], [EV_IRQ, 1], T(35)];
  const build = (): TraceEvent[] => {
    const tb = new TraceBuilder();
    for (const [w0, w1] of driverLog) tb.driver(w0, w1);
    let seq = 0;
    for (const [w0, w1] of deviceLog) tb.device(w0, w1, (w0 & 0xff) === EV_USED ? { firstSeq: seq++, ids: [(w0 >>> 8) & 0xffff] } : undefined);
    return tb.toJSON().traceEvents;
  };

  it("a buffer span runs from its own avail to its reclaim, not from its id's next avail", () => {
    const events = build();
    validate(events);
    // Keyed by id, the span took the re-avail's time (30) as its start and came out zero-length.
    expect(spans(events, 'buffer').get('b0')).toEqual([10, 30]);
  });

  it("every kick and interrupt has its flow arrow, ending at the other side's next round, on a slice there", () => {
    const events = build();
    validate(events);
    const ends = new Map(events.filter((e) => e.ph === 'f').map((e) => [e.id, [e.tid, e.ts]]));
    const starts = events.filter((e) => e.ph === 's');
    expect(starts.length).toBe(4);
    const kicks = starts.filter((e) => e.name === 'kick').map((e) => ends.get(e.id));
    // Kick at 10 → device round 20; both kicks at 30 → device round 35 (one used to be overwritten).
    expect(kicks).toEqual([[2, 20], [2, 35], [2, 35]]);
    // The interrupt at 20 was read after driver rounds 30 and 40: it ends at 30, the driver's
    // first round after it, not at the next round read (there is none: it used to be lost).
    const irq = starts.find((e) => e.name === 'interrupt')!;
    expect(ends.get(irq.id)).toEqual([1, 30]);
    // One binding instant per receiving round, however many arrows end there.
    expect(events.filter((e) => e.name === 'after kick' && e.ts === 35).length).toBe(1);
  });
});

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
    // Every notification has its arrow but those the other side had no round after (run end).
    expect(count('s', 'notify')).toBeGreaterThanOrEqual(0.95 * (r.kicks + r.interrupts));
    expect(count('s', 'notify')).toBeLessThanOrEqual(r.kicks + r.interrupts);
    // Buffer spans start at their own avail: with a queue's worth in flight most are not zero-length
    // (a buffer made available and reclaimed in one driver round is, at round granularity).
    const sp = [...spans(t.traceEvents, 'buffer').values()];
    expect(sp.filter(([b, e]) => e > b).length).toBeGreaterThan(sp.length / 2);
    expect(t.metadata.dropped_events).toBe(0);
    expect(t.metadata.seed).toBe(DEFAULT_CONFIG.seed);
  });

  it("a user's device module gets the same trace: buffers, faults, and an arrow for every kick and interrupt", async () => {
    // The runner stamps each round's time for every side: the example device knows nothing of tracing.
    const out = join(dir, 'run-user-device.json');
    const deviceModule = new URL('../examples/minimal-device.mjs', import.meta.url).pathname;
    const r = await runThreaded({ ...DEFAULT_CONFIG, order: 'none', buffers: 6000, queueSize: 64, notify: 'wait', faultRate: 0.02, faultLatencyUs: 40, deviceModule, traceOut: out });
    expect(r.ok).toBe(true);
    expect(r.kicks).toBeGreaterThan(0);
    const t = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: TraceEvent[] };
    validate(t.traceEvents);
    const count = (ph: string, cat: string, name?: string): number => t.traceEvents.filter((e) => e.ph === ph && e.cat === cat && (name === undefined || e.name === name)).length;
    expect(count('b', 'buffer')).toBe(6000);
    expect(count('b', 'fault')).toBe(r.faults);
    expect(count('s', 'notify', 'kick')).toBeGreaterThanOrEqual(0.95 * r.kicks);
    expect(count('s', 'notify', 'interrupt')).toBeGreaterThanOrEqual(0.95 * r.interrupts);
  });

  it('is bounded on long runs: a window of the last events, dropped count in the metadata', async () => {
    const out = join(dir, 'bounded.json');
    const r = await runThreaded({ ...DEFAULT_CONFIG, buffers: 30000, traceOut: out, traceMaxEvents: 2000 });
    expect(r.failure ?? r.violations[0] ?? null, 'the run\'s failure').toBeNull();
    expect(r.ok).toBe(true);
    const t = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: TraceEvent[]; metadata: { dropped_events: number } };
    validate(t.traceEvents);
    expect(t.traceEvents.length).toBeLessThanOrEqual(2000 + 3);
    expect(t.metadata.dropped_events).toBeGreaterThan(0);
  });
});
