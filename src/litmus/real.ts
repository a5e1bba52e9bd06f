/**
 * Real litmus runs: the two threads of a shape in two workers over one SharedArrayBuffer, N
 * iterations, counting each outcome — what this machine and this JS engine actually reorder —
 * next to the outcomes the simulator's models allow (src/sim/litmus.ts).
 */
import { Worker } from 'node:worker_threads';
import { workerPath } from '../harness/run.js';
import { VqError } from '../errors.js';
import { LITMUS_BYTES, outcomeKey, registersOf, targetKey, type LitmusShape } from './shapes.js';
import type { LitmusInit, LitmusMode } from './worker.js';
import { allowedOutcomes, programFor } from '../sim/litmus.js';
import { MEMORY_MODELS, type MemoryModel } from '../sim/memory.js';

export interface LitmusCount {
  shape: string;
  mode: LitmusMode;
  iterations: number;
  elapsed_ms: number;
  outcomes: Record<string, number>;
  target: string;
  target_count: number;
  /** Models (for the program as this mode runs it) that allow the target outcome. */
  allowed_by: MemoryModel[];
  /** Outcomes seen that even the weakest model (weak) forbids for this program. */
  unexpected: string[];
}

const MODELS: readonly MemoryModel[] = MEMORY_MODELS;

export async function runLitmus(shape: LitmusShape, mode: LitmusMode, iterations: number, timeoutMs: number): Promise<LitmusCount> {
  const mem = new SharedArrayBuffer(LITMUS_BYTES);
  const ctl = new SharedArrayBuffer(64);
  const fence = new SharedArrayBuffer(64);
  const deadline = Date.now() + timeoutMs;
  const path = workerPath('litmus');
  const t0 = performance.now();
  const workers: Worker[] = [];
  const got: { counts: [number, number][] } = { counts: [] };
  try {
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      const timer = setTimeout(() => { Atomics.store(new Int32Array(ctl), 2, 1); reject(new VqError('TIMEOUT', 'harness', `litmus ${shape.name} (${mode}) did not finish in ${timeoutMs} ms`)); }, timeoutMs);
      for (const tid of [0, 1] as const) {
        const init: LitmusInit & { litmus: true } = { litmus: true, shape, mode, tid, iterations, mem, ctl, fence, deadline };
        const w = new Worker(path, { workerData: init });
        workers.push(w);
        w.on('message', (m: { type: string; counts?: [number, number][]; message?: string }) => {
          if (m.type === 'error') { clearTimeout(timer); reject(new VqError('WORKER_DIED', 'harness', `litmus ${shape.name} thread ${tid}: ${m.message}`)); return; }
          if (tid === 0) got.counts = m.counts ?? [];
          if (++done === 2) { clearTimeout(timer); resolve(); }
        });
        w.on('error', (e) => { clearTimeout(timer); Atomics.store(new Int32Array(ctl), 2, 1); reject(new VqError('WORKER_DIED', 'harness', `litmus ${shape.name} thread ${tid}: ${e.message}`)); });
        w.on('exit', (code) => { if (code !== 0 && done < 2) { clearTimeout(timer); reject(new VqError('WORKER_DIED', 'harness', `litmus ${shape.name} thread ${tid} exited with ${code}`)); } });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const elapsed = performance.now() - t0;
  const regs = registersOf(shape);
  const outcomes: Record<string, number> = {};
  for (const [code, n] of got.counts) {
    const vals: number[] = [];
    let c = code;
    for (let k = regs.length - 1; k >= 0; k--) { vals[k] = c % 65536; c = Math.floor(c / 65536); }
    outcomes[outcomeKey(regs, vals)] = n;
  }
  const program = programFor(shape, mode);
  const target = targetKey(shape);
  const weakest = allowedOutcomes(program, 'weak');
  return {
    shape: shape.name, mode, iterations, elapsed_ms: Math.round(elapsed), outcomes, target, target_count: outcomes[target] ?? 0,
    allowed_by: MODELS.filter((m) => allowedOutcomes(program, m).has(target)),
    unexpected: Object.keys(outcomes).filter((o) => !weakest.has(o)),
  };
}
