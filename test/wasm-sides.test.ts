import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runThreaded } from '../src/harness/run.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/harness/config.js';
import { createShared, guestLayoutOf, guestMemory, sideContext, type SideInit } from '../src/harness/sides.js';
import { CONFIG_BYTES, CONFIG_FIELDS, IMPORTS, QUEUE_BASE, REGIONS, memoryImportOf } from '../src/wasm/abi.js';
import { main } from '../src/cli/index.js';

const root = new URL('..', import.meta.url).pathname;
const ex = (name: string): string => join(root, 'examples/c', name);
const base: RunConfig = { ...DEFAULT_CONFIG, buffers: 10_000, queueSize: 64, faultRate: 0, timeoutS: 60 };
const clean = (r: Awaited<ReturnType<typeof runThreaded>>): void => {
  expect(r.failure).toBeNull();
  expect(r.violations).toEqual([]);
  expect(r.ok).toBe(true);
  expect([r.lost, r.duplicated, r.corrupted, r.lost_wakeups]).toEqual([0, 0, 0, 0]);
};

describe('the WebAssembly side ABI: include/vqlab.h and src/wasm/abi.ts say the same', () => {
  const h = readFileSync(join(root, 'include/vqlab.h'), 'utf8');
  it('struct vqlab_config lists the fields in the harness\'s order', () => {
    const body = h.slice(h.indexOf('struct vqlab_config {'), h.indexOf('};', h.indexOf('struct vqlab_config {')));
    const fields = [...body.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/uint32_t ([^;]+);/g)].flatMap((m) => m[1].split(',').map((x) => x.trim()));
    expect(fields).toEqual([...CONFIG_FIELDS]);
    expect(4 * CONFIG_FIELDS.length).toBeLessThanOrEqual(CONFIG_BYTES);
  });
  it('the imports it declares are the ones the harness provides, and the memory map matches', () => {
    const declared = [...h.matchAll(/VQLAB_IMPORT\((\w+)\) /g)].map((m) => m[1]).filter((n) => n !== 'name');
    expect(declared.sort()).toEqual([...IMPORTS].sort());
    const def = (n: string): number => Number(new RegExp(`#define ${n}\\s+(0x[0-9a-f]+|\\d+)u`).exec(h)![1]);
    expect([def('VQLAB_DRIVER_REGION_START'), def('VQLAB_DRIVER_REGION_END'), def('VQLAB_DEVICE_REGION_START'), def('VQLAB_DEVICE_REGION_END')])
      .toEqual([REGIONS.driver.start, REGIONS.driver.end, REGIONS.device.start, REGIONS.device.end]);
    expect(def('VQLAB_QUEUE_BASE')).toBe(QUEUE_BASE);
    expect(def('VQLAB_CONFIG_BYTES')).toBe(CONFIG_BYTES);
  });
});

