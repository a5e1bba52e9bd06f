import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { checkQemuTrace, parseSidecar } from '../src/trace/qemu.js';
import { readMaybeGzip } from '../src/cli/check-qemu.js';

const root = new URL('..', import.meta.url).pathname;
const script = join(root, 'scripts/qemu/record.sh');
const sh = (args: string[], timeout = 30_000) => spawnSync('sh', [script, ...args], { encoding: 'utf8', timeout });
const which = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;

describe('scripts/qemu/record.sh', () => {
  it('--dry-run checks the prerequisites and prints every command, and records nothing', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'vqlab-rec-'));
    try {
      const out = join(tmp, 'out');
      const r = sh(['--dry-run', '--work', join(tmp, 'work'), '--out', out, 'split', 'k73-inorder']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^prerequisites: /m);
      expect(r.stdout).toMatch(/^variant split:$/m);
      expect(r.stdout).toMatch(/^variant k73-inorder:$/m);
      // The exact QEMU command lines: the trace events, QEMU's own diagnostics, and the variant's properties.
      expect(r.stdout).toMatch(/qemu-system-x86_64 .*-device virtio-blk-pci,drive=d0 .*-trace 'virtqueue_\*' -trace 'virtio_\*' -d guest_errors -D /);
      expect(r.stdout).toMatch(/virtio-blk-pci,drive=d0,in_order=on/);
      expect(r.stdout).toMatch(/dry run: nothing recorded/);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(tmp)).toEqual([]);
    } finally { rmSync(tmp, { recursive: true, force: true }); }
  });
  it('an unknown variant or option is a usage error', () => {
    expect(sh(['--dry-run', 'no-such-variant']).status).toBe(2);
    expect(sh(['--bogus']).status).toBe(2);
  });
  // A real recording needs QEMU and the guest kernels the script fetched before (no downloads in
  // tests); a run cut short by its timeout under load still gives a trace that must check clean.
  const work = process.env.VQ_WORK ?? join(homedir(), '.cache/vqlab-qemu');
  const ready = which('qemu-system-x86_64') && which('gcc') && existsSync(join(work, 'vmlinuz612')) && existsSync(join(work, 'initramfs612.cpio.gz'));
  it.skipIf(!ready)('records the split variant, and vqlab checks it clean', () => {
    const out = mkdtempSync(join(tmpdir(), 'vqlab-rec-'));
    try {
      const r = sh(['--work', work, '--out', out, '--timeout', '100', 'split'], 150_000);
      expect(r.status, r.stderr).toBe(0);
      const res = checkQemuTrace(readMaybeGzip(join(out, 'split.log.gz')), { queues: parseSidecar(readMaybeGzip(join(out, 'split.vq'))) });
      expect(res.summary.buffers_popped).toBeGreaterThan(0);
      expect(res.queues.every((q) => q.verdict === 'ok' && q.ids === 'heads')).toBe(true);
    } finally { rmSync(out, { recursive: true, force: true }); }
  }, 180_000);
});
