import { describe, expect, it } from 'vitest';
import { bit, DEVICE_MODEL_FEATURES, featureNames, negotiate, negotiateRequest, parseFeatureList } from '../src/spec/features.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_IN_ORDER, VIRTIO_F_PARTIAL_ORDER, VIRTIO_F_VERSION_1 } from '../src/spec/constants.js';
import { VqError } from '../src/errors.js';

const code = (f: () => unknown): string => { try { f(); return 'none'; } catch (e) { return (e as VqError).code; } };

describe('feature negotiation (offered ∩ accepted)', () => {
  it('bit numbers are the spec / proposal ones', () => {
    expect(featureNames(bit(28) | bit(29) | bit(32) | bit(34) | bit(35) | bit(39))).toEqual([
      'VIRTIO_F_INDIRECT_DESC', 'VIRTIO_F_EVENT_IDX', 'VIRTIO_F_VERSION_1', 'VIRTIO_F_RING_PACKED', 'VIRTIO_F_IN_ORDER', 'VIRTIO_F_PARTIAL_ORDER']);
  });
  it('the driver only gets what the device offers; ordering falls back to none', () => {
    const { negotiated } = negotiateRequest({ ring: 'split', order: 'partial', eventIdx: true, indirect: false }, parseFeatureList('VERSION_1,IN_ORDER,EVENT_IDX'));
    expect(negotiated.order).toBe('none');
    expect(negotiated.eventIdx).toBe(true);
    expect(negotiated.partialOrder).toBe(false);
  });
  it('IN_ORDER rules when both ordering features are negotiated', () => {
    const n = negotiate(DEVICE_MODEL_FEATURES, bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_IN_ORDER) | bit(VIRTIO_F_PARTIAL_ORDER));
    expect(n.order).toBe('in-order');
    expect(n.partialOrder).toBe(true);
  });
  it('impossible combinations are clear typed errors', () => {
    expect(code(() => negotiate(bit(VIRTIO_F_EVENT_IDX), bit(VIRTIO_F_EVENT_IDX)))).toBe('FEATURE_CONFLICT');
    expect(code(() => negotiateRequest({ ring: 'packed', order: 'none', eventIdx: false, indirect: false }, parseFeatureList('VERSION_1')))).toBe('FEATURE_NOT_OFFERED');
    expect(code(() => parseFeatureList('IN_ORDER,NOPE'))).toBe('BAD_CONFIG');
    expect(parseFeatureList('all')).toBe(DEVICE_MODEL_FEATURES);
    expect(parseFeatureList('virtio_f_in_order')).toBe(bit(VIRTIO_F_IN_ORDER));
  });
});