describe('guest memory is a shared WebAssembly.Memory in every run', () => {
  it('its buffer is the SharedArrayBuffer the sides view; the sides end guest memory where the layout does', () => {
    const cfg: RunConfig = { ...base, queueSize: 8, segmentBytes: 8 };
    const gl = guestLayoutOf(cfg);
    const shared = createShared(cfg, gl);
    expect(shared.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(shared.guest).toBe(shared.memory.buffer);
    expect(shared.guest).toBeInstanceOf(SharedArrayBuffer);
    // Whole 64 KiB pages, longer than the layout: the DMA window still ends at totalSize.
    expect(shared.guest.byteLength % 65536).toBe(0);
    expect(shared.guest.byteLength).toBeGreaterThan(gl.totalSize);
    const init: SideInit = { cfg, features: '0x100000000', shared };
    expect(guestMemory(init).size).toBe(gl.totalSize);
    expect(sideContext(init, 'device').mem.size).toBe(gl.totalSize);
    expect(gl.ring.desc.offset).toBe(0);
  });
  it('a run with a wasm side puts the queue area above both private regions, outside them and below the DMA window', () => {
    const gl = guestLayoutOf({ ...base, deviceModule: ex('split-device.wasm') });
    expect(gl.ring.desc.offset).toBe(QUEUE_BASE);
    expect(gl.dmaStart).toBeGreaterThan(QUEUE_BASE);
    expect(REGIONS.device.end).toBeLessThanOrEqual(QUEUE_BASE);
    expect(REGIONS.driver.end).toBeLessThanOrEqual(REGIONS.device.start);
  });
});

describe('C sides (examples/c, committed .wasm) under the live checker, in real threads', () => {
  it('split device, no ordering feature, faults (poll): one entry per buffer, out of order, clean', async () => {
    const r = await runThreaded({ ...base, order: 'none', faultRate: 0.02, deviceModule: ex('split-device.wasm') });
    clean(r);
    expect(r.buffers).toBe(10_000);
    expect(r.used_entries).toBe(10_000);
    expect(r.faults).toBeGreaterThan(50);
    expect(r.flushes).toBe(0);
    expect(r.features).not.toContain('VIRTIO_F_PARTIAL_ORDER');
  });

  it('split device, PARTIAL_ORDER with FLUSH, faults, EVENT_IDX (wait): batches after FLUSH, clean; same faults as vqlab\'s device', async () => {
    const cfg: RunConfig = { ...base, order: 'partial', eventIdx: true, notify: 'wait', faultRate: 0.02 };
    const r = await runThreaded({ ...cfg, deviceModule: ex('split-device.wasm') });
    clean(r);
    expect(r.features).toEqual(expect.arrayContaining(['VIRTIO_F_PARTIAL_ORDER', 'VIRTIO_F_EVENT_IDX']));
    expect(r.buffers).toBe(10_000);
    expect(r.flushes).toBeGreaterThan(0);
    expect(r.batched_entries).toBeGreaterThan(0);
    expect(r.used_entries).toBeLessThan(10_000);
    expect(r.checked_used_entries).toBe(r.used_entries);
    const theirs = await runThreaded({ ...cfg, deviceModule: '' });
    expect(theirs.ok).toBe(true);
    expect(r.faults).toBe(theirs.faults);
  });

  it('split driver against vqlab\'s device: PARTIAL_ORDER with faults, IN_ORDER batches, both features (FLUSH on in-order entries), chains of 3 with EVENT_IDX in wait mode', async () => {
    for (const cfg of [
      { ...base, order: 'partial', faultRate: 0.02 },
      { ...base, order: 'in-order' },
      // Both features: IN_ORDER rules, and vqlab's device sets FLUSH on every in-order entry.
      { ...base, order: 'in-order,partial' },
      { ...base, order: 'none', faultRate: 0.01, segments: 3, segmentBytes: 24, eventIdx: true, notify: 'wait' },
    ] as RunConfig[]) {
      const r = await runThreaded({ ...cfg, driverModule: ex('split-driver.wasm') });
      clean(r);
      expect(r.buffers).toBe(10_000);
      expect(r.checked_reclaims).toBeGreaterThan(0);
      if (cfg.order !== 'none' && cfg.order !== 'partial') expect(r.batched_entries).toBeGreaterThan(0);
      if (cfg.order === 'in-order,partial') expect(r.flushes).toBeGreaterThan(0);
    }
  });

  it('C driver and C device together (both private regions in use)', async () => {
    const r = await runThreaded({ ...base, order: 'partial', faultRate: 0.01, driverModule: ex('split-driver.wasm'), deviceModule: ex('split-device.wasm') });
    clean(r);
    expect(r.buffers).toBe(10_000);
    expect(r.faults).toBeGreaterThan(0);
  });

  it('a driver that repeats an outstanding head in avail.ring is named AVAIL_BAD_HEAD against a wasm device too, as against vqlab\'s', async () => {
    // The bug writes every third avail.ring entry with the previous head. Seed 1 faults the first
    // repeated buffer, so the device still holds it when the repeat comes: vqlab's device names the
    // driver's bug; a wasm device, whose pops name no head, once let the driver's reclaim blame the
    // device's used entry instead (USED_ID_NOT_OUTSTANDING).
    const cfg: RunConfig = { ...base, buffers: 2000, order: 'none', faultRate: 0.01, seed: 1, plantBug: 'id-reused-while-outstanding' };
    for (const deviceModule of ['', ex('split-device.wasm')]) {
      const r = await runThreaded({ ...cfg, deviceModule });
      expect(r.ok, deviceModule).toBe(false);
      expect(r.failure?.code, deviceModule).toBe('AVAIL_BAD_HEAD');
      expect(r.failure?.message).toBe('AVAIL_BAD_HEAD: buffer id 1 made available while still outstanding');
    }
  });

  it('the deliberately broken C device is caught by the live checker: USED_FLUSH_WITH_HOLE', async () => {
    const r = await runThreaded({ ...base, order: 'partial', faultRate: 0.02, deviceModule: ex('broken-flush-device.wasm') });
    expect(r.ok).toBe(false);
    expect(r.violations[0].rule).toBe('USED_FLUSH_WITH_HOLE');
    expect(r.failure?.code).toBe('USED_FLUSH_WITH_HOLE');
  });
});

describe('a module that does not fit the ABI is refused before it runs, with a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vqlab-wasm-'));
  const write = (name: string, bytes: number[]): string => { const p = join(dir, name); writeFileSync(p, Uint8Array.from(bytes)); return p; };
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // An import section with env.memory (limits flags, min 1, max 1): 3 = shared.
  const memImport = (flags: number): number[] => [0x02, 0x10, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, flags, 0x01, 0x01];
  const refused = async (cfg: Partial<RunConfig>, pattern: RegExp): Promise<void> => {
    await expect(runThreaded({ ...base, ...cfg })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(pattern) });
  };

  it('reads the memory import from the binary', () => {
    expect(memoryImportOf(Uint8Array.from([...magic, ...memImport(3)]), 'x')).toEqual({ shared: true, min: 1, max: 1 });
    expect(memoryImportOf(Uint8Array.from([...magic, ...memImport(1)]), 'x')).toEqual({ shared: false, min: 1, max: 1 });
    expect(memoryImportOf(Uint8Array.from(magic), 'x')).toBeNull();
  });

  it('not wasm; no memory import; unshared memory; missing exports', async () => {
    await refused({ deviceModule: write('junk.wasm', [1, 2, 3, 4, 5, 6, 7, 8, 9]) }, /not a valid wasm module/);
    await refused({ deviceModule: write('nomem.wasm', magic) }, /does not import its memory as env.memory/);
    await refused({ deviceModule: write('unshared.wasm', [...magic, ...memImport(1)]) }, /not shared/);
    await refused({ driverModule: write('empty.wasm', [...magic, ...memImport(3)]) }, /does not export vqlab_init\(\)/);
  });

  it('a device module used as the driver does not fit the driver\'s region: the error says how to link it', async () => {
    await refused({ driverModule: ex('split-device.wasm') }, /do not fit the driver region \[0x10000, 0xfff00\).*--global-base=65536/);
  });

  it('a module that refuses the run in vqlab_init fails the run with its reason, not a hang', async () => {
    const r = await runThreaded({ ...base, queueSize: 8192, deviceModule: ex('split-device.wasm') });
    expect(r.ok).toBe(false);
    expect(r.failure?.code).toBe('BAD_CONFIG');
    expect(r.failure?.message).toMatch(/vqlab_init refused/);
  });

  it('a planted bug cannot wrap a WebAssembly side\'s memory layer', async () => {
    await refused({ plantBug: 'flush-with-hole', deviceModule: ex('split-device.wasm') }, /WebAssembly device does not use/);
  });

  it('stress: wasm sides run threaded; under the simulator they are refused with the reason', async () => {
    const err: string[] = [];
    const write0 = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
    let code: number;
    try { code = await main(['node', 'vqlab', 'stress', '--kinds', 'threaded,sim', '--device', ex('split-device.wasm')]); } finally { process.stderr.write = write0; }
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/a WebAssembly side cannot run under the simulator/);
  });
});

