/*
 * Glue that runs Linux's tools/virtio/ringtest/virtio_ring_0_9.c (a vring benchmark ring, GPL-2.0,
 * fetched at build time and never committed) as a vqlab WebAssembly side: it replaces ringtest's
 * main.c (pthreads, eventfds) with include/vqlab.h's contract. This file is vqlab's own (MIT); the
 * module built from it with the ring is GPL-2.0 and stays in the cache directory.
 *
 * Built twice by scripts/third-party.sh: -DRINGTEST_DRIVER (the guest functions: add_inbuf,
 * get_buf, kick_available, enable_call) and -DRINGTEST_DEVICE (the host functions: use_buf,
 * call_used, enable_kick). The ring is put on vqlab's split layout instead of allocating its own
 * (vring_init with 4096 alignment is virtio 0.9's legacy layout). What the ring itself does is
 * untouched: it always uses event idx, one descriptor per buffer, device-readable buffers (its
 * driver), used.len = desc.len - 1 (its device). The glue does a device's data work (the pattern)
 * and the reports vqlab's checker reads, each before the ring's own index store.
 */
#include "vqlab.h"
#include <stdlib.h>   /* main.h, included first by the ring, uses _Exit, assert, __always_inline */
#include <assert.h>
#include "virtio_ring_0_9.c"

/* What ringtest's main.c defines. */
unsigned ring_size;
bool do_exit, do_sleep, do_relax;
int param;
void wait_for_kick(void) {}
void wait_for_call(void) {}
void perror(const char *s) { vqlab_log_str(s); }
_Noreturn void exit(int code) { (void)code; __builtin_trap(); }
_Noreturn void _Exit(int code) { (void)code; __builtin_trap(); }
int posix_memalign(void **p, size_t align, size_t n) { (void)p; (void)align; (void)n; return 1; }
void *malloc(size_t n) { (void)n; return 0; }
void free(void *p) { (void)p; }

static struct vqlab_config c;
static uint64_t total, made, reclaimed;
static struct data data_store[4096];

/* The ring on vqlab's layout (what vring_init would set, at vqlab's addresses). */
static int32_t attach(const struct vqlab_config *cfg, uint32_t role) {
  c = *cfg;
  if (c.abi_version != VQLAB_ABI_VERSION || c.role != role) { vqlab_log_str("ringtest: wrong ABI version or role"); return 1; }
  if (c.ring != VQLAB_SPLIT || c.queue_size > 4096) { vqlab_log_str("ringtest: split ring, queue <= 4096 only"); return 2; }
  if (c.segments != 1) { vqlab_log_str("ringtest: one descriptor per buffer only"); return 3; }
  ring_size = c.queue_size;
  ring.num = c.queue_size;
  ring.desc = vqlab_ptr(c.desc);
  ring.avail = vqlab_ptr(c.avail);
  ring.used = vqlab_ptr(c.used);
  total = ((uint64_t)c.buffers_hi << 32) | c.buffers_lo;
  return 0;
}

#ifdef RINGTEST_DRIVER
void kick(void) { vqlab_kick(guest.avail_idx); }
void call(void) {}

/* alloc_ring's guest half, minus the allocation and the memset (the ring is vqlab's). */
VQLAB_EXPORT(vqlab_init) int32_t vqlab_init(const struct vqlab_config *cfg) {
  int32_t r = attach(cfg, VQLAB_DRIVER);
  if (r) return r;
  guest.avail_idx = 0;
  guest.kicked_avail_idx = -1;
  guest.last_used_idx = 0;
  guest.free_head = 0;
  for (unsigned i = 0; i < ring_size - 1; i++) ring.desc[i].next = i + 1;
  guest.num_free = ring_size;
  data = data_store;
  return 0;
}

