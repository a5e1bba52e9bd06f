/*
 * Glue that runs the Linux kernel's drivers/vhost/vringh.c (the host-side vring accessors that
 * vhost and the vDPA simulators use; GPL-2.0, extracted at build time and never committed) as a
 * vqlab WebAssembly DEVICE: what tools/virtio/vringh_test.c's host half does with pthreads and
 * pipes, done through include/vqlab.h's contract. This file is vqlab's own (MIT); the module built
 * from it with vringh.c is GPL-2.0 and stays in the cache directory.
 *
 * Guest memory is the module's memory, so the ring is a "kernel" ring: vringh_init_kern on the
 * addresses of vqlab's split layout, vringh_getdesc_kern to walk each chain (direct or through an
 * indirect table) into readable and writable kvecs, vringh_iov_pull_kern / vringh_iov_push_kern
 * to move the bytes, vringh_complete_kern to write one used entry and used.idx, and
 * vringh_need_notify_kern / vringh_notify_enable_kern / vringh_notify_disable_kern for the two
 * notification directions (2.7.10, with or without EVENT_IDX). What vringh does is untouched; the
 * glue adds what a device around it does: the data patterns, the run's page-fault model, and the
 * reports vqlab's checker reads, each before the vringh call that makes the action visible.
 *
 * Faults: a buffer whose draw faults is parked with its kvecs and touched (its bytes moved, its
 * used entry written) only once its fault resolves, while later buffers go on: used entries then
 * come out of available order, which vringh_complete_kern allows (2.7.8: any order without
 * IN_ORDER). vringh 6.1 has no packed ring and no IN_ORDER; the glue offers VERSION_1, EVENT_IDX
 * and INDIRECT_DESC, which is what vringh reads.
 */
#include <linux/kernel.h>
#include <linux/vringh.h>
#include <linux/virtio_ring.h>
#include "vqlab.h"

/* --- what tools/virtio's userspace headers expect from their program ------------------------ */
void *__user_addr_min, *__user_addr_max;
void *__kmalloc_fake, *__kfree_ignore_start, *__kfree_ignore_end;
FILE *stderr;

static void log_fmt(const char *fmt) { vqlab_log_str(fmt); }
/* vringh_bad is rate-limited to silence by tools/virtio's ratelimit.h; these only link it. */
int printf(const char *fmt, ...) { log_fmt(fmt); return 0; }
int vprintf(const char *fmt, va_list ap) { (void)ap; log_fmt(fmt); return 0; }
int fprintf(FILE *f, const char *fmt, ...) { (void)f; log_fmt(fmt); return 0; }
int vfprintf(FILE *f, const char *fmt, va_list ap) { (void)f; (void)ap; log_fmt(fmt); return 0; }
_Noreturn void abort(void) { vqlab_log_str("vringh: abort()"); __builtin_trap(); }
_Noreturn void exit(int code) { (void)code; __builtin_trap(); }
/* vringh allocates only to grow a kvec array past max_num; the glue's arrays hold any chain
 * vqlab's driver makes (seg_max), so an allocation means a chain the run did not configure. */
void *malloc(size_t n) { (void)n; return 0; }
void *realloc(void *p, size_t n) { (void)p; (void)n; return 0; }
void free(void *p) { (void)p; }
int posix_memalign(void **p, size_t align, size_t n) { (void)p; (void)align; (void)n; return 12; }

/* --- state ----------------------------------------------------------------------------------- */
#define MAX_QUEUE 4096
#define MAX_KVECS 1024                /* vqlab's most segments per buffer */
#define PARK_KVECS 32768              /* kvecs of parked buffers: queue_size x segments */
#define BOUNCE 65536                  /* bytes of one buffer's readable or writable part */

static struct vqlab_config c;
static struct vringh vrh;
static struct kvec rkv[MAX_KVECS], wkv[MAX_KVECS];
static struct vringh_kiov riov, wiov;
static uint32_t seq;                  /* position in available order: the data pattern's key */
static uint8_t bounce[BOUNCE];

/* Parked (faulted) buffers: one latency for all, so they resolve in fault order (a FIFO). */
struct parked { uint16_t head; uint16_t nr, nw; uint32_t seq, kv; double at; };
static struct parked park[MAX_QUEUE];
static struct kvec park_kv[PARK_KVECS];
static uint32_t first, parked;   /* FIFO slots modulo queue_size: never more parked than that */

