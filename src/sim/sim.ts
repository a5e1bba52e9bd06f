/**
 * The deterministic simulator: vqlab's own driver and device — the same classes the worker
 * threads run — in ONE thread, over SimMemory (store buffers per side, see memory.ts), under a
 * seeded scheduler. Control flow interleaves at step granularity (a side's round of work, the unit
 * the side contract exposes); memory interleaves at every load and store, where the world may drain
 * any buffered store of either side. That is where ordering bugs live: a store that becomes visible
 * before the stores it publishes, or a check that reads a value the other side already wrote.
 *
 * A sleeping side (wait mode) runs again only when its doorbell rings; both asleep with work
 * pending is a lost wake-up. Any typed error of a side, any checker violation, and a deadlock end
 * the run. Everything derives from the seed: a run replays bit for bit from its replay string.
 */
import { DEFAULT_CONFIG, orderWindowOf, validateConfig, type RunConfig } from '../harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf, type SideInit } from '../harness/sides.js';
import { featureBits, negotiate, type OrderMode, type RingKind } from '../spec/features.js';
import { EventLog, EV_AVAIL, EV_FLUSH_BIT, EV_IRQ, EV_KICK, EV_RECLAIM, EV_USED, EV_FAULT, EV_RESOLVE } from '../check/events.js';
import { LiveChecker } from '../check/live.js';
import type { Doorbell, NotifyMode } from '../memory/doorbell.js';
import { Rng, subSeed } from '../util/rng.js';
import { SimWorld, type MemoryModel } from './memory.js';
import { bugByName } from './bugs.js';
import { isVqError } from '../errors.js';

export type Strategy = 'random' | 'pct';

export interface SimConfig {
  ring: RingKind;
  order: OrderMode;
  model: MemoryModel;
  strategy: Strategy;
  bug: string | null;
  queueSize: number;
  buffers: number;
  eventIdx: boolean;
  notify: NotifyMode;
  faultRate: number;
  seed: number;
  /** PCT: number of priority change points + 1. */
  depth: number;
  maxSteps: number;
}

export const DEFAULT_SIM: SimConfig = {
  ring: 'split', order: 'partial', model: 'relaxed', strategy: 'random', bug: null, queueSize: 4, buffers: 24,
  eventIdx: false, notify: 'poll', faultRate: 0.2, seed: 1, depth: 3, maxSteps: 4000,
};

export interface SimResult {
  found: boolean;
  violation: { rule: string; message: string; side: string } | null;
  steps: number;
  ops: number;
  reclaimed: number;
  /** The last events of each side, oldest first, for the side-by-side report. */
  tail: { step: number; side: 'driver' | 'device'; text: string }[];
  replay: string;
}

class SimDoorbell implements Doorbell {
  readonly count = [0, 0];
  constructor(readonly mode: NotifyMode) {}
  ring(which: number): void { this.count[which]++; }
  read(which: number): number { return this.count[which]; }
  wait(): boolean { return false; }
  wakeAll(): void {}
}

export const encodeReplay = (c: SimConfig): string => 'vqsim1.' + Buffer.from(JSON.stringify(c)).toString('base64url');
export function decodeReplay(s: string): SimConfig {
  const t = s.trim();
  if (!t.startsWith('vqsim1.')) throw new Error('not a vqlab replay string (expected vqsim1.…)');
  const c = JSON.parse(Buffer.from(t.slice(7), 'base64url').toString('utf8')) as SimConfig;
  return { ...DEFAULT_SIM, ...c };
}

function describe(w0: number, w1: number): string {
  const type = w0 & 0xff;
  const id = (w0 >>> 8) & 0xffff;
  switch (type) {
    case EV_AVAIL: return `avail id ${id}`;
    case EV_USED: return `used id ${id} len ${w1}${w0 & EV_FLUSH_BIT ? ' FLUSH' : ''}`;
    case EV_RECLAIM: return `reclaim id ${id} (${w1} buffer${w1 === 1 ? '' : 's'})`;
    case EV_KICK: return 'kick';
    case EV_IRQ: return 'interrupt';
    case EV_FAULT: return `fault id ${id}`;
    case EV_RESOLVE: return `resolve id ${id}`;
    default: return `event ${type} id ${id} ${w1}`;
  }
}

