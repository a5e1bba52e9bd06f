/*
 * Test fixture: examples/c/split-driver.c made synchronous. After each publish it sleeps until the
 * device has used everything, with memory.atomic.wait32 directly (not through vqlab_wait32): the
 * shape V8 11.3's baseline compiler (Liftoff) gets wrong — after the wait, the address local reads
 * 0, so the loop goes on waiting on address 0 for ever. test/wasm-liftoff.test.ts runs it with and
 * without vqlab's workaround (optimizing compiler only).
 */
#define SPLIT_DRIVER_RAW_WAIT 1
#include "../../examples/c/split-driver.c"
