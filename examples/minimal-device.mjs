// A minimal virtio device for vqlab, written only against the side contract (README: "Test your own
// device in five minutes"). Split ring, no ordering features: one used entry per buffer, in the
// order buffers are done. It uses the run's page-fault model as a real device would: a buffer that
// faults is parked until its fault resolves while later buffers go on, so used entries come out of
// order. It imports nothing: everything comes in `ctx`.
//
//   vqlab run --device examples/minimal-device.mjs --order none --fault-rate 0.01 --buffers 100000
//
// The harness negotiates with what this module offers:
export const features = ['VERSION_1', 'EVENT_IDX'];

export function createDevice(ctx) {
  const { mem, spec: S, report, doorbell, payload, faults } = ctx;
  const L = ctx.guest.ring;
  if (L.ring !== 'split') throw new Error('minimal-device only speaks the split ring');
  const N = ctx.queueSize;
  const eventIdx = ctx.features.eventIdx;
  const availIdxAt = L.avail.offset + S.AVAIL_IDX;
  let lastAvail = 0; // next avail.ring slot to read (free-running 16-bit)
  let usedIdx = 0;   // used.idx as we will publish it
  let signalled = 0; // used.idx at our last interrupt decision
  let seq = 0;       // position in available order: the data pattern's key

  // Buffers waiting for their fault to resolve: a FIFO (one latency for all, so they resolve in
  // fault order). At most N are in flight. Keeping the head is enough: the driver does not reuse a
  // chain's descriptors before its used entry, so we walk the chain when the fault has resolved.
  const parkedHead = new Uint16Array(N), parkedSeq = new Uint32Array(N), parkedAt = new Float64Array(N);
  let first = 0, parked = 0;

  const setKicks = (on) => {
    if (eventIdx) mem.st16Release(L.availEvent.offset, on ? lastAvail : (lastAvail - 1) & 0xffff);
    else mem.st16Release(L.used.offset + S.USED_FLAGS, on ? 0 : S.VIRTQ_USED_F_NO_NOTIFY);
  };

  /** Walk one chain from `head`, write buffer `s`'s pattern into its writable bytes; returns bytes written. */
  const processChain = (head, s) => {
    let i = head, written = 0, word = 0;
    for (let hops = 0; ; hops++) {
      if (hops >= N || i >= N) throw new Error(`bad chain from head ${head}`);
      const d = L.desc.offset + i * S.SPLIT_DESC_SIZE;
      const addr = mem.ld64(d + S.SPLIT_DESC_ADDR);
      const len = mem.ld32(d + S.SPLIT_DESC_LEN);
      const flags = mem.ld16(d + S.SPLIT_DESC_FLAGS);
      if (addr < ctx.guest.dmaStart || addr + len > mem.size) throw new Error(`descriptor ${i} outside guest memory`);
      if (flags & S.VIRTQ_DESC_F_WRITE) {
        payload.fill(mem, addr, len, s, payload.SALT_IN, word);
        word += (len + 3) >>> 2;
        written += len;
      }
      if (!(flags & S.VIRTQ_DESC_F_NEXT)) return written;
      i = mem.ld16(d + S.SPLIT_DESC_NEXT);
    }
  };

  /** Process buffer `s` (chain `head`) and write its used entry (visible at the next used.idx store). */
  const use = (head, s) => {
    const len = processChain(head, s);
    report.completed();
    const e = L.used.offset + S.USED_RING + (usedIdx & (N - 1)) * S.USED_ELEM_SIZE;
    mem.st16(e + S.USED_ELEM_ID, head);
    mem.st16(e + S.USED_ELEM_FLAGS, 0);
    mem.st32(e + S.USED_ELEM_LEN, len);
    usedIdx = (usedIdx + 1) & 0xffff;
    report.used(head, len, false, 1);
  };

  return {
    start() { setKicks(false); },
    step() {
      let n = 0;
      const before = usedIdx;
      // Parked buffers whose fault has resolved go first.
      if (parked > 0) {
        const now = ctx.clock();
        while (parked > 0 && parkedAt[first] <= now) {
          report.resolved(parkedHead[first], parkedSeq[first], 0);
          use(parkedHead[first], parkedSeq[first]);
          first = (first + 1) % N;
          parked--;
          n++;
        }
      }
      const availIdx = mem.ld16Acquire(availIdxAt); // read barrier: entries after the index
      while (lastAvail !== availIdx) {
        const head = mem.ld16(L.avail.offset + S.AVAIL_RING + (lastAvail & (N - 1)) * 2);
        lastAvail = (lastAvail + 1) & 0xffff;
        report.popped();
        if (faults.next()) {
          // Page fault: park it, go on with the next buffers (no ordering feature: that is allowed).
          const k = (first + parked) % N;
          parkedHead[k] = head; parkedSeq[k] = seq; parkedAt[k] = ctx.clock() + faults.latencyMs;
          parked++;
          report.fault(head, seq, parked);
        } else {
          use(head, seq);
        }
        seq = (seq + 1) >>> 0;
        n++;
      }
      if (usedIdx !== before) {
        report.usedPublish();                                   // checker events before the index
        mem.st16Release(L.used.offset + S.USED_IDX, usedIdx);   // write barrier, then used.idx
        mem.mb();                                               // full barrier before the notification check
        const notify = eventIdx
          ? S.vringNeedEvent(mem.ld16Acquire(L.usedEvent.offset), usedIdx, signalled)
          : (mem.ld16Acquire(L.avail.offset + S.AVAIL_FLAGS) & S.VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
        signalled = usedIdx;
        if (notify) { doorbell.ring(ctx.DB_IRQ); report.interrupt(usedIdx); }
      }
      return n;
    },
    hasWork() { return mem.ld16Acquire(availIdxAt) !== lastAvail; },
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
    get nextResolveAt() { return parked > 0 ? parkedAt[first] : Infinity; },
    get finished() { return parked === 0 && ctx.driverDone(); },
    state() { return { last_avail: lastAvail, used_idx: usedIdx, seq, faults_parked: parked }; },
  };
}