export function simulate(sc: SimConfig): SimResult {
  const bug = sc.bug ? bugByName(sc.bug) : undefined;
  if (sc.bug && !bug) throw new Error(`unknown bug ${sc.bug} (see vqlab bugs)`);
  const cfg: RunConfig = validateConfig({
    ...DEFAULT_CONFIG, ring: sc.ring, order: sc.order, queueSize: sc.queueSize, buffers: sc.buffers, eventIdx: sc.eventIdx,
    notify: sc.notify, faultRate: sc.faultRate, faultLatencyUs: 20, seed: sc.seed, eventLogRecords: 1 << 12, orderWindow: 1 << 10,
    publishBatch: 3, popBudget: 3, segments: 1, segmentBytes: 8,
  });
  const bits = featureBits(cfg);
  const f = negotiate(bits, bits);
  const gl = guestLayoutOf(cfg);
  const shared = createShared(cfg, gl);
  const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared };
  const rng = new Rng(subSeed(sc.seed, 7));
  const world = new SimWorld(shared.guest, sc.model, rng);
  const simMems = [world.side(), world.side()];
  let drvMem = simMems[0] as import('../memory/ops.js').MemoryOps;
  let devMem = simMems[1] as import('../memory/ops.js').MemoryOps;
  if (bug?.side === 'driver') drvMem = bug.wrap(drvMem, gl);
  if (bug?.side === 'device') devMem = bug.wrap(devMem, gl);
  let now = 0;
  const bell = new SimDoorbell(sc.notify);
  const env = { doorbell: bell, clock: () => now, stallUntil: (t: number) => { if (t > now) now = t; } };
  const sides = [buildDriver(init, drvMem, env), buildDevice(init, devMem, env)] as const;
  const names = ['driver', 'device'] as const;
  const logs = [new EventLog(shared.driverLog), new EventLog(shared.deviceLog)];
  const live = new LiveChecker({ ring: cfg.ring, order: f.order, flushAllowed: f.partialOrder, queueSize: cfg.queueSize, window: orderWindowOf(cfg), maxId: cfg.queueSize, pendingCapacity: (1 << 12) + 2 * orderWindowOf(cfg) }, logs[0], logs[1]);
  const tail: SimResult['tail'] = [];
  const seen = [0, 0];
  const remember = (step: number): void => {
    for (let s = 0; s < 2; s++) {
      const log = logs[s];
      const w = log.written();
      // Read (without consuming: the checker drains) the records written since last time.
      for (; seen[s] !== w; seen[s] = (seen[s] + 1) | 0) {
        const i = (seen[s] & (log.capacity - 1)) << 1;
        tail.push({ step, side: names[s], text: describe(log.data[i], log.data[i + 1]) });
        if (tail.length > 60) tail.shift();
      }
    }
  };
  // Scheduling: random picks a side uniformly; PCT gives the sides random priorities and lowers the
  // running side's priority at depth-1 random change points (Burckhardt et al. 2010: finds a bug of
  // depth d with probability ≥ 1/(n·k^(d-1)) for n threads and k steps).
  const prio = [rng.u32(), rng.u32()];
  const changes = new Set<number>();
  for (let i = 1; i < sc.depth; i++) changes.add(rng.int(sc.maxSteps));
  const sleeping: (null | { which: number; seen: number })[] = [null, null];
  const idle = [0, 0];
  let violation: SimResult['violation'] = null;
  let steps = 0;
  sides[0].start();
  sides[1].start();
  const fail = (rule: string, message: string, side: string): void => { violation ??= { rule, message, side }; };
  // Preemption at publication points (one level deep): the other side runs a step in the middle of
  // this side's, exactly where a barrier sits — the interleavings ordering bugs need.
  let nested = false;
  world.preempt = (m) => {
    if (nested || violation) return;
    const other = m === simMems[0] ? 1 : 0;
    if (sleeping[other] || (rng.u32() & 255) >= 64) return;
    nested = true;
    try { sides[other].step(); steps++; remember(steps); } finally { nested = false; }
  };
  try {
    while (steps < sc.maxSteps && !violation) {
      if (sides[0].finished) break;
      // Wake sleepers whose doorbell rang, or whose parked fault resolved (the threaded runner
      // bounds such a sleep by the resolve time; here virtual time jumps to it when all sleep).
      const timer = (s: number): number => (sides[s] as { nextResolveAt?: number }).nextResolveAt ?? Infinity;
      if (sleeping[0] && sleeping[1]) {
        const t = Math.min(timer(0), timer(1));
        if (t !== Infinity && t > now) now = t;
      }
      for (let s = 0; s < 2; s++) {
        const z = sleeping[s];
        if (z && (bell.read(z.which) !== z.seen || timer(s) <= now)) { sleeping[s] = null; sides[s].afterWake(); }
      }
      const runnable = [0, 1].filter((s) => !sleeping[s]);
      if (runnable.length === 0) {
        world.drainAll();
        if (sides[0].hasWork() || sides[1].hasWork() || !sides[0].finished) {
          fail('LOST_WAKEUP', `both sides asleep with work pending (driver reclaimed ${sides[0].reclaimedCount} of ${sc.buffers}); no notification came`, 'both');
        }
        break;
      }
      let s: number;
      if (sc.strategy === 'pct') {
        if (changes.has(steps)) { const top = prio[0] >= prio[1] ? 0 : 1; prio[top] = rng.int(2); }
        s = runnable.length === 1 ? runnable[0] : prio[0] >= prio[1] ? 0 : 1;
      } else s = runnable[rng.int(runnable.length)];
      const n = sides[s].step();
      steps++;
      now += rng.float() * 0.01;
      if (n === 0) {
        if (++idle[s] >= 2 && sc.notify === 'wait') {
          const which = s === 0 ? 1 : 0; // the driver sleeps on the interrupt doorbell, the device on the kick doorbell
          const z = bell.read(which);
          if (sides[s].prepareSleep()) sleeping[s] = { which, seen: z };
          idle[s] = 0;
        }
        // PCT and random both need the other side to run when this one spins idle.
        if (sc.strategy === 'pct' && runnable.length === 2) prio[s] = Math.min(prio[s], prio[1 - s]) - 1;
      } else idle[s] = 0;
      remember(steps);
      live.drain();
      if (live.stop) { const v = live.checker.violations[0]; fail(v.rule, v.message, 'checker'); }
    }
    if (!violation && !sides[0].finished && steps >= sc.maxSteps) {
      // Out of budget without finishing: a livelock or a very slow schedule; not reported as a bug.
    }
  } catch (e) {
    if (!isVqError(e)) throw e;
    fail(e.code, e.message, e.side);
  }
  remember(steps);
  return { found: violation !== null, violation, steps, ops: world.ops, reclaimed: sides[0].reclaimedCount, tail, replay: encodeReplay(sc) };
}

