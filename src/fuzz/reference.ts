/**
 * What the byte-level reference walks of both rings share (src/fuzz/split-device.ts,
 * packed-device.ts): the segments of a chain, and the rules every descriptor is held to whatever
 * the layout — the chain-length limit, readable before writable, and the DMA window — computed on
 * BigInt addresses, independently of the ring code under test.
 */
export interface Seg { addr: number; len: number; write: boolean }

export interface RefParams {
  descBase: number; n: number; indirect: boolean; dmaStart: number; size: number; segMax: number;
  /** VIRTIO_F_IN_ORDER negotiated (split: chain links are fixed, 2.7.5.2 / 2.7.5.3.1). */
  inOrder?: boolean;
}

export interface SegmentWalk {
  segs: Seg[];
  /** addr .. addr+len inside guest memory's DMA window (no wrap: BigInt). */
  inWindow(addr: bigint, len: number): boolean;
  /** Add a segment, or the codes of every rule it breaks (the device may check them in any order). */
  add(addr: bigint, len: number, write: boolean): string[] | null;
}

export function segmentWalk(p: RefParams): SegmentWalk {
  const segs: Seg[] = [];
  let writing = false;
  let total = 0n;
  const lo = BigInt(p.dmaStart);
  const hi = BigInt(p.size);
  const inWindow = (addr: bigint, len: number): boolean => addr >= lo && addr + BigInt(len) <= hi;
  return {
    segs,
    inWindow,
    add(addr, len, w) {
      const c: string[] = [];
      if (segs.length >= p.segMax) c.push('DESC_CHAIN_TOO_LONG');
      // 2.7.5.2: at most 2^32 bytes in the whole chain.
      if (total + BigInt(len) > 4294967296n) c.push('DESC_CHAIN_TOO_BIG');
      if (!w && writing) c.push('DESC_WRITE_BEFORE_READ');
      if (!inWindow(addr, len)) c.push('DESC_ADDR_OUT_OF_RANGE');
      if (c.length) return c;
      segs.push({ addr: Number(addr), len, write: w });
      total += BigInt(len);
      if (w) writing = true;
      return null;
    },
  };
}
