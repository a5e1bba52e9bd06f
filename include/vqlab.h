/*
 * vqlab.h — the WebAssembly side ABI of vqlab (ABI version 1).
 *
 * A driver or a device written in C (or anything that compiles to wasm32 with threads) runs in a
 * worker thread of `vqlab run --driver x.wasm` / `--device x.wasm`, directly on guest memory, with
 * real concurrency against vqlab's other side and its live checker. It is the side contract of the
 * JavaScript modules (start / step / prepare_sleep / after_wake / finish / finished), in C.
 *
 * The module
 *   - imports its memory as env.memory (shared): guest memory itself. Link with
 *       -Wl,--import-memory,--shared-memory,--max-memory=4294967296
 *   - is linked at its role's region (static data and stack live in guest memory, so each side
 *     has a private region, below the queue area and outside the DMA window):
 *       driver: -Wl,--global-base=65536     (region VQLAB_DRIVER_REGION_START .. _END)
 *       device: -Wl,--global-base=1048576   (region VQLAB_DEVICE_REGION_START .. _END)
 *     vqlab checks [__global_base, __heap_base) against the region before anything runs, sets
 *     __stack_pointer to the region's top (below the config block) and refuses a module that does
 *     not fit. Export them: -Wl,--export=__global_base,--export=__data_end,--export=__heap_base,
 *     --export=__stack_pointer (exporting the mutable __stack_pointer needs -mmutable-globals).
 *   - imports the functions declared VQLAB_IMPORT below (module "env"); only those;
 *   - exports the functions declared VQLAB_EXPORTS below (vqlab_init, vqlab_step, ...).
 *
 * A full command line (clang and lld from Debian: apt-get install clang lld):
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -matomics -mbulk-memory -mmutable-globals \
 *     -I include -Wl,--no-entry,--import-memory,--shared-memory,--max-memory=4294967296 \
 *     -Wl,--global-base=1048576,--export=__global_base,--export=__data_end,--export=__heap_base \
 *     -Wl,--export=__stack_pointer -o my-device.wasm my-device.c
 *
 * Memory model. C11 atomics compile to wasm atomics, which are sequentially consistent: a release
 * store (vqlab_store16_release) is the write barrier + store of 2.7.13 / 2.8.21, an acquire load
 * the load + read barrier, vqlab_mb() the full barrier before a notification check (2.7.10).
 * Plain loads and stores are plain. All ring fields are little-endian, as wasm is.
 *
 * Waiting. V8 11.3 (Node 20) miscompiles memory.atomic.wait32 in its baseline compiler: the address
 * local is clobbered, a later use reads address 0. vqlab compiles wasm sides with the optimizing
 * compiler only, and the helpers here wait through the harness (vqlab_wait32) anyway. A side never
 * needs to wait itself: the harness sleeps for it between prepare_sleep and after_wake.
 */
#ifndef VQLAB_H
#define VQLAB_H

#include <stdint.h>

#define VQLAB_ABI_VERSION 1

/* Guest memory map of a run with a wasm side (byte addresses). */
#define VQLAB_DRIVER_REGION_START 0x10000u   /* 0 .. 64 KiB: never used (null pointers fault into zeros) */
#define VQLAB_DRIVER_REGION_END   0x100000u
#define VQLAB_DEVICE_REGION_START 0x100000u
#define VQLAB_DEVICE_REGION_END   0x200000u
#define VQLAB_QUEUE_BASE          0x200000u  /* ring, indirect tables, buffer pool */
#define VQLAB_CONFIG_BYTES        256u       /* the config block at the top of the region */

/* Spec constants (virtio 1.2 + the VIRTIO_F_PARTIAL_ORDER proposal, bit 39). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_F_RING_PACKED   34
#define VIRTIO_F_IN_ORDER      35
#define VIRTIO_F_PARTIAL_ORDER 39
#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_DESC_F_FLUSH     8           /* packed, PARTIAL_ORDER */
#define VIRTQ_DESC_F_AVAIL     (1u << 7)
#define VIRTQ_DESC_F_USED      (1u << 15)
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1
#define VIRTQ_USED_ELEM_F_FLUSH    0x8000  /* split, PARTIAL_ORDER: the high half of the old le32 id */

