/**
 * A WebAssembly side in its worker: the module instantiated on guest memory (the run's shared
 * WebAssembly.Memory), its imports bound to the side's context (doorbells, clock, fault model,
 * data patterns, reporter), and its exports wrapped as a Side for the common runner. Checked before
 * it runs by inspectWasmSide (abi.ts); here it is given its stack and its config block.
 */
import type { Side, SideContext } from '../plugin/contract.js';
import type { Control } from '../harness/control.js';
import { CTL_DRIVER_DONE, D_LOST_WAKEUPS, V_LOST_WAKEUPS } from '../harness/control.js';
import { VqError } from '../errors.js';
import { ABI_VERSION, CONFIG_BYTES, CONFIG_FIELDS, REGIONS, type ConfigField } from './abi.js';
import { segmentSplit } from '../harness/config.js';

type Ctx = SideContext & { control: Control };

/** The config block's values for this side (struct vqlab_config). */
export function configWords(ctx: SideContext, region: { start: number; end: number }): Record<ConfigField, number> {
  const cfg = ctx.config;
  const g = ctx.guest;
  const f = ctx.features;
  const L = g.ring;
  const split = L.ring === 'split';
  const { readable, writable } = segmentSplit(cfg.segments);
  return {
    abi_version: ABI_VERSION,
    role: ctx.role === 'driver' ? 0 : 1,
    ring: split ? 0 : 1,
    queue_size: ctx.queueSize,
    features_lo: Number(f.bits & 0xffffffffn),
    features_hi: Number((f.bits >> 32n) & 0xffffffffn),
    order: f.order === 'none' ? 0 : f.order === 'in-order' ? 1 : 2,
    event_idx: f.eventIdx ? 1 : 0,
    indirect: f.indirect ? 1 : 0,
    desc: L.desc.offset,
    avail: split ? L.avail.offset : 0,
    used: split ? L.used.offset : 0,
    used_event: split ? L.usedEvent.offset : 0,
    avail_event: split ? L.availEvent.offset : 0,
    driver_event: split ? 0 : L.driverEvent.offset,
    device_event: split ? 0 : L.deviceEvent.offset,
    dma_start: g.dmaStart,
    dma_end: ctx.mem.size,
    indirect_base: g.indirectBase,
    indirect_stride: g.indirectStride,
    indirect_min: cfg.indirectMin,
    pool_base: g.poolBase,
    buffer_stride: g.bufferStride,
    segment_stride: g.segmentStride,
    segments: cfg.segments,
    readable,
    writable,
    segment_bytes: cfg.segmentBytes,
    buffers_lo: cfg.buffers % 4294967296,
    buffers_hi: Math.floor(cfg.buffers / 4294967296),
    publish_batch: cfg.publishBatch,
    pop_budget: cfg.popBudget,
    seg_max: cfg.segMax,
    verify_data: cfg.verifyData ? 1 : 0,
    fault_latency_us: Math.round(cfg.faultLatencyUs),
    order_window: Math.max(cfg.queueSize, cfg.orderWindow),
    salt_out: ctx.payload.SALT_OUT,
    salt_in: ctx.payload.SALT_IN,
    region_start: region.start,
    region_end: region.end,
    seed: cfg.seed,
  };
}

