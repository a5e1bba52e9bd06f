// The resolve hook behind import-log.mjs (module.register runs it off the main thread). With
// VQLAB_HIDE_PACKAGES=a,b the packages named fail to resolve, as when they are not installed.
import { appendFileSync } from 'node:fs';

const hidden = new Set((process.env.VQLAB_HIDE_PACKAGES ?? '').split(',').filter(Boolean));

export async function resolve(specifier, context, next) {
  if (hidden.has(specifier)) {
    const e = new Error(`Cannot find package '${specifier}' (hidden by the test)`);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  const r = await next(specifier, context);
  if (process.env.VQLAB_IMPORT_LOG) appendFileSync(process.env.VQLAB_IMPORT_LOG, `${r.url}\n`);
  return r;
}
