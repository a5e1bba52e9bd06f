// Thin entry point: one thread of a real litmus run.
import '../src/litmus/worker.js';