// The .wasm files are committed so that no compiler is needed; with clang and lld here, the build
// must give the same bytes (scripts/build-wasm.sh is reproducible).
const hasClang = spawnSync('clang', ['--version']).status === 0 && spawnSync('wasm-ld', ['--version']).status === 0;
describe.skipIf(!hasClang)('npm run build:wasm reproduces the committed modules', () => {
  it('byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'vqlab-build-wasm-'));
    execFileSync(join(root, 'scripts/build-wasm.sh'), [out, out], { stdio: 'pipe' });
    for (const [built, committed] of [
      ['split-device.wasm', 'examples/c/split-device.wasm'], ['split-driver.wasm', 'examples/c/split-driver.wasm'],
      ['broken-flush-device.wasm', 'examples/c/broken-flush-device.wasm'], ['raw-wait-driver.wasm', 'test/wasm/raw-wait-driver.wasm'],
    ]) {
      expect(existsSync(join(out, built))).toBe(true);
      expect(Buffer.compare(readFileSync(join(out, built)), readFileSync(join(root, committed))), `${committed} differs from a fresh build`).toBe(0);
    }
  });
});
if (!hasClang) console.warn('wasm-sides: clang/wasm-ld not installed: the rebuild-and-compare test is skipped (apt-get install clang lld)');
