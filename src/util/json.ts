/**
 * vqlab's JSON output speaks snake_case (buffers_per_s, queue_size) while its TypeScript objects
 * speak camelCase (queueSize): the conversion happens once, where JSON is written and read back.
 */
/** camelCase → snake_case for one key; keys that are data (SPSC-batch32, BAD_DESC, r0=1) are left alone. */
export const snakeKey = (k: string): string => (/^[a-z][a-zA-Z0-9]*$/.test(k) ? k.replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`) : k);
/** snake_case → camelCase for one key (the inverse of snakeKey on identifiers). */
export const camelKey = (k: string): string => (/^[a-z][a-z0-9_]*$/.test(k) ? k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : k);

/** A deep copy with every object key in snake_case: the one key style of vqlab's JSON output. */
export function toJsonKeys(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(toJsonKeys);
  if (x === null || typeof x !== 'object') return x;
  if (typeof (x as { toJSON?: unknown }).toJSON === 'function') return toJsonKeys((x as { toJSON(): unknown }).toJSON());
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) out[snakeKey(k)] = toJsonKeys(v);
  return out;
}

/** A deep copy with snake_case keys turned back into the camelCase of vqlab's own config objects (reading JSON it wrote). */
export function fromJsonKeys<T>(x: unknown): T {
  if (Array.isArray(x)) return x.map((v) => fromJsonKeys(v)) as T;
  if (x === null || typeof x !== 'object') return x as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) out[camelKey(k)] = fromJsonKeys(v);
  return out as T;
}
