/**
 * The side contract: what a driver or a device is given and what it must do. vqlab's own split and
 * packed sides are built through exactly this (src/plugin/builtin.ts); a user's module gets the same
 * context, is run by the same loop (src/plugin/runner.ts) and is checked by the same live checker.
 *
 * A module is an ES module exporting `createDevice(ctx)` and/or `createDriver(ctx)` that return a
 * Side. It needs no imports: the context carries memory, layout, features, constants, the fault
 * model, the payload patterns and the reporter. See examples/ and docs/sides.md.
 */
import type { MemoryOps } from '../memory/ops.js';
import type { Doorbell } from '../memory/doorbell.js';
import type { GuestLayout } from '../memory/guest.js';
import type { Negotiated } from '../spec/features.js';
import type { RunConfig } from '../harness/config.js';
import type { FaultModel } from '../device/faults.js';
import type { Reporter } from './reporter.js';
import type * as spec from '../spec/constants.js';
import type { vringNeedEvent } from '../spec/layout.js';
import type { checkPattern, fillPattern } from '../device/payload.js';

export type Role = 'driver' | 'device';

export interface SideContext {
  readonly role: Role;
  /** Guest memory, through the barrier layer: use st16Release to publish, ld16Acquire to consume, mb before notification checks. */
  readonly mem: MemoryOps;
  /** Where the queue's parts, the indirect tables and the buffer pool are (`guest.ring` is the split or packed layout). */
  readonly guest: GuestLayout;
  readonly features: Negotiated;
  readonly queueSize: number;
  readonly config: RunConfig;
  /** Kick / interrupt doorbells (transport registers): ring(DB_KICK) from the driver, ring(DB_IRQ) from the device. */
  readonly doorbell: Doorbell;
  readonly DB_KICK: number;
  readonly DB_IRQ: number;
  /** Milliseconds (real time in threads, virtual time in the simulator). */
  readonly clock: () => number;
  /** Device: the run's seeded page-fault model (`faults.next()` per buffer, `faults.latencyMs`). */
  readonly faults: FaultModel;
  /** Spec constants (flags, offsets) and vring_need_event. */
  readonly spec: typeof spec & { vringNeedEvent: typeof vringNeedEvent };
  /** The verifiable data patterns vqlab's driver writes and checks (seq = position in available order). */
  readonly payload: { fill: typeof fillPattern; check: typeof checkPattern; SALT_OUT: number; SALT_IN: number };
  /** Everything the checker and the figures need: used entries, avail, reclaims, faults, notifications. */
  readonly report: Reporter;
  /** The harness asked this side to stop. */
  stopRequested(): boolean;
  /** Device: the driver has reclaimed every buffer (exit once nothing is parked). */
  driverDone(): boolean;
}

export interface Side {
  /** Once, before the first step (e.g. disable the other side's notifications while busy). */
  start(): void;
  /** One round of work; returns how much was done (0 = idle). Never blocks. */
  step(): number;
  /** Is there work the other side has published (used entries / available buffers)? */
  hasWork(): boolean;
  /** Before sleeping: enable notifications, full barrier, re-check. True = safe to sleep. */
  prepareSleep(): boolean;
  /** After a sleep: back to busy mode (notifications disabled). */
  afterWake(): void;
  /** Record a lost wake-up (the runner calls it after a sleep timed out with work pending). */
  lostWakeup(): void;
  /** Once, at the end: publish what is left. */
  finish(): void;
  /** Done: driver = every buffer reclaimed; device = driver done and nothing parked. */
  readonly finished: boolean;
  /** Device: the earliest time (clock ms) something parked becomes ready (Infinity if none). */
  readonly nextResolveAt?: number;
  /** Queue state for failure reports (indices, wrap counters, ...). */
  state(): Record<string, number | boolean>;
}

export interface SideModule {
  createDevice?(ctx: SideContext): Side;
  createDriver?(ctx: SideContext): Side;
}
