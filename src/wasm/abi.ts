/**
 * The WebAssembly side ABI (include/vqlab.h): the guest memory map of a run with a wasm side, the
 * config block handed to vqlab_init, the imports vqlab provides and the exports it needs, and the
 * checks made on a module before anything of it runs (its memory import, its exports, its
 * footprint against its private region).
 */
import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { VqError } from '../errors.js';
import type { Role } from '../plugin/contract.js';

export const ABI_VERSION = 1;
export const PAGE = 65536;
/** Private regions: static data and stack of each side's module (they live in guest memory). */
export const REGIONS: Record<Role, { start: number; end: number }> = {
  driver: { start: 0x10000, end: 0x100000 },
  device: { start: 0x100000, end: 0x200000 },
};
/** Where the queue area (ring, indirect tables, buffer pool) starts in a run with a wasm side. */
export const QUEUE_BASE = 0x200000;
export const CONFIG_BYTES = 256;
/** Least stack a module gets between its static data and the config block. */
export const MIN_STACK = 16 * 1024;

/** struct vqlab_config, in order: each a uint32 (include/vqlab.h). */
export const CONFIG_FIELDS = [
  'abi_version', 'role', 'ring', 'queue_size',
  'features_lo', 'features_hi',
  'order', 'event_idx', 'indirect',
  'desc', 'avail', 'used',
  'used_event', 'avail_event',
  'driver_event', 'device_event',
  'dma_start', 'dma_end',
  'indirect_base', 'indirect_stride', 'indirect_min',
  'pool_base', 'buffer_stride', 'segment_stride',
  'segments', 'readable', 'writable', 'segment_bytes',
  'buffers_lo', 'buffers_hi',
  'publish_batch', 'pop_budget', 'seg_max',
  'verify_data',
  'fault_latency_us',
  'order_window',
  'salt_out', 'salt_in',
  'region_start', 'region_end',
  'seed',
] as const;
export type ConfigField = (typeof CONFIG_FIELDS)[number];

/** Functions a module may import from "env" (besides env.memory). */
export const IMPORTS = [
  'vqlab_kick', 'vqlab_interrupt', 'vqlab_wait32', 'vqlab_notify', 'vqlab_log', 'vqlab_now_ms', 'vqlab_stop_requested',
  'vqlab_driver_done', 'vqlab_fault_next', 'vqlab_fill', 'vqlab_check',
  'vqlab_report_popped', 'vqlab_report_completed', 'vqlab_report_used', 'vqlab_report_used_publish', 'vqlab_report_fault',
  'vqlab_report_resolved', 'vqlab_report_device_corrupt', 'vqlab_report_avail', 'vqlab_report_avail_publish',
  'vqlab_report_reclaim', 'vqlab_report_driver_corrupt', 'vqlab_report_publish',
] as const;
export const REQUIRED_EXPORTS = ['vqlab_init', 'vqlab_step', 'vqlab_has_work', 'vqlab_prepare_sleep', 'vqlab_after_wake', 'vqlab_finish', 'vqlab_finished'] as const;
export const FOOTPRINT_EXPORTS = ['__global_base', '__data_end', '__heap_base', '__stack_pointer'] as const;

export const isWasmPath = (p: string | undefined | null): boolean => !!p && p.toLowerCase().endsWith('.wasm');

/**
 * V8 11.3 (Node 20) Liftoff bug: the baseline compiler clobbers the address local of
 * memory.atomic.wait32, so a later use of that local reads address 0. Compile wasm sides with the
 * optimizing compiler only. V8 flags are per process and a compiled module is shared by every
 * isolate that compiles the same bytes, so this is set in every thread before any compile.
 * `baseline` (test only) does the opposite: Liftoff only, to show what the workaround avoids.
 */
export function setWasmCompiler(baseline: boolean): void {
  v8.setFlagsFromString(baseline ? '--liftoff' : '--no-liftoff');
  v8.setFlagsFromString(baseline ? '--liftoff-only' : '--no-liftoff-only');
}

interface MemoryImport { shared: boolean; min: number; max: number | null }

