/**
 * The deterministic simulator: vqlab's own driver and device — the same classes the worker
 * threads run — in ONE thread, over SimMemory (store buffers per side, see memory.ts), under a
 * scheduler whose every decision is a numbered choice:
 *  - which side runs the next step (0: the one that just made progress keeps going, or the other
 *    one if it made none; 1: switch anyway — a preemption);
 *  - at each publication point (a barrier-carrying access), whether the other side runs a step
 *    right there, nested (0: no; 1: yes);
 *  - at each handover between the sides, which of the leaving side's buffered stores become
 *    visible (memory.ts drain menu; 0: all, as on an SC machine);
 *  - under the weak model, at each plain load of a location written since the side's view, which
 *    version it reads (0: the newest; memory.ts).
 * Control interleaves at step and publication-point granularity — the places where one side's
 * stores meet the other side's loads — and memory at every store, through the drain choices.
 *
 * A run is a configuration plus its choice sequence. Random search and PCT draw choices from a
 * seeded RNG; exhaustive search enumerates sequences with a bounded number of non-default choices
 * (preemptions, delayed stores) depth-first; replay feeds a recorded sequence back. The replay
 * string is the configuration plus the non-zero choices, so it reproduces a run bit for bit, and
 * shrinking works on it directly: zero choices, cut the tail, fewer buffers, a smaller queue.
 *
 * A sleeping side (wait mode) runs again only when its doorbell rings or its parked fault
 * resolves; both asleep with work pending is a lost wake-up. Any typed error of a side, any
 * checker violation, and a lost wake-up end the run. A run that reaches its step limit unfinished
 * is a finding too: STALL when no side made progress over the last quarter of the steps (nothing
 * can move), LIVELOCK when they still did (busy, but the driver never gets its buffers back).
 */
import { DEFAULT_CONFIG, orderWindowOf, validateConfig, type RunConfig } from '../harness/config.js';
import { buildDevice, buildDriver, createShared, guestLayoutOf, type SideInit } from '../harness/sides.js';
import { featureBits, negotiate, parseOrderSpec, type OrderSpec, type RingKind } from '../spec/features.js';
import { availRunOf, availStepOf, EventLog, EV_AVAIL, EV_FLUSH_BIT, EV_IRQ, EV_KICK, EV_RECLAIM, EV_RECLAIM_SINGLES, EV_USED, EV_FAULT, EV_RESOLVE } from '../check/events.js';
import { LiveChecker } from '../check/live.js';
import type { Doorbell, NotifyMode } from '../memory/doorbell.js';
import type { MemoryOps } from '../memory/ops.js';
import { Rng, subSeed } from '../util/rng.js';
import { applyDrain, drainMenuSize, fieldName, MEMORY_MODELS, SimWorld, type MemoryModel, type SimMemory } from './memory.js';
import { bugByName } from './bugs.js';
import { attachReferenceHook } from './reference-hook.js';
import { isVqError, VqError } from '../errors.js';

export type Strategy = 'random' | 'pct' | 'exhaustive';

export interface SimConfig {
  ring: RingKind;
  order: OrderSpec;
  model: MemoryModel;
  strategy: Strategy;
  bug: string | null;
  queueSize: number;
  buffers: number;
  eventIdx: boolean;
  notify: NotifyMode;
  faultRate: number;
  /** Seeds the fault model, and for random/PCT the choices. */
  seed: number;
  /** PCT: number of priority change points + 1. */
  depth: number;
  maxSteps: number;
  /** Descriptors per buffer (a chain, or one indirect table with `indirect`). */
  segments: number;
  /** Negotiate INDIRECT_DESC: buffers of 2 or more segments go through an indirect table. */
  indirect: boolean;
}

export const DEFAULT_SIM: SimConfig = {
  ring: 'split', order: 'partial', model: 'relaxed', strategy: 'random', bug: null, queueSize: 4, buffers: 24,
  eventIdx: false, notify: 'poll', faultRate: 0.2, seed: 1, depth: 3, maxSteps: 4000, segments: 1, indirect: false,
};

export interface SimViolation { rule: string; message: string; side: string }

