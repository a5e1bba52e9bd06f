import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Every file under scripts/ and examples/ and every npm script runs here with tiny arguments (after
// `npm run build`), or is named as used by one that does (a module, an input, a source), or the
// test says it is missing from the tables below: a new script cannot go untested, and one that no
// longer runs (as one did once, dying on a freed id) fails CI.
// Smoke runs assert that the script ran to its end and printed its kind of output, never a figure.
const repo = new URL('..', import.meta.url).pathname;
const bin = join(repo, 'bin', 'vqlab.js');

interface Smoke {
  /** node's arguments, run in the repository's root (for scripts/: the script's own arguments). */
  args: string[];
  /** The exit status expected (0 unless the point is a failure). */
  status?: number;
  /** What stdout must show. */
  stdout: RegExp;
  /** Run with sh instead of node (shell scripts). */
  sh?: true;
}

/** A file that is not run itself: what reads or builds it, by its key in the same table. */
interface UsedBy { usedBy: string; as: string }

/** A shell script is not run by node: the test file that runs or checks what it does. */
interface CoveredBy { coveredBy: string }

/** scripts/**: each script's smoke run (keys are paths under scripts/). */
const SCRIPTS: Record<string, Smoke | UsedBy | CoveredBy> = {
  // The plan only: nothing is fetched, built or recorded (test/qemu-record.test.ts checks that).
  'qemu/record.sh': { sh: true, args: ['--dry-run', '--work', '/nonexistent/vqlab-qemu-work', '--out', '/nonexistent/vqlab-qemu-out', 'split'], stdout: /^variant split:$[\s\S]*qemu-system-x86_64 .*-trace 'virtqueue_\*'/m },
  'qemu/init': { usedBy: 'qemu/record.sh', as: 'the guest\'s /init in the initramfs it builds' },
  'qemu/vqhead.c': { usedBy: 'qemu/record.sh', as: 'the preload shim it builds' },
  'build-wasm.sh': { coveredBy: 'test/wasm-sides.test.ts' }, // rebuilds every committed .wasm and compares, when clang is installed
  'third-party.sh': { coveredBy: 'test/third-party.test.ts' }, // .ci/run runs it; the test runs what it built
  'third-party/extract.sh': { usedBy: 'third-party.sh', as: 'the extraction step every third-party build shares' },
  'third-party/ringtest-glue.c': { usedBy: 'third-party.sh', as: 'its source' },
  'third-party/shim/assert.h': { usedBy: 'third-party.sh', as: 'a header shim' },
  'third-party/shim/stdio.h': { usedBy: 'third-party.sh', as: 'a header shim' },
  'third-party/shim/stdlib.h': { usedBy: 'third-party.sh', as: 'a header shim' },
  'third-party/shim/string.h': { usedBy: 'third-party.sh', as: 'a header shim' },
  'third-party/shim/linux/types.h': { usedBy: 'third-party.sh', as: 'a header shim' },
  'third-party/shim/linux/virtio_types.h': { usedBy: 'third-party.sh', as: 'a header shim' },
  'third-party/kernel-device.sh': { coveredBy: 'test/kernel-device.test.ts' }, // third-party.sh calls it; the test runs what it built
  'third-party/kernel/vringh-glue.c': { usedBy: 'third-party/kernel-device.sh', as: 'its source' },
  'third-party/kernel-driver.sh': { coveredBy: 'test/kernel-driver.test.ts' }, // third-party.sh runs it; the test runs what it built
  'third-party/kernel/packed-head-flags-early.patch': { usedBy: 'third-party/kernel-driver.sh', as: 'a bug variant it builds' },
  'third-party/kernel/split-avail-idx-early.patch': { usedBy: 'third-party/kernel-driver.sh', as: 'a bug variant it builds' },
  'third-party/kernel/split-kick-mb-removed.patch': { usedBy: 'third-party/kernel-driver.sh', as: 'a bug variant it builds' },
  'third-party/kernel/split-wmb-removed.patch': { usedBy: 'third-party/kernel-driver.sh', as: 'a bug variant it builds' },
  'third-party/kernel/driver-glue.c': { usedBy: 'third-party/kernel-driver.sh', as: 'its source (with the kernel\'s virtio_ring.c)' },
  'third-party/kernel/asm/barrier.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/asm/bitsperlong.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/asm/byteorder.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/asm/posix_types.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/asm/types.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/assert.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/errno.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/linux/compiler.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/linux/spinlock.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/stdio.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/stdlib.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/string.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/unistd.h': { usedBy: 'third-party/kernel-driver.sh', as: 'a header shim' },
  'third-party/kernel/sys/uio.h': { usedBy: 'third-party/kernel-device.sh', as: 'a header shim (vringh.c\'s iovecs)' },
  // Without scripts/third-party.sh's modules it says so in one line (the table is measured in docs/wasm-sides.md).
  'kernel-variants.mjs': { args: ['--buffers', '500', '--repeats', '1'], stdout: /^(\| \(unpatched\) \| split \| clean 1\/1 \| clean 1\/1 \||no kernel driver modules in )/m },
  'wasm-table.mjs': { args: ['--buffers', '2000'], stdout: /^\| C split driver \(examples\/c\) × vqlab JS device \| VERSION_1 \| 0 \| clean \(2000 buffers\) \|/m },
  'lib/machine.mjs': { usedBy: 'run-table.mjs', as: 'the commit and machine line of timing figures' },
  'bare-ring.mjs': { args: ['20', '5'], stdout: /bare vqlab split ring, one thread, both sides: min [\d.]+ median [\d.]+ ns\/buffer/ },
  'bug-catalogue.mjs': { args: ['--bugs', 'flush-with-hole', '--real-runs', '1', '--budget-s', '0.2'], stdout: /^\| flush-with-hole \| [a-z, ]+ \| .* \| \d+\/1 .*\|$/m },
  'docs.mjs': { args: ['--check', '--only', 'stop-grace,check'], stdout: /docs up to date: 2 generated region/ },
  // Its sigint case needs the run to be under way 1.5 s after spawning it, which a loaded CI machine
  // cannot promise; the same SIGINT path is test/failure-hooks.test.ts's.
  'failure-bounds.mjs': { args: ['--repeats', '1', '--stall-ms', '20000', '--cases', 'driver-throw'], stdout: /driver throw → WORKER_DIED \(driver\)/ },
  'interleaved.mjs': { args: ['1', '{"buffers":3000}', '.', '.'], stdout: /^\.\s+median [\d.]+ M\/s\s+runs [\d.]+\s+p99 median/m },
  'interleaved-configs.mjs': { args: ['1', '.', '{"buffers":3000}', '{"buffers":3000,"order":"partial"}'], stdout: /"order":"partial"}\s+median [\d.]+ M\/s/ },
  'peers.mjs': { args: ['1', '200000'], stdout: /ping-pong [\d.]+ M round trips\/s .*ceiling [\d.]+ M msg\/s/ },
  'rig-cost.mjs': { args: ['split', 'partial', '1', '0.01', '50', '1', '20', '5'], stdout: /split partial check=1 verify=1 fault rate 0.01 \(50 µs\): driver [\d.]+ .* checker [\d.]+ ns\/buffer/ },
  'sim-sweep.mjs': { args: ['--schedules', '1'], stdout: /^96 schedules in 96 rows: 0 rows with an unfinished schedule, 0 with any finding$/m },
  'run-table.mjs': { args: ['--buffers', '2000', '--repeat', '1', '--orders', 'partial', '--fault-rates', '0.01'], stdout: /Measured at commit [^\n]*Node v[\s\S]*\| split \| partial \| 0.01 \|/ },
};

