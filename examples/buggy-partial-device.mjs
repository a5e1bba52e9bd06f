// A device with a deliberate PARTIAL_ORDER bug, for vqlab's checker to catch. After the first
// buffer it swaps each pair (uses C before B: allowed under PARTIAL_ORDER) but sets FLUSH on the
// out-of-order entry — on C, while B, made available earlier, is still outstanding. FLUSH promises
// "no hole behind me", so the checker (and vqlab's driver) report USED_FLUSH_WITH_HOLE.
//
//   vqlab run --device examples/buggy-partial-device.mjs --order partial --fault-rate 0
export const features = ['VERSION_1', 'PARTIAL_ORDER'];

export function createDevice(ctx) {
  const { mem, spec: S, report, payload } = ctx;
  const L = ctx.guest.ring;
  const N = ctx.queueSize;
  let lastAvail = 0, usedIdx = 0, seq = 0;
  const held = []; // [head, seq] of a buffer waiting for its pair

  const fill = (head, s) => {
    let i = head, written = 0, word = 0;
    for (let hops = 0; hops < N; hops++) {
      const d = L.desc.offset + i * S.SPLIT_DESC_SIZE;
      const addr = mem.ld64(d), len = mem.ld32(d + 8), flags = mem.ld16(d + 12);
      if (flags & S.VIRTQ_DESC_F_WRITE) { payload.fill(mem, addr, len, s, payload.SALT_IN, word); word += (len + 3) >>> 2; written += len; }
      if (!(flags & S.VIRTQ_DESC_F_NEXT)) break;
      i = mem.ld16(d + 14);
    }
    return written;
  };
  const use = (head, s, flush) => {
    const len = fill(head, s);
    const e = L.used.offset + S.USED_RING + (usedIdx & (N - 1)) * 8;
    mem.st16(e, head);
    mem.st16(e + 2, flush ? S.VIRTQ_USED_ELEM_F_FLUSH : 0);
    mem.st32(e + 4, len);
    usedIdx = (usedIdx + 1) & 0xffff;
    report.completed();
    report.used(head, len, flush, 1);
  };

  return {
    start() { mem.st16Release(L.used.offset, S.VIRTQ_USED_F_NO_NOTIFY); },
    step() {
      const availIdx = mem.ld16Acquire(L.avail.offset + S.AVAIL_IDX);
      let n = 0;
      while (lastAvail !== availIdx) {
        const head = mem.ld16(L.avail.offset + 4 + (lastAvail & (N - 1)) * 2);
        lastAvail = (lastAvail + 1) & 0xffff;
        report.popped();
        const s = seq; seq = (seq + 1) >>> 0;
        if (s === 0) { use(head, s, false); n++; continue; } // first buffer in order, plain entry
        if (held.length === 0) { held.push([head, s]); continue; }
        use(head, s, true);              // C first, with FLUSH: the bug (B is still outstanding)
        use(...held.pop(), false);       // ...then B
        n += 2;
      }
      if (n) { report.usedPublish(); mem.st16Release(L.used.offset + 2, usedIdx); }
      return n;
    },
    hasWork() { return mem.ld16Acquire(L.avail.offset + 2) !== lastAvail; },
    prepareSleep() { return false; },
    afterWake() {},
    lostWakeup() {},
    finish() { report.publish(); },
    get finished() { return ctx.driverDone(); },
    state() { return { last_avail: lastAvail, used_idx: usedIdx, held: held.length }; },
  };
}