export async function createWasmSide(ctx: Ctx, memory: WebAssembly.Memory, bytes: Uint8Array, path: string): Promise<Side> {
  const role = ctx.role;
  const device = role === 'device';
  const region = REGIONS[role];
  const { report, doorbell, mem } = ctx;
  const buf = memory.buffer as unknown as SharedArrayBuffer;
  const i32 = new Int32Array(buf);
  const u8 = new Uint8Array(buf);
  const name = path.split('/').pop();
  // What vqlab's own device checks of each head it pops (AVAIL_BAD_HEAD: out of range, or made
  // available while still outstanding), a wasm device does not: its vqlab_report_popped names no head. So that
  // a driver's bug is still named as the driver's, the harness reads the avail.ring entry the
  // device just popped (split, no ordering feature: one used entry per buffer). The entry is stable
  // there: the driver cannot write that slot again while the buffer it names is outstanding.
  const g = ctx.guest.ring;
  const headCheck = device && g.ring === 'split' && ctx.features.order === 'none';
  const u16 = new Uint16Array(buf);
  const availRing16 = g.ring === 'split' ? (g.avail.offset + 4) >>> 1 : 0;
  const qmask = ctx.queueSize - 1;
  const outstanding = new Uint8Array(headCheck ? ctx.queueSize : 0);
  let pops = 0;
  const popped = (): void => {
    const head = Atomics.load(u16, availRing16 + (pops++ & qmask));
    if (head >= ctx.queueSize) throw new VqError('AVAIL_BAD_HEAD', 'device', `avail.ring names head ${head}, queue size is ${ctx.queueSize}`, { head });
    if (outstanding[head]) throw new VqError('AVAIL_BAD_HEAD', 'device', `buffer id ${head} made available while still outstanding`, { id: head });
    outstanding[head] = 1;
    report.popped();
  };
  const word = (addr: number): number => {
    const a = addr >>> 0;
    if ((a & 3) !== 0 || a + 4 > buf.byteLength) throw new VqError('BAD_CONFIG', role, `${name}: wait/notify on a bad address 0x${a.toString(16)}`);
    return a >>> 2;
  };
  const env: Record<string, unknown> = {
    memory,
    vqlab_kick: (availIdx: number): void => { doorbell.ring(ctx.DB_KICK); report.kick(availIdx & 0xffff); },
    vqlab_interrupt: (usedIdx: number): void => { doorbell.ring(ctx.DB_IRQ); report.interrupt(usedIdx & 0xffff); },
    // In slices, so that a stop request always ends the wait (nothing waits forever).
    vqlab_wait32: (addr: number, expected: number, timeoutNs: bigint): number => {
      const i = word(addr);
      const until = timeoutNs < 0n ? Infinity : performance.now() + Number(timeoutNs) / 1e6;
      for (;;) {
        const left = until - performance.now();
        if (left <= 0 || ctx.stopRequested()) return 2;
        const r = Atomics.wait(i32, i, expected, Math.min(left, 100));
        if (r === 'ok') return 0;
        if (r === 'not-equal') return 1;
      }
    },
    vqlab_notify: (addr: number, count: number): number => Atomics.notify(i32, word(addr), count < 0 ? Infinity : count),
    vqlab_log: (ptr: number, len: number): void => {
      const copy = new Uint8Array(Math.min(len >>> 0, 4096));
      copy.set(u8.subarray(ptr >>> 0, (ptr >>> 0) + copy.length));
      process.stderr.write(`[${role} ${name}] ${new TextDecoder().decode(copy)}\n`);
    },
    vqlab_now_ms: ctx.clock,
    vqlab_stop_requested: (): number => (ctx.stopRequested() ? 1 : 0),
    vqlab_driver_done: (): number => (ctx.driverDone() ? 1 : 0),
    vqlab_fault_next: (): number => (ctx.faults.next() ? 1 : 0),
    vqlab_fill: (addr: number, len: number, seq: number, salt: number, first: number): void => ctx.payload.fill(mem, addr >>> 0, len >>> 0, seq >>> 0, salt >>> 0, first >>> 0),
    vqlab_check: (addr: number, len: number, seq: number, salt: number, first: number): number => (ctx.payload.check(mem, addr >>> 0, len >>> 0, seq >>> 0, salt >>> 0, first >>> 0) ? 1 : 0),
    vqlab_report_popped: headCheck ? popped : (): void => report.popped(),
    vqlab_report_completed: (): void => report.completed(),
    vqlab_report_used: (id: number, len: number, flush: number, buffers: number): void => {
      if (headCheck && (id & 0xffff) < ctx.queueSize) outstanding[id & 0xffff] = 0;
      report.used(id & 0xffff, len >>> 0, flush !== 0, buffers >>> 0);
    },
    vqlab_report_used_publish: (): void => report.usedPublish(),
    vqlab_report_fault: (id: number, seq: number, pending: number): void => report.fault(id & 0xffff, seq >>> 0, pending >>> 0),
    vqlab_report_resolved: (id: number, seq: number, stalledMs: number): void => report.resolved(id & 0xffff, seq >>> 0, stalledMs),
    vqlab_report_device_corrupt: (id: number, seq: number): void => report.deviceCorrupt(id & 0xffff, seq >>> 0),
    vqlab_report_avail: (id: number, capacity: number): void => report.avail(id & 0xffff, capacity >>> 0),
    vqlab_report_avail_publish: (made: number): void => report.availPublish(made),
    vqlab_report_reclaim: (id: number, count: number, total: number): void => report.reclaim(id & 0xffff, count >>> 0, total),
    vqlab_report_driver_corrupt: (id: number, seq: number): void => report.driverCorrupt(id & 0xffff, seq >>> 0),
    vqlab_report_publish: (): void => report.publish(),
  };
  const mod = await WebAssembly.compile(bytes as BufferSource);
  const inst = await WebAssembly.instantiate(mod, { env: env as WebAssembly.ModuleImports });
  const ex = inst.exports as Record<string, unknown>;
  const fn = <T extends (...a: never[]) => unknown>(n: string): T | null => (typeof ex[n] === 'function' ? (ex[n] as T) : null);
  // The stack: from the config block down (inspectWasmSide checked the static data ends well below).
  const cfgAt = region.end - CONFIG_BYTES;
  (ex.__stack_pointer as WebAssembly.Global).value = cfgAt;
  const words = configWords(ctx, region);
  const dv = new DataView(buf);
  CONFIG_FIELDS.forEach((k, i) => dv.setUint32(cfgAt + 4 * i, words[k] >>> 0, true));
  const r = (fn<(p: number) => number>('vqlab_init')!)(cfgAt);
  if (r !== 0) throw new VqError('BAD_CONFIG', role, `${name}: vqlab_init refused this run (returned ${r}; its log says why)`, { returned: r });

  const step = fn<() => number>('vqlab_step')!;
  const hasWork = fn<() => number>('vqlab_has_work')!;
  const prepareSleep = fn<() => number>('vqlab_prepare_sleep')!;
  const afterWake = fn<() => void>('vqlab_after_wake')!;
  const finish = fn<() => void>('vqlab_finish')!;
  const finished = fn<() => number>('vqlab_finished')!;
  const start = fn<() => void>('vqlab_start');
  const lostWakeup = fn<() => void>('vqlab_lost_wakeup');
  const nextResolveAt = fn<() => number>('vqlab_next_resolve_at');
  const stats = report.stats;
  return {
    start: () => { start?.(); },
    step: () => step(),
    hasWork: () => hasWork() !== 0,
    prepareSleep: () => prepareSleep() !== 0,
    afterWake: () => { afterWake(); },
    lostWakeup: () => {
      stats[device ? V_LOST_WAKEUPS : D_LOST_WAKEUPS]++;
      report.lostWakeup(0);
      lostWakeup?.();
    },
    finish: () => { finish(); report.publish(); },
    get finished(): boolean {
      const done = finished() !== 0;
      // The device's driverDone() is this flag (vqlab's own driver sets it the same way).
      if (done && !device) Atomics.store(ctx.control.ctl, CTL_DRIVER_DONE, 1);
      return done;
    },
    get nextResolveAt(): number { return nextResolveAt ? nextResolveAt() : Infinity; },
    state: () => ({ wasm: true, stack_pointer: (ex.__stack_pointer as WebAssembly.Global).value as number }),
  };
}