/** examples/**: each example's smoke run (side modules through `vqlab run`), or what reads it. */
const EXAMPLES: Record<string, Smoke | UsedBy> = {
  'api.mjs': { args: ['examples/api.mjs'], stdout: /^run: OK[\s\S]*^trace: conformant/m },
  'minimal-device.mjs': { args: [bin, 'run', '--device', 'examples/minimal-device.mjs', '--order', 'none', '--buffers', '5000'], stdout: /result\s+OK/ },
  'minimal-packed-device.mjs': { args: [bin, 'run', '--ring', 'packed', '--device', 'examples/minimal-packed-device.mjs', '--order', 'none', '--buffers', '5000'], stdout: /result\s+OK/ },
  'buggy-partial-device.mjs': { args: [bin, 'run', '--device', 'examples/buggy-partial-device.mjs', '--order', 'partial', '--buffers', '20000'], status: 1, stdout: /USED_FLUSH_WITH_HOLE/ },
  'counting-driver.mjs': { args: [bin, 'run', '--driver', 'examples/counting-driver.mjs', '--buffers', '5000'], stdout: /result\s+OK/ },
  'qemu-trace-to-vqlab.mjs': { args: ['examples/qemu-trace-to-vqlab.mjs', 'examples/qemu-sample.log', '--queue-size', '4'], stdout: /^ring split$[\s\S]*^used \d+ \d+/m },
  'qemu-sample.log': { usedBy: 'qemu-trace-to-vqlab.mjs', as: 'its input' },
  'c/split-device.wasm': { args: [bin, 'run', '--device', 'examples/c/split-device.wasm', '--order', 'partial', '--fault-rate', '0.01', '--buffers', '5000'], stdout: /result\s+OK/ },
  'c/split-device.c': { usedBy: 'c/split-device.wasm', as: 'its source (npm run build:wasm)' },
  'c/split-driver.wasm': { args: [bin, 'run', '--driver', 'examples/c/split-driver.wasm', '--buffers', '5000'], stdout: /result\s+OK/ },
  'c/split-driver.c': { usedBy: 'c/split-driver.wasm', as: 'its source (npm run build:wasm)' },
  'c/broken-flush-device.wasm': { args: [bin, 'run', '--device', 'examples/c/broken-flush-device.wasm', '--order', 'partial', '--fault-rate', '0.02', '--queue-size', '64', '--buffers', '20000'], status: 1, stdout: /USED_FLUSH_WITH_HOLE/ },
  'c/broken-flush-device.c': { usedBy: 'c/broken-flush-device.wasm', as: 'its source (npm run build:wasm)' },
};

