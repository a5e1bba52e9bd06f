import type { BenchReport, CellResult, Stat } from '../../src/bench/matrix.js';
import type { OrderMode, RingKind } from '../../src/spec/features.js';

// A hand-made bench report (no benchmark is run): for the chart and CLI tests.
const st = (m: number): Stat => ({ median: m, min: m * 0.9, max: m * 1.1 });
function cell(ring: RingKind, order: OrderMode, faultRate: number, faultLatencyUs: number, extra: Partial<CellResult['config']> = {}): CellResult {
  const base = order === 'none' ? 1e6 : order === 'in-order' ? 2e6 : 3e6;
  return {
    label: `${ring} ${order} p=${faultRate} L=${faultLatencyUs}µs q=64 ${extra.notify ?? 'poll'}`,
    config: { ring, order, faultRate, faultLatencyUs, queueSize: 64, notify: 'poll', ...extra }, command: 'vqlab run …', runs: 3,
    buffers_per_s: st(base * (1 - faultRate * 5)), latency_p50_us: 10, latency_p99_us: 100 + faultRate * 1e4 + (order === 'in-order' ? 777 : 0),
    latency_max_us: 9000, used_entries_per_buffer: order === 'none' ? 1 : 0.0156 + faultRate, kicks_per_1000: 0, interrupts_per_1000: 0,
    stall_ms: 0, violations: 0, of_ceiling: 0.1, vs_ringbuf: 0.5,
  };
}
export function tinyReport(latencies = [20]): BenchReport {
  const cells: CellResult[] = [];
  for (const ring of ['split', 'packed'] as const) for (const l of latencies) for (const p of [0, 0.05]) for (const o of ['none', 'in-order', 'partial'] as const) {
    if (p === 0 && l !== latencies[0]) continue;
    cells.push(cell(ring, o, p, l));
  }
  cells.push(cell('split', 'in-order', 0, latencies[0], { check: false }));
  cells.push(cell('split', 'in-order', 0, latencies[0], { notify: 'wait' }));
  return {
    machine: { cpus: 2, model: 'Test CPU', node: 'v20.0.0', platform: 'linux x64' }, command: 'vqlab bench --test', seed: 1,
    plan: { rings: ['split', 'packed'], orders: ['none', 'in-order', 'partial'], faultRates: [0, 0.05], faultLatenciesUs: latencies, queueSizes: [64], notify: ['poll'], buffers: 3000, repeat: 3, seed: 1, extras: true, peerMessages: 1000 },
    peers: { spsc: { per_s: st(8e6), bad: 0 }, 'spsc-batch32': { per_s: st(2e7), bad: 0 }, ringbuf: { per_s: st(4e6), bad: 0 }, pingpong: { per_s: st(5e5), bad: 0 } },
    cells, elapsed_ms: 1234,
  };
}

