#ifndef VQLAB_K_STRING_H
#define VQLAB_K_STRING_H
#include <stddef.h>
#define memset __builtin_memset
#define memcpy __builtin_memcpy
#define memcmp __builtin_memcmp
#endif
