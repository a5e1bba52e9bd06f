/** The body of a side's worker thread: build the side (vqlab's or a user module's), wait for GO, run, report. */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { guestLayoutOf, guestMemory, sideContext, type SideInit } from './sides.js';
import { readFileSync } from 'node:fs';
import { isWasmPath, setWasmCompiler } from '../wasm/abi.js';
import { createWasmSide } from '../wasm/side.js';
import { bugByName } from '../sim/bugs.js';
import { CTL_DEVICE_STATE, CTL_DRIVER_STATE, CTL_GO, SideState } from './control.js';
import { isVqError, VqError } from '../errors.js';
import { VirtioDriver } from '../driver/driver.js';
import { createBuiltinDevice, createBuiltinDriver } from '../plugin/builtin.js';
import { runSide } from '../plugin/runner.js';
import type { Side, SideModule } from '../plugin/contract.js';

import type { Role } from '../plugin/contract.js';
import type { TestHooks } from './config.js';

/** Test-only: wrap a side's step() so it misbehaves after some work (cfg.testHooks; never in real runs). */
function withTestFault(s: Side, h: TestHooks): Side {
  const step = s.step.bind(s);
  let work = 0;
  s.step = (): number => {
    if (work >= h.afterBuffers) {
      switch (h.fault) {
        case 'throw': throw new Error(`test hook: ${h.side} throws after ${work} buffers`);
        case 'exit': process.exit(h.exitCode ?? 3);
        // eslint-disable-next-line no-fallthrough
        case 'hang': for (;;) { /* never looks at the stop flag: only terminate() ends this */ }
        case 'idle': return 0;
      }
    }
    const n = step();
    work += n;
    return n;
  };
  return s;
}

export interface SideDone {
  type: 'done';
  side: Role;
  elapsedMs: number;
  state: Record<string, number | boolean>;
  /** vqlab's driver only: latency histogram, sparse [bucket, count] pairs. */
  latency?: { buckets: [number, number][]; total: number; max: number };
  /** vqlab's driver only: the run's second half (warm-up excluded), buffers and ms. */
  steady?: { buffers: number; ms: number } | null;
  /** vqlab's driver only: its progress marks (the first reclaim, then each sixteenth of the run). */
  progress?: { reclaimed: number; ms: number }[];
}

export interface SideFailed {
  type: 'error';
  side: Role;
  error: { code: string; side: string; message: string; details: Record<string, unknown> };
  state: Record<string, number | boolean> | null;
}

/** Load a user's side module and create its side; a clear typed error if it does not fit the contract. */
async function loadModuleSide(path: string, role: Role, ctx: Parameters<NonNullable<SideModule['createDevice']>>[0]): Promise<Side> {
  let mod: SideModule;
  try {
    mod = (await import(pathToFileURL(path).href)) as SideModule;
  } catch (e) {
    throw new VqError('BAD_CONFIG', 'config', `cannot load ${role} module ${path}: ${(e as Error).message}`);
  }
  const create = role === 'device' ? mod.createDevice : mod.createDriver;
  if (typeof create !== 'function') {
    throw new VqError('BAD_CONFIG', 'config', `${path} does not export create${role === 'device' ? 'Device' : 'Driver'}(ctx)`);
  }
  const side = create(ctx);
  for (const m of ['start', 'step', 'hasWork', 'prepareSleep', 'afterWake', 'lostWakeup', 'finish', 'state'] as const) {
    if (typeof (side as unknown as Record<string, unknown>)?.[m] !== 'function') {
      throw new VqError('BAD_CONFIG', 'config', `the ${role} from ${path} has no ${m}() (see the side contract in the README)`);
    }
  }
  return side;
}

export async function sideWorkerMain(role: Role): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('vqlab worker entry point started outside a worker thread');
  const init = workerData as SideInit;
  const bug = init.cfg.plantBug ? bugByName(init.cfg.plantBug) : undefined;
  // A planted bug (vqlab run --bug) wraps the real memory layer of its side, or patches the side
  // once built (below); none: no wrapper.
  const ctx = bug?.side === role && bug.wrap
    ? sideContext(init, role, bug.wrap(guestMemory(init), guestLayoutOf(init.cfg)))
    : sideContext(init, role);
  const control = ctx.control;
  const stateWord = role === 'driver' ? CTL_DRIVER_STATE : CTL_DEVICE_STATE;
  let s: Side | null = null;
  try {
    const modulePath = role === 'driver' ? init.modules?.driver : init.modules?.device;
    if (modulePath && isWasmPath(modulePath)) {
      // Before any wasm compiles in this process (abi.ts: the Liftoff workaround).
      setWasmCompiler(init.cfg.wasmBaseline === true);
      s = await createWasmSide(ctx, init.shared.memory, new Uint8Array(readFileSync(modulePath)), modulePath);
    } else {
      s = modulePath ? await loadModuleSide(modulePath, role, ctx) : role === 'driver' ? createBuiltinDriver(ctx) : createBuiltinDevice(ctx);
      if (bug?.patch && bug.side === role && !modulePath) bug.patch(s as Parameters<NonNullable<typeof bug.patch>>[0]);
    }
    if (init.cfg.testHooks?.side === role) s = withTestFault(s, init.cfg.testHooks);
    port.postMessage({ type: 'ready', side: role });
    while (Atomics.load(control.ctl, CTL_GO) === 0 && !control.stopRequested()) Atomics.wait(control.ctl, CTL_GO, 0, 100);
    const t0 = performance.now();
    runSide(s, ctx, control);
    const elapsedMs = performance.now() - t0;
    const msg: SideDone = { type: 'done', side: role, elapsedMs, state: s.state() };
    if (s instanceof VirtioDriver) {
      const h = s.latency;
      const buckets: [number, number][] = [];
      h.counts.forEach((c, i) => { if (c > 0) buckets.push([i, c]); });
      msg.latency = { buckets, total: h.total, max: h.max };
      msg.steady = s.steady();
      msg.progress = s.progress();
    }
    port.postMessage(msg);
  } catch (e) {
    control.setState(stateWord, SideState.Failed);
    let state: Record<string, number | boolean> | null = null;
    try { state = s ? s.state() : null; } catch { /* the state itself may be what is broken */ }
    const error = isVqError(e)
      ? { code: e.code, side: e.side, message: e.message, details: e.details }
      : { code: 'WORKER_DIED', side: role, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), details: { stack: e instanceof Error ? e.stack : undefined } };
    const msg: SideFailed = { type: 'error', side: role, error, state };
    port.postMessage(msg);
  }
}
