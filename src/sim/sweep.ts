/**
 * The unfinished-schedule sweep: random / PCT schedules of the correct queue over every ring ×
 * order × notify mode and memory model, counting the schedules that end unfinished (STALL /
 * LIVELOCK) and any other finding. On a correct queue both counts are 0, which is what makes an
 * unfinished schedule a finding rather than noise. `node scripts/sim-sweep.mjs` prints it.
 */
import { DEFAULT_SIM, explore, type SimConfig, type Strategy } from './sim.js';
import type { MemoryModel } from './memory.js';

export interface SweepOptions {
  /** Schedules per row (each row: one ring, order, notify, model and strategy). */
  schedules: number;
  models?: MemoryModel[];
  strategies?: Exclude<Strategy, 'exhaustive'>[];
  /** First seed of every row. */
  seed?: number;
}

export interface SweepRow { ring: string; order: string; notify: string; model: string; strategy: string; schedules: number; finding: string | null; replay: string | null }

export function sweepUnfinished(o: SweepOptions): { rows: SweepRow[]; total: number; unfinished: number; findings: SweepRow[] } {
  const rows: SweepRow[] = [];
  for (const ring of ['split', 'packed'] as const) for (const order of ['none', 'in-order', 'partial', 'in-order,partial'] as const) for (const notify of ['poll', 'wait'] as const) {
    for (const model of o.models ?? ['tso', 'relaxed', 'weak']) for (const strategy of o.strategies ?? ['random']) {
      const c: SimConfig = { ...DEFAULT_SIM, ring, order, notify, eventIdx: notify === 'wait', model, strategy, seed: o.seed ?? 1, queueSize: ring === 'packed' ? 3 : 4 };
      const r = explore(c, { budgetMs: Infinity, maxSchedules: o.schedules });
      rows.push({ ring, order, notify, model, strategy, schedules: r.schedules, finding: r.violation?.rule ?? null, replay: r.replay });
    }
  }
  const findings = rows.filter((r) => r.finding !== null);
  return {
    rows, total: rows.reduce((a, r) => a + r.schedules, 0), findings,
    unfinished: findings.filter((r) => r.finding === 'STALL' || r.finding === 'LIVELOCK').length,
  };
}
