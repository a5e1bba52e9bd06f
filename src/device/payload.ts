/**
 * Verifiable payloads. The driver fills a buffer's readable bytes with a pattern of the buffer's
 * position in available order (seq); the device checks it, and fills the writable bytes with
 * another pattern of the same seq, which the driver checks on reclaim. Both sides know seq
 * independently (the available ring is FIFO), so a buffer used for the wrong id, written twice,
 * or reclaimed before it was written shows up as corrupted data.
 */
import { AtomicsMemory, type MemoryOps } from '../memory/ops.js';

export const SALT_OUT = 0x6f757421; // driver → device
export const SALT_IN = 0x696e2121;  // device → driver

const K_SEQ = 0x9e3779b1 | 0; // odd: seq → base is a bijection mod 2^32, so no two buffers share a pattern
const K_WORD = 0x85ebca77 | 0;

// The hot loops work on int32 (`| 0`): a uint32 above 2^31 is a double in V8, and comparing
// Uint32Array loads against doubles cost three times as much per word. The bits are the same.
const wordOf = (seq: number, i: number, salt: number): number => (Math.imul(seq ^ salt, K_SEQ) + Math.imul(i + 1, K_WORD)) | 0;

/** Word i of buffer `seq`'s pattern (as a uint32): one multiply per buffer, an add per word. */
export function patternWord(seq: number, i: number, salt: number): number {
  return wordOf(seq, i, salt) >>> 0;
}

/** Write the pattern into [addr, addr+len); `first` is the word index of addr within the buffer. */
export function fillPattern(mem: MemoryOps, addr: number, len: number, seq: number, salt: number, first: number): void {
  const words = len >>> 2;
  let w = wordOf(seq, first, salt);
  if ((addr & 3) === 0) {
    for (let i = 0; i < words; i++, w = (w + K_WORD) | 0) mem.st32(addr + 4 * i, w);
  } else {
    for (let i = 0; i < words; i++, w = (w + K_WORD) | 0) {
      const a = addr + 4 * i;
      mem.st8(a, w & 0xff); mem.st8(a + 1, (w >>> 8) & 0xff); mem.st8(a + 2, (w >>> 16) & 0xff); mem.st8(a + 3, w >>> 24);
    }
  }
  const rest = len & 3;
  for (let b = 0; b < rest; b++) mem.st8(addr + 4 * words + b, (w >>> (8 * b)) & 0xff);
}

/**
 * Guest memory as plain words when it is the real shared memory (AtomicsMemory), else null: a
 * modelled memory (the simulator's, the fuzzers' guards) must see every access through its
 * MemoryOps. Data patterns are plain accesses either way (2.7.13: only the indexes and flags are
 * ordered); the word view only spares the per-access call and byte-offset arithmetic.
 */
export function directWords(mem: MemoryOps): Int32Array | null {
  return mem instanceof AtomicsMemory ? mem.i32 : null;
}

/**
 * fillPattern for n one-segment buffers at once (the device's fill pass over a round): buffer j is
 * [addrs[j], addrs[j]+lens[j]) with pattern seq0 + j (the staged buffers' seqs follow each other),
 * from word 0. One call per round, the word loop inline on the word view for the usual whole
 * aligned words; anything else goes through fillPattern.
 */
export function fillPatterns(mem: MemoryOps, addrs: Float64Array, lens: Uint32Array, seq0: number, n: number, salt: number): void {
  const words = directWords(mem);
  for (let j = 0; j < n; j++) {
    const addr = addrs[j];
    const len = lens[j];
    const seq = (seq0 + j) >>> 0;
    if (((addr | len) & 3) !== 0 || words === null) { fillPattern(mem, addr, len, seq, salt, 0); continue; }
    let w = wordOf(seq, 0, salt);
    for (let i = addr >>> 2, end = i + (len >>> 2); i < end; i++, w = (w + K_WORD) | 0) words[i] = w;
  }
}

/**
 * checkPattern from word 0, through `words` (directWords(mem)) when it is there and the segment is
 * whole aligned words: the driver's per-buffer check on reclaim.
 */
export function checkPatternAt(words: Int32Array | null, mem: MemoryOps, addr: number, len: number, seq: number, salt: number): boolean {
  if (words === null || ((addr | len) & 3) !== 0) return checkPattern(mem, addr, len, seq, salt, 0);
  let w = wordOf(seq, 0, salt);
  for (let i = addr >>> 2, end = i + (len >>> 2); i < end; i++, w = (w + K_WORD) | 0) if (words[i] !== w) return false;
  return true;
}

/** True when [addr, addr+len) holds the pattern. */
export function checkPattern(mem: MemoryOps, addr: number, len: number, seq: number, salt: number, first: number): boolean {
  const words = len >>> 2;
  let w = wordOf(seq, first, salt);
  if ((addr & 3) === 0) {
    for (let i = 0; i < words; i++, w = (w + K_WORD) | 0) if ((mem.ld32(addr + 4 * i) | 0) !== w) return false;
  } else {
    for (let i = 0; i < words; i++, w = (w + K_WORD) | 0) {
      const a = addr + 4 * i;
      const v = mem.ld8(a) | (mem.ld8(a + 1) << 8) | (mem.ld8(a + 2) << 16) | (mem.ld8(a + 3) << 24);
      if (v !== w) return false;
    }
  }
  const rest = len & 3;
  for (let b = 0; b < rest; b++) if (mem.ld8(addr + 4 * words + b) !== ((w >>> (8 * b)) & 0xff)) return false;
  return true;
}

/** Words a segment of `len` bytes takes in the pattern (so segments continue the numbering). */
export const wordsOf = (len: number): number => (len + 3) >>> 2;