VQLAB_EXPORT(vqlab_step) int32_t vqlab_step(void) {
  int32_t work = 0;
  unsigned len;
  void *buf, *datap;
  while ((datap = get_buf(&len, &buf)) != 0) {
    uint32_t head = ((uint32_t)(uintptr_t)buf - c.pool_base) / c.buffer_stride;
    reclaimed++;
    vqlab_report_reclaim(head, 1, (double)reclaimed);
    work++;
  }
  uint32_t n = 0;
  while (made < total && guest.num_free && n < c.publish_batch) {
    /* The buffer add_inbuf will use is its free list's head: its slot of vqlab's pool. */
    uint32_t head = guest.free_head;
    uint32_t addr = c.pool_base + head * c.buffer_stride;
    uint32_t seq = (uint32_t)made;
    if (c.verify_data) vqlab_fill(addr, c.segment_bytes, seq, c.salt_out, 0);
    /* Device-readable (add_inbuf sets no WRITE flag): no writable capacity. */
    vqlab_report_avail(head, 0);
    made++;
    vqlab_report_avail_publish((double)made);   /* add_inbuf stores avail.idx itself */
    if (add_inbuf(c.segment_bytes, (void *)(uintptr_t)addr, (void *)(uintptr_t)(seq + 1)) != 0) __builtin_trap();
    n++;
  }
  if (n) { kick_available(); work += n; }
  return work;
}

VQLAB_EXPORT(vqlab_has_work) int32_t vqlab_has_work(void) { return !used_empty(); }
VQLAB_EXPORT(vqlab_prepare_sleep) int32_t vqlab_prepare_sleep(void) {
  if (!enable_call() || reclaimed == total || vqlab_stop_requested()) { disable_call(); return 0; }
  return 1;
}
VQLAB_EXPORT(vqlab_after_wake) void vqlab_after_wake(void) { disable_call(); }
VQLAB_EXPORT(vqlab_finish) void vqlab_finish(void) { vqlab_report_publish(); }
VQLAB_EXPORT(vqlab_finished) int32_t vqlab_finished(void) { return reclaimed == total; }
#endif

#ifdef RINGTEST_DEVICE
static uint32_t seq;
void kick(void) {}
void call(void) { vqlab_interrupt(host.used_idx); }

VQLAB_EXPORT(vqlab_features) uint64_t vqlab_features(void) {
  /* On vqlab's (virtio 1.x) layout, with event idx, which it always uses. */
  return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX);
}

/* alloc_ring's host half. */
VQLAB_EXPORT(vqlab_init) int32_t vqlab_init(const struct vqlab_config *cfg) {
  int32_t r = attach(cfg, VQLAB_DEVICE);
  if (r) return r;
  host.used_idx = 0;
  host.called_used_idx = -1;
  return 0;
}

VQLAB_EXPORT(vqlab_step) int32_t vqlab_step(void) {
  int32_t work = 0;
  while (work < (int32_t)c.pop_budget && !avail_empty()) {
    /* The entry use_buf is about to take (it reads the same fields): do the data work and the
     * reports first, since use_buf stores used.idx itself. */
    uint16_t head = vqlab_load16_acquire(&ring.avail->ring[host.used_idx & (ring_size - 1)]);
    uint32_t addr = (uint32_t)ring.desc[head].addr, len = ring.desc[head].len;
    uint16_t flags = ring.desc[head].flags;
    uint32_t s = seq++;
    vqlab_report_popped();
    if (c.verify_data) {
      if (flags & VRING_DESC_F_WRITE) vqlab_fill(addr, len, s, c.salt_in, 0);
      else if (!vqlab_check(addr, len, s, c.salt_out, 0)) vqlab_report_device_corrupt(head, s);
    }
    vqlab_report_completed();
    vqlab_report_used(head, len - 1, 0, 1);
    vqlab_report_used_publish();
    unsigned l;
    void *b;
    if (!use_buf(&l, &b)) __builtin_trap();
    work++;
  }
  if (work) call_used();
  return work;
}

VQLAB_EXPORT(vqlab_has_work) int32_t vqlab_has_work(void) { return !avail_empty(); }
VQLAB_EXPORT(vqlab_prepare_sleep) int32_t vqlab_prepare_sleep(void) {
  if (!enable_kick() || vqlab_driver_done() || vqlab_stop_requested()) { disable_kick(); return 0; }
  return 1;
}
VQLAB_EXPORT(vqlab_after_wake) void vqlab_after_wake(void) { disable_kick(); }
VQLAB_EXPORT(vqlab_finish) void vqlab_finish(void) { vqlab_report_publish(); }
VQLAB_EXPORT(vqlab_finished) int32_t vqlab_finished(void) { return vqlab_driver_done(); }
#endif
