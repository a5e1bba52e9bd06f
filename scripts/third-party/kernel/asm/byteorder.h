/* wasm32 is little-endian, as virtio 1.x fields are: the conversions generic.h builds on. */
#ifndef VQLAB_K_ASM_BYTEORDER_H
#define VQLAB_K_ASM_BYTEORDER_H
#include <linux/types.h>
#ifndef __LITTLE_ENDIAN
#define __LITTLE_ENDIAN 1234
#endif
#define __LITTLE_ENDIAN_BITFIELD
#define __cpu_to_le64(x) ((__le64)(__u64)(x))
#define __le64_to_cpu(x) ((__u64)(__le64)(x))
#define __cpu_to_le32(x) ((__le32)(__u32)(x))
#define __le32_to_cpu(x) ((__u32)(__le32)(x))
#define __cpu_to_le16(x) ((__le16)(__u16)(x))
#define __le16_to_cpu(x) ((__u16)(__le16)(x))
#define __cpu_to_be64(x) ((__be64)__builtin_bswap64(x))
#define __be64_to_cpu(x) __builtin_bswap64((__u64)(x))
#define __cpu_to_be32(x) ((__be32)__builtin_bswap32(x))
#define __be32_to_cpu(x) __builtin_bswap32((__u32)(x))
#define __cpu_to_be16(x) ((__be16)__builtin_bswap16(x))
#define __be16_to_cpu(x) __builtin_bswap16((__u16)(x))
#define __le16_to_cpus(x) ((void)(x))
#define __cpu_to_le16s(x) ((void)(x))
#define __le32_to_cpus(x) ((void)(x))
#define __cpu_to_le32s(x) ((void)(x))
#define __le64_to_cpus(x) ((void)(x))
#define __cpu_to_le64s(x) ((void)(x))
#endif