struct vq_desc      { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct vq_used_elem { uint16_t id; uint16_t flags; uint32_t len; };

enum vqlab_role  { VQLAB_DRIVER = 0, VQLAB_DEVICE = 1 };
enum vqlab_ring  { VQLAB_SPLIT = 0, VQLAB_PACKED = 1 };
enum vqlab_order { VQLAB_ORDER_NONE = 0, VQLAB_ORDER_IN_ORDER = 1, VQLAB_ORDER_PARTIAL = 2 };

/*
 * What the harness passes to vqlab_init: the run's layout and parameters, all uint32 (addresses
 * are guest byte addresses). It lives at region_end - VQLAB_CONFIG_BYTES; copy what you need.
 * The field order is the ABI (vqlab's src/wasm/abi.ts lists the same names in the same order).
 */
struct vqlab_config {
  uint32_t abi_version, role, ring, queue_size;
  uint32_t features_lo, features_hi;      /* negotiated feature bits */
  uint32_t order, event_idx, indirect;    /* decoded from the features; order: IN_ORDER rules when both
                                             IN_ORDER and PARTIAL_ORDER are negotiated (FLUSH is then
                                             defined: test the PARTIAL_ORDER bit) */
  uint32_t desc, avail, used;             /* split: the three parts; packed: desc only */
  uint32_t used_event, avail_event;       /* split EVENT_IDX fields (end of avail / used) */
  uint32_t driver_event, device_event;    /* packed event suppression structures */
  uint32_t dma_start, dma_end;            /* the DMA window: descriptors must point inside it */
  uint32_t indirect_base, indirect_stride, indirect_min;
  uint32_t pool_base, buffer_stride, segment_stride;
  uint32_t segments, readable, writable, segment_bytes;
  uint32_t buffers_lo, buffers_hi;        /* driver: buffers to move through the queue */
  uint32_t publish_batch, pop_budget, seg_max;
  uint32_t verify_data;                   /* write and check the data patterns (vqlab_fill / vqlab_check) */
  uint32_t fault_latency_us;              /* device: a faulting buffer resolves this long after it faulted */
  uint32_t order_window;                  /* most buffers from the oldest outstanding to the newest */
  uint32_t salt_out, salt_in;             /* pattern salts: driver → device, device → driver */
  uint32_t region_start, region_end;      /* this module's private region */
  uint32_t seed;
};

#define VQLAB_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define VQLAB_EXPORT(name) __attribute__((export_name(#name), visibility("default")))

/* --- imports: transport, time, harness ------------------------------------------------------- */
/* Driver: ring the kick doorbell (a driver notification) after publishing avail.idx `avail_idx`. */
VQLAB_IMPORT(vqlab_kick) void vqlab_kick(uint32_t avail_idx);
/* Device: ring the interrupt doorbell (a used buffer notification) after publishing used.idx. */
VQLAB_IMPORT(vqlab_interrupt) void vqlab_interrupt(uint32_t used_idx);
/* memory.atomic.wait32 / notify, done by the harness (never hangs: a stop request ends the wait).
 * Returns 0 woken, 1 not equal, 2 timed out. timeout_ns < 0: until woken or stopped. */
VQLAB_IMPORT(vqlab_wait32) int32_t vqlab_wait32(const volatile int32_t *addr, int32_t expected, int64_t timeout_ns);
VQLAB_IMPORT(vqlab_notify) int32_t vqlab_notify(const volatile int32_t *addr, int32_t count);
/* One line to the run's stderr, prefixed with the side. */
VQLAB_IMPORT(vqlab_log) void vqlab_log(const char *s, uint32_t len);
/* Milliseconds (the run's clock). */
VQLAB_IMPORT(vqlab_now_ms) double vqlab_now_ms(void);
VQLAB_IMPORT(vqlab_stop_requested) int32_t vqlab_stop_requested(void);
/* Device: the driver has reclaimed every buffer (exit once nothing is parked). */
VQLAB_IMPORT(vqlab_driver_done) int32_t vqlab_driver_done(void);
/* Device: the run's seeded page-fault model, one draw per buffer in available order: 1 = faults. */
VQLAB_IMPORT(vqlab_fault_next) int32_t vqlab_fault_next(void);
/* The data patterns of vqlab's sides (buffer `seq` = its position in available order; `first` =
 * the word index of addr within the buffer's readable or writable bytes). */
VQLAB_IMPORT(vqlab_fill) void vqlab_fill(uint32_t addr, uint32_t len, uint32_t seq, uint32_t salt, uint32_t first);
VQLAB_IMPORT(vqlab_check) int32_t vqlab_check(uint32_t addr, uint32_t len, uint32_t seq, uint32_t salt, uint32_t first);

/* --- imports: reports (what the live checker and the run's figures see) ----------------------- */
/* Device */
VQLAB_IMPORT(vqlab_report_popped) void vqlab_report_popped(void);
VQLAB_IMPORT(vqlab_report_completed) void vqlab_report_completed(void);
/* A used entry was written naming `id`; it stands for `buffers` buffers (1, or a batch). */
VQLAB_IMPORT(vqlab_report_used) void vqlab_report_used(uint32_t id, uint32_t len, int32_t flush, uint32_t buffers);
/* Call right BEFORE the store that makes used entries visible (split: used.idx). */
VQLAB_IMPORT(vqlab_report_used_publish) void vqlab_report_used_publish(void);
VQLAB_IMPORT(vqlab_report_fault) void vqlab_report_fault(uint32_t id, uint32_t seq, uint32_t pending);
VQLAB_IMPORT(vqlab_report_resolved) void vqlab_report_resolved(uint32_t id, uint32_t seq, double stalled_ms);
VQLAB_IMPORT(vqlab_report_device_corrupt) void vqlab_report_device_corrupt(uint32_t id, uint32_t seq);
/* Driver */
/* Buffer `id` with `capacity` writable bytes was added (visible at the next publish). */
VQLAB_IMPORT(vqlab_report_avail) void vqlab_report_avail(uint32_t id, uint32_t capacity);
/* Call right BEFORE the store that makes buffers visible (split: avail.idx); `made` = total added. */
VQLAB_IMPORT(vqlab_report_avail_publish) void vqlab_report_avail_publish(double made);
/* A used entry naming `id` was reclaimed and completed `count` buffers; `total` reclaimed so far. */
VQLAB_IMPORT(vqlab_report_reclaim) void vqlab_report_reclaim(uint32_t id, uint32_t count, double total);
VQLAB_IMPORT(vqlab_report_driver_corrupt) void vqlab_report_driver_corrupt(uint32_t id, uint32_t seq);
/* Either: make recorded events visible to the checker now. */
VQLAB_IMPORT(vqlab_report_publish) void vqlab_report_publish(void);

/* --- exports: the side contract ----------------------------------------------------------------
 *   int32_t vqlab_init(const struct vqlab_config *c)   once; 0 = ready, else refuse (log why)
 *   void    vqlab_start(void)                          (optional) once, before the first step
 *   int32_t vqlab_step(void)                           one round; how much was done (0 = idle); never blocks
 *   int32_t vqlab_has_work(void)                       the other side published work
 *   int32_t vqlab_prepare_sleep(void)                  enable notifications, full barrier, re-check: 1 = safe to sleep
 *   void    vqlab_after_wake(void)                     back to busy mode
 *   void    vqlab_lost_wakeup(void)                    (optional) the harness recorded a lost wake-up
 *   void    vqlab_finish(void)                         once, at the end
 *   int32_t vqlab_finished(void)                       driver: every buffer reclaimed; device: driver done, nothing parked
 *   double  vqlab_next_resolve_at(void)                (optional, device) earliest resolve time of a parked buffer, ms; INFINITY if none
 *   uint64_t vqlab_features(void)                      (optional, device) the feature bits it offers
 * Declare them with VQLAB_EXPORT(name).
 */

/* --- helpers ----------------------------------------------------------------------------------- */
static inline uint16_t vqlab_load16_acquire(const volatile void *p) {
  return __atomic_load_n((const volatile uint16_t *)p, __ATOMIC_ACQUIRE);
}
static inline void vqlab_store16_release(volatile void *p, uint16_t v) {
  __atomic_store_n((volatile uint16_t *)p, v, __ATOMIC_RELEASE);
}
static inline void vqlab_mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
/* vring_need_event (2.7.10.1): notify if new_idx passed event_idx since old_idx. */
static inline int vqlab_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}
static inline void vqlab_log_str(const char *s) { uint32_t n = 0; while (s[n]) n++; vqlab_log(s, n); }
static inline void *vqlab_ptr(uint64_t addr) { return (void *)(uintptr_t)addr; }

