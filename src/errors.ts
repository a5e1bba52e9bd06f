/**
 * Typed errors. Every rule a side enforces against the other has a code, so that a hostile or
 * buggy peer ends in a named error rather than a hang or an exception from deep inside.
 */
export type VqSide = 'driver' | 'device' | 'config' | 'harness' | 'checker';

export type VqErrorCode =
  // configuration / negotiation
  | 'BAD_QUEUE_SIZE' | 'BAD_CONFIG' | 'FEATURE_CONFLICT' | 'FEATURE_NOT_OFFERED'
  // a file vqlab wrote, of another kind or of a format version this vqlab does not read
  | 'BAD_FORMAT'
  // descriptor rules the device checks (2.7.5.2, 2.7.5.3, 2.8.19)
  | 'DESC_CHAIN_TOO_LONG' | 'DESC_NEXT_OUT_OF_RANGE' | 'DESC_LOOP' | 'DESC_WRITE_BEFORE_READ'
  | 'DESC_INDIRECT_AND_NEXT' | 'DESC_NESTED_INDIRECT' | 'DESC_INDIRECT_BAD_LEN' | 'DESC_INDIRECT_NOT_NEGOTIATED'
  | 'DESC_ADDR_OUT_OF_RANGE' | 'DESC_ZERO_LEN' | 'DESC_BAD_FLAGS' | 'DESC_INDIRECT_IN_CHAIN' | 'DESC_CHAIN_TOO_BIG'
  | 'DESC_IN_ORDER_NEXT'
  | 'AVAIL_IDX_JUMP' | 'AVAIL_BAD_HEAD' | 'AVAIL_OVER_QUEUE_SIZE' | 'PACKED_BAD_WRAP'
  // used-side rules the driver checks
  | 'USED_BAD_ID' | 'USED_ID_NOT_OUTSTANDING' | 'USED_BAD_LEN' | 'USED_IDX_JUMP'
  | 'USED_FLUSH_WITHOUT_FEATURE' | 'USED_FLUSH_WITH_HOLE' | 'USED_BATCH_OVERRUN' | 'USED_OUT_OF_ORDER'
  | 'USED_BAD_FLAGS'
  // data and liveness
  | 'DATA_CORRUPTED' | 'LOST_WAKEUP' | 'STALL' | 'WORKER_DIED' | 'TIMEOUT' | 'LOST_BUFFER';

export class VqError extends Error {
  readonly code: VqErrorCode;
  readonly side: VqSide;
  readonly details: Record<string, unknown>;
  constructor(code: VqErrorCode, side: VqSide, message: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
    this.name = 'VqError';
    this.code = code;
    this.side = side;
    this.details = details;
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, side: this.side, message: this.message, details: this.details };
  }
}

export function isVqError(e: unknown): e is VqError {
  return e instanceof VqError;
}
