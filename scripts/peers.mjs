#!/usr/bin/env node
// The machine's cross-core figures right now, without a bench: the Atomics ping-pong (one round
// trip between the two workers) and the batched index-only SPSC ceiling, N times. On a shared VM
// these move by several times within a minute; run this next to a measurement to know which
// placement it got.
//   npm run build && node scripts/peers.mjs [N] [messages]     (SPSC messages per run, default 20 000 000;
//   the ping-pong makes a hundredth as many round trips)
const { runPeer } = await import(new URL('../dist/src/bench/peers.js', import.meta.url).pathname);
const n = Number(process.argv[2] ?? 3);
const messages = Number(process.argv[3] ?? 20_000_000);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(messages) || messages < 100_000) { console.error('usage: node scripts/peers.mjs [N ≥ 1] [messages ≥ 100000]'); process.exit(2); }
for (let i = 0; i < n; i++) {
  const pp = await runPeer('pingpong', Math.round(messages / 100));
  const sp = await runPeer('spsc-batch32', messages);
  console.log(`ping-pong ${(pp.steady_per_s / 1e6).toFixed(2)} M round trips/s (${(1e9 / pp.steady_per_s).toFixed(0)} ns each); ceiling ${(sp.steady_per_s / 1e6).toFixed(1)} M msg/s`);
}
