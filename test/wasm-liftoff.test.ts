import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

/*
 * V8 11.3 (Node 20): the baseline wasm compiler (Liftoff) clobbers the address local of
 * memory.atomic.wait32, so a later load through that local reads address 0. vqlab compiles wasm
 * sides with the optimizing compiler only (src/wasm/abi.ts, setWasmCompiler). The fixture
 * test/wasm/raw-wait-driver.wasm waits with memory.atomic.wait32 directly and re-reads used.idx
 * through the same pointer: with the bug it reads 0 for ever and waits on, so the run makes no
 * progress and its stall bound ends it (STALL) — no test timeout involved.
 *
 * Each run is its own process: V8 flags are per process, and V8 reuses a module compiled once for
 * every later compile of the same bytes in that process.
 */
const root = new URL('..', import.meta.url).pathname;
const fixture = join(root, 'test/wasm/raw-wait-driver.wasm');

// A script file, not -e: the run's workers inherit the process's execArgv.
const dir = mkdtempSync(join(tmpdir(), 'vqlab-liftoff-'));
function child(script: string, flags: string[] = []): string {
  const file = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  return execFileSync(process.execPath, [...flags, file], { cwd: root, encoding: 'utf8', timeout: 60_000 }).trim();
}
const dist = (p: string): string => JSON.stringify(pathToFileURL(join(root, 'dist', p)).href);

// The bug alone: the fixture's wait-then-reload, compiled by Liftoff only.
function bugPresent(): boolean {
  const out = child(`
    import { readFileSync } from 'node:fs';
    const mod = await WebAssembly.compile(readFileSync(${JSON.stringify(fixture)}));
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
    const env = { memory };
    for (const i of WebAssembly.Module.imports(mod)) if (i.kind === 'function') env[i.name] = () => 0;
    const { exports } = await WebAssembly.instantiate(mod, { env });
    new Int32Array(memory.buffer)[0x8000 / 4] = 5;
    console.log(exports.raw_wait_probe(0x8000));`, ['--liftoff-only']);
  return out !== '5';
}

function run(baseline: boolean): { ok: boolean; code: string | null; buffers: number } {
  const out = child(`
    const { runThreaded } = await import(${dist('src/harness/run.js')});
    const { DEFAULT_CONFIG } = await import(${dist('src/harness/config.js')});
    const r = await runThreaded({ ...DEFAULT_CONFIG, buffers: 5000, queueSize: 64, faultRate: 0, stallTimeoutMs: 3000,
      driverModule: ${JSON.stringify(fixture)}, wasmBaseline: ${baseline} });
    console.log(JSON.stringify({ ok: r.ok, code: r.failure ? r.failure.code : null, buffers: r.buffers }));`);
  return JSON.parse(out.split('\n').pop()!);
}

describe('the Liftoff memory.atomic.wait32 workaround', () => {
  const present = bugPresent();
  if (!present) console.warn(`wasm-liftoff: the Liftoff wait32 bug is absent in Node ${process.version} (V8 ${process.versions.v8}): without the workaround the run must complete too`);

  it('with the workaround (vqlab\'s default) a side that waits with memory.atomic.wait32 runs clean', () => {
    const r = run(false);
    expect(r).toEqual({ ok: true, code: null, buffers: 5000 });
  });

  it(present ? `without it (Liftoff only) the same run hangs and the stall bound ends it — V8 ${process.versions.v8} has the bug`
    : `without it the same run completes — V8 ${process.versions.v8} does not have the bug`, () => {
    const r = run(true);
    if (present) {
      expect(r.ok).toBe(false);
      expect(r.code).toBe('STALL');
      expect(r.buffers).toBeLessThan(5000);
    } else {
      expect(r).toEqual({ ok: true, code: null, buffers: 5000 });
    }
  });
});
