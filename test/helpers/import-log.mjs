// `node --import ./test/helpers/import-log.mjs …`: appends every ES module URL the process (and its
// worker threads) resolve to the file named by VQLAB_IMPORT_LOG, one per line (and hides the
// packages named in VQLAB_HIDE_PACKAGES).
import { register } from 'node:module';

register('./import-log-hook.mjs', import.meta.url);
