#!/usr/bin/env node
// vqlab command line. The TypeScript sources are compiled to dist/ by `npm run build`
// (npm start and npm test do it first); worker threads start from dist/workers/*.js.
import { existsSync } from 'node:fs';
const entry = new URL('../dist/src/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('vqlab: not built yet; run `npm run build` (npm start and npm test build first)\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
