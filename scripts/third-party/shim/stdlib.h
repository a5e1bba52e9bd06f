/* Freestanding stand-ins for what the third-party sources include (vqlab's own, MIT). */
#ifndef VQLAB_SHIM_STDLIB_H
#define VQLAB_SHIM_STDLIB_H
#include <stddef.h>
#define __always_inline inline __attribute__((always_inline))
void *malloc(size_t n);
void free(void *p);
int posix_memalign(void **p, size_t align, size_t n);
_Noreturn void exit(int code);
_Noreturn void _Exit(int code);
#endif
