/*
 * A split-ring virtio device in C, for vqlab's WebAssembly side ABI (include/vqlab.h), written from
 * the virtio 1.2 spec (2.7) and the VIRTIO_F_PARTIAL_ORDER proposal.
 *
 * It offers VERSION_1, EVENT_IDX and PARTIAL_ORDER. It walks each available chain, checks the
 * driver's pattern in the readable bytes and writes its own into the writable ones, and uses the
 * run's page-fault model: a buffer that faults is parked until its fault resolves (in fault order)
 * while later buffers go on.
 *   - Without an ordering feature: one used entry per buffer, in the order buffers are done.
 *   - With PARTIAL_ORDER: while nothing is parked, buffers are used in order and each step's run of
 *     them is one used entry naming the last buffer, with FLUSH (a batch is allowed right after a
 *     FLUSH entry; at the start the driver has nothing outstanding, which counts as one). Around
 *     a fault, entries are single and plain; the entry that leaves nothing outstanding behind it
 *     gets FLUSH again.
 *
 *   vqlab run --device examples/c/split-device.wasm --order partial --fault-rate 0.01
 *
 * Freestanding C: no libc, no allocation; all state is static (the module's private region).
 */
#include "vqlab.h"

#define MAX_QUEUE 4096

static struct vqlab_config c;
static volatile struct vq_desc *desc;
static volatile uint16_t *avail_flags, *avail_idx, *avail_ring, *used_event;
static volatile uint16_t *used_flags, *used_idx_p, *avail_event;
static volatile struct vq_used_elem *used_ring;
static uint32_t n, mask;
static int partial, event_idx;

static uint16_t last_avail;   /* next avail ring slot to read */
static uint16_t used_idx;     /* used.idx as we will publish it */
static uint16_t signalled;    /* used.idx at the last interrupt decision */
static uint32_t seq;          /* position in available order: the data pattern's key */
static int last_flush = 1;    /* the last used entry had FLUSH (or there was none yet) */

/* Parked (faulted) buffers, a FIFO: one latency for all, so they resolve in fault order. */
static uint16_t parked_head[MAX_QUEUE];
static uint32_t parked_seq[MAX_QUEUE];
static double parked_at[MAX_QUEUE];
static uint32_t first, parked;

/* The current batch (PARTIAL_ORDER, nothing parked, after a FLUSH): buffers used in order, unwritten. */
static uint32_t batch_n, batch_len;
static uint16_t batch_last;

static void fail(const char *why) { vqlab_log_str(why); __builtin_trap(); }

VQLAB_EXPORT(vqlab_features) uint64_t vqlab_features(void) {
  return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_PARTIAL_ORDER);
}

VQLAB_EXPORT(vqlab_init) int32_t vqlab_init(const struct vqlab_config *cfg) {
  c = *cfg;
  if (c.abi_version != VQLAB_ABI_VERSION || c.role != VQLAB_DEVICE) { vqlab_log_str("split-device: wrong ABI version or role"); return 1; }
  if (c.ring != VQLAB_SPLIT) { vqlab_log_str("split-device: speaks the split ring only"); return 2; }
  if (c.queue_size > MAX_QUEUE) { vqlab_log_str("split-device: queue size above 4096"); return 3; }
  if (c.order == VQLAB_ORDER_IN_ORDER) { vqlab_log_str("split-device: does not offer IN_ORDER"); return 4; }
  n = c.queue_size;
  mask = n - 1;
  partial = c.order == VQLAB_ORDER_PARTIAL;
  event_idx = c.event_idx != 0;
  desc = vqlab_ptr(c.desc);
  avail_flags = vqlab_ptr(c.avail);
  avail_idx = vqlab_ptr(c.avail + 2);
  avail_ring = vqlab_ptr(c.avail + 4);
  used_event = vqlab_ptr(c.used_event);
  used_flags = vqlab_ptr(c.used);
  used_idx_p = vqlab_ptr(c.used + 2);
  used_ring = vqlab_ptr(c.used + 4);
  avail_event = vqlab_ptr(c.avail_event);
  return 0;
}

/* Driver notifications (2.7.10): off while busy, on before sleeping. */
static void set_kicks(int on) {
  if (event_idx) vqlab_store16_release(avail_event, on ? last_avail : (uint16_t)(last_avail - 1));
  else vqlab_store16_release(used_flags, on ? 0 : VIRTQ_USED_F_NO_NOTIFY);
}

VQLAB_EXPORT(vqlab_start) void vqlab_start(void) { set_kicks(0); }