static void fail(const char *why) { vqlab_log_str(why); __builtin_trap(); }

VQLAB_EXPORT(vqlab_features) uint64_t vqlab_features(void) {
  return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC);
}

VQLAB_EXPORT(vqlab_init) int32_t vqlab_init(const struct vqlab_config *cfg) {
  c = *cfg;
  if (c.abi_version != VQLAB_ABI_VERSION || c.role != VQLAB_DEVICE) { vqlab_log_str("vringh: wrong ABI version or role"); return 1; }
  if (c.ring != VQLAB_SPLIT) { vqlab_log_str("vringh: Linux 6.1's vringh has the split ring only"); return 2; }
  if (c.queue_size > MAX_QUEUE) { vqlab_log_str("vringh: queue size above 4096"); return 3; }
  if (c.order != VQLAB_ORDER_NONE) { vqlab_log_str("vringh: offers no ordering feature"); return 4; }
  if (c.segments > MAX_KVECS || c.segments > PARK_KVECS / c.queue_size) { vqlab_log_str("vringh: too many segments per buffer for the glue's kvec arrays"); return 5; }
  if (c.readable * c.segment_bytes > BOUNCE || c.writable * c.segment_bytes > BOUNCE) { vqlab_log_str("vringh: a buffer's readable or writable part exceeds the glue's 64 KiB bounce buffer"); return 6; }
  /* vringh finds used_event and avail_event where virtio 1.x puts them (2.7.10): after the rings. */
  if (c.used_event != c.avail + 4 + 2 * c.queue_size || c.avail_event != c.used + 4 + 8 * c.queue_size) { vqlab_log_str("vringh: event index fields not at the end of avail / used"); return 7; }
  uint64_t features = ((uint64_t)c.features_hi << 32) | c.features_lo;
  /* weak_barriers: guest memory, not a device behind I/O (asm/barrier.h's virt_* barriers). */
  int r = vringh_init_kern(&vrh, features, c.queue_size, true, vqlab_ptr(c.desc), vqlab_ptr(c.avail), vqlab_ptr(c.used));
  if (r) { vqlab_log_str("vringh: vringh_init_kern refused the ring"); return 8; }
  if (vrh.event_indices != (c.event_idx != 0)) { vqlab_log_str("vringh: EVENT_IDX not read from the features as negotiated"); return 9; }
  vringh_kiov_init(&riov, rkv, MAX_KVECS);
  vringh_kiov_init(&wiov, wkv, MAX_KVECS);
  return 0;
}

/* Driver notifications off while busy (vringh's normal running state). */
VQLAB_EXPORT(vqlab_start) void vqlab_start(void) { vringh_notify_disable_kern(&vrh); }

/*
 * The buffer's data work, through vringh's kvecs: pull the readable bytes and check the driver's
 * pattern; make this device's pattern and push it into the writable bytes. The pattern is keyed
 * by word within each part, each descriptor starting a new word (as vqlab's sides write it), so
 * the bounce buffer holds each kvec's piece at its own offset. Returns the bytes written.
 */
static uint32_t process(uint16_t head, uint32_t s, const struct kvec *r, uint32_t nr, const struct kvec *w, uint32_t nw) {
  struct vringh_kiov k;
  uint32_t total = 0, word = 0;
  int ok = 1;
  if (nr) {
    vringh_kiov_init(&k, (struct kvec *)r, nr);
    k.used = nr;
    for (uint32_t i = 0; i < nr; i++) total += r[i].iov_len;
    if (total > BOUNCE) fail("vringh: readable part larger than the bounce buffer");
    if (vringh_iov_pull_kern(&k, bounce, total) != (ssize_t)total) fail("vringh: vringh_iov_pull_kern fell short");
    if (c.verify_data) {
      uint32_t off = 0;
      for (uint32_t i = 0; i < nr && ok; i++) {
        if (!vqlab_check((uint32_t)(uintptr_t)bounce + off, r[i].iov_len, s, c.salt_out, word)) ok = 0;
        off += r[i].iov_len;
        word += (r[i].iov_len + 3) / 4;
      }
    }
  }
  total = 0;
  if (nw) {
    uint32_t off = 0;
    word = 0;
    for (uint32_t i = 0; i < nw; i++) {
      if (off + w[i].iov_len > BOUNCE) fail("vringh: writable part larger than the bounce buffer");
      if (c.verify_data) vqlab_fill((uint32_t)(uintptr_t)bounce + off, w[i].iov_len, s, c.salt_in, word);
      off += w[i].iov_len;
      word += (w[i].iov_len + 3) / 4;
    }
    vringh_kiov_init(&k, (struct kvec *)w, nw);
    k.used = nw;
    if (vringh_iov_push_kern(&k, bounce, off) != (ssize_t)off) fail("vringh: vringh_iov_push_kern fell short");
    total = off;
  }
  if (!ok) vqlab_report_device_corrupt(head, s);
  vqlab_report_completed();
  return total;
}

