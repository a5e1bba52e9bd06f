// The packed-ring twin of minimal-device.mjs: a device written only against vqlab's side contract.
// No ordering features: one used descriptor per chain, in the order chains are done. A chain whose
// buffer page-faults (the run's fault model) is parked until the fault resolves; later chains go on.
//
//   vqlab run --ring packed --queue-size 100 --device examples/minimal-packed-device.mjs --order none --fault-rate 0.01 --buffers 100000
export const features = ['VERSION_1', 'RING_PACKED', 'EVENT_IDX'];

export function createDevice(ctx) {
  const { mem, spec: S, report, doorbell, payload, faults } = ctx;
  const L = ctx.guest.ring;
  if (L.ring !== 'packed') throw new Error('minimal-packed-device only speaks the packed ring');
  const N = ctx.queueSize;
  const eventIdx = ctx.features.eventIdx;
  const AVAIL = S.VIRTQ_DESC_F_AVAIL, USED = S.VIRTQ_DESC_F_USED;
  const flagsAt = (slot) => L.desc.offset + slot * S.PACKED_DESC_SIZE + S.PACKED_DESC_FLAGS;
  let nextAvail = 0, availWrap = 1; // where the next chain starts, and our lap there
  let usedPos = 0, usedWrap = 1;    // where the next used descriptor goes
  let usedSince = 0;                // slots used since the last interrupt decision
  let seq = 0;

  // Writable segments of the chain being popped and of the parked ones, a FIFO of N (at most N
  // descriptors are in flight). Copied when popped: the used descriptors we write meanwhile may
  // overwrite a parked chain's slots.
  const segAddr = new Float64Array(N), segLen = new Uint32Array(N);
  let segFirst = 0, segCount = 0;
  // Parked chains (fault pending), FIFO: one latency for all, so they resolve in fault order.
  const pId = new Uint16Array(N), pSeq = new Uint32Array(N), pSlots = new Uint16Array(N), pSegs = new Uint16Array(N), pAt = new Float64Array(N);
  let first = 0, parked = 0;

  // Available in lap w: AVAIL = w and USED = !w (2.8.1).
  const isAvail = (slot, w) => (mem.ld16Acquire(flagsAt(slot)) & (AVAIL | USED)) === (w ? AVAIL : USED);
  const setKicks = (on) => {
    const ev = L.deviceEvent.offset;
    if (on && eventIdx) { mem.st16Release(ev, nextAvail | (availWrap << 15)); mem.st16Release(ev + 2, S.RING_EVENT_FLAGS_DESC); }
    else mem.st16Release(ev + 2, on ? S.RING_EVENT_FLAGS_ENABLE : S.RING_EVENT_FLAGS_DISABLE);
  };

  /** Process buffer `s` (its `nSegs` writable segments from segment `at`), write its used descriptor. */
  const use = (id, s, slots, at, nSegs) => {
    let written = 0, word = 0;
    for (let k = 0; k < nSegs; k++) {
      const j = (at + k) % N, len = segLen[j];
      payload.fill(mem, segAddr[j], len, s, payload.SALT_IN, word);
      word += (len + 3) >>> 2;
      written += len;
    }
    report.completed();
    // One used descriptor at our used position, flags last: AVAIL = USED = our wrap counter.
    const u = L.desc.offset + usedPos * S.PACKED_DESC_SIZE;
    mem.st16(u + S.PACKED_DESC_ID, id);
    mem.st32(u + S.PACKED_DESC_LEN, written);
    report.used(id, written, false, 1);
    report.usedPublish();
    mem.st16Release(u + S.PACKED_DESC_FLAGS, usedWrap ? AVAIL | USED : 0);
    usedPos += slots; usedSince += slots;
    if (usedPos >= N) { usedPos -= N; usedWrap ^= 1; }
  };

  return {
    start() { setKicks(false); },
    step() {
      let n = 0;
      // Parked chains whose fault has resolved go first.
      if (parked > 0) {
        const now = ctx.clock();
        while (parked > 0 && pAt[first] <= now) {
          report.resolved(pId[first], pSeq[first], 0);
          use(pId[first], pSeq[first], pSlots[first], segFirst, pSegs[first]);
          segFirst = (segFirst + pSegs[first]) % N; segCount -= pSegs[first];
          first = (first + 1) % N;
          parked--;
          n++;
        }
      }
      while (isAvail(nextAvail, availWrap)) {
        // Walk the chain: slots in ring order, the Buffer ID in the last descriptor; copy the writable segments.
        const at = (segFirst + segCount) % N;
        let slot = nextAvail, wrap = availWrap, slots = 0, nSegs = 0, id = 0;
        for (;;) {
          if (++slots > N) throw new Error('chain longer than the queue');
          const d = L.desc.offset + slot * S.PACKED_DESC_SIZE;
          const addr = mem.ld64(d), len = mem.ld32(d + S.PACKED_DESC_LEN), flags = mem.ld16(d + S.PACKED_DESC_FLAGS);
          if (addr < ctx.guest.dmaStart || addr + len > mem.size) throw new Error(`descriptor ${slot} outside guest memory`);
          if (flags & S.VIRTQ_DESC_F_WRITE) { const j = (at + nSegs++) % N; segAddr[j] = addr; segLen[j] = len; }
          if (++slot === N) { slot = 0; wrap ^= 1; }
          if (!(flags & S.VIRTQ_DESC_F_NEXT)) { id = mem.ld16(d + S.PACKED_DESC_ID); break; }
          if (!isAvail(slot, wrap)) throw new Error(`NEXT into slot ${slot}, which is not available`);
        }
        nextAvail = slot; availWrap = wrap;
        report.popped();
        if (faults.next()) {
          // Page fault: park it (its segments stay in the FIFO), go on with the next chains.
          const k = (first + parked) % N;
          pId[k] = id; pSeq[k] = seq; pSlots[k] = slots; pSegs[k] = nSegs; pAt[k] = ctx.clock() + faults.latencyMs;
          parked++; segCount += nSegs;
          report.fault(id, seq, parked);
        } else {
          use(id, seq, slots, at, nSegs);
        }
        seq = (seq + 1) >>> 0;
        n++;
      }
      if (usedSince > 0) {
        mem.mb();
        const ev = L.driverEvent.offset;
        const flags = mem.ld16Acquire(ev + 2);
        let notify = flags !== S.RING_EVENT_FLAGS_DISABLE;
        if (flags === S.RING_EVENT_FLAGS_DESC && eventIdx) {
          const offWrap = mem.ld16Acquire(ev);
          let e = offWrap & 0x7fff;
          if ((offWrap >>> 15) !== usedWrap) e = (e - N) & 0xffff;
          notify = S.vringNeedEvent(e, usedPos, (usedPos - usedSince) & 0xffff);
        }
        usedSince = 0;
        if (notify) { doorbell.ring(ctx.DB_IRQ); report.interrupt(usedPos); }
      }
      return n;
    },
    hasWork() { return isAvail(nextAvail, availWrap); },
    prepareSleep() {
      setKicks(true);
      mem.mb();
      if (this.hasWork() || ctx.driverDone() || ctx.stopRequested()) { setKicks(false); return false; }
      return true;
    },
    afterWake() { setKicks(false); },
    lostWakeup() {},
    finish() { report.publish(); },
    // The runner sleeps no later than this in wait mode, and keeps us running while anything is parked.
    get nextResolveAt() { return parked > 0 ? pAt[first] : Infinity; },
    get finished() { return parked === 0 && ctx.driverDone(); },
    state() { return { next_avail: nextAvail, avail_wrap: availWrap, used_pos: usedPos, used_wrap: usedWrap, faults_parked: parked }; },
  };
}