/** package.json scripts: a smoke run, or the test file that runs the same thing. */
const NPM_SCRIPTS: Record<string, Smoke | { coveredBy: string }> = {
  build: { coveredBy: 'every test (npm test builds first)' },
  'build:clean': { coveredBy: 'test/package.test.ts' },
  prepare: { coveredBy: 'test/package.test.ts' },
  prepack: { coveredBy: 'test/package.test.ts' },
  prestart: { coveredBy: 'every test (npm test builds first)' },
  start: { args: [bin, 'run', '--buffers', '5000'], stdout: /result\s+OK/ },
  pretest: { coveredBy: 'every test (npm test builds first)' },
  test: { coveredBy: 'this suite' },
  typecheck: { coveredBy: 'every test (npm test builds first)' },
  docs: { coveredBy: 'test/docs.test.ts' },
  bench: { coveredBy: 'test/bench.test.ts' },
  'bench:quick': { coveredBy: 'test/bench-quick.test.ts' },
  'bench:micro': { args: ['dist/bench/micro.js', '--json', '--time-ms', '20'], stdout: /"task": "packed partial"/ },
  'build:wasm': { coveredBy: 'test/wasm-sides.test.ts' },
  'bench:phases': { args: ['dist/bench/phases.js', '--quick', '--ring=split', '--order=partial'], stdout: /ns per buffer, one thread/ },
};

function smoke(s: Smoke): void {
  const r = spawnSync(s.sh ? 'sh' : process.execPath, s.args, { cwd: repo, encoding: 'utf8', timeout: 90_000 });
  const why = `${s.sh ? 'sh' : 'node'} ${s.args.join(' ')}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;
  expect(r.status, why).toBe(s.status ?? 0);
  expect(r.stdout, why).toMatch(s.stdout);
}

/** Every file under a directory, as paths relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile()).map((f) => f.split('\\').join('/')).sort();
}

describe('every script, example and npm script runs (smoke)', () => {
  const scripts = files(join(repo, 'scripts'));
  const examples = files(join(repo, 'examples'));
  const npmScripts = Object.keys(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts);

  it('every file has a smoke run in this table (add one for a new script or example)', () => {
    expect(scripts.filter((f) => !(f in SCRIPTS)), 'scripts/ without a smoke run').toEqual([]);
    expect(examples.filter((f) => !(f in EXAMPLES)), 'examples/ without a smoke run').toEqual([]);
    expect(npmScripts.filter((f) => !(f in NPM_SCRIPTS)), 'npm scripts without a smoke run').toEqual([]);
    // And nothing in the tables that is gone.
    expect(Object.keys(SCRIPTS).filter((f) => !scripts.includes(f))).toEqual([]);
    expect(Object.keys(EXAMPLES).filter((f) => !examples.includes(f))).toEqual([]);
    for (const table of [SCRIPTS, EXAMPLES]) {
      for (const [name, e] of Object.entries(table)) {
        if (!('usedBy' in e)) continue;
        const user = (table as Record<string, Smoke | UsedBy | CoveredBy>)[e.usedBy];
        expect(user && ('args' in user || 'coveredBy' in user), `${name} is used by ${e.usedBy}, which must have a smoke run or a test`).toBe(true);
      }
    }
    for (const e of Object.values(SCRIPTS)) if ('coveredBy' in e) expect(existsSync(join(repo, e.coveredBy)), e.coveredBy).toBe(true);
    for (const e of Object.values(NPM_SCRIPTS)) if ('coveredBy' in e && e.coveredBy.startsWith('test/')) expect(existsSync(join(repo, e.coveredBy)), e.coveredBy).toBe(true);
  });

  for (const [name, s] of Object.entries(SCRIPTS)) if ('args' in s) it(`scripts/${name}`, () => smoke({ ...s, args: [`scripts/${name}`, ...s.args] }));
  for (const [name, s] of Object.entries(EXAMPLES)) if ('args' in s) it(`examples/${name}`, () => smoke(s));
  for (const [name, s] of Object.entries(NPM_SCRIPTS)) if ('args' in s) it(`npm run ${name} (its command, small)`, () => smoke(s));
});
