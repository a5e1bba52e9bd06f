/* The fixed-width types the kernel's headers expect from <asm/types.h> (wasm32: ILP32). */
#ifndef VQLAB_K_ASM_TYPES_H
#define VQLAB_K_ASM_TYPES_H
#include <asm/bitsperlong.h>
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
#endif
