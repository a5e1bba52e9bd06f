// Thin entry point: the live checker in its own low-priority thread.
import { checkerWorkerMain } from '../src/harness/checker-thread.js';
checkerWorkerMain();