export interface SimResult {
  found: boolean;
  violation: SimViolation | null;
  steps: number;
  ops: number;
  reclaimed: number;
  /** The driver reclaimed every buffer (false: a violation, or the step budget ran out). */
  finished: boolean;
  /** Choices made (all of them, including forced-default ones past a replayed prefix). */
  choices: number[];
  /** What each choice decided (index into CHOICE_KINDS). */
  kinds: number[];
  /** Non-default choices: preemptions and delayed stores. */
  preemptions: number;
  /** The last events of each side, oldest first, for the side-by-side report. */
  tail: { step: number; side: 'driver' | 'device'; text: string }[];
  replay: string;
  /** Where the run ended: both sides' state and the queue's indices as memory holds them. */
  end: SimEnd;
}

export interface SimEnd {
  driver: Record<string, number | boolean>;
  device: Record<string, number | boolean>;
  queue: Record<string, number>;
  /** The last step at which a side made progress. */
  last_progress_step: number;
}

class SimDoorbell implements Doorbell {
  readonly count = [0, 0];
  constructor(readonly mode: NotifyMode) {}
  ring(which: number): void { this.count[which]++; }
  read(which: number): number { return this.count[which]; }
  wait(): boolean { return false; }
  wakeAll(): void {}
}

// ---- replay strings: vqsim3:<config>:<choice count>:<skip~value>.<skip~value>… (base 36) ----
// The prefix names the encoding AND the simulator's choice points: bump it whenever either changes
// (a new kind of choice, a menu of another size, a new config field), so that a string from another
// version is refused instead of replaying a different schedule. vqsim2 had no weak model, no
// segments / indirect fields and no version choices.

export const REPLAY_VERSION = 'vqsim3';

const CONFIG_FIELDS = ['ring', 'order', 'model', 'strategy', 'bug', 'queueSize', 'buffers', 'eventIdx', 'notify', 'faultRate', 'seed', 'depth', 'maxSteps', 'segments', 'indirect'] as const;

export function encodeReplay(c: SimConfig, choices: readonly number[]): string {
  // Fields are comma-separated: both ordering features are written in-order+partial.
  const cfg = CONFIG_FIELDS.map((k) => (k === 'bug' ? c.bug ?? '-' : k === 'eventIdx' || k === 'indirect' ? (c[k] ? 1 : 0) : k === 'order' ? c.order.replace(',', '+') : c[k])).join(',');
  const toks: string[] = [];
  let skip = 0;
  let last = 0;
  for (let i = 0; i < choices.length; i++) {
    if (choices[i] === 0) { skip++; continue; }
    toks.push(`${skip.toString(36)}~${choices[i].toString(36)}`);
    skip = 0;
    last = i + 1;
  }
  return `${REPLAY_VERSION}:${cfg}:${last.toString(36)}:${toks.join('.')}`;
}

