/*
 * A split-ring virtio driver in C, for vqlab's WebAssembly side ABI (include/vqlab.h), written from
 * the virtio 1.2 spec (2.7) and the VIRTIO_F_PARTIAL_ORDER proposal.
 *
 * It moves `buffers` buffers through the queue: each a chain of `segments` descriptors (one
 * readable header segment when there are two or more, the rest writable) over its slot of the
 * buffer pool, filled and checked with the run's data patterns. It reads used entries under
 * whatever ordering was negotiated: none (each entry is one buffer), IN_ORDER (an entry completes
 * every buffer up to the one it names; with PARTIAL_ORDER too, IN_ORDER rules and FLUSH may be set),
 * PARTIAL_ORDER (a batch only for FLUSH right after FLUSH).
 * EVENT_IDX or the flags for notification suppression; no indirect descriptors.
 *
 *   vqlab run --driver examples/c/split-driver.wasm
 *
 * Freestanding C: no libc, no allocation; all state is static (the module's private region).
 */
#include "vqlab.h"

#define MAX_QUEUE 4096
#define WINDOW 8192      /* most buffers from the oldest outstanding to the newest (>= queue) */

static struct vqlab_config c;
static volatile struct vq_desc *desc;
static volatile uint16_t *avail_flags, *avail_idx_p, *avail_ring, *used_event;
static volatile uint16_t *used_flags, *used_idx_p, *avail_event;
static volatile struct vq_used_elem *used_ring;
static uint32_t n, mask;
static int event_idx;
static int partial_bit;                /* PARTIAL_ORDER negotiated: FLUSH is a defined bit (also with IN_ORDER) */
static uint64_t total;

static uint16_t free_next[MAX_QUEUE];  /* the free descriptors, a list */
static uint32_t free_head, free_count;
static uint16_t avail_idx;             /* avail.idx as we will publish it */
static uint16_t kicked;                /* avail.idx at the last kick decision */
static uint16_t last_used;             /* next used ring slot to read */
static uint64_t made, reclaimed;

/* Outstanding buffers in available order: seq -> head, with out-of-order completions marked. */
static uint16_t order_head[WINDOW];
static uint8_t order_done[WINDOW];
static uint32_t seq_of[MAX_QUEUE];
static uint32_t oldest, next_seq;      /* [oldest, next_seq): made available, not all completed */
static uint32_t done_ahead;           /* buffers past `oldest` already completed alone */
static int last_flush = 1;

static void fail(const char *why) { vqlab_log_str(why); __builtin_trap(); }

VQLAB_EXPORT(vqlab_init) int32_t vqlab_init(const struct vqlab_config *cfg) {
  c = *cfg;
  if (c.abi_version != VQLAB_ABI_VERSION || c.role != VQLAB_DRIVER) { vqlab_log_str("split-driver: wrong ABI version or role"); return 1; }
  if (c.ring != VQLAB_SPLIT) { vqlab_log_str("split-driver: speaks the split ring only"); return 2; }
  if (c.queue_size > MAX_QUEUE || c.segments > c.queue_size) { vqlab_log_str("split-driver: queue above 4096 or buffers longer than the queue"); return 3; }
  n = c.queue_size;
  mask = n - 1;
  event_idx = c.event_idx != 0;
  partial_bit = (c.features_hi >> (VIRTIO_F_PARTIAL_ORDER - 32)) & 1;
  total = ((uint64_t)c.buffers_hi << 32) | c.buffers_lo;
  desc = vqlab_ptr(c.desc);
  avail_flags = vqlab_ptr(c.avail);
  avail_idx_p = vqlab_ptr(c.avail + 2);
  avail_ring = vqlab_ptr(c.avail + 4);
  used_event = vqlab_ptr(c.used_event);
  used_flags = vqlab_ptr(c.used);
  used_idx_p = vqlab_ptr(c.used + 2);
  used_ring = vqlab_ptr(c.used + 4);
  avail_event = vqlab_ptr(c.avail_event);
  for (uint32_t i = 0; i < n; i++) free_next[i] = (uint16_t)(i + 1);
  free_head = 0;
  free_count = n;
  return 0;
}