/** The module's env.memory import limits, read from the binary's import section (no instantiation). */
export function memoryImportOf(bytes: Uint8Array, path: string): MemoryImport | null {
  const bad = (why: string): never => { throw new VqError('BAD_CONFIG', 'config', `${path}: not a valid wasm module (${why})`); };
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) bad('no \\0asm header');
  let p = 8;
  const u8 = (): number => (p < bytes.length ? bytes[p++] : bad('truncated'));
  const leb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = u8();
      r += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return r;
      shift += 7;
      if (shift > 35) bad('bad LEB128');
    }
  };
  const name = (): string => { const n = leb(); const s = Buffer.from(bytes.subarray(p, p + n)).toString('utf8'); p += n; return s; };
  const limits = (): { flags: number; min: number; max: number | null } => {
    const flags = u8();
    const min = leb();
    const max = flags & 1 ? leb() : null;
    return { flags, min, max };
  };
  while (p < bytes.length) {
    const id = u8();
    const size = leb();
    const end = p + size;
    if (id !== 2) { p = end; continue; }
    const count = leb();
    for (let i = 0; i < count; i++) {
      const mod = name();
      const field = name();
      const kind = u8();
      if (kind === 0) leb();
      else if (kind === 1) { u8(); limits(); }
      else if (kind === 3) { u8(); u8(); }
      else if (kind === 2) {
        const l = limits();
        if (mod === 'env' && field === 'memory') return { shared: (l.flags & 2) !== 0, min: l.min, max: l.max };
      } else bad(`import kind ${kind}`);
    }
    return null;
  }
  return null;
}

export interface WasmModuleInfo {
  path: string;
  role: Role;
  bytes: Uint8Array;
  region: { start: number; end: number };
  footprint: { globalBase: number; dataEnd: number; heapBase: number };
  /** The device's offer (vqlab_features), when it exports one. */
  offers: bigint | null;
}

/**
 * Everything checked before a module runs: a shared env.memory import, only the imports vqlab
 * provides, the side contract's exports, and its static data and stack inside its role's region.
 * The footprint is read from a scratch instance over a memory of its own, so a module that does
 * not fit never touches guest memory.
 */
export async function inspectWasmSide(path: string, role: Role): Promise<WasmModuleInfo> {
  const fail = (why: string): never => { throw new VqError('BAD_CONFIG', 'config', `--${role} ${path}: ${why} (see include/vqlab.h)`); };
  let bytes: Uint8Array;
  try { bytes = new Uint8Array(readFileSync(path)); } catch (e) { return fail(`cannot read: ${(e as Error).message}`); }
  const mem = memoryImportOf(bytes, path);
  if (!mem) fail('does not import its memory as env.memory (link with --import-memory)');
  if (!mem!.shared) fail('its env.memory is not shared (link with --shared-memory and compile with -matomics)');
  let mod: WebAssembly.Module;
  try { mod = await WebAssembly.compile(bytes as BufferSource); } catch (e) { return fail(`does not compile: ${(e as Error).message}`); }
  const known = new Set<string>(IMPORTS);
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.module === 'env' && imp.name === 'memory') continue;
    if (imp.module !== 'env' || imp.kind !== 'function' || !known.has(imp.name)) fail(`imports ${imp.module}.${imp.name} (${imp.kind}), which vqlab does not provide`);
  }
  const exported = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  for (const name of REQUIRED_EXPORTS) if (exported.get(name) !== 'function') fail(`does not export ${name}()`);
  for (const name of FOOTPRINT_EXPORTS) if (exported.get(name) !== 'global') fail(`does not export the global ${name} (link with --export=${name})`);
  const scratch = new WebAssembly.Memory({ initial: mem!.min, maximum: Math.max(mem!.min, 1), shared: true } as WebAssembly.MemoryDescriptor);
  const stub = (): number => 0;
  const env: Record<string, unknown> = { memory: scratch };
  for (const n of IMPORTS) env[n] = stub;
  let inst: WebAssembly.Instance;
  try { inst = await WebAssembly.instantiate(mod, { env: env as WebAssembly.ModuleImports }); } catch (e) { return fail(`cannot be instantiated: ${(e as Error).message}`); }
  const g = (n: string): number => ((inst.exports[n] as WebAssembly.Global).value as number) >>> 0;
  const footprint = { globalBase: g('__global_base'), dataEnd: g('__data_end'), heapBase: g('__heap_base') };
  const region = REGIONS[role];
  const top = region.end - CONFIG_BYTES;
  const hex = (x: number): string => '0x' + x.toString(16);
  if (footprint.globalBase < region.start || footprint.dataEnd > top - MIN_STACK || footprint.heapBase > top) {
    fail(`its static data and stack [${hex(footprint.globalBase)}, ${hex(footprint.heapBase)}) (data to ${hex(footprint.dataEnd)}) do not fit the ${role} region [${hex(region.start)}, ${hex(top)}) with ${MIN_STACK / 1024} KiB of stack: link with --global-base=${region.start}`);
  }
  let offers: bigint | null = null;
  if (role === 'device' && exported.get('vqlab_features') === 'function') {
    const v = (inst.exports.vqlab_features as () => bigint)();
    offers = BigInt.asUintN(64, BigInt(v));
  }
  return { path, role, bytes, region, footprint, offers };
}
