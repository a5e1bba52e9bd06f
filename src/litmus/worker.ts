/**
 * One thread of a real litmus run (workers/litmus.ts): the shape's thread compiled to straight-line
 * JS (no interpreter between the accesses), run N times between two spin barriers; thread 0 tallies
 * both threads' registers and resets the locations between iterations.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LitmusOp, LitmusShape } from './shapes.js';
import { registersOf } from './shapes.js';

export type LitmusMode = 'plain' | 'atomics' | 'vqlab';

export interface LitmusInit {
  shape: LitmusShape;
  mode: LitmusMode;
  tid: 0 | 1;
  iterations: number;
  mem: SharedArrayBuffer;
  /** Int32 words: 0 barrier count, 1 barrier sense, 2 abort, 8.. registers (4 per thread). */
  ctl: SharedArrayBuffer;
  fence: SharedArrayBuffer;
  deadline: number;
}

const REG_BASE = 8;

/** The statements of one thread, for a mode: plain accesses, all-Atomics, or vqlab's AtomicsMemory mapping. */
export function compileThread(ops: LitmusOp[], locs: Record<string, number>, mode: LitmusMode, regIndex: (r: string) => number): string {
  const idx = (loc: string): number => locs[loc] >>> 1;
  return ops.map((o) => {
    const atomicSt = mode === 'atomics' || (mode === 'vqlab' && o.op === 'stRel');
    const atomicLd = mode === 'atomics' || (mode === 'vqlab' && o.op === 'ldAcq');
    switch (o.op) {
      case 'st': case 'stRel': return atomicSt ? `Atomics.store(u16, ${idx(o.loc)}, ${o.val});` : `u16[${idx(o.loc)}] = ${o.val};`;
      case 'ld': case 'ldAcq': return `r${regIndex(o.reg)} = ${atomicLd ? `Atomics.load(u16, ${idx(o.loc)})` : `u16[${idx(o.loc)}]`};`;
      case 'mb': return mode === 'plain' ? '' : 'Atomics.add(fence, 0, 0);';
    }
  }).join(' ');
}

export function litmusThreadMain(init: LitmusInit): void {
  const { shape, mode, tid, iterations } = init;
  const u16 = new Uint16Array(init.mem);
  const ctl = new Int32Array(init.ctl);
  const fence = new Int32Array(init.fence);
  const regs = registersOf(shape);
  const mine = shape.threads[tid].flatMap((o) => ('reg' in o ? [o.reg] : []));
  const body = compileThread(shape.threads[tid], shape.locs, mode, (r) => mine.indexOf(r));
  const decl = mine.map((_, k) => `let r${k} = 0;`).join(' ');
  const out = mine.map((_, k) => `ctl[${REG_BASE + tid * 4 + k}] = r${k};`).join(' ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const run = new Function('u16', 'fence', 'ctl', `${decl} ${body} ${out}`) as (u16: Uint16Array, fence: Int32Array, ctl: Int32Array) => void;
  const init0 = Object.entries(shape.init ?? {}).map(([l, v]) => [shape.locs[l] >>> 1, v] as const);
  const allLocs = Object.values(shape.locs).map((o) => o >>> 1);
  // Where each register of the shape is written: thread t's k-th register.
  const slot = regs.map((r) => { const t = shape.threads[0].some((o) => 'reg' in o && o.reg === r) ? 0 : 1; const ts = shape.threads[t].flatMap((o) => ('reg' in o ? [o.reg] : [])); return REG_BASE + t * 4 + ts.indexOf(r); });
  const counts = new Map<number, number>();
  let sense = 0;
  let spins = 0;
  const barrier = (): void => {
    sense ^= 1;
    if (Atomics.add(ctl, 0, 1) === 1) { Atomics.store(ctl, 0, 0); Atomics.store(ctl, 1, sense); return; }
    while (Atomics.load(ctl, 1) !== sense) {
      if ((++spins & 0xfffff) === 0 && (Atomics.load(ctl, 2) !== 0 || Date.now() > init.deadline)) throw new Error('litmus: the other thread stopped (barrier timeout)');
    }
  };
  const reset = (): void => {
    for (const i of allLocs) u16[i] = 0;
    for (const [i, v] of init0) u16[i] = v;
  };
  if (tid === 0) reset();
  for (let i = 0; i < iterations; i++) {
    barrier();
    run(u16, fence, ctl);
    barrier();
    if (tid === 0) {
      let code = 0;
      for (let k = 0; k < slot.length; k++) code = code * 65536 + ctl[slot[k]];
      counts.set(code, (counts.get(code) ?? 0) + 1);
      reset();
    }
  }
  parentPort?.postMessage({ type: 'done', counts: [...counts.entries()] });
}

if (parentPort && workerData && (workerData as { litmus?: boolean }).litmus) {
  try { litmusThreadMain(workerData as LitmusInit); } catch (e) {
    Atomics.store(new Int32Array((workerData as LitmusInit).ctl), 2, 1);
    parentPort.postMessage({ type: 'error', message: (e as Error).message });
  }
}
