#ifndef VQLAB_K_ASM_POSIX_TYPES_H
#define VQLAB_K_ASM_POSIX_TYPES_H
/* wasm32's size_t is unsigned long. */
typedef unsigned long __kernel_size_t;
typedef long __kernel_ssize_t;
#endif
