/* Freestanding libc stand-ins for the kernel's virtio_ring.c and vringh.c and tools/virtio's
 * headers on wasm32 (vqlab's own, MIT). Allocation is each glue's own. */
#ifndef VQLAB_K_STDLIB_H
#define VQLAB_K_STDLIB_H
#include <stddef.h>
/* glibc's <sys/cdefs.h> gives tools/include this one. */
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