/* Used buffer notifications (2.7.10): off while busy, on before sleeping. */
static void set_interrupts(int on) {
  if (event_idx) vqlab_store16_release(used_event, on ? last_used : (uint16_t)(last_used - 1));
  else vqlab_store16_release(avail_flags, on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT);
}

VQLAB_EXPORT(vqlab_start) void vqlab_start(void) { set_interrupts(0); }

/* Add one buffer: take `segments` descriptors, chain them, fill the readable pattern. */
static void add_one(void) {
  uint32_t head = free_head, i = head;
  for (uint32_t k = 0; k < c.segments; k++) {
    volatile struct vq_desc *d = &desc[i];
    d->addr = vqlab_segment_addr(&c, head, k);
    d->len = c.segment_bytes;
    uint16_t flags = k < c.readable ? 0 : VIRTQ_DESC_F_WRITE;
    uint32_t nx = free_next[i];
    if (k + 1 < c.segments) { flags |= VIRTQ_DESC_F_NEXT; d->next = (uint16_t)nx; }
    d->flags = flags;
    if (k + 1 < c.segments) i = nx;
    else free_head = nx;
  }
  free_count -= c.segments;
  uint32_t s = next_seq++;
  if (c.verify_data) vqlab_fill_readable(&c, head, s);
  order_head[s & (WINDOW - 1)] = (uint16_t)head;
  order_done[s & (WINDOW - 1)] = 0;
  seq_of[head] = s;
  avail_ring[avail_idx & mask] = (uint16_t)head;
  avail_idx++;
  made++;
  vqlab_report_avail(head, c.writable * c.segment_bytes);
}

/* Buffer `head` (seq s) is back: check the device's pattern in its first `len` writable bytes, free its chain. */
static void complete(uint32_t head, uint32_t s, uint32_t len) {
  if (c.verify_data && !vqlab_check_writable(&c, head, s, len)) vqlab_report_driver_corrupt(head, s);
  /* Free the chain: it is the one add_one built (we follow our own list, not the ring's copy). */
  uint32_t i = head;
  for (uint32_t k = 1; k < c.segments; k++) i = free_next[i];
  free_next[i] = (uint16_t)free_head;
  free_head = head;
  free_count += c.segments;
  reclaimed++;
}

/* One used entry: how many buffers it completes (2.7.8, the proposal's FLUSH rules). */
static uint32_t reclaim_entry(void) {
  volatile struct vq_used_elem *e = &used_ring[last_used & mask];
  uint32_t id = e->id, len = e->len;
  int flush = (e->flags & VIRTQ_USED_ELEM_F_FLUSH) != 0;
  if (id >= n) fail("split-driver: used id out of range");
  uint32_t s = seq_of[id];
  if (s - oldest >= next_seq - oldest || order_head[s & (WINDOW - 1)] != id || order_done[s & (WINDOW - 1)])
    fail("split-driver: used id not outstanding");
  if (flush && !partial_bit) fail("split-driver: FLUSH without PARTIAL_ORDER");
  int batch = c.order == VQLAB_ORDER_IN_ORDER || (c.order == VQLAB_ORDER_PARTIAL && flush && last_flush);
  uint32_t count;
  if (batch) {
    if (done_ahead != 0) fail("split-driver: a batch over buffers already used alone");
    /* Every buffer from the oldest outstanding through `id`; nothing among them completed alone. */
    count = s - oldest + 1;
    for (uint32_t q = oldest; q != s; q++) complete(order_head[q & (WINDOW - 1)], q, c.writable * c.segment_bytes);
    complete(id, s, len);
    oldest = s + 1;
  } else {
    count = 1;
    complete(id, s, len);
    if (s == oldest) {
      oldest++;
      while (oldest != next_seq && order_done[oldest & (WINDOW - 1)]) { order_done[oldest & (WINDOW - 1)] = 0; done_ahead--; oldest++; }
    } else {
      order_done[s & (WINDOW - 1)] = 1;
      done_ahead++;
    }
    /* FLUSH promises no hole behind it: every buffer made available before it is used. */
    if (flush && done_ahead != 0) fail("split-driver: FLUSH with an older buffer outstanding");
  }
  last_flush = flush;
  vqlab_report_reclaim(id, count, (double)reclaimed);
  last_used = (uint16_t)(last_used + count);
  return count;
}