export function decodeReplay(s: string): { config: SimConfig; choices: number[] } {
  const bad = (why: string): never => { throw new VqError('BAD_CONFIG', 'config', `not a vqlab replay string (${why}); expected ${REPLAY_VERSION}:<config>:<n>:<choices>`); };
  const parts = s.trim().split(':');
  const version = /^vqsim(\d+)$/.exec(parts[0]);
  if (version && parts[0] !== REPLAY_VERSION) {
    throw new VqError('BAD_CONFIG', 'config', `replay string of simulator version ${parts[0]}, but this vqlab replays ${REPLAY_VERSION} only: its schedule encoding or choice points differ, so the string would replay a different schedule (run explore again to get a ${REPLAY_VERSION} string)`);
  }
  if (parts.length !== 4 || parts[0] !== REPLAY_VERSION) bad('wrong prefix or field count');
  const f = parts[1].split(',');
  if (f.length !== CONFIG_FIELDS.length) bad(`${f.length} config fields, want ${CONFIG_FIELDS.length}`);
  const num = (x: string, k: string): number => { const n = Number(x); if (x === '' || !Number.isFinite(n)) bad(`${k} "${x}"`); return n; };
  const oneOf = <T extends string>(x: string, k: string, cs: readonly T[]): T => (cs.includes(x as T) ? (x as T) : bad(`${k} "${x}"`));
  const config: SimConfig = {
    ring: oneOf(f[0], 'ring', ['split', 'packed'] as const), order: parseOrderSpec(f[1].split('+')) ?? bad(`order "${f[1]}"`),
    model: oneOf(f[2], 'model', MEMORY_MODELS), strategy: oneOf(f[3], 'strategy', ['random', 'pct', 'exhaustive'] as const),
    bug: f[4] === '-' ? null : f[4], queueSize: num(f[5], 'queue size'), buffers: num(f[6], 'buffers'), eventIdx: f[7] === '1',
    notify: oneOf(f[8], 'notify', ['poll', 'wait'] as const), faultRate: num(f[9], 'fault rate'), seed: num(f[10], 'seed'),
    depth: num(f[11], 'depth'), maxSteps: num(f[12], 'max steps'), segments: num(f[13], 'segments'), indirect: f[14] === '1',
  };
  if (config.bug && !bugByName(config.bug)) bad(`unknown bug ${config.bug}`);
  const n = parseInt(parts[2], 36);
  if (!(n >= 0)) bad('choice count');
  const choices = new Array<number>(n).fill(0);
  let i = 0;
  if (parts[3] !== '') for (const t of parts[3].split('.')) {
    const m = /^([0-9a-z]+)~([0-9a-z]+)$/.exec(t);
    if (!m) bad(`choice "${t}"`);
    i += parseInt(m![1], 36);
    if (i >= n) bad('choice beyond the count');
    choices[i++] = parseInt(m![2], 36);
  }
  return { config, choices };
}

function describe(w0: number, w1: number): string {
  const type = w0 & 0xff;
  const id = (w0 >>> 8) & 0xffff;
  switch (type) {
    case EV_AVAIL: return availRunOf(w0) === 1 ? `avail id ${id}` : `avail ids ${id}..${(id + availStepOf(w0) * (availRunOf(w0) - 1)) & 0xffff}`;
    case EV_USED: return `used id ${id} len ${w1}${w0 & EV_FLUSH_BIT ? ' FLUSH' : ''}`;
    case EV_RECLAIM: return `reclaim id ${id} (${w1} buffer${w1 === 1 ? '' : 's'})`;
    case EV_RECLAIM_SINGLES: return `reclaim ${w1} entr${w1 === 1 ? 'y' : 'ies'} of 1 buffer each`;
    case EV_KICK: return 'kick';
    case EV_IRQ: return 'interrupt';
    case EV_FAULT: return `fault id ${id}`;
    case EV_RESOLVE: return `resolve id ${id}`;
    default: return `event ${type} id ${id} ${w1}`;
  }
}

/** Where the choices come from: a seeded strategy, or a fixed prefix (replay, exhaustive) then 0s. */
export interface ChoiceSource {
  prefix: readonly number[] | null;
  /** Told the number of alternatives at each choice point (exhaustive search). */
  onChoice?: (alternatives: number) => void;
}

/** What a choice point decides (for the schedule listing of `vqlab replay`). */
export const CHOICE_KINDS = ['side', 'preempt', 'drain', 'drain-bit', 'version'] as const;

const CH_SIDE = 0;
const CH_PREEMPT = 1;
const CH_DRAIN = 2;
const CH_BIT = 3;
const CH_VERSION = 4;

