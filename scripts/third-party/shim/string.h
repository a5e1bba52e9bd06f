#ifndef VQLAB_SHIM_STRING_H
#define VQLAB_SHIM_STRING_H
#include <stddef.h>
#define memset __builtin_memset
#define memcpy __builtin_memcpy
#endif
