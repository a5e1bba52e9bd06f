/* Freestanding libc stand-ins for the kernel's vringh.c and tools/virtio's headers on wasm32
 * (vqlab's own, MIT). Allocation is the glue's: vringh only allocates to grow an iovec. */
#ifndef VQLAB_KV_STDLIB_H
#define VQLAB_KV_STDLIB_H
#include <stddef.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
void *malloc(size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
int posix_memalign(void **p, size_t align, size_t n);
_Noreturn void abort(void);
_Noreturn void exit(int code);
#endif
