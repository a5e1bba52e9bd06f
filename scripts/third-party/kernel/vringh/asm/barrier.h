/*
 * The barriers vringh.c uses, for wasm32 with threads (vqlab's own, MIT). What tools/virtio's
 * asm/barrier.h gives x86 and arm64 natively, here as C11 fences: clang lowers each to wasm's
 * atomic.fence, which is sequentially consistent (so virt_rmb and virt_wmb are full fences here,
 * stronger than the kernel needs; V8 emits mfence on x86). barrier() is a compiler barrier only.
 */
#ifndef VQLAB_KV_ASM_BARRIER_H
#define VQLAB_KV_ASM_BARRIER_H
#include <stdlib.h>
#define barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define virt_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virt_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virt_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define virt_store_mb(var, value) do { \
	typeof(var) vqlab_store_mb_value = (value); \
	__atomic_store(&(var), &vqlab_store_mb_value, __ATOMIC_SEQ_CST); \
} while (0)
/* The glue creates the ring with weak_barriers, so only the virt_* ones are reached (as in
 * tools/virtio, where the mandatory ones abort). */
#define mb() abort()
#define rmb() abort()
#define wmb() abort()
#define dma_rmb() abort()
#define dma_wmb() abort()
#endif