export function simulate(sc: SimConfig, source: ChoiceSource = { prefix: null }): SimResult {
  const bug = sc.bug ? bugByName(sc.bug) : undefined;
  if (sc.bug && !bug) throw new VqError('BAD_CONFIG', 'config', `unknown bug ${sc.bug} (see vqlab bugs)`);
  const cfg: RunConfig = validateConfig({
    ...DEFAULT_CONFIG, ring: sc.ring, order: sc.order, queueSize: sc.queueSize, buffers: sc.buffers, eventIdx: sc.eventIdx,
    notify: sc.notify, faultRate: sc.faultRate, faultLatencyUs: 20, seed: sc.seed, eventLogRecords: 1 << 12, orderWindow: 1 << 10,
    publishBatch: 3, popBudget: 3, segments: sc.segments, segmentBytes: 8, indirect: sc.indirect,
  });
  const bits = featureBits(cfg);
  const f = negotiate(bits, bits);
  const gl = guestLayoutOf(cfg);
  const shared = createShared(cfg, gl);
  const init: SideInit = { cfg, features: '0x' + f.bits.toString(16), shared };
  const rng = new Rng(subSeed(sc.seed, 7));
  const world = new SimWorld(shared.guest, sc.model, gl.totalSize);
  const simMems: SimMemory[] = [world.side(), world.side()];
  let drvMem: MemoryOps = simMems[0];
  let devMem: MemoryOps = simMems[1];
  if (bug?.wrap && bug.side === 'driver') drvMem = bug.wrap(drvMem, gl);
  if (bug?.wrap && bug.side === 'device') devMem = bug.wrap(devMem, gl);
  let now = 0;
  const bell = new SimDoorbell(sc.notify);
  const env = { doorbell: bell, clock: () => now, stallUntil: (t: number) => { if (t > now) now = t; } };
  const sides = [buildDriver(init, drvMem, env), buildDevice(init, devMem, env)] as const;
  if (bug?.patch) bug.patch(bug.side === 'driver' ? sides[0] : sides[1]);
  const names = ['driver', 'device'] as const;
  const logs = [new EventLog(shared.driverLog), new EventLog(shared.deviceLog)];
  const live = new LiveChecker({ ring: cfg.ring, order: f.order, flushAllowed: f.partialOrder, queueSize: cfg.queueSize, window: orderWindowOf(cfg), maxId: cfg.queueSize, pendingCapacity: (1 << 12) + 2 * orderWindowOf(cfg) }, logs[0], logs[1]);
  // The independent reference model reads the same records and both sides' slot moves (reference-hook.ts).
  const refHook = attachReferenceHook(cfg, f, sides[0], sides[1]);
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
        refHook.record(s, log.data[i], log.data[i + 1]);
        if (tail.length > 60) tail.shift();
      }
    }
  };

  const note = (side: number, text: string): void => { tail.push({ step: steps, side: names[side], text }); if (tail.length > 60) tail.shift(); };

  // ---- choices ----
  const choices: number[] = [];
  const kinds: number[] = [];
  const wide = sc.strategy !== 'exhaustive';
  // PCT (Burckhardt et al. 2010): random side priorities, lowered at depth-1 random change points;
  // finds a bug of depth d with probability ≥ 1/(n·k^(d-1)) for n threads and k steps.
  const prio = [rng.u32(), rng.u32()];
  const changes = new Set<number>();
  for (let i = 1; i < sc.depth; i++) changes.add(rng.int(sc.maxSteps));
  /** A choice among n (n ≥ 2); `live` is the seeded strategy's pick. */
  const choose = (kind: number, n: number, live: () => number): number => {
    const i = choices.length;
    let v: number;
    if (source.prefix) v = i < source.prefix.length ? source.prefix[i] : 0;
    else v = live();
    if (!(v >= 0 && v < n)) v = 0; // a replayed choice that no longer fits (shrinking changed the run)
    choices.push(v);
    kinds.push(kind);
    source.onChoice?.(n);
    return v;
  };
  // weak: which version a plain load reads. Exhaustive search offers the newest and the oldest
  // the side may read (the load satisfied as early as it could be); random search any of them.
  world.pickVersion = (n) => {
    if (quiet) return 0;
    const c = choose(CH_VERSION, wide ? n : 2, () => ((rng.u32() & 1) === 0 ? 0 : 1 + rng.int(n - 1)));
    return wide ? c : c * (n - 1);
  };
  const handover = (from: number): void => {
    const m = simMems[from];
    const n = drainMenuSize(sc.model, m.buf.length, wide);
    if (n < 2) { if (m.buf.length) m.drainAll(); return; }
    // Random: drain everything half the time (progress), otherwise any menu entry.
    const c = choose(CH_DRAIN, n, () => ((rng.u32() & 1) === 0 ? 0 : 1 + rng.int(n - 1)));
    const before = m.buf.length;
    applyDrain(m, c, () => choose(CH_BIT, 2, () => rng.int(2)));
    if (m.buf.length > 0) {
      const held = [...new Set(m.buf.map((p) => `${fieldName(gl, p.off)} = ${p.val}`))];
      note(from, `(not yet visible to the ${names[1 - from]}: ${held.slice(0, 3).join(', ')}${held.length > 3 ? ` +${held.length - 3}` : ''}; ${before - m.buf.length} of ${before} buffered stores drained)`);
    }
  };

  const sleeping: (null | { which: number; seen: number })[] = [null, null];
  const idle = [0, 0];
  let violation: SimViolation | null = null;
  let steps = 0;
  let quiet = false;
  let lastMove = 0;
  sides[0].start();
  sides[1].start();
  const fail = (rule: string, message: string, side: string): void => { violation ??= { rule, message, side }; };
  const check = (): void => {
    live.drain();
    if (live.stop && !violation) { const v = live.checker.violations[0]; fail(v.rule, v.message, 'checker'); }
    const d = refHook.compare(live.checker.violations[0]?.rule ?? null);
    if (d !== null && !violation) fail('REFERENCE_DISAGREES', d, 'reference');
  };
  // Preemption at publication points (one level deep): the other side runs a step in the middle of
  // this side's, exactly where a barrier sits — the interleavings ordering bugs need.
  let nested = false;
  world.preempt = (m) => {
    if (nested || quiet || violation) return;
    const me = m === simMems[0] ? 0 : 1;
    const other = 1 - me;
    if (sleeping[other] || (other === 1 && sides[0].finished)) return;
    if (choose(CH_PREEMPT, 2, () => ((rng.u32() & 255) < 64 ? 1 : 0)) === 0) return;
    remember(steps);
    note(me, `(preempted at a barrier: the ${names[other]} runs a step now)`);
    nested = true;
    try {
      handover(me);
      if (sides[other].step() > 0) lastMove = steps;
      steps++;
      remember(steps);
      handover(other);
    } finally { nested = false; }
  };
  let last = 0;
  let lastProgress = true;
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
        if (z && (bell.read(z.which) !== z.seen || timer(s) <= now)) {
          note(s, bell.read(z.which) !== z.seen ? `(woken by ${s === 0 ? 'an interrupt' : 'a kick'})` : '(woken: a parked fault resolved)');
          sleeping[s] = null;
          sides[s].afterWake();
        }
      }
      const runnable = [0, 1].filter((s) => !sleeping[s]);
      if (runnable.length === 0) {
        // Stores drain eventually; then nobody is left to ring a doorbell.
        world.drainAll();
        quiet = true;
        const pending = sides[0].hasWork() || sides[1].hasWork() || !sides[0].finished;
        quiet = false;
        if (pending) fail('LOST_WAKEUP', `both sides asleep with work pending (driver reclaimed ${sides[0].reclaimedCount} of ${sc.buffers}); no notification came`, 'both');
        break;
      }
      let s = runnable[0];
      if (runnable.length === 2) {
        const def = lastProgress ? last : 1 - last;
        const c = choose(CH_SIDE, 2, () => {
          if (sc.strategy === 'pct') {
            if (changes.has(steps)) { const top = prio[0] >= prio[1] ? 0 : 1; prio[top] = rng.int(2); }
            return (prio[0] >= prio[1] ? 0 : 1) === def ? 0 : 1;
          }
          return rng.int(2);
        });
        s = c === 0 ? def : 1 - def;
      }
      if (s !== last) handover(last);
      const n = sides[s].step();
      steps++;
      now += 0.005; // virtual ms: a 20 µs fault resolves four steps later
      last = s;
      lastProgress = n > 0;
      if (n > 0) lastMove = steps;
      if (n === 0) {
        if (++idle[s] >= 2 && sc.notify === 'wait') {
          const which = s === 0 ? 1 : 0; // the driver sleeps on the interrupt doorbell, the device on the kick doorbell
          const z = bell.read(which);
          if (sides[s].prepareSleep()) {
            sleeping[s] = { which, seen: z };
            note(s, `(sleeps until ${s === 0 ? 'an interrupt' : 'a kick'})`);
          }
          idle[s] = 0;
        }
        // PCT: a side that spins idle yields its priority.
        if (sc.strategy === 'pct' && runnable.length === 2) prio[s] = Math.min(prio[s], prio[1 - s]) - 1;
      } else idle[s] = 0;
      remember(steps);
      check();
    }
  } catch (e) {
    if (!isVqError(e)) throw e;
    fail(e.code, e.message, e.side);
  }
  remember(steps);
  if (!violation) { world.drainAll(); check(); }
  const ops = world.ops;
  // Where it ended (read quietly: no choices, no preemption).
  quiet = true;
  const end: SimEnd = { driver: sides[0].state(), device: sides[1].state(), queue: queueIndices(world, gl), last_progress_step: lastMove };
  quiet = false;
  if (!violation && !sides[0].finished && steps >= sc.maxSteps) {
    // Unfinished at the step limit: stuck (no progress over the last quarter) or busy in a cycle.
    const window = Math.max(16, sc.maxSteps >> 2);
    const stuck = steps - lastMove >= window;
    const where = `driver reclaimed ${sides[0].reclaimedCount} of ${sc.buffers} in ${steps} steps; ${Object.entries(end.queue).map(([k, v]) => `${k} ${v}`).join(', ')}`;
    fail(stuck ? 'STALL' : 'LIVELOCK', stuck
      ? `no side made progress in the last ${steps - lastMove} steps and the run cannot finish (${where})`
      : `the sides still make progress (last at step ${lastMove}) but the run does not finish (${where})`, 'both');
  }
  return {
    found: violation !== null, violation, steps, ops, reclaimed: sides[0].reclaimedCount, finished: sides[0].finished, tail, choices, kinds,
    preemptions: choices.reduce((a, c) => a + (c !== 0 ? 1 : 0), 0), replay: encodeReplay(sc, choices), end,
  };
}

