/**
 * vqlab's version, read once from its package.json (never hard-coded), and the format versions of
 * the files and JSON it writes. A reader refuses a format version it does not know (exit 2 at the
 * CLI) instead of misreading it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VqError } from './errors.js';

function readVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/version.ts (tests) sits one level under the package root, dist/src/version.js two.
  for (const rel of ['../package.json', '../../package.json']) {
    const p = resolve(here, rel);
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'vqlab' && typeof pkg.version === 'string') return pkg.version;
    } catch { /* not ours: try the next */ }
  }
  return 'unknown';
}

/** The version in vqlab's package.json. */
export const VQLAB_VERSION: string = readVersion();

/**
 * The JSON documents vqlab writes, each with its own format version. Bump a version when a field
 * changes meaning or a reader of the old layout would misread the new one (adding a field is not a
 * bump); the readers below then refuse older or newer files instead of misreading them.
 */
export const FORMATS = {
  /** `vqlab run --json`. */
  'vqlab-run': 1,
  /** `vqlab bench --json` / `--out`, read back by `bench --from`. */
  'vqlab-bench': 1,
  /** `vqlab bench --question partial --json` / `--out`, read back by `bench --question partial --from`. */
  'vqlab-bench-partial': 1,
  /** `vqlab stress --json`, read back by `stress merge`. */
  'vqlab-stress': 1,
  /** A failure artefact (stress, explore), read back by `run --from` and `replay <file>`. */
  'vqlab-failure': 1,
} as const;
export type FormatKind = keyof typeof FORMATS;

/** The fields that open every JSON document vqlab writes. */
export interface FormatStamp { format: FormatKind; format_version: number; vqlab_version: string }

export function formatStamp(kind: FormatKind): FormatStamp {
  return { format: kind, format_version: FORMATS[kind], vqlab_version: VQLAB_VERSION };
}


/**
 * Check that `doc` (read from `source`) is one of `kinds` in a format version this vqlab reads.
 * Documents written before formats were stamped carry no `format` and are read as they are (the
 * caller checks their shape); a stamped document of another kind or version is refused, naming
 * both versions (a VqError BAD_FORMAT).
 */
export function checkFormat(doc: unknown, kinds: FormatKind[], source: string): void {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return;
  const d = doc as { format?: unknown; format_version?: unknown; vqlab_version?: unknown };
  if (d.format === undefined && d.format_version === undefined) return;
  const by = typeof d.vqlab_version === 'string' ? ` (written by vqlab ${d.vqlab_version})` : '';
  if (typeof d.format !== 'string' || !(kinds as string[]).includes(d.format)) {
    throw new VqError('BAD_FORMAT', 'config', `${source}: a ${String(d.format)} document${by}, expected ${kinds.join(' or ')}`);
  }
  const want = FORMATS[d.format as FormatKind];
  if (d.format_version !== want) {
    throw new VqError('BAD_FORMAT', 'config', `${source}: ${d.format} format version ${String(d.format_version)}${by}; this vqlab (${VQLAB_VERSION}) reads version ${want} only: use the vqlab version that wrote it`);
  }
}
