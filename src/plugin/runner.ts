/**
 * The loop every side runs in its worker thread — vqlab's own and a user's alike: step while there
 * is work; when idle, spin (poll mode) or sleep on the doorbell (wait mode) after enabling
 * notifications, a full barrier and a re-check (the side's prepareSleep). Every sleep has a timeout;
 * a sleep that times out with work pending is a lost wake-up only once the peer has finished a step
 * since (or sleeps) and still no notification came, notifications enabled all along: a peer
 * descheduled between publishing and its notification check (a loaded machine) is not blamed.
 * Nothing here waits forever (the harness's stall bound ends a run whose peer never steps again).
 */
import type { Side, SideContext } from './contract.js';
import { CTL_DEVICE_STATE, CTL_DEVICE_STEPS, CTL_DRIVER_STATE, CTL_DRIVER_STEPS, D_SLEEPS, SideState, V_SLEEPS, type Control } from '../harness/control.js';

let relaxSink = 0;

/**
 * The idle back-off (poll mode, and wait mode's spin before sleeping): `n` iterations of a little register arithmetic (~1 ns each). An idle side
 * that polls back to back keeps pulling the ring's index line (split avail.idx / used.idx share a
 * line with the first ring entries) out of the busy side's cache while it writes; a pause of a few
 * hundred ns between polls is short next to a batch of work and leaves the line alone. Not
 * Atomics.pause (Node 24 only): its cost per call differs tenfold between CPUs.
 */
function relax(n: number): void {
  let x = relaxSink;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 31) + i) | 0;
  relaxSink = x;
}

export function runSide(side: Side, ctx: SideContext, control: Control): void {
  const device = ctx.role === 'device';
  const stateWord = device ? CTL_DEVICE_STATE : CTL_DRIVER_STATE;
  const stepsWord = device ? CTL_DEVICE_STEPS : CTL_DRIVER_STEPS;
  const peerSteps = device ? CTL_DRIVER_STEPS : CTL_DEVICE_STEPS;
  const peerState = device ? CTL_DRIVER_STATE : CTL_DEVICE_STATE;
  const ctl = control.ctl;
  let steps = 0;
  const waitOn = device ? ctx.DB_KICK : ctx.DB_IRQ;
  const sleepsIdx = device ? V_SLEEPS : D_SLEEPS;
  const db = ctx.doorbell;
  const cfg = ctx.config;
  const report = ctx.report;
  // A polling device checks parked faults on every idle round; everyone else spins a while first
  // (in wait mode: spinBeforeWait rounds and spinUs µs, relaxing between polls as in poll mode).
  const spin = db.mode === 'poll' ? (device ? 1 : Infinity) : cfg.spinBeforeWait;
  const backoff = cfg.pollBackoff ?? 0;
  const spinMs = (cfg.spinUs ?? 0) / 1000;
  control.setState(stateWord, SideState.Running);
  side.start();
  let idle = 0;
  let idleSince = 0;
  for (;;) {
    if (ctx.stopRequested()) break;
    // Tracing: each round's records carry the round's time. Stamped here, for every side alike (a
    // user's module need not know about it); written only before a round's first record.
    report.time();
    const n = side.step();
    steps = (steps + 1) | 0;
    ctl[stepsWord] = steps;
    if (n !== 0) { idle = 0; continue; }
    if (side.finished) break;
    if (backoff > 0) relax(backoff);
    if (idle === 0 && spinMs > 0 && db.mode === 'wait') idleSince = ctx.clock();
    if (++idle < spin) continue;
    if (db.mode === 'poll') { idle = 0; continue; }
    // Wait mode: sleep only after spinning both `spin` rounds and spinUs.
    if (spinMs > 0 && ctx.clock() - idleSince < spinMs) continue;
    idle = 0;
    // Wait mode: never sleep past the next parked fault's resolve time.
    let timeout = cfg.wakeTimeoutMs;
    let boundByFault = false;
    const at = side.nextResolveAt ?? Infinity;
    if (at !== Infinity) {
      const until = at - ctx.clock();
      if (until <= 0) continue;
      if (until < timeout) { timeout = until; boundByFault = true; }
    }
    const seen = db.read(waitOn);
    if (!side.prepareSleep()) continue;
    control.setState(stateWord, SideState.Waiting);
    ctx.report.stats[sleepsIdx]++;
    ctx.report.publish();
    const woke = db.wait(waitOn, seen, timeout);
    let lost = false;
    if (!woke && !boundByFault && !ctx.stopRequested() && side.hasWork()) {
      // Work is there and no notification came. The peer may not have made its notification
      // decision yet (descheduled between publishing and reading our flags): keep notifications
      // enabled and wait until it has finished a step since, or sleeps, or is done.
      const s0 = Atomics.load(ctl, peerSteps);
      for (;;) {
        if (db.wait(waitOn, seen, cfg.wakeTimeoutMs)) break; // notified, late
        if (ctx.stopRequested()) break;
        const ps = Atomics.load(ctl, peerState); // asleep, done or failed: between steps (stalled-on-fault is within one)
        if (Atomics.load(ctl, peerSteps) !== s0 || ps === SideState.Waiting || ps === SideState.Done || ps === SideState.Failed) { lost = true; break; }
      }
    }
    side.afterWake();
    control.setState(stateWord, SideState.Running);
    if (lost) side.lostWakeup();
  }
  side.finish();
  control.setState(stateWord, SideState.Done);
}
