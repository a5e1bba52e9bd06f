/** Shared CLI plumbing: strict number parsers, one-line usage errors with exit code 2. */
import { InvalidArgumentError } from 'commander';
import { parseOrderSpec, type OrderSpec } from '../spec/features.js';
import { accessSync, constants, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

/** A strict integer parser for commander (never bare parseInt: commander passes the previous value as radix). */
export function intArg(name: string, lo: number, hi: number): (v: string) => number {
  return (v: string) => {
    const s = v.trim();
    const n = /^[-+]?\d+(e\d+)?$/i.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be an integer in ${lo}..${hi}`);
    return n;
  };
}

export function floatArg(name: string, lo: number, hi: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a number in [${lo}, ${hi}]`);
    return n;
  };
}

/**
 * An ordering-feature list: none | in-order | partial | in-order,partial (either order: both
 * negotiated, IN_ORDER's rules with FLUSH defined). `sep` joins the two names (',' for --order;
 * '+' inside a comma-separated list).
 */
export function orderArg(name: string, sep = ','): (v: string) => OrderSpec {
  return (v: string) => {
    const o = parseOrderSpec(v.split(sep).map((x) => x.trim()));
    if (o === null) throw new InvalidArgumentError(`${name} must be none, in-order, partial, or in-order${sep}partial (both), got "${v}"`);
    return o;
  };
}


/** A comma-separated list parsed item by item; duplicates removed, order kept. */
export function listArg<T>(name: string, item: (s: string) => T): (v: string) => T[] {
  return (v: string) => {
    const parts = v.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) throw new InvalidArgumentError(`${name} must be a comma-separated list with no empty items`);
    const out: T[] = [];
    for (const p of parts) { const x = item(p); if (!out.includes(x)) out.push(x); }
    return out;
  };
}
export function choice<T extends string>(name: string, cs: readonly T[]): (s: string) => T {
  return (s) => { if (!(cs as readonly string[]).includes(s)) throw new InvalidArgumentError(`${name} items must be ${cs.join('|')}, got "${s}"`); return s as T; };
}
export { toJsonKeys, fromJsonKeys } from '../util/json.js';
import { toJsonKeys } from '../util/json.js';

export function printJson(x: unknown): void {
  process.stdout.write(JSON.stringify(toJsonKeys(x), null, 2) + '\n');
}

/**
 * Whether to draw a progress bar or a rewritten status line on stderr: only on a terminal that can
 * move the cursor (not TERM=dumb), and never with --quiet.
 */
export function showProgress(quiet?: boolean): boolean {
  return !quiet && process.stderr.isTTY === true && process.env.TERM !== 'dumb';
}

/** Render rows as an aligned text table. */
export function table(rows: (string | number)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, String(c).length); });
  const line = (r: (string | number)[]): string => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

/**
 * A file we are about to write, checked before a run that may take many minutes: its directory
 * exists and is writable, and it is not a directory or a read-only file itself.
 */
export function checkWritable(flag: string, file: string): void {
  const dir = dirname(resolve(file));
  let st;
  try { st = statSync(dir); } catch { throw new UsageError(`${flag} ${file}: directory ${dir} does not exist`); }
  if (!st.isDirectory()) throw new UsageError(`${flag} ${file}: ${dir} is not a directory`);
  try { accessSync(dir, constants.W_OK); } catch { throw new UsageError(`${flag} ${file}: directory ${dir} is not writable`); }
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new UsageError(`${flag} ${file}: is a directory`);
    try { accessSync(file, constants.W_OK); } catch { throw new UsageError(`${flag} ${file}: file is not writable`); }
  }
}

/**
 * A fresh directory under the system's temporary directory for files the user did not name
 * (failure artefacts): never the working directory, where they would pile up unasked.
 */
export function freshOutDir(what: string): string {
  return mkdtempSync(join(tmpdir(), `vqlab-${what}-`));
}

/** A directory we may create and write into: it is a directory if it exists, else its nearest existing ancestor is a writable one. */
export function checkOutDir(flag: string, dir: string): void {
  let p = resolve(dir);
  if (existsSync(p) && !statSync(p).isDirectory()) throw new UsageError(`${flag} ${dir}: exists and is not a directory`);
  while (!existsSync(p)) p = dirname(p);
  if (!statSync(p).isDirectory()) throw new UsageError(`${flag} ${dir}: ${p} is not a directory`);
  try { accessSync(p, constants.W_OK); } catch { throw new UsageError(`${flag} ${dir}: ${p} is not writable`); }
}
