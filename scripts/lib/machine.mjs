// Where a timing figure was measured: the commit (with "+changes" when the work tree differs from
// it), the CPU, the core count, Node and the OS. Timing figures in the docs carry this line.
import { execFileSync } from 'node:child_process';
import { cpus, release, platform, arch } from 'node:os';

export function commit() {
  const cwd = new URL('../..', import.meta.url).pathname;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'an unknown commit (not a git checkout)';
  }
}

export function machine() {
  const c = cpus();
  return `commit ${commit()}, ${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${platform()} ${release()} ${arch()}`;
}
