import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { Checker, checkTrace, type TraceInput } from '../src/check/checker.js';

const split = (order: TraceInput['order'], avail: number[], used: TraceInput['used'], extra: Partial<TraceInput> = {}): TraceInput =>
  ({ ring: 'split', order, queue_size: 8, avail, used, ...extra });

describe('checker: good traces', () => {
  it('the proposal example passes, FLUSH batch included', () => {
    const r = checkTrace(split('partial', [0, 1, 2, 3, 4, 5], [
      { id: 1, len: 4 }, { id: 2, len: 4 }, { id: 0, len: 4, flush: true }, { id: 5, len: 4, flush: true },
    ], { complete: true }));
    expect(r).toMatchObject({ ok: true, first_bad: null, rule: 'ok', buffers_used: 6, batched_entries: 1, flushes: 2 });
  });
  it('IN_ORDER batches, unordered singles, and id reuse after use', () => {
    expect(checkTrace(split('in-order', [0, 1, 2, 3], [{ id: 2 }, { id: 3 }], { complete: true })).ok).toBe(true);
    expect(checkTrace(split('none', [0, 1, 2, 0], [{ id: 2 }, { id: 0 }, { id: 1 }, { id: 0 }], { complete: true })).ok).toBe(true);
  });
});

describe('checker: one bad trace per rule', () => {
  const cases: [string, TraceInput, number | null][] = [
    ['USED_ID_NOT_OUTSTANDING', split('none', [0, 1], [{ id: 0 }, { id: 3 }]), 1],                 // never made available
    ['USED_ID_NOT_OUTSTANDING', split('none', [0, 1], [{ id: 1 }, { id: 1 }]), 1],                 // used twice
    ['USED_BAD_ID', split('none', [0], [{ id: 9 }]), 0],                                            // beyond the queue (split id = head index)
    ['USED_BAD_LEN', split('none', [0, 1], [{ id: 1, len: 17 }], { capacity: { 1: 16 } }), 0],      // len beyond writable capacity
    ['USED_FLUSH_WITHOUT_FEATURE', split('in-order', [0, 1], [{ id: 0, flush: true }]), 0],        // FLUSH without PARTIAL_ORDER
    ['USED_FLUSH_WITH_HOLE', split('partial', [0, 1, 2], [{ id: 1 }, { id: 2, flush: true }]), 1], // hole at 0
    // A batch not preceded by FLUSH is one buffer; its FLUSH then has a hole behind it.
    ['USED_FLUSH_WITH_HOLE', split('partial', [0, 1, 2, 3], [{ id: 1 }, { id: 0, flush: false }, { id: 3, flush: true }]), 2],
    ['USED_OUT_OF_ORDER', split('in-order', [0, 1, 2], [{ id: 1 }, { id: 0 }]), 1],               // IN_ORDER entries in order
    ['LOST_BUFFER', split('none', [0, 1, 2], [{ id: 0 }, { id: 2 }], { complete: true }), null],  // each buffer used exactly once
  ];
  for (const [rule, trace, firstBad] of cases) {
    it(`${rule}: ${JSON.stringify(trace.used)}`, () => {
      const r = checkTrace(trace);
      expect(r.ok).toBe(false);
      expect(r.rule).toBe(rule);
      expect(r.first_bad).toBe(firstBad);
    });
  }
  it('live-only rules: data corruption, lost wake-up, reclaim that disagrees with the entry', () => {
    const c = new Checker({ ring: 'split', order: 'in-order', queueSize: 8 });
    c.avail(0, 16); c.avail(1, 16);
    expect(c.used(1, 16, false)).toBe(true);
    c.reclaim(1, 1); // the entry stands for a batch of 2
    expect(c.violations.map((v) => v.rule)).toEqual(['RECLAIM_MISMATCH']);
    const d = new Checker({ ring: 'split', order: 'none', queueSize: 8 });
    d.corrupted('driver', 3, 7); d.lostWakeup('device');
    expect(d.violations.map((v) => v.rule)).toEqual(['DATA_CORRUPTED', 'LOST_WAKEUP']);
  });
});