/** The queue's indices and flags as memory holds them (split: avail/used idx and flags; packed: each slot's AVAIL/USED bits). */
function queueIndices(world: SimWorld, gl: import('../memory/guest.js').GuestLayout): Record<string, number> {
  const r = gl.ring as unknown as Record<string, { offset: number }> & { ring: string; queueSize: number };
  const q: Record<string, number> = {};
  if (r.ring === 'split') {
    q['avail.idx'] = world.read(r.avail.offset + 2, 2);
    q['used.idx'] = world.read(r.used.offset + 2, 2);
    q['avail.flags'] = world.read(r.avail.offset, 2);
    q['used.flags'] = world.read(r.used.offset, 2);
  } else {
    for (let i = 0; i < Math.min(r.queueSize, 16); i++) {
      const f = world.read(r.desc.offset + i * 16 + 14, 2);
      q[`desc[${i}].avail/used`] = ((f >>> 7) & 1) * 10 + (f >>> 15);
    }
  }
  return q;
}

/** Replay a string (or a decoded case) exactly. */
export function replay(s: string | { config: SimConfig; choices: number[] }): SimResult {
  const c = typeof s === 'string' ? decodeReplay(s) : s;
  return simulate(c.config, { prefix: c.choices });
}

/** Configuration a bug needs to show, on top of the user's. */
export function configFor(base: SimConfig): SimConfig {
  const b = base.bug ? bugByName(base.bug) : undefined;
  if (!b) return base;
  // A bug that needs IN_ORDER shows under both ordering features too (IN_ORDER's rules hold).
  const order = b.needs.order === undefined || (b.needs.order === 'in-order' && base.order === 'in-order,partial') ? base.order : b.needs.order;
  const segments = b.needs.segments !== undefined && base.segments < b.needs.segments ? b.needs.segments : base.segments;
  return { ...base, ring: b.needs.ring ?? base.ring, order, notify: b.needs.notify ?? base.notify, eventIdx: b.needs.eventIdx ?? base.eventIdx, segments };
}

