#ifndef VQLAB_K_ASM_BITSPERLONG_H
#define VQLAB_K_ASM_BITSPERLONG_H
#define __BITS_PER_LONG 32   /* wasm32 */
/* tools/include/linux/bitops.h may have set it from glibc's __WORDSIZE; asm-generic sets it again. */
#undef BITS_PER_LONG
#include <asm-generic/bitsperlong.h>
#endif
