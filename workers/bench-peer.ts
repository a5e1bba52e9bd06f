// Thin entry point: one side of a peer benchmark (SPSC ceiling, ping-pong, ringbuf.js).
import { peerWorkerMain } from '../src/bench/peer-main.js';
peerWorkerMain();