/** What random and PCT search may vary per schedule (`explore --vary`). */
export const VARY_DIMS = ['ring', 'order', 'notify', 'event-idx', 'indirect', 'segments', 'queue-size'] as const;
export type VaryDim = (typeof VARY_DIMS)[number];

/**
 * The configuration of one schedule when `dims` vary: drawn from the schedule's seed (so the same
 * seed gives the same configuration), then fitted to the planted bug's needs and to what a queue
 * can hold. The replay string records the configuration drawn, so a replay needs no --vary.
 */
export function varyConfig(base: SimConfig, dims: readonly VaryDim[], seed: number): SimConfig {
  if (dims.length === 0) return base;
  const rng = new Rng(subSeed(seed, 11));
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const c: SimConfig = { ...base };
  const has = (d: VaryDim): boolean => dims.includes(d);
  if (has('ring')) c.ring = pick(['split', 'packed'] as const);
  if (has('order')) c.order = pick(['none', 'in-order', 'partial', 'in-order,partial'] as const);
  if (has('notify')) c.notify = pick(['poll', 'wait'] as const);
  if (has('event-idx')) c.eventIdx = rng.int(2) === 1;
  if (has('indirect')) c.indirect = rng.int(2) === 1;
  if (has('segments')) c.segments = pick([1, 1, 2, 3]);
  if (has('queue-size')) c.queueSize = pick([1, 2, 3, 4, 5, 8]);
  const v = configFor(c);
  // Split queues are powers of two; a chain needs as many slots as descriptors unless it goes indirect.
  if (v.ring === 'split' && (v.queueSize & (v.queueSize - 1)) !== 0) v.queueSize = 1 << Math.floor(Math.log2(v.queueSize));
  const slots = v.indirect && v.segments >= 2 ? 1 : v.segments;
  if (v.queueSize < slots || v.queueSize < v.segments) v.queueSize = v.ring === 'split' ? 1 << Math.ceil(Math.log2(v.segments)) : v.segments;
  return v;
}

