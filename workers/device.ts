// Thin entry point: the device side in its own worker thread.
import { sideWorkerMain } from '../src/harness/worker-main.js';
await sideWorkerMain('device');
