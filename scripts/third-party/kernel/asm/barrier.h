/*
 * The barriers virtio_ring.c and vringh.c use, for wasm32 with threads (vqlab's own, MIT). What
 * tools/virtio's asm/barrier.h gives x86 and arm64 natively, here as C11 atomics: clang lowers
 * every fence to wasm's atomic.fence, which is sequentially consistent (so virt_rmb and virt_wmb
 * are full fences here, stronger than the kernel needs), and V8 emits it as mfence on x86.
 * barrier() is a compiler barrier only.
 */
#ifndef VQLAB_K_ASM_BARRIER_H
#define VQLAB_K_ASM_BARRIER_H
#include <stdlib.h>
#define barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define virt_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virt_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virt_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
/* A sequentially consistent store: the store and the full barrier after it. */
#define virt_store_mb(var, value) do { \
	typeof(var) vqlab_store_mb_value = (value); \
	__atomic_store(&(var), &vqlab_store_mb_value, __ATOMIC_SEQ_CST); \
} while (0)
/* virtio_ring.c and vringh.c use the weak (virt_*) barriers when the ring is set up with
 * weak_barriers; both glues do, so the mandatory ones are never reached (as in tools/virtio). */
#define mb() abort()
#define rmb() abort()
#define wmb() abort()
#define dma_rmb() abort()
#define dma_wmb() abort()
#endif
