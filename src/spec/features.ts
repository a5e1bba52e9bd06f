/** Feature negotiation (3.1.1): the driver accepts a subset of what the device offers. */
import {
  FEATURE_NAMES, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_IN_ORDER, VIRTIO_F_PARTIAL_ORDER,
  VIRTIO_F_RING_PACKED, VIRTIO_F_VERSION_1,
} from './constants.js';
import { VqError } from '../errors.js';

export type RingKind = 'split' | 'packed';
/** The ordering rule in effect (IN_ORDER rules when both ordering features are negotiated). */
export type OrderMode = 'none' | 'in-order' | 'partial';
/**
 * What a run or a trace negotiates: no ordering feature, one, or both. With both, IN_ORDER's rules
 * hold and FLUSH is a defined bit (PARTIAL_ORDER negotiated): see docs/interpretations.md.
 */
export type OrderSpec = OrderMode | 'in-order,partial';
export const ORDER_SPECS: readonly OrderSpec[] = ['none', 'in-order', 'partial', 'in-order,partial'];

/**
 * "none" | "in-order" | "partial" | "in-order,partial" (either order, or as a list of names);
 * null when it is none of those.
 */
export function parseOrderSpec(v: unknown): OrderSpec | null {
  const parts = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((x) => x.trim()) : null;
  if (!parts || parts.length === 0 || !parts.every((x) => typeof x === 'string')) return null;
  const set = new Set(parts as string[]);
  if (set.size !== parts.length) return null;
  if (set.size === 1) {
    const [o] = set;
    return o === 'none' || o === 'in-order' || o === 'partial' ? o : null;
  }
  return set.size === 2 && set.has('in-order') && set.has('partial') ? 'in-order,partial' : null;
}

/** The rule in effect under `spec`. */
export const orderModeOf = (spec: OrderSpec): OrderMode => (spec === 'in-order,partial' ? 'in-order' : spec);
/** FLUSH is a defined bit (PARTIAL_ORDER negotiated) under `spec`. */
export const flushAllowedBy = (spec: OrderSpec): boolean => spec === 'partial' || spec === 'in-order,partial';
/** The ordering features a negotiation ended with, as an OrderSpec. */
export const orderSpecOf = (n: { inOrder: boolean; partialOrder: boolean }): OrderSpec =>
  (n.inOrder ? (n.partialOrder ? 'in-order,partial' : 'in-order') : n.partialOrder ? 'partial' : 'none');

export const bit = (b: number): bigint => 1n << BigInt(b);

export function featureNames(features: bigint): string[] {
  const out: string[] = [];
  for (let b = 0; b < 64; b++) {
    if (features & bit(b)) out.push(FEATURE_NAMES[b] ?? `BIT_${b}`);
  }
  return out;
}

/** The negotiated features in the form the hot paths read (plain booleans, no bigint). */
export interface Negotiated {
  bits: bigint;
  ring: RingKind;
  /** Effective ordering: IN_ORDER rules when both IN_ORDER and PARTIAL_ORDER are negotiated (docs/interpretations.md). */
  order: OrderMode;
  eventIdx: boolean;
  indirect: boolean;
  inOrder: boolean;
  partialOrder: boolean;
}

export interface FeatureRequest {
  ring: RingKind;
  order: OrderSpec;
  eventIdx: boolean;
  indirect: boolean;
}

/** Features a side wants, as a bit mask. */
export function featureBits(req: FeatureRequest): bigint {
  let f = bit(VIRTIO_F_VERSION_1);
  if (req.ring === 'packed') f |= bit(VIRTIO_F_RING_PACKED);
  if (orderModeOf(req.order) === 'in-order') f |= bit(VIRTIO_F_IN_ORDER);
  if (flushAllowedBy(req.order)) f |= bit(VIRTIO_F_PARTIAL_ORDER);
  if (req.eventIdx) f |= bit(VIRTIO_F_EVENT_IDX);
  if (req.indirect) f |= bit(VIRTIO_F_INDIRECT_DESC);
  return f;
}

/**
 * offered ∩ accepted, then validated. Impossible combinations get FEATURE_CONFLICT; a feature the
 * driver requires but the device did not offer gets FEATURE_NOT_OFFERED.
 */
export function negotiate(offered: bigint, accepted: bigint, required: bigint = 0n): Negotiated {
  if (!(offered & bit(VIRTIO_F_VERSION_1))) {
    throw new VqError('FEATURE_CONFLICT', 'config', 'device does not offer VIRTIO_F_VERSION_1; vqlab only speaks modern virtio');
  }
  const bits = offered & accepted;
  const missing = required & ~bits;
  if (missing) {
    throw new VqError('FEATURE_NOT_OFFERED', 'config', `required features not offered: ${featureNames(missing).join(', ')}`);
  }
  const has = (b: number): boolean => (bits & bit(b)) !== 0n;
  const inOrder = has(VIRTIO_F_IN_ORDER);
  const partialOrder = has(VIRTIO_F_PARTIAL_ORDER);
  return {
    bits,
    ring: has(VIRTIO_F_RING_PACKED) ? 'packed' : 'split',
    order: inOrder ? 'in-order' : partialOrder ? 'partial' : 'none',
    eventIdx: has(VIRTIO_F_EVENT_IDX),
    indirect: has(VIRTIO_F_INDIRECT_DESC),
    inOrder,
    partialOrder,
  };
}

/** Everything vqlab's device model implements: what it offers unless told to offer less. */
export const DEVICE_MODEL_FEATURES: bigint =
  bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_PACKED) | bit(VIRTIO_F_IN_ORDER) | bit(VIRTIO_F_PARTIAL_ORDER) |
  bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC);

/** Parse "IN_ORDER,EVENT_IDX" / "VIRTIO_F_IN_ORDER" / "all" / "" into bits. */
export function parseFeatureList(list: string): bigint {
  const t = list.trim();
  if (t === 'all') return DEVICE_MODEL_FEATURES;
  let bits = 0n;
  for (const raw of t.split(',').map((x) => x.trim()).filter(Boolean)) {
    const name = raw.toUpperCase().startsWith('VIRTIO_F_') ? raw.toUpperCase() : `VIRTIO_F_${raw.toUpperCase()}`;
    const entry = Object.entries(FEATURE_NAMES).find(([, n]) => n === name);
    if (!entry) {
      throw new VqError('BAD_CONFIG', 'config', `unknown feature ${raw} (known: ${Object.values(FEATURE_NAMES).map((n) => n.replace('VIRTIO_F_', '')).join(', ')}, or all)`);
    }
    bits |= bit(Number(entry[0]));
  }
  return bits;
}

/**
 * Negotiate a run: the device offers `offered`, the driver accepts what the request asks for. The
 * ring layout and VERSION_1 are required (a driver cannot fall back to another layout); ordering,
 * EVENT_IDX and INDIRECT fall back to "not negotiated" when the device does not offer them.
 */
export function negotiateRequest(req: FeatureRequest, offered: bigint): { negotiated: Negotiated; offered: bigint; accepted: bigint } {
  const accepted = featureBits(req);
  const required = bit(VIRTIO_F_VERSION_1) | (req.ring === 'packed' ? bit(VIRTIO_F_RING_PACKED) : 0n);
  const negotiated = negotiate(offered, accepted, required);
  return { negotiated, offered, accepted };
}

/** Plain-data form for postMessage / JSON (bigint does not cross JSON). */
export function negotiatedToJSON(n: Negotiated): Record<string, unknown> {
  return { bits: '0x' + n.bits.toString(16), ring: n.ring, order: n.order, names: featureNames(n.bits) };
}
