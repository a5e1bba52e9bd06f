/*
 * spinlock_t for wasm32 with threads (vqlab's own, MIT): tools/virtio's linux/spinlock.h wraps
 * pthread spinlocks, which a freestanding wasm module has not. One word, taken with an acquire
 * exchange, released with a release store (both sequentially consistent wasm atomics). vringh
 * takes it only around IOTLB lookups, which its kern accessors never make.
 */
#ifndef SPINLOCK_H_STUB
#define SPINLOCK_H_STUB
typedef struct { int locked; } spinlock_t;

static inline void spin_lock_init(spinlock_t *lock) { __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE); }
static inline void spin_lock(spinlock_t *lock)
{
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
			;
}
static inline void spin_unlock(spinlock_t *lock) { __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE); }
#define spin_lock_bh spin_lock
#define spin_unlock_bh spin_unlock
#define spin_lock_irq spin_lock
#define spin_unlock_irq spin_unlock
#define spin_lock_irqsave(lock, flags) do { (void)(flags); spin_lock(lock); } while (0)
#define spin_unlock_irqrestore(lock, flags) do { (void)(flags); spin_unlock(lock); } while (0)
#endif