/* The buffer pool vqlab lays out for a driver (pool_base, buffer_stride, segment_stride): segment k
 * of the buffer in slot `slot`, and a driver's data patterns over it, segment after segment (the
 * word numbering continues from one segment to the next, as vqlab's own driver numbers it). */
static inline uint32_t vqlab_segment_addr(const struct vqlab_config *c, uint32_t slot, uint32_t k) {
  return c->pool_base + slot * c->buffer_stride + k * c->segment_stride;
}
/* Driver: write buffer `seq`'s pattern into the readable segments of slot `slot`. */
static inline void vqlab_fill_readable(const struct vqlab_config *c, uint32_t slot, uint32_t seq) {
  for (uint32_t k = 0, word = 0; k < c->readable; k++, word += (c->segment_bytes + 3) / 4)
    vqlab_fill(vqlab_segment_addr(c, slot, k), c->segment_bytes, seq, c->salt_out, word);
}
/* Driver: does slot `slot` hold buffer `seq`'s pattern in its first `len` writable bytes? */
static inline int vqlab_check_writable(const struct vqlab_config *c, uint32_t slot, uint32_t seq, uint32_t len) {
  uint32_t left = len, word = 0;
  for (uint32_t k = 0; k < c->writable && left > 0; k++, word += (c->segment_bytes + 3) / 4) {
    uint32_t m = left < c->segment_bytes ? left : c->segment_bytes;
    if (!vqlab_check(vqlab_segment_addr(c, slot, c->readable + k), m, seq, c->salt_in, word)) return 0;
    left -= m;
  }
  return 1;
}

#endif /* VQLAB_H */