describe('checker: packed traces (ids are 16-bit buffer ids, not head indexes)', () => {
  const packed = (order: TraceInput['order'], avail: number[], used: TraceInput['used']): TraceInput => ({ ring: 'packed', order, queue_size: 3, avail, used, complete: true });
  it('good: PARTIAL_ORDER FLUSH batch on a 3-slot ring with large ids', () => {
    expect(checkTrace(packed('partial', [900, 7, 65535], [{ id: 7 }, { id: 900, flush: true }, { id: 65535, flush: true }]))).toMatchObject({ ok: true, buffers_used: 3 });
  });
  it('bad: FLUSH with a hole, and IN_ORDER out of order', () => {
    expect(checkTrace(packed('partial', [900, 7, 5], [{ id: 7 }, { id: 5, flush: true }]))).toMatchObject({ ok: false, rule: 'USED_FLUSH_WITH_HOLE', first_bad: 1 });
    expect(checkTrace(packed('in-order', [900, 7], [{ id: 7 }, { id: 900 }]))).toMatchObject({ ok: false, rule: 'USED_OUT_OF_ORDER', first_bad: 1 });
  });
});

describe('vqlab check (CLI)', () => {
  const bin = new URL('../bin/vqlab.js', import.meta.url).pathname;
  it('prints ok/first_bad/rule and exits 0 or 1', () => {
    const good = JSON.stringify(split('partial', [0, 1, 2], [{ id: 1 }, { id: 0, flush: true }, { id: 2, flush: true }]));
    const out = JSON.parse(execFileSync('node', [bin, 'check', '--json'], { input: good, encoding: 'utf8' }));
    expect(out).toMatchObject({ ok: true, first_bad: null, rule: 'ok' });
    const bad = JSON.stringify(split('partial', [0, 1, 2], [{ id: 1 }, { id: 2, flush: true }]));
    const r = spawnSync('node', [bin, 'check', '--json'], { input: bad, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, first_bad: 1, rule: 'USED_FLUSH_WITH_HOLE' });
  });
  it('packed traces and vqlab layout --ring packed --json', () => {
    const t = JSON.stringify({ ring: 'packed', order: 'partial', queue_size: 3, avail: [10, 11], used: [{ id: 11, len: 1 }, { id: 10, len: 1, flush: true }] });
    expect(JSON.parse(execFileSync('node', [bin, 'check', '--json'], { input: t, encoding: 'utf8' }))).toMatchObject({ ok: true });
    const l = JSON.parse(execFileSync('node', [bin, 'layout', '--ring', 'packed', '--queue-size', '257', '--json'], { encoding: 'utf8' }));
    expect(l).toMatchObject({ ring: 'packed', queue_size: 257, desc: { offset: 0, size: 4112 }, driver_event: { offset: 4112, size: 4 }, device_event: { offset: 4116, size: 4 } });
    const sl = JSON.parse(execFileSync('node', [bin, 'layout', '--ring', 'split', '--queue-size', '256', '--json'], { encoding: 'utf8' }));
    expect(sl.used).toEqual({ offset: 4616, size: 2054 });
  });
  it('bad input is one clear line and exit 2', () => {
    for (const input of ['not json', '{"ring":"split","order":"partial","queue_size":3,"avail":[],"used":[]}', '{"ring":"split","order":"weird","queue_size":4,"avail":[],"used":[]}']) {
      const r = spawnSync('node', [bin, 'check'], { input, encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^vqlab: stdin: /);
    }
  });
});

describe('checker: a lagging live checker holds avail runs, not buffers', () => {
  it('pending avails are bounded in runs: 4 runs of 64 buffers fit a capacity of 4, a 5th run overflows', () => {
    const c = new Checker({ ring: 'split', order: 'in-order', queueSize: 256, window: 1024, maxId: 256, pendingCapacity: 4 });
    // Four runs that cannot join (each starts where the last did not end), 256 buffers in all.
    for (let r = 0; r < 4; r++) c.availRun(r * 64, 63, 16);
    expect(c.ok).toBe(true);
    expect(c.outstanding).toBe(4 * 63);
    // A run continuing the last one joins it (no new slot).
    c.availRun(3 * 64 + 63, 1, 16);
    expect(c.ok).toBe(true);
    // Used entries consume them in order (IN_ORDER batches).
    for (let r = 0; r < 3; r++) expect(c.used(r * 64 + 62, 16, false)).toBe(true);
    expect(c.used(255, 16, false)).toBe(true);
    expect(c.outstanding).toBe(0);
    for (let r = 0; r < 4; r++) c.availRun(r * 64, 63, 16);
    c.availRun(1000 % 256, 1, 16); // a 5th run, not joinable
    expect(c.ok).toBe(false);
    expect(c.violations[0].rule).toBe('CHECKER_OVERFLOW');
  });
});

describe('checker: a run of single reclaims (EV_RECLAIM_SINGLES)', () => {
  it('checks each entry stood for one buffer, applies only entries already seen, and names a mismatch', () => {
    const c = new Checker({ ring: 'split', order: 'none', queueSize: 8 });
    for (let id = 0; id < 4; id++) c.avail(id, 16);
    expect(c.used(1, 16, false)).toBe(true);
    expect(c.used(0, 16, false)).toBe(true);
    // Three singles reported, two used entries seen: two are checked, one waits.
    expect(c.reclaimSingles(3)).toBe(2);
    expect(c.reclaimEntries).toBe(2);
    expect(c.used(2, 16, false)).toBe(true);
    expect(c.reclaimSingles(1)).toBe(1);
    expect(c.ok).toBe(true);
  });
  it('an entry that stood for a batch, reclaimed as a single: RECLAIM_MISMATCH', () => {
    const c = new Checker({ ring: 'split', order: 'in-order', queueSize: 8 });
    for (let id = 0; id < 4; id++) c.avail(id, 16);
    expect(c.used(2, 16, false)).toBe(true); // a batch of 3 (ids 0, 1, 2)
    expect(c.reclaimSingles(1)).toBe(1);
    expect(c.ok).toBe(false);
    expect(c.violations[0]).toMatchObject({ rule: 'RECLAIM_MISMATCH', entry: 0 });
    expect(c.violations[0].message).toMatch(/stands for 3/);
  });
});

describe('checker: a live checker that drains a whole log at once (it lags, at nice 19)', () => {
  it('matches every reclaim to its used entry however many entries one drain brings', async () => {
    const { orderWindowOf } = await import('../src/harness/config.js');
    const { buildOneThread } = await import('./helpers/onethread.js');
    const { EventLog } = await import('../src/check/events.js');
    const { LiveChecker } = await import('../src/check/live.js');
    // A small window (queue 8) and a log far larger: the device's used records of one drain
    // outnumber the window many times over before the reclaims that match them are applied.
    const { cfg, f, shared, driver, device, advance } = buildOneThread({ queueSize: 8, orderWindow: 8, eventLogRecords: 1 << 14, order: 'partial', faultRate: 0.2, faultLatencyUs: 5, buffers: 3000 });
    const w = orderWindowOf(cfg);
    const live = new LiveChecker({ ring: cfg.ring, order: f.order, flushAllowed: f.partialOrder, queueSize: cfg.queueSize, window: w, maxId: cfg.queueSize, pendingCapacity: cfg.eventLogRecords + 2 * w },
      new EventLog(shared.driverLog), new EventLog(shared.deviceLog));
    driver.start();
    device.start();
    for (let i = 0; i < 100_000 && !driver.finished; i++) { driver.step(); device.step(); advance(0.001); }
    driver.finish();
    device.finish();
    expect(driver.finished).toBe(true);
    live.drain(); // one drain for the whole run
    const s = live.summary(true);
    expect(s.usedEntries).toBeGreaterThan(1000); // far more than the window of 8
    expect(s.violations).toEqual([]);
    expect(s.reclaimEntries).toBe(s.usedEntries);
  });
});