/* Walk buffer `s`'s chain from `head`: check readable bytes, fill writable ones; bytes written. */
static uint32_t process(uint16_t head, uint32_t s) {
  uint32_t i = head, written = 0, rword = 0, wword = 0, hops = 0;
  int ok = 1;
  for (;;) {
    if (i >= n || hops++ >= n) fail("split-device: descriptor index out of range or chain loop");
    volatile struct vq_desc *d = &desc[i];
    uint64_t addr = d->addr;
    uint32_t len = d->len;
    uint16_t flags = d->flags;
    if (flags & VIRTQ_DESC_F_INDIRECT) fail("split-device: INDIRECT_DESC was not offered");
    if (addr < c.dma_start || addr > c.dma_end || len > c.dma_end - addr) fail("split-device: descriptor outside the DMA window");
    if (flags & VIRTQ_DESC_F_WRITE) {
      if (c.verify_data) vqlab_fill((uint32_t)addr, len, s, c.salt_in, wword);
      wword += (len + 3) / 4;
      written += len;
    } else {
      if (c.verify_data && ok && !vqlab_check((uint32_t)addr, len, s, c.salt_out, rword)) ok = 0;
      rword += (len + 3) / 4;
    }
    if (!(flags & VIRTQ_DESC_F_NEXT)) break;
    i = d->next;
  }
  if (!ok) vqlab_report_device_corrupt(head, s);
  vqlab_report_completed();
  return written;
}

/* One used entry naming `id`, standing for `count` buffers: written where the first would go,
 * used.idx then moves by `count` (2.7.8; a batch only under IN_ORDER or FLUSH after FLUSH). */
static void put_used(uint16_t id, uint32_t len, int flush, uint32_t count) {
  volatile struct vq_used_elem *e = &used_ring[used_idx & mask];
  e->id = id;
  e->flags = flush ? VIRTQ_USED_ELEM_F_FLUSH : 0;
  e->len = len;
  used_idx = (uint16_t)(used_idx + count);
  last_flush = flush;
  vqlab_report_used(id, len, flush, count);
}

static void end_batch(void) {
  if (batch_n == 0) return;
  put_used(batch_last, batch_len, 1, batch_n);
  batch_n = 0;
}

/* A buffer is done: in the batch, or an entry of its own. */
static void done(uint16_t head, uint32_t len) {
  if (parked > 0) { put_used(head, len, 0, 1); return; }           /* ahead of a parked buffer */
  if (!partial) { put_used(head, len, 0, 1); return; }
  if (last_flush) { batch_n++; batch_last = head; batch_len = len; return; }
  put_used(head, len, 1, 1);                                        /* nothing outstanding behind it */
}

VQLAB_EXPORT(vqlab_step) int32_t vqlab_step(void) {
  int32_t work = 0;
  uint16_t before = used_idx;
  if (parked > 0) {
    double now = vqlab_now_ms();
    while (parked > 0 && parked_at[first] <= now) {
      uint16_t h = parked_head[first];
      uint32_t s = parked_seq[first];
      first = (first + 1) & (MAX_QUEUE - 1);
      parked--;
      vqlab_report_resolved(h, s, 0);
      uint32_t len = process(h, s);
#ifdef SPLIT_DEVICE_BROKEN_FLUSH
      put_used(h, len, partial, 1);                 /* the bug: FLUSH while later faults are still parked */
#else
      /* FLUSH once nothing is parked: every buffer popped so far is now used. */
      put_used(h, len, partial && parked == 0, 1);
#endif
      work++;
    }
  }
  uint16_t ai = vqlab_load16_acquire(avail_idx);   /* read barrier: entries after the index */
  uint32_t budget = c.pop_budget;
  while (last_avail != ai && budget-- > 0) {
    uint16_t head = avail_ring[last_avail & mask];
    last_avail++;
    vqlab_report_popped();
    uint32_t s = seq++;
    if (vqlab_fault_next()) {
      end_batch();                                  /* the batch is older: used before the hole opens */
      uint32_t k = (first + parked) & (MAX_QUEUE - 1);
      parked_head[k] = head; parked_seq[k] = s;
      parked_at[k] = vqlab_now_ms() + c.fault_latency_us / 1000.0;
      parked++;
      vqlab_report_fault(head, s, parked);
    } else {
      done(head, process(head, s));
    }
    work++;
  }
  end_batch();
  if (used_idx != before) {
    vqlab_report_used_publish();                    /* checker events before the index */
    vqlab_store16_release(used_idx_p, used_idx);    /* write barrier, then used.idx (2.7.8.2) */
    vqlab_mb();                                     /* full barrier before the notification check */
    int notify = event_idx ? vqlab_need_event(vqlab_load16_acquire(used_event), used_idx, signalled)
                           : !(vqlab_load16_acquire(avail_flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    signalled = used_idx;
    if (notify) vqlab_interrupt(used_idx);
  }
  return work;
}

VQLAB_EXPORT(vqlab_has_work) int32_t vqlab_has_work(void) { return vqlab_load16_acquire(avail_idx) != last_avail; }

VQLAB_EXPORT(vqlab_prepare_sleep) int32_t vqlab_prepare_sleep(void) {
  set_kicks(1);
  vqlab_mb();
  if (vqlab_has_work() || vqlab_driver_done() || vqlab_stop_requested()) { set_kicks(0); return 0; }
  return 1;
}

VQLAB_EXPORT(vqlab_after_wake) void vqlab_after_wake(void) { set_kicks(0); }
VQLAB_EXPORT(vqlab_finish) void vqlab_finish(void) { vqlab_report_publish(); }
VQLAB_EXPORT(vqlab_finished) int32_t vqlab_finished(void) { return parked == 0 && vqlab_driver_done(); }
VQLAB_EXPORT(vqlab_next_resolve_at) double vqlab_next_resolve_at(void) { return parked > 0 ? parked_at[first] : __builtin_inf(); }