/** Configuration a bug needs to show, on top of the user's. */
export function configFor(base: SimConfig): SimConfig {
  const b = base.bug ? bugByName(base.bug) : undefined;
  if (!b) return base;
  return { ...base, ring: b.needs.ring ?? base.ring, order: b.needs.order ?? base.order, notify: b.needs.notify ?? base.notify, eventIdx: b.needs.eventIdx ?? base.eventIdx };
}

export interface ExploreResult { found: boolean; bug: string | null; schedules: number; elapsed_ms: number; replay: string | null; violation: SimResult['violation']; result: SimResult | null }

/** Try schedules (seed, seed+1, …) until a violation or the time budget runs out. */
export function explore(base: SimConfig, budgetMs: number): ExploreResult {
  const t0 = performance.now();
  let n = 0;
  for (let seed = base.seed; performance.now() - t0 < budgetMs; seed++) {
    n++;
    const r = simulate({ ...base, seed });
    if (r.found) return { found: true, bug: base.bug, schedules: n, elapsed_ms: Math.round(performance.now() - t0), replay: r.replay, violation: r.violation, result: r };
  }
  return { found: false, bug: base.bug, schedules: n, elapsed_ms: Math.round(performance.now() - t0), replay: null, violation: null, result: null };
}

/** Shrink a failing case: fewer buffers and a smaller queue while the same seed still fails. */
export function shrink(c: SimConfig): SimConfig {
  let best = c;
  for (let changed = true; changed;) {
    changed = false;
    for (const cand of [{ ...best, buffers: Math.max(1, best.buffers >> 1) }, { ...best, buffers: best.buffers - 1 },
      { ...best, queueSize: best.ring === 'split' ? Math.max(1, best.queueSize >> 1) : Math.max(1, best.queueSize - 1) }, { ...best, maxSteps: Math.max(10, best.maxSteps >> 1) }]) {
      if (JSON.stringify(cand) === JSON.stringify(best) || cand.buffers < 1) continue;
      let r: SimResult;
      try { r = simulate(cand); } catch { continue; }
      if (r.found && r.violation?.rule === simulate(best).violation?.rule) { best = cand; changed = true; break; }
    }
  }
  return best;
}