#ifdef SPLIT_DRIVER_RAW_WAIT
/* Sleep on *w while it holds what it holds now (1 ms at most: nothing notifies that word), then
 * read it again through the same pointer. */
__attribute__((noinline)) static int32_t wait_and_reload(int32_t *w) {
  int32_t v = __atomic_load_n(w, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_wait32(w, v, 1000000);
  return __atomic_load_n(w, __ATOMIC_SEQ_CST);
}

/* Wait until the device has used everything published (used.idx == target), on the word that
 * holds used.flags and used.idx, with memory.atomic.wait32 directly. */
static void wait_used(int32_t *w, uint16_t target) {
  int32_t v = __atomic_load_n(w, __ATOMIC_SEQ_CST);
  while ((uint16_t)((uint32_t)v >> 16) != target && !vqlab_stop_requested()) v = wait_and_reload(w);
}

/* The same wait alone, for a probe: a compiler with the bug returns 0, not *p. */
VQLAB_EXPORT(raw_wait_probe) int32_t raw_wait_probe(int32_t *p) { return wait_and_reload(p); }
#endif

VQLAB_EXPORT(vqlab_step) int32_t vqlab_step(void) {
  int32_t work = 0;
  uint16_t ui = vqlab_load16_acquire(used_idx_p);  /* read barrier: entries after the index */
  while (last_used != ui) work += (int32_t)reclaim_entry();
  uint32_t batch = 0;
  while (made < total && free_count >= c.segments && next_seq - oldest < WINDOW && batch < c.publish_batch) { add_one(); batch++; }
  if (batch > 0) {
    vqlab_report_avail_publish((double)made);       /* checker events before the index */
    vqlab_store16_release(avail_idx_p, avail_idx);  /* write barrier, then avail.idx (2.7.13) */
    vqlab_mb();                                     /* full barrier before the notification check */
    int kick = event_idx ? vqlab_need_event(vqlab_load16_acquire(avail_event), avail_idx, kicked)
                         : !(vqlab_load16_acquire(used_flags) & VIRTQ_USED_F_NO_NOTIFY);
    kicked = avail_idx;
    if (kick) vqlab_kick(avail_idx);
    work += (int32_t)batch;
#ifdef SPLIT_DRIVER_RAW_WAIT
    wait_used(vqlab_ptr(c.used), avail_idx);
#endif
  }
  return work;
}

VQLAB_EXPORT(vqlab_has_work) int32_t vqlab_has_work(void) { return vqlab_load16_acquire(used_idx_p) != last_used; }

VQLAB_EXPORT(vqlab_prepare_sleep) int32_t vqlab_prepare_sleep(void) {
  set_interrupts(1);
  vqlab_mb();
  if (vqlab_has_work() || reclaimed == total || vqlab_stop_requested()) { set_interrupts(0); return 0; }
  return 1;
}

VQLAB_EXPORT(vqlab_after_wake) void vqlab_after_wake(void) { set_interrupts(0); }
VQLAB_EXPORT(vqlab_finish) void vqlab_finish(void) { vqlab_report_publish(); }
VQLAB_EXPORT(vqlab_finished) int32_t vqlab_finished(void) { return reclaimed == total; }
