// Thin entry point: the driver side in its own worker thread.
import { sideWorkerMain } from '../src/harness/worker-main.js';
await sideWorkerMain('driver');