/* One used entry: the checker's events first, then vringh writes the entry and used.idx. */
static void complete(uint16_t head, uint32_t len) {
  vqlab_report_used(head, len, 0, 1);
  vqlab_report_used_publish();
  if (vringh_complete_kern(&vrh, head, len) != 0) fail("vringh: vringh_complete_kern failed");
}

VQLAB_EXPORT(vqlab_step) int32_t vqlab_step(void) {
  int32_t work = 0, used = 0;
  if (parked > 0) {
    double now = vqlab_now_ms();
    while (parked > 0 && park[first].at <= now) {
      struct parked *p = &park[first];
      vqlab_report_resolved(p->head, p->seq, 0);
      uint32_t len = process(p->head, p->seq, &park_kv[p->kv], p->nr, &park_kv[p->kv + p->nr], p->nw);
      complete(p->head, len);
      first = (first + 1) % c.queue_size;
      parked--;
      work++;
      used++;
    }
  }
  uint32_t budget = c.pop_budget;
  while (budget-- > 0) {
    u16 head;
    int r = vringh_getdesc_kern(&vrh, &riov, &wiov, &head, GFP_KERNEL);
    if (r == 0) break;
    if (r < 0) { vqlab_log_str("vringh: vringh_getdesc_kern rejected an available buffer"); __builtin_trap(); }
    vqlab_report_popped();
    uint32_t s = seq++;
    if (vqlab_fault_next()) {
      /* Park the chain's kvecs (slot k has room for `segments` of them): the device touches none
       * of the buffer's bytes before its fault resolves. */
      uint32_t k = (first + parked) % c.queue_size, kv = k * c.segments;
      if (riov.used + wiov.used > c.segments) fail("vringh: a chain of more descriptors than the run's segments");
      __builtin_memcpy(&park_kv[kv], riov.iov, riov.used * sizeof(struct kvec));
      __builtin_memcpy(&park_kv[kv + riov.used], wiov.iov, wiov.used * sizeof(struct kvec));
      park[k] = (struct parked){ head, (uint16_t)riov.used, (uint16_t)wiov.used, s, kv, vqlab_now_ms() + c.fault_latency_us / 1000.0 };
      parked++;
      vqlab_report_fault(head, s, parked);
    } else {
      complete(head, process(head, s, riov.iov, riov.used, wiov.iov, wiov.used));
      used++;
    }
    work++;
  }
  if (used) {
    /* vringh's full barrier, then used_event (or avail.flags) against what was completed. */
    int n = vringh_need_notify_kern(&vrh);
    if (n < 0) fail("vringh: vringh_need_notify_kern failed");
    if (n > 0) vqlab_interrupt(vrh.last_used_idx);
  }
  return work;
}

VQLAB_EXPORT(vqlab_has_work) int32_t vqlab_has_work(void) {
  return vqlab_load16_acquire(&vrh.vring.avail->idx) != vrh.last_avail_idx;
}

VQLAB_EXPORT(vqlab_prepare_sleep) int32_t vqlab_prepare_sleep(void) {
  /* vringh re-reads avail.idx after a full barrier: false if the driver slipped one in. */
  if (!vringh_notify_enable_kern(&vrh) || vqlab_driver_done() || vqlab_stop_requested()) {
    vringh_notify_disable_kern(&vrh);
    return 0;
  }
  return 1;
}

VQLAB_EXPORT(vqlab_after_wake) void vqlab_after_wake(void) { vringh_notify_disable_kern(&vrh); }
VQLAB_EXPORT(vqlab_finish) void vqlab_finish(void) { vqlab_report_publish(); }
VQLAB_EXPORT(vqlab_finished) int32_t vqlab_finished(void) { return parked == 0 && vqlab_driver_done(); }
VQLAB_EXPORT(vqlab_next_resolve_at) double vqlab_next_resolve_at(void) { return parked > 0 ? park[first].at : __builtin_inf(); }
