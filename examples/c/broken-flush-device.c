/*
 * A deliberately broken C device, for vqlab's live checker to catch: examples/c/split-device.c
 * with one mistake. When a parked buffer's fault resolves, it sets FLUSH on that buffer's used
 * entry even while buffers that faulted later are still parked, as if the oldest parked buffer
 * were the only one. FLUSH promises that every buffer made available before the ones used so far
 * is used: with later buffers already used past a still-parked one, that is false, and the checker
 * reports USED_FLUSH_WITH_HOLE.
 *
 *   vqlab run --device examples/c/broken-flush-device.wasm --order partial --fault-rate 0.02
 */
#define SPLIT_DEVICE_BROKEN_FLUSH 1
#include "split-device.c"