export interface ExploreResult {
  found: boolean;
  bug: string | null;
  schedules: number;
  elapsed_ms: number;
  replay: string | null;
  violation: SimViolation | null;
  /** Exhaustive: every schedule within the preemption bound was run. */
  complete: boolean;
  /** Ended early by shouldStop. */
  stopped: boolean;
  result: SimResult | null;
}

export interface ExploreOptions {
  budgetMs: number;
  /** Exhaustive: at most this many non-default choices per schedule. */
  preemptionBound?: number;
  /** Stop after this many schedules (any strategy): a search whose extent does not depend on the machine's speed. */
  maxSchedules?: number;
  /** Checked before every schedule: true ends the search early (Ctrl-C in a stress campaign). */
  shouldStop?: () => boolean;
  /** Called about twice a second with the schedules run so far (a progress line). */
  onProgress?: (schedules: number, elapsedMs: number) => void;
  /** Random / PCT: configuration dimensions drawn per schedule (varyConfig). */
  vary?: readonly VaryDim[];
}

/**
 * Random / PCT: schedules with seeds seed, seed+1, … until a violation or the budget runs out.
 * Exhaustive: every choice sequence with at most `preemptionBound` non-default choices,
 * depth-first (choices past a prefix are 0, so each run extends exactly one new prefix).
 */
export function explore(base: SimConfig, opts: ExploreOptions | number): ExploreResult {
  const o: ExploreOptions = typeof opts === 'number' ? { budgetMs: opts } : opts;
  const t0 = performance.now();
  let lastTick = t0;
  const tick = (n: number): void => {
    if (!o.onProgress) return;
    const t = performance.now();
    if (t - lastTick >= 500) { lastTick = t; o.onProgress(n, t - t0); }
  };
  let stopped = false;
  const done = (found: SimResult | null, n: number, complete: boolean): ExploreResult => ({
    found: found !== null, bug: base.bug, schedules: n, elapsed_ms: Math.round(performance.now() - t0), replay: found?.replay ?? null,
    violation: found?.violation ?? null, complete, stopped, result: found,
  });
  const over = (): boolean => {
    if (o.shouldStop?.()) stopped = true;
    return stopped || performance.now() - t0 >= o.budgetMs;
  };
  const max = o.maxSchedules ?? Infinity;
  if (base.strategy !== 'exhaustive') {
    let n = 0;
    for (let seed = base.seed; n < max && !over(); seed++) {
      n++;
      tick(n);
      const r = simulate(varyConfig({ ...base, seed }, o.vary ?? [], seed));
      if (r.found) return done(r, n, false);
    }
    return done(null, n, false);
  }
  const bound = o.preemptionBound ?? 2;
  let prefix: number[] = [];
  let n = 0;
  // Alternatives per choice point are re-derived from the recorded run: menu sizes are not stored,
  // so keep them next to each run's choices.
  for (;;) {
    if (n >= max || over()) return done(null, n, false);
    const alts: number[] = [];
    const r = simulateCounting(base, prefix, alts);
    n++;
    tick(n);
    if (r.found) return done(r, n, false);
    // Next prefix: the deepest point with an untried alternative that the bound allows.
    let cost = 0;
    const costBefore: number[] = [];
    for (let i = 0; i < r.choices.length; i++) { costBefore.push(cost); if (r.choices[i] !== 0) cost++; }
    let next = -1;
    for (let i = r.choices.length - 1; i >= 0; i--) {
      if (r.choices[i] + 1 < alts[i] && costBefore[i] + 1 <= bound) { next = i; break; }
    }
    if (next < 0) return done(null, n, true);
    prefix = r.choices.slice(0, next);
    prefix.push(r.choices[next] + 1);
  }
}

