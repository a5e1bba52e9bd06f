/**
 * Virtio constants vqlab implements: feature bits, descriptor and ring flags, struct sizes.
 * Source: virtio 1.x "Virtqueues", "Split Virtqueues", "Packed Virtqueues", "Reserved Feature Bits",
 * plus the VIRTIO_F_PARTIAL_ORDER proposal (how vqlab reads it: docs/interpretations.md). No behaviour here.
 */

// --- Feature bits (spec 6 "Reserved Feature Bits") -------------------------------------------
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_RING_PACKED = 34;
export const VIRTIO_F_IN_ORDER = 35;
/**
 * The proposal's bit. In the published spec (1.2+) bit 39 is VIRTIO_F_NOTIF_CONFIG_DATA; the
 * proposal predates that and has not been renumbered. Kept in this one constant so it can move.
 */
export const VIRTIO_F_PARTIAL_ORDER = 39;

export const FEATURE_NAMES: Readonly<Record<number, string>> = {
  [VIRTIO_F_INDIRECT_DESC]: 'VIRTIO_F_INDIRECT_DESC',
  [VIRTIO_F_EVENT_IDX]: 'VIRTIO_F_EVENT_IDX',
  [VIRTIO_F_VERSION_1]: 'VIRTIO_F_VERSION_1',
  [VIRTIO_F_RING_PACKED]: 'VIRTIO_F_RING_PACKED',
  [VIRTIO_F_IN_ORDER]: 'VIRTIO_F_IN_ORDER',
  [VIRTIO_F_PARTIAL_ORDER]: 'VIRTIO_F_PARTIAL_ORDER',
};

// --- Descriptor flags (split virtq_desc and packed pvirtq_desc) -----------------------------
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Packed only, in used descriptors (PARTIAL_ORDER proposal, packed-ring.tex). */
export const VIRTQ_DESC_F_FLUSH = 8;
/** Packed only (2.8.1). */
export const VIRTQ_DESC_F_AVAIL = 1 << 7;
export const VIRTQ_DESC_F_USED = 1 << 15;

// --- Split ring flags (2.7.6, 2.7.8) ----------------------------------------------------------
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** PARTIAL_ORDER proposal: flag in virtq_used_elem.flags (the upper half of the old le32 id). */
export const VIRTQ_USED_ELEM_F_FLUSH = 0x8000;

// --- Packed event suppression (2.8.10) --------------------------------------------------------
export const RING_EVENT_FLAGS_ENABLE = 0;
export const RING_EVENT_FLAGS_DISABLE = 1;
export const RING_EVENT_FLAGS_DESC = 2;
/** The event flags field is 2 bits wide; the rest of the le16 is reserved (2.8.10). */
export const RING_EVENT_FLAGS_MASK = 3;

// --- Struct sizes and field offsets (bytes) ---------------------------------------------------
/** struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; } */
export const SPLIT_DESC_SIZE = 16;
export const SPLIT_DESC_ADDR = 0;
export const SPLIT_DESC_LEN = 8;
export const SPLIT_DESC_FLAGS = 12;
export const SPLIT_DESC_NEXT = 14;
/** struct pvirtq_desc { le64 addr; le32 len; le16 id; le16 flags; } */
export const PACKED_DESC_SIZE = 16;
export const PACKED_DESC_ADDR = 0;
export const PACKED_DESC_LEN = 8;
export const PACKED_DESC_ID = 12;
export const PACKED_DESC_FLAGS = 14;
/** struct virtq_avail { le16 flags; le16 idx; le16 ring[N]; le16 used_event; } */
export const AVAIL_FLAGS = 0;
export const AVAIL_IDX = 2;
export const AVAIL_RING = 4;
/** struct virtq_used { le16 flags; le16 idx; virtq_used_elem ring[N]; le16 avail_event; } */
export const USED_FLAGS = 0;
export const USED_IDX = 2;
export const USED_RING = 4;
/** struct virtq_used_elem { le16 id; le16 flags; le32 len; } (proposal layout; was le32 id) */
export const USED_ELEM_SIZE = 8;
export const USED_ELEM_ID = 0;
export const USED_ELEM_FLAGS = 2;
export const USED_ELEM_LEN = 4;
/** struct pvirtq_event_suppress { le16 off_wrap; le16 flags; } */
export const EVENT_SUPPRESS_SIZE = 4;
export const EVENT_SUPPRESS_OFF_WRAP = 0;
export const EVENT_SUPPRESS_FLAGS = 2;

// --- Alignments (2.7 table "Virtqueue Part Alignment") ----------------------------------------
export const SPLIT_DESC_ALIGN = 16;
export const SPLIT_AVAIL_ALIGN = 2;
export const SPLIT_USED_ALIGN = 4;
export const PACKED_DESC_ALIGN = 16;
export const PACKED_EVENT_ALIGN = 4;

export const MAX_QUEUE_SIZE = 32768;
