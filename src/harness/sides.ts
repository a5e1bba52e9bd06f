/**
 * Building each side from the shared regions: used by the worker entry points, and by anything
 * that runs a side in-thread over another MemoryOps (the simulator, tests).
 */
import { AtomicsMemory, type MemoryOps } from '../memory/ops.js';
import { Doorbells, type Doorbell } from '../memory/doorbell.js';
import { guestLayout, type GuestLayout } from '../memory/guest.js';
import { negotiate, type Negotiated } from '../spec/features.js';
import { EventLog } from '../check/events.js';
import { Control } from './control.js';
import type { RunConfig } from './config.js';
import type { VirtioDriver } from '../driver/driver.js';
import type { VirtioDevice } from '../device/device.js';
import { subSeed } from '../util/rng.js';
import { DB_IRQ, DB_KICK } from '../memory/doorbell.js';
import { FaultModel } from '../device/faults.js';
import * as spec from '../spec/constants.js';
import { vringNeedEvent } from '../spec/layout.js';
import { checkPattern, fillPattern, SALT_IN, SALT_OUT } from '../device/payload.js';
import { Reporter } from '../plugin/reporter.js';
import type { Role, SideContext } from '../plugin/contract.js';
import { createBuiltinDevice, createBuiltinDriver } from '../plugin/builtin.js';
import { isWasmPath, PAGE, QUEUE_BASE } from '../wasm/abi.js';

/** Everything the two sides share, as plain transferable data (SharedArrayBuffers are shared, not copied). */
export interface SharedRegions {
  /**
   * Guest memory: a shared WebAssembly.Memory, so that a WebAssembly side can run on it directly
   * (an existing SharedArrayBuffer cannot become wasm memory). `guest` is its buffer, which every
   * JavaScript side views; it is a whole number of 64 KiB pages, so the sides take guest memory's
   * end from the layout (totalSize), not from the buffer.
   */
  memory: WebAssembly.Memory;
  guest: SharedArrayBuffer;
  fence: SharedArrayBuffer;
  doorbells: SharedArrayBuffer;
  control: SharedArrayBuffer;
  driverLog: SharedArrayBuffer;
  deviceLog: SharedArrayBuffer;
}

export interface SideInit {
  cfg: RunConfig;
  /** Negotiated feature bits, hex (bigint does not cross structured clone everywhere). */
  features: string;
  shared: SharedRegions;
  /** Wall-clock ms (performance.timeOrigin + now) at setup: trace timestamps count from here. */
  epochMs?: number;
  /** User side modules (absolute paths) to run instead of vqlab's own driver / device. */
  modules?: { driver?: string; device?: string };
}

export function createShared(cfg: RunConfig, gl: GuestLayout): SharedRegions {
  const records = cfg.check ? cfg.eventLogRecords : 2;
  const pages = Math.ceil(gl.totalSize / PAGE);
  // maximum = initial: nothing grows guest memory, and a wasm module's own declared maximum (4 GiB
  // as include/vqlab.h links it) must only be at least this.
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as WebAssembly.MemoryDescriptor);
  return {
    memory,
    guest: memory.buffer as unknown as SharedArrayBuffer,
    fence: new SharedArrayBuffer(64),
    doorbells: Doorbells.create(cfg.notify).buffer,
    control: Control.create().buffer,
    driverLog: EventLog.create(records).buffer,
    deviceLog: EventLog.create(records).buffer,
  };
}

export function featuresOf(init: SideInit): Negotiated {
  const bits = BigInt(init.features);
  return negotiate(bits, bits);
}

/** A run with a WebAssembly side keeps guest memory below QUEUE_BASE for the modules' private regions (include/vqlab.h). */
export const hasWasmSide = (cfg: Pick<RunConfig, 'driverModule' | 'deviceModule'>): boolean => isWasmPath(cfg.driverModule) || isWasmPath(cfg.deviceModule);

export function guestLayoutOf(cfg: RunConfig): GuestLayout {
  return guestLayout({ ring: cfg.ring, queueSize: cfg.queueSize, segments: cfg.segments, segmentBytes: cfg.segmentBytes, indirect: cfg.indirect, base: hasWasmSide(cfg) ? QUEUE_BASE : 0 });
}

/**
 * What surrounds a side besides guest memory. Threads use the defaults (Atomics doorbells, the
 * real clock, a busy-wait stall); the simulator and one-thread tests pass their own.
 */
export interface SideEnv {
  doorbell?: Doorbell;
  /** Milliseconds. */
  clock?: () => number;
  /** Device only: IN_ORDER head-of-line stall until a time. */
  stallUntil?: (t: number) => void;
}

/** The context a side is built from (src/plugin/contract.ts): the same for vqlab's sides and a user's. */
// Each side's full barrier is a locked RMW on a line of its own: on x86 any locked instruction is a
// full fence, and in the JS model every seq-cst access is in one total order whatever its location.
// A fence word shared by both sides would move a cache line between the cores on every barrier.
export function sideContext(init: SideInit, role: Role, mem: MemoryOps = guestMemory(init), env: SideEnv = {}): SideContext & { control: Control; stallUntil: (t: number) => void } {
  const { cfg } = init;
  const control = new Control(init.shared.control);
  const events = new EventLog(role === 'driver' ? init.shared.driverLog : init.shared.deviceLog, cfg.check);
  const stop = (): boolean => control.stopRequested();
  const clock = env.clock ?? ((): number => performance.now());
  return {
    role,
    mem,
    guest: guestLayoutOf(cfg),
    features: featuresOf(init),
    queueSize: cfg.queueSize,
    config: cfg,
    doorbell: env.doorbell ?? new Doorbells(init.shared.doorbells, cfg.notify),
    DB_KICK,
    DB_IRQ,
    clock,
    faults: new FaultModel({ rate: cfg.faultRate, latencyUs: cfg.faultLatencyUs, seed: subSeed(cfg.seed, 1) }),
    spec: { ...spec, vringNeedEvent },
    payload: { fill: fillPattern, check: checkPattern, SALT_OUT, SALT_IN },
    report: new Reporter(events, role === 'driver' ? control.driver : control.device, stop, cfg.traceOut !== '', init.epochMs ?? 0),
    stopRequested: stop,
    driverDone: () => control.driverDone(),
    control,
    stallUntil: env.stallUntil ?? ((t: number): void => { while (performance.now() < t) if (control.stopRequested()) return; }),
  };
}

/** The real memory layer over guest memory, ending where the layout ends; a fence word of its own (see sideContext). */
export function guestMemory(init: SideInit): AtomicsMemory {
  return new AtomicsMemory(init.shared.guest, new SharedArrayBuffer(64), guestLayoutOf(init.cfg).totalSize);
}

/** vqlab's own driver, built through the side contract. */
export function buildDriver(init: SideInit, mem?: MemoryOps, env: SideEnv = {}): VirtioDriver {
  return createBuiltinDriver(sideContext(init, 'driver', mem, env));
}

/** vqlab's own device, built through the side contract. */
export function buildDevice(init: SideInit, mem?: MemoryOps, env: SideEnv = {}): VirtioDevice {
  return createBuiltinDevice(sideContext(init, 'device', mem, env));
}
