/*
 * Glue that runs the Linux kernel's own virtqueue driver, drivers/virtio/virtio_ring.c (6.1,
 * GPL-2.0, extracted from Debian's linux-source-6.1 at build time and never committed), as a vqlab
 * WebAssembly DRIVER side. It plays the part tools/virtio/virtio_test.c plays in userspace: a
 * struct virtio_device with the negotiated features, the virtqueue created on vqlab's ring,
 * scatterlists over vqlab's buffer pool, virtqueue_add_sgs, virtqueue_kick_prepare + notify
 * through vqlab's kick doorbell, virtqueue_get_buf in the interrupt path, virtqueue_enable_cb /
 * disable_cb as vqlab's prepare_sleep / after_wake. This file is vqlab's own (MIT); the module
 * built from it with the kernel's file is GPL-2.0 and stays in the cache directory.
 *
 * Where the ring lives (vqlab's device reads the ring at vqlab's layout, src/spec/layout.ts):
 * vring_create_virtqueue allocates the ring itself (tools/virtio's alloc_pages_exact is kmalloc):
 *   - split: one block, laid out by vring_init(queue, num, vring_align); with vring_align = 4 that
 *     is exactly vqlab's split layout (desc, avail with used_event, used with avail_event);
 *   - packed: the descriptor ring, then the driver and then the device event structure.
 * The allocator below hands those first allocations vqlab's addresses (the kernel asks for
 * page-rounded sizes; it touches only the structures, which vqlab's layout holds back to back), and
 * init checks the addresses the queue reports (virtqueue_get_desc_addr / _avail_addr / _used_addr)
 * against vqlab's layout.
 * Indirect tables (2.7.5.3, 2.8.7): the kernel kmallocs one per buffer inside virtqueue_add and
 * kfrees it when the buffer is used. While virtqueue_add_sgs runs, the allocator serves vqlab's
 * indirect table slots (in the DMA window); a failed allocation makes the kernel fall back to
 * direct descriptors, as it would under memory pressure.
 *
 * Reports: the ring stores its own index (split avail.idx, packed head flags) inside
 * virtqueue_add_sgs, so the glue reports the buffer and the publish right before calling it,
 * naming the id the kernel is about to use (its free_head, read from the queue's state: this file
 * includes virtio_ring.c). Reclaims are reported from the token virtqueue_get_buf returns.
 *
 * The kernel driver negotiates neither IN_ORDER nor PARTIAL_ORDER: init refuses a run with an
 * ordering feature (and ACCESS_PLATFORM / ORDER_PLATFORM, which would take it off the weak
 * barriers and the identity DMA mapping tools/virtio provides).
 */
#include "vqlab.h"
#include "virtio_ring.c"

/* What tools/virtio's linux/kernel.h expects from virtio_test.c's side. */
void *__kmalloc_fake, *__kfree_ignore_start, *__kfree_ignore_end;
struct vqlab_file { int unused; };
static struct vqlab_file stderr_file;
FILE *stderr = &stderr_file;
/* pr_err / dev_err / BAD_RING (which marks the queue broken): one line to the run's log, with the
 * conversions those messages use (%s %d %i %u %x %p, with l/z/ll length modifiers). */
