#ifndef VQLAB_K_ASM_BITSPERLONG_H
#define VQLAB_K_ASM_BITSPERLONG_H
#define __BITS_PER_LONG 32   /* wasm32 */
#include <asm-generic/bitsperlong.h>
#endif