/** simulate() that also records how many alternatives each choice point had. */
function simulateCounting(c: SimConfig, prefix: number[], alts: number[]): SimResult {
  return simulate(c, { prefix, onChoice: (n) => alts.push(n) });
}

/**
 * Shrink a failing case while it still fails with the same rule: drop the tail of the schedule,
 * zero non-default choices, then fewer buffers, a smaller queue, no faults. Returns the smallest.
 */
export function shrink(start: { config: SimConfig; choices: number[] }, budgetMs = 3000): { config: SimConfig; choices: number[]; result: SimResult; tries: number } {
  const t0 = performance.now();
  let best = start;
  let bestR = replay(best);
  if (!bestR.found) throw new VqError('BAD_CONFIG', 'config', 'shrink: the case does not fail');
  const rule = bestR.violation!.rule;
  let tries = 0;
  const attempt = (cand: { config: SimConfig; choices: number[] }): boolean => {
    if (performance.now() - t0 > budgetMs) return false;
    tries++;
    let r: SimResult;
    try { r = replay(cand); } catch { return false; }
    if (!r.found || r.violation?.rule !== rule) return false;
    // Keep only the choices the run used (a shorter run needs fewer).
    best = { config: cand.config, choices: trimZeros(r.choices) };
    bestR = r;
    return true;
  };
  // A stalled run: stop it just where STALL can be told (the step limit a quarter past the last
  // progress, at least 16 steps) — the choices after the stall only add length.
  const stallCut = (): number => { const last = bestR.end.last_progress_step; return Math.max(20, last + 16, Math.ceil((last * 4) / 3) + 1); };
  if (rule === 'STALL' && stallCut() < best.config.maxSteps) attempt({ config: { ...best.config, maxSteps: stallCut() }, choices: best.choices });
  for (let changed = true; changed && performance.now() - t0 < budgetMs;) {
    changed = false;
    // Non-default choices, last first: each one removed is one preemption or delayed store fewer.
    for (let i = best.choices.length - 1; i >= 0; i--) {
      if (best.choices[i] === 0) continue;
      const ch = best.choices.slice();
      ch[i] = 0;
      if (attempt({ config: best.config, choices: ch })) changed = true;
    }
    const c = best.config;
    const cands: SimConfig[] = [
      { ...c, buffers: Math.max(1, c.buffers >> 1) }, { ...c, buffers: c.buffers - 1 },
      { ...c, queueSize: c.ring === 'split' ? c.queueSize >> 1 : c.queueSize - 1 },
      { ...c, faultRate: 0 }, { ...c, maxSteps: Math.max(10, bestR.steps + 1) },
      ...(rule === 'STALL' ? [{ ...c, maxSteps: stallCut() }] : []),
    ];
    for (const cand of cands) {
      if (cand.buffers < 1 || cand.queueSize < 1 || JSON.stringify(cand) === JSON.stringify(c)) continue;
      if (attempt({ config: cand, choices: best.choices })) { changed = true; break; }
    }
  }
  return { ...best, result: bestR, tries };
}

const trimZeros = (xs: number[]): number[] => {
  let n = xs.length;
  while (n > 0 && xs[n - 1] === 0) n--;
  return xs.slice(0, n);
};