static char *put_u64(char *p, char *end, uint64_t v, unsigned base) {
  char d[24];
  int n = 0;
  do { d[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
  while (n && p < end) *p++ = d[--n];
  return p;
}
static char *put_str(char *p, char *end, const char *s) { while (*s && p < end) *p++ = *s++; return p; }
int fprintf(FILE *f, const char *fmt, ...) {
  (void)f;
  char line[256], *p = line, *end = line + sizeof line;
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  for (const char *q = fmt; *q && p < end; q++) {
    if (*q != '%') { if (*q != '\n') *p++ = *q; continue; }
    int longs = 0;
    for (q++; *q == 'l' || *q == 'z'; q++) longs += *q == 'l' ? 1 : 0;
    switch (*q) {
      case 's': p = put_str(p, end, __builtin_va_arg(ap, const char *)); break;
      case 'd': case 'i': {
        int64_t v = longs > 1 ? __builtin_va_arg(ap, long long) : __builtin_va_arg(ap, int);
        if (v < 0 && p < end) { *p++ = '-'; v = -v; }
        p = put_u64(p, end, (uint64_t)v, 10);
        break;
      }
      case 'u': case 'x': {
        uint64_t v = longs > 1 ? __builtin_va_arg(ap, unsigned long long) : __builtin_va_arg(ap, unsigned);
        p = put_u64(p, end, v, *q == 'x' ? 16 : 10);
        break;
      }
      case 'p': p = put_str(p, end, "0x"); p = put_u64(p, end, (uintptr_t)__builtin_va_arg(ap, void *), 16); break;
      case '%': *p++ = '%'; break;
      default: if (!*q) q--; break;
    }
  }
  __builtin_va_end(ap);
  vqlab_log(line, (uint32_t)(p - line));
  return 0;
}
_Noreturn void abort(void) { vqlab_log_str("kernel-driver: abort()"); __builtin_trap(); }
_Noreturn void exit(int code) { (void)code; __builtin_trap(); }

/* --- allocation ------------------------------------------------------------------------------ */
/* The kernel's private state (struct vring_virtqueue, desc_state, desc_extra): a bump heap in the
 * module's region, never freed during a run. */
#define HEAP_BYTES (512u * 1024u)
static unsigned char heap[HEAP_BYTES] __attribute__((aligned(16)));
static uint32_t heap_used;
/* The ring's first allocations, placed at vqlab's layout (see above). */
static uint32_t place_addr[3], place_count, place_next;
/* vqlab's indirect tables: a stack of free slots, used while virtqueue_add_sgs runs. */
#define MAX_QUEUE 8192
#define MAX_SEGMENTS 64   /* vqlab's default seg_max */
static uint16_t indirect_free[MAX_QUEUE];
static uint32_t indirect_free_count, indirect_slots;
static int adding;
static uint64_t indirect_buffers;   /* buffers the kernel put in an indirect table (said at finish) */

static struct vqlab_config c;

void *malloc(size_t n) {
  if (place_next < place_count) return (void *)(uintptr_t)place_addr[place_next++];
  if (adding) {
    if (n > c.indirect_stride || indirect_free_count == 0) return 0;
    return (void *)(uintptr_t)(c.indirect_base + indirect_free[--indirect_free_count] * c.indirect_stride);
  }
  uint32_t at = (heap_used + 15u) & ~15u;
  if (n > HEAP_BYTES - at) return 0;
  heap_used = at + (uint32_t)n;
  return &heap[at];
}
void free(void *p) {
  uint32_t a = (uint32_t)(uintptr_t)p;
  if (indirect_slots && a >= c.indirect_base && a < c.indirect_base + indirect_slots * c.indirect_stride) {
    uint32_t slot = (a - c.indirect_base) / c.indirect_stride;
    if (slot * c.indirect_stride + c.indirect_base != a || indirect_free_count >= indirect_slots) {
      vqlab_log_str("kernel-driver: kfree of a bad indirect table address");
      __builtin_trap();
    }
    indirect_free[indirect_free_count++] = (uint16_t)slot;
  }
  /* The heap is never given back during a run. */
}
void *realloc(void *p, size_t n) { (void)p; (void)n; return 0; }
int posix_memalign(void **p, size_t align, size_t n) { (void)p; (void)align; (void)n; return 1; }

/* --- the device and the queue ---------------------------------------------------------------- */
static struct virtio_device vdev;
static struct virtqueue *vq;
static uint64_t total, made, reclaimed;
static uint32_t seq_of[MAX_QUEUE];
static uint32_t ids;              /* ids the kernel hands out: split descriptors, packed buffer ids */

static bool notify(struct virtqueue *q) {
  (void)q;
  vqlab_kick((uint32_t)(made & 0xffff));
  return true;
}
/* The virtqueue callback, run by vring_interrupt: what drivers do first (virtio_net's skb_recv_done,
 * virtio_blk's virtblk_done): stop further interrupts while the queue is drained. */
static void callback(struct virtqueue *q) { virtqueue_disable_cb(q); }

static void fail(const char *why) { vqlab_log_str(why); __builtin_trap(); }

VQLAB_EXPORT(vqlab_init) int32_t vqlab_init(const struct vqlab_config *cfg) {
  c = *cfg;
  if (c.abi_version != VQLAB_ABI_VERSION || c.role != VQLAB_DRIVER) { vqlab_log_str("kernel-driver: wrong ABI version or role"); return 1; }
  uint64_t features = ((uint64_t)c.features_hi << 32) | c.features_lo;
  if (c.order != VQLAB_ORDER_NONE || (features & (1ull << VIRTIO_F_PARTIAL_ORDER))) {
    vqlab_log_str("kernel-driver: virtio_ring.c negotiates neither IN_ORDER nor PARTIAL_ORDER (run with --order none)");
    return 2;
  }
  if (features & ((1ull << VIRTIO_F_ACCESS_PLATFORM) | (1ull << VIRTIO_F_ORDER_PLATFORM))) {
    vqlab_log_str("kernel-driver: ACCESS_PLATFORM / ORDER_PLATFORM are not supported by this glue");
    return 2;
  }
  if (c.queue_size > MAX_QUEUE) { vqlab_log_str("kernel-driver: queue size above 8192"); return 3; }
  if (c.segments > MAX_SEGMENTS) { vqlab_log_str("kernel-driver: more than 64 segments per buffer"); return 3; }
  total = ((uint64_t)c.buffers_hi << 32) | c.buffers_lo;
  vdev.features = features;
  INIT_LIST_HEAD(&vdev.vqs);
  spin_lock_init(&vdev.vqs_list_lock);
  indirect_slots = c.indirect_stride ? c.queue_size : 0;
  for (uint32_t i = 0; i < indirect_slots; i++) indirect_free[i] = (uint16_t)(indirect_slots - 1 - i);
  indirect_free_count = indirect_slots;
  /* The ring's allocations (split: one block; packed: ring, driver event, device event) land at
   * vqlab's addresses; vring_init(queue, num, align = 4) is vqlab's split layout. */
  place_count = 0;
  place_addr[place_count++] = c.desc;
  if (c.ring == VQLAB_PACKED) { place_addr[place_count++] = c.driver_event; place_addr[place_count++] = c.device_event; }
  place_next = 0;
  vq = vring_create_virtqueue(0, c.queue_size, 4, &vdev, true, false, false, notify, callback, "vqlab");
  if (vq && place_next != place_count) { vqlab_log_str("kernel-driver: the ring was not allocated as expected"); return 4; }
  place_count = 0;
  if (!vq) { vqlab_log_str("kernel-driver: the kernel could not create the virtqueue (queue too large for the glue's heap?)"); return 4; }
  uint32_t want[3] = { c.desc, c.ring == VQLAB_SPLIT ? c.avail : c.driver_event, c.ring == VQLAB_SPLIT ? c.used : c.device_event };
  if ((uint32_t)virtqueue_get_desc_addr(vq) != want[0] || (uint32_t)virtqueue_get_avail_addr(vq) != want[1] ||
      (uint32_t)virtqueue_get_used_addr(vq) != want[2] || virtqueue_get_vring_size(vq) != c.queue_size) {
    vqlab_log_str("kernel-driver: the kernel's ring is not at vqlab's layout");
    return 5;
  }
  ids = c.queue_size;
  return 0;
}

/* Busy until the first sleep: no used buffer notifications. */
VQLAB_EXPORT(vqlab_start) void vqlab_start(void) { virtqueue_disable_cb(vq); }

/* One buffer: `readable` device-readable then `writable` device-writable segments over the pool
 * slot of the id the kernel will use, one scatterlist each, through virtqueue_add_sgs. */
static struct scatterlist sg_store[MAX_SEGMENTS];
static struct scatterlist *sgs[MAX_SEGMENTS];

static int add_one(void) {
  struct vring_virtqueue *v = to_vvq(vq);
  if (vq->num_free == 0) return 0;
  /* Direct descriptors need `segments` free; with indirect, one (virtqueue_use_indirect). */
  if (vq->num_free < c.segments && !(v->indirect && c.segments > 1 && indirect_free_count)) return 0;
  uint32_t id = v->free_head;
  if (id >= ids) fail("kernel-driver: free_head out of range");
  uint32_t s = (uint32_t)made;
  for (uint32_t k = 0; k < c.segments; k++) {
    sg_init_one(&sg_store[k], vqlab_ptr(vqlab_segment_addr(&c, id, k)), c.segment_bytes);
    sgs[k] = &sg_store[k];
  }
  if (c.verify_data) vqlab_fill_readable(&c, id, s);
  seq_of[id] = s;
  made++;
  /* Checker events before the kernel's own publishing store (avail.idx / the head's flags). */
  vqlab_report_avail(id, c.writable * c.segment_bytes);
  vqlab_report_avail_publish((double)made);
  uint32_t slots_before = indirect_free_count;
  adding = 1;
  int r = virtqueue_add_sgs(vq, sgs, c.readable, c.writable, (void *)(uintptr_t)(id + 1), GFP_ATOMIC);
  adding = 0;
  if (r != 0) fail("kernel-driver: virtqueue_add_sgs failed with room in the queue");
  if (indirect_free_count < slots_before) indirect_buffers++;
  return 1;
}

/* Buffer `id` is back with `len` bytes written: check the device's pattern, report the reclaim. */
static void complete(uint32_t id, uint32_t len) {
  uint32_t s = seq_of[id];
  if (c.verify_data && !vqlab_check_writable(&c, id, s, len)) vqlab_report_driver_corrupt(id, s);
  reclaimed++;
  vqlab_report_reclaim(id, 1, (double)reclaimed);
}

static int32_t drain(void) {
  int32_t work = 0;
  unsigned int len;
  void *token;
  while ((token = virtqueue_get_buf(vq, &len)) != 0) {
    uint32_t id = (uint32_t)(uintptr_t)token - 1;
    if (id >= ids) fail("kernel-driver: virtqueue_get_buf returned a token it was never given");
    complete(id, len);
    work++;
  }
  if (virtqueue_is_broken(vq)) fail("kernel-driver: the kernel marked the virtqueue broken (its log says why)");
  return work;
}

VQLAB_EXPORT(vqlab_step) int32_t vqlab_step(void) {
  int32_t work = drain();
  uint32_t n = 0;
  while (made < total && n < c.publish_batch && add_one()) n++;
  if (n) {
    if (virtqueue_kick_prepare(vq)) virtqueue_notify(vq);
    work += (int32_t)n;
  }
  return work;
}

VQLAB_EXPORT(vqlab_has_work) int32_t vqlab_has_work(void) { return more_used(to_vvq(vq)); }

/* virtqueue_enable_cb: interrupts on (used_event / the flags), full barrier, then false if used
 * buffers arrived meanwhile (virtqueue_poll) — prepare_sleep's contract. */
VQLAB_EXPORT(vqlab_prepare_sleep) int32_t vqlab_prepare_sleep(void) {
  if (reclaimed == total || vqlab_stop_requested() || !virtqueue_enable_cb(vq)) { virtqueue_disable_cb(vq); return 0; }
  return 1;
}

/* Woken: the interrupt handler, vring_interrupt (the callback disables interrupts); woken without
 * used buffers (a stop request, the wake bound), interrupts off directly. */
VQLAB_EXPORT(vqlab_after_wake) void vqlab_after_wake(void) {
  if (vring_interrupt(0, vq) == IRQ_NONE) virtqueue_disable_cb(vq);
}
VQLAB_EXPORT(vqlab_finish) void vqlab_finish(void) {
  vqlab_report_publish();
  /* One line for the run's log: how many buffers went through an indirect table. */
  fprintf(stderr, "kernel-driver: %llu buffers made available, %llu of them in an indirect table", made, indirect_buffers);
}
VQLAB_EXPORT(vqlab_finished) int32_t vqlab_finished(void) { return reclaimed == total; }
