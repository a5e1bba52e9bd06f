/**
 * Importer for QEMU trace logs (the "log" trace backend, `-trace 'virtqueue_*' -trace 'virtio_*'`):
 * turns what QEMU's virtio devices did into one vqlab trace per queue per device lifetime, and
 * checks each with the conformance checker. What the log holds, and what this importer makes of it:
 *
 *   virtio_set_status vdev V val S        S = 0 is a reset (2.1): a new lifetime for V's queues
 *   virtio_queue_notify vdev V n N vq Q   the driver kicked queue N of device V (binds Q to V, N)
 *   virtio_notify vdev V vq Q             the device interrupted the driver for Q (binds Q to V)
 *   virtqueue_pop vq Q elem E in_num a out_num b [head H ndescs D e_out .. e_in .. cap C]
 *                                         the device took the next available buffer, as element E
 *   virtqueue_fill vq Q elem E len L idx I [head H ...]
 *                                         the device completed E with L bytes written, I-th of a batch
 *   virtqueue_flush vq Q count N          split ring without IN_ORDER: used.idx += N
 *   virtqueue_ordered_fill: NAME cannot fill buffer id H   (with -d guest_errors) QEMU's IN_ORDER
 *                                         bookkeeping did not find the element it was filling
 *
 * The bracketed fields are not QEMU's: they come from a preload shim (scripts/qemu/vqhead.c) that
 * appends the element's real descriptor head (Buffer ID) and writable capacity. Without them the
 * importer cannot know which head a buffer had (QEMU names buffers by element pointer only) and
 * numbers elements itself: see docs/qemu-traces.md for what is and is not checked then.
 *
 * QEMU pops buffers in the order they were made available (split: avail ring order; packed:
 * descriptor ring order), so pop order is available order as far as the device has read it.
 * Buffers the driver made available but the device never popped are not in the trace.
 */
import { checkTrace, type AvailItem, type TraceInput } from '../check/checker.js';
import type { OrderSpec, RingKind } from '../spec/features.js';
import { VIRTIO_F_IN_ORDER, VIRTIO_F_PARTIAL_ORDER, VIRTIO_F_RING_PACKED } from '../spec/constants.js';

export class QemuTraceError extends Error {}

/**
 * A vqlab trace (the shape `vqlab check` reads), one per queue and device lifetime: heads (or
 * numbers) in pop order, each with its own capacity when known; used entries as QEMU wrote them;
 * and the interleaving (pops before each used entry).
 */
export type ImportedTrace = TraceInput & { used: { id: number; len: number }[]; avail_before: number[] };

/** What a `--queue` option or a sidecar line says about some queues. */
export interface QueueSpec {
  /** Which queues: `*`, a vq pointer, a device (`blk0`, `dev1`, `blk`, a vdev pointer), optionally `:N` for queue N. */
  select: string;
  /** Only this lifetime of the device (1 = the first with any buffer traffic). */
  lifetime?: number;
  size?: number;
  ring?: RingKind;
  inOrder?: boolean;
  partialOrder?: boolean;
}

export interface QemuCheckOptions {
  queues?: QueueSpec[];
  /** Buffers popped but never used by the end of the trace are lost (a reset still discards them). */
  complete?: boolean;
}

export type Source = 'trace' | 'option' | 'inferred' | 'assumed';

export interface QueueVerdict {
  device: string;
  kind: string | null;
  vdev: string | null;
  vq: string;
  index: number | null;
  lifetime: number;
  ring: RingKind;
  ring_from: Source;
  order: OrderSpec;
  order_from: Source;
  queue_size: number;
  size_from: Source;
  /** heads: the shim's real descriptor heads; inferred: numbered by element pointer (see docs). */
  ids: 'heads' | 'inferred';
  pops: number;
  fills: number;
  flushes: number;
  used_entries: number;
  kicks: number;
  interrupts: number;
  max_in_flight: number;
  /** Popped, not used when the lifetime ended. */
  outstanding: number;
  /** Of those, completed by the device (filled) but never written to the used ring. */
  filled_unused: number;
  ended_by: 'reset' | 'end of trace';
  verdict: 'ok' | 'violation' | 'device error';
  rule: string;
  message?: string;
  /** Index into this queue's used entries of the first bad one, or null. */
  first_bad: number | null;
  /** QEMU's own error lines for this queue. */
  qemu_errors: { line: number; message: string }[];
  notes: string[];
  trace: ImportedTrace;
}

export interface QemuCheckResult {
  ok: boolean;
  queues: QueueVerdict[];
  summary: {
    lines: number;
    devices: number;
    queues: number;
    ok: number;
    violations: number;
    device_errors: number;
    buffers_popped: number;
    used_entries: number;
    outstanding: number;
    ids: 'heads' | 'inferred' | 'mixed' | 'none';
  };
  /** QEMU diagnostics that name no queue the importer could tie them to. */
  qemu_messages: { line: number; message: string }[];
}

interface PopEv { k: 0; line: number; elem: string; head: number; cap: number; ndescs: number }
interface FillEv { k: 1; line: number; elem: string; len: number; idx: number; head: number; error: string | null }
interface FlushEv { k: 2; line: number; count: number }
type Ev = PopEv | FillEv | FlushEv;

/** One queue over one device lifetime, as read from the log. */
interface Life {
  vq: string;
  lifetime: number;
  evs: Ev[];
  kicks: number;
  interrupts: number;
  endedBy: 'reset' | 'end of trace';
  orderedFillError: boolean;
  errors: { line: number; message: string }[];
}

interface Dev { ptr: string; kind: string | null; lifetime: number; queues: Set<string>; first: number }

const RE_EVENT = /^(?:\d+@\d+\.\d+:)?([a-z_0-9]+) (.*)$/;
const RE_POP = /^vq (0x[0-9a-f]+|\(nil\)) elem (0x[0-9a-f]+) in_num (\d+) out_num (\d+)(?: head (\d+) ndescs (\d+) e_out (\d+) e_in (\d+) cap (\d+))?$/;
const RE_FILL = /^vq (0x[0-9a-f]+|\(nil\)) elem (0x[0-9a-f]+) len (\d+) idx (\d+)(?: head (\d+) ndescs (\d+) e_out \d+ e_in \d+)?$/;
const RE_FLUSH = /^vq (0x[0-9a-f]+) count (\d+)$/;
const RE_QNOTIFY = /^vdev (0x[0-9a-f]+) n (\d+) vq (0x[0-9a-f]+)$/;
const RE_NOTIFY = /^vdev (0x[0-9a-f]+) vq (0x[0-9a-f]+)$/;
const RE_STATUS = /^vdev (0x[0-9a-f]+) val (\d+)$/;
const RE_VDEV = /^vdev (0x[0-9a-f]+) /;
/** QEMU diagnostics printed into the log (qemu_log_mask): "function: message". */
const RE_DIAG = /^([a-z_0-9]+): (.*)$/;
const RE_CANNOT_FILL = /cannot fill buffer id (\d+)/;

/**
 * Read the log: per queue and device lifetime, the pops, fills and flushes in log order, with the
 * kicks and interrupts; and which device each queue belongs to.
 */
function readLog(text: string): { lives: Life[]; devs: Map<string, Dev>; vqDev: Map<string, string>; vqIndex: Map<string, number>; messages: { line: number; message: string }[]; lines: number } {
  const devs = new Map<string, Dev>();
  const vqDev = new Map<string, string>();
  const vqIndex = new Map<string, number>();
  const current = new Map<string, Life>();
  const lives: Life[] = [];
  const messages: { line: number; message: string }[] = [];
  let lastFill: { ev: FillEv; life: Life } | null = null;
  let layoutMismatch: number | undefined;
  let seen = 0;
  const dev = (ptr: string, line: number): Dev => {
    let d = devs.get(ptr);
    if (!d) { d = { ptr, kind: null, lifetime: 1, queues: new Set(), first: line }; devs.set(ptr, d); }
    return d;
  };
  const bind = (vq: string, vdev: string, line: number): void => {
    if (vqDev.get(vq) === vdev) return;
    vqDev.set(vq, vdev);
    const d = dev(vdev, line);
    d.queues.add(vq);
    const l = current.get(vq);
    if (l) l.lifetime = d.lifetime;
  };
  const life = (vq: string): Life => {
    let l = current.get(vq);
    if (!l) {
      const d = vqDev.has(vq) ? devs.get(vqDev.get(vq)!)! : null;
      l = { vq, lifetime: d ? d.lifetime : 1, evs: [], kicks: 0, interrupts: 0, endedBy: 'end of trace', orderedFillError: false, errors: [] };
      current.set(vq, l);
      lives.push(l);
    }
    return l;
  };
  const lines = text.split('\n');
  const last = lines.length - (lines[lines.length - 1] === '' ? 2 : 1);
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const s = lines[i];
    if (s === '') continue;
    const m = RE_EVENT.exec(s);
    if (!m) {
      const d = RE_DIAG.exec(s);
      if (d) {
        const cf = RE_CANNOT_FILL.exec(d[2]);
        // qemu_log_mask prints right after the fill's own trace line, in the same thread.
        if (cf && lastFill && d[1] === 'virtqueue_ordered_fill') {
          // With heads, the line must name the head of the fill it follows.
          if (lastFill.ev.head >= 0 && Number(cf[1]) !== lastFill.ev.head) messages.push({ line: ln, message: `${s} (follows the fill of head ${lastFill.ev.head} at line ${lastFill.ev.line})` });
          lastFill.ev.error = s;
          lastFill.life.orderedFillError = true;
          lastFill.life.errors.push({ line: ln, message: s });
          const name = /: (\S+) cannot fill/.exec(s)?.[1];
          const vd = vqDev.get(lastFill.life.vq);
          if (name && vd) dev(vd, ln).kind ??= name.replace(/^virtio-/, '');
        } else messages.push({ line: ln, message: s });
      }
      continue;
    }
    const [, ev, rest] = m;
    const bad = (): never => {
      throw new QemuTraceError(`line ${ln}: unreadable ${ev} line: ${s.slice(0, 120)}`);
    };
    switch (ev) {
      case 'virtqueue_pop': {
        const p = RE_POP.exec(rest);
        if (!p) { if (i >= last) continue; bad(); }
        seen++;
        // The shim reads the element's own in_num/out_num too: when they differ from the trace's,
        // its idea of the element's layout is wrong, and so are its heads (they are dropped).
        const shim = p![5] !== undefined && p![7] === p![4] && p![8] === p![3];
        if (p![5] !== undefined && !shim) layoutMismatch ??= ln;
        life(p![1]).evs.push({ k: 0, line: ln, elem: p![2], head: shim ? Number(p![5]) : -1, cap: shim ? Number(p![9]) : -1, ndescs: shim ? Number(p![6]) : 1 });
        break;
      }
      case 'virtqueue_fill': {
        const f = RE_FILL.exec(rest);
        if (!f) { if (i >= last) continue; bad(); }
        seen++;
        const l = life(f![1]);
        const fe: FillEv = { k: 1, line: ln, elem: f![2], len: Number(f![3]), idx: Number(f![4]), head: f![5] === undefined ? -1 : Number(f![5]), error: null };
        l.evs.push(fe);
        lastFill = { ev: fe, life: l };
        break;
      }
      case 'virtqueue_flush': {
        const f = RE_FLUSH.exec(rest);
        if (!f) { if (i >= last) continue; bad(); }
        life(f![1]).evs.push({ k: 2, line: ln, count: Number(f![2]) });
        break;
      }
      case 'virtio_queue_notify': {
        const q = RE_QNOTIFY.exec(rest);
        if (!q) { if (i >= last) continue; bad(); }
        bind(q![3], q![1], ln);
        vqIndex.set(q![3], Number(q![2]));
        life(q![3]).kicks++;
        break;
      }
      case 'virtio_notify': {
        const q = RE_NOTIFY.exec(rest);
        if (!q) { if (i >= last) continue; bad(); }
        bind(q![2], q![1], ln);
        life(q![2]).interrupts++;
        break;
      }
      case 'virtio_set_status': {
        const q = RE_STATUS.exec(rest);
        if (!q) { if (i >= last) continue; bad(); }
        const d = dev(q![1], ln);
        if (Number(q![2]) !== 0) break;
        // A reset (2.1.2: writing 0 to device status). Every queue of the device starts over; a
        // lifetime without buffers is not counted, so repeated resets make one boundary.
        let busy = false;
        for (const vq of d.queues) {
          const l = current.get(vq);
          if (l && l.evs.length > 0) { busy = true; l.endedBy = 'reset'; }
          if (l) current.delete(vq);
        }
        if (busy) d.lifetime++;
        break;
      }
      default: {
        // Device-specific events (virtio_blk_*, ...) name their device: that gives its kind.
        const k = /^virtio_([a-z]+)_/.exec(ev);
        const v = RE_VDEV.exec(rest);
        if (k && v && k[1] !== 'queue' && k[1] !== 'set' && k[1] !== 'notify') dev(v[1], ln).kind ??= k[1];
      }
    }
  }
  if (layoutMismatch !== undefined) messages.push({ line: layoutMismatch, message: 'the head fields of virtqueue_pop lines disagree with the line\'s own in_num/out_num (a shim built for another QEMU layout?): those heads are not used' });
  if (seen === 0) throw new QemuTraceError('no virtqueue_pop or virtqueue_fill lines: record with -trace \'virtqueue_*\' -trace \'virtio_*\' and the log backend (-D file)');
  return { lives: lives.filter((l) => l.evs.length > 0 || l.kicks > 0), devs, vqDev, vqIndex, messages, lines: lines.length };
}

/** Parse one `--queue` value: `SELECT,size=N,ring=split|packed,features=F1+F2,lifetime=L` (or `vq=SELECT,...`). */
export function parseQueueSpec(v: string): QueueSpec {
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new QemuTraceError('--queue needs a queue selector (e.g. blk0:0, *, 0x55d0c0a1b2c0)');
  const spec: QueueSpec = { select: '*' };
  let first = true;
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (!first) throw new QemuTraceError(`--queue: "${p}" is not key=value (keys: vq, size, ring, features, lifetime)`);
      spec.select = p;
      first = false;
      continue;
    }
    first = false;
    const k = p.slice(0, eq);
    const val = p.slice(eq + 1);
    switch (k) {
      case 'vq': spec.select = val; break;
      case 'size': {
        const n = /^\d+$/.test(val) ? Number(val) : NaN;
        if (!(n >= 1 && n <= 32768)) throw new QemuTraceError(`--queue: size must be an integer in 1..32768, got ${val}`);
        spec.size = n;
        break;
      }
      case 'ring':
        if (val !== 'split' && val !== 'packed') throw new QemuTraceError(`--queue: ring must be split or packed, got ${val}`);
        spec.ring = val;
        break;
      case 'lifetime': {
        const n = /^\d+$/.test(val) ? Number(val) : NaN;
        if (!(n >= 1)) throw new QemuTraceError(`--queue: lifetime must be a positive integer, got ${val}`);
        spec.lifetime = n;
        break;
      }
      case 'features': Object.assign(spec, parseFeatures(val)); break;
      default: throw new QemuTraceError(`--queue: unknown key "${k}" (keys: vq, size, ring, features, lifetime)`);
    }
  }
  if (spec.ring === 'split' && spec.size !== undefined && (spec.size & (spec.size - 1)) !== 0) throw new QemuTraceError(`--queue: a split queue size must be a power of 2, got ${spec.size}`);
  return spec;
}

/**
 * The negotiated features: names joined by `+` (in-order, partial, packed, none), or the bit string
 * Linux shows in /sys/bus/virtio/devices/*\/features (bit 0 first).
 */
function parseFeatures(v: string): Pick<QueueSpec, 'ring' | 'inOrder' | 'partialOrder'> {
  const out: Pick<QueueSpec, 'ring' | 'inOrder' | 'partialOrder'> = { inOrder: false, partialOrder: false };
  if (/^[01]{36,}$/.test(v)) {
    out.ring = v[VIRTIO_F_RING_PACKED] === '1' ? 'packed' : 'split';
    out.inOrder = v[VIRTIO_F_IN_ORDER] === '1';
    out.partialOrder = v[VIRTIO_F_PARTIAL_ORDER] === '1';
    return out;
  }
  for (const f of v.split('+')) {
    const n = f.toLowerCase().replace(/^virtio_f_/, '').replace(/_/g, '-');
    if (n === 'in-order') out.inOrder = true;
    else if (n === 'partial' || n === 'partial-order') out.partialOrder = true;
    else if (n === 'packed' || n === 'ring-packed') out.ring = 'packed';
    else if (n !== 'none') throw new QemuTraceError(`--queue: unknown feature "${f}" (in-order, partial, packed, none, or a 0/1 bit string)`);
  }
  return out;
}

/** Read a sidecar file: one `--queue` value per line; `#` comments. */
export function parseSidecar(text: string): QueueSpec[] {
  const out: QueueSpec[] = [];
  text.split('\n').forEach((raw, i) => {
    const s = raw.replace(/#.*/, '').trim();
    if (!s) return;
    try { out.push(parseQueueSpec(s)); } catch (e) {
      if (e instanceof QemuTraceError) throw new QemuTraceError(`sidecar line ${i + 1}: ${e.message.replace(/^--queue: /, '')}`);
      throw e;
    }
  });
  return out;
}

const pow2AtLeast = (n: number): number => { let p = 1; while (p < n) p <<= 1; return p; };

interface QueueIdent { device: string; kind: string | null; vdev: string | null; index: number | null }

function matches(spec: QueueSpec, q: QueueIdent, vq: string, lifetime: number): boolean {
  if (spec.lifetime !== undefined && spec.lifetime !== lifetime) return false;
  const sel = spec.select;
  if (sel === '*' || sel === vq) return true;
  const c = sel.lastIndexOf(':');
  const devSel = c >= 0 ? sel.slice(0, c) : sel;
  const qSel = c >= 0 ? sel.slice(c + 1) : '*';
  if (qSel !== '*' && Number(qSel) !== q.index) return false;
  // A device by label (blk0), pointer, or kind (blk; dev for devices no line names the kind of).
  return devSel === '*' || devSel === q.device || devSel === q.vdev || devSel === (q.kind ?? 'dev');
}

/**
 * Model one queue lifetime as QEMU writes its used ring, and check it.
 * - Split without IN_ORDER: virtqueue_fill writes the entry at used.idx + idx, virtqueue_flush
 *   publishes count entries: entries in idx order at each flush.
 * - Packed without IN_ORDER: the fill writes the used descriptor (the batch's first at the
 *   untraced flush): entries in fill order.
 * - IN_ORDER: the fill only marks the element done; the untraced flush (virtqueue_push flushes
 *   right after each fill) writes every done element from the oldest popped on, in pop order, and
 *   stops at the first one not done. A fill QEMU reports it could not do leaves its element not done.
 */
function modelQueue(l: Life, q: QueueIdent, specs: QueueSpec[], complete: boolean): QueueVerdict {
  const notes: string[] = [];
  const pops = l.evs.filter((e): e is PopEv => e.k === 0);
  const fills = l.evs.filter((e): e is FillEv => e.k === 1);
  const flushes = l.evs.filter((e) => e.k === 2).length;
  const heads = pops.length > 0 && pops.every((p) => p.head >= 0) && fills.every((f) => f.head >= 0);
  const mixed = !heads && (pops.some((p) => p.head >= 0) || fills.some((f) => f.head >= 0));
  if (mixed) notes.push('some lines carry heads and some do not: ids inferred for the whole queue');

  // What the options say for this queue (later options override earlier ones).
  let optRing: RingKind | undefined; let optSize: number | undefined; let optInOrder: boolean | undefined; let optPartial: boolean | undefined;
  for (const s of specs) {
    if (!matches(s, q, l.vq, l.lifetime)) continue;
    if (s.ring !== undefined) optRing = s.ring;
    if (s.size !== undefined) optSize = s.size;
    if (s.inOrder !== undefined) optInOrder = s.inOrder;
    if (s.partialOrder !== undefined) optPartial = s.partialOrder;
  }

  // Ring kind and IN_ORDER: what the trace proves first. QEMU 10 traces virtqueue_flush only on its
  // split, non-IN_ORDER path, and prints virtqueue_ordered_fill errors only with IN_ORDER.
  let ring: RingKind; let ringFrom: Source; let inOrder: boolean; let orderFrom: Source;
  if (flushes > 0) {
    ring = 'split'; ringFrom = 'trace'; inOrder = false; orderFrom = 'trace';
    if (optRing === 'packed' || optInOrder) notes.push(`the options say ${optRing === 'packed' ? 'packed' : 'IN_ORDER'}, but this lifetime has virtqueue_flush lines (QEMU's split, non-IN_ORDER path: firmware before the driver's reset?); the trace is followed`);
  } else if (l.orderedFillError) {
    inOrder = true; orderFrom = 'trace';
    if (optInOrder === false) notes.push('the options say no IN_ORDER, but QEMU reported virtqueue_ordered_fill errors (its IN_ORDER path); the trace is followed');
    ring = optRing ?? 'split'; ringFrom = optRing ? 'option' : 'assumed';
  } else if (fills.length > 0) {
    // No flush line: packed, or IN_ORDER (either ring). The trace cannot tell them apart.
    inOrder = optInOrder ?? false; orderFrom = optInOrder !== undefined ? 'option' : 'assumed';
    // Without IN_ORDER the missing flush lines mean packed; with it, either ring (split assumed).
    ring = optRing ?? (inOrder ? 'split' : 'packed'); ringFrom = optRing ? 'option' : 'assumed';
    if (optRing === undefined && optInOrder === undefined) notes.push('no virtqueue_flush lines: a packed ring or IN_ORDER; checked as packed without IN_ORDER (say which with --queue ring=…,features=…)');
  } else {
    ring = optRing ?? 'split'; ringFrom = optRing ? 'option' : 'assumed';
    inOrder = optInOrder ?? false; orderFrom = optInOrder !== undefined ? 'option' : 'assumed';
  }
  const partial = optPartial === true;
  const order: OrderSpec = inOrder ? (partial ? 'in-order,partial' : 'in-order') : partial ? 'partial' : 'none';

  // Model the used ring.
  const avail: AvailItem[] = [];
  const used: { id: number; len: number }[] = [];
  const availBefore: number[] = [];
  const own: { rule: string; message: string; entry: number | null }[] = [];
  interface Inflight { seq: number; id: number; pop: PopEv; slot: number }
  const inflight = new Map<string, Inflight>();
  const free: number[] = []; // inferred ids: lowest free first (a min-heap would do; queues are small)
  let nextId = 0;
  const takeId = (): number => {
    if (free.length === 0) return nextId++;
    let bi = 0;
    for (let i = 1; i < free.length; i++) if (free[i] < free[bi]) bi = i;
    const id = free[bi];
    free[bi] = free[free.length - 1];
    free.pop();
    return id;
  };
  let maxInFlight = 0; let maxHead = -1;
  let pendingFills: { idx: number; id: number; len: number; line: number }[] = [];
  // IN_ORDER: QEMU's per-slot state, in pop order.
  const ord: { id: number; len: number; done: boolean; slot: number; seq: number }[] = [];
  let ordHead = 0;
  let popped = 0;
  let slotPos = 0; // descriptor slots consumed by pops (packed: ndescs per buffer)
  let usedSlots = 0; // slots of the buffers published (the used index, in slots)
  let matchedFills = 0;
  const emit = (id: number, len: number): void => {
    used.push({ id, len });
    availBefore.push(popped);
    if (!heads) free.push(id);
  };
  const failedFills: { ev: FillEv; it: Inflight; usedSlot: number }[] = [];
  for (const e of l.evs) {
    if (e.k === 0) {
      if (inflight.has(e.elem)) {
        own.push({ rule: 'ELEMENT_POPPED_TWICE', message: `line ${e.line}: element ${e.elem} popped while still in flight (lines missing from the trace?)`, entry: used.length });
        continue;
      }
      const id = heads ? e.head : takeId();
      if (heads && e.head > maxHead) maxHead = e.head;
      const it = { seq: popped, id, pop: e, slot: slotPos };
      inflight.set(e.elem, it);
      popped++;
      slotPos += ring === 'packed' ? e.ndescs : 1;
      avail.push(heads && e.cap >= 0 ? { id, capacity: e.cap } : id);
      if (inflight.size > maxInFlight) maxInFlight = inflight.size;
      if (inOrder) ord.push({ id, len: 0, done: false, slot: it.slot, seq: it.seq });
    } else if (e.k === 1) {
      const it = inflight.get(e.elem);
      if (!it) {
        own.push({ rule: 'FILL_NOT_IN_FLIGHT', message: `line ${e.line}: element ${e.elem} filled but not popped (or already filled) in this lifetime`, entry: used.length });
        continue;
      }
      if (heads && e.head !== it.id) own.push({ rule: 'HEAD_CHANGED', message: `line ${e.line}: element ${e.elem} popped as head ${it.id}, filled as head ${e.head}`, entry: used.length });
      inflight.delete(e.elem);
      matchedFills++;
      if (inOrder) {
        const o = ord[it.seq - ordHead];
        if (e.error !== null) {
          failedFills.push({ ev: e, it, usedSlot: usedSlots });
        } else { o.len = e.len; o.done = true; }
        // The flush that follows (untraced) publishes the done prefix, in pop order.
        while (ord.length > 0 && ord[0].done) {
          const x = ord.shift()!;
          ordHead++;
          usedSlots += ring === 'packed' ? pops[x.seq].ndescs : 1;
          emit(x.id, x.len);
        }
      } else if (ring === 'split') {
        pendingFills.push({ idx: e.idx, id: it.id, len: e.len, line: e.line });
      } else {
        emit(it.id, e.len);
      }
    } else if (!inOrder) {
      // virtqueue_flush: used.idx += count, publishing the entries the fills wrote at idx 0..count-1.
      if (e.count !== pendingFills.length) {
        own.push({ rule: 'FLUSH_COUNT_MISMATCH', message: `line ${e.line}: virtqueue_flush count ${e.count} after ${pendingFills.length} fill(s): the used index moves past entries that were ${e.count > pendingFills.length ? 'never written' : 'written but not published'}`, entry: used.length });
      }
      pendingFills.sort((a, b) => a.idx - b.idx);
      for (const f of pendingFills) emit(f.id, f.len);
      pendingFills = [];
    }
  }
  // Completed by the device (filled, including fills QEMU failed) but not in the used ring.
  const filledUnused = matchedFills - used.length;
  const outstanding = popped - used.length;

  // Queue size: the options, or the least the trace allows.
  let size: number; let sizeFrom: Source;
  const least = Math.max(maxInFlight, maxHead + 1, 1);
  if (optSize !== undefined) {
    size = optSize; sizeFrom = 'option';
    if (ring === 'split' && (size & (size - 1)) !== 0) throw new QemuTraceError(`queue ${q.device}:${q.index ?? '?'} is split; its size must be a power of 2, got ${size}`);
  } else {
    size = ring === 'split' ? pow2AtLeast(least) : least; sizeFrom = 'inferred';
    notes.push(`queue size not given: the least the trace allows is used (${heads ? 'largest head + 1, ' : ''}most buffers in flight), so rules that depend on it hold trivially`);
  }

  const trace: ImportedTrace = { ring, order, queue_size: size, avail, used, avail_before: availBefore };
  // A reset discards what is in flight (2.1.2), so only the end of the trace can lose buffers.
  if (complete && l.endedBy === 'end of trace') trace.complete = true;

  const r = checkTrace(trace);
  let verdict: QueueVerdict['verdict'] = r.ok ? 'ok' : 'violation';
  let rule = r.rule; let message = r.message; let firstBad = r.first_bad;
  // The importer's own findings say the log itself does not add up (an element popped twice, a
  // fill of nothing in flight): they come first, whatever the checker made of the rest.
  if (own.length > 0) {
    verdict = 'violation'; rule = own[0].rule; message = own[0].message; firstBad = own[0].entry;
  }
  if (!heads) notes.push('no heads in the trace (record with the vqhead shim for them): ids numbered by element pointer, so only pairing, counts and order are checked; heads and capacities are not');

  if (l.errors.length > 0) {
    verdict = 'device error';
    const f = failedFills[0];
    const why: string[] = [];
    if (f) {
      const stuck = filledUnused;
      why.push(`QEMU could not complete buffer ${heads ? `head ${f.it.id}` : `element ${f.ev.elem}`} (line ${f.ev.line}), which it had popped at line ${f.it.pop.line} and which was still in flight: its own IN_ORDER bookkeeping lost the buffer, not the driver`);
      if (sizeFrom === 'option') {
        // QEMU looks for the element from the used index's slot onwards; where the element's slot
        // is lower, that search has to wrap around the end of its per-slot array.
        const wrapped = failedFills.filter((x) => x.it.slot % size < x.usedSlot % size).length;
        if (wrapped > 0) why.push(`${wrapped === failedFills.length ? (failedFills.length === 1 ? 'its' : `all ${failedFills.length}`) : `${wrapped} of ${failedFills.length}`} search${failedFills.length === 1 ? '' : 'es'} for the buffer had to wrap past the end of the ${size}-slot ring (first: from the used index's slot ${f.usedSlot % size} to the buffer's slot ${f.it.slot % size})`);
      }
      why.push(`with IN_ORDER the device must use buffers in the order they were made available, so no buffer after it can be used: ${stuck} buffer(s) completed but never used, ${inflight.size} still in flight at the ${l.endedBy === 'reset' ? 'reset' : 'end of the trace'}`);
    }
    rule = 'DEVICE_FILL_FAILED';
    message = `${l.errors[0].message}${l.errors.length > 1 ? ` (and ${l.errors.length - 1} more)` : ''}${why.length ? ' — ' + why.join('; ') : ''}`;
    firstBad = null;
  }
  return {
    ...q, vq: l.vq, lifetime: l.lifetime, ring, ring_from: ringFrom, order, order_from: orderFrom, queue_size: size, size_from: sizeFrom,
    ids: heads ? 'heads' : 'inferred', pops: pops.length, fills: fills.length, flushes, used_entries: used.length,
    kicks: l.kicks, interrupts: l.interrupts, max_in_flight: maxInFlight, outstanding, filled_unused: filledUnused, ended_by: l.endedBy,
    verdict, rule, ...(message !== undefined ? { message } : {}), first_bad: firstBad, qemu_errors: l.errors, notes, trace,
  };
}

/** Import a QEMU trace log and check every queue of every device lifetime. */
export function checkQemuTrace(text: string, opts: QemuCheckOptions = {}): QemuCheckResult {
  const { lives, devs, vqDev, vqIndex, messages, lines } = readLog(text);
  // Device labels: kind + ordinal in order of first appearance (blk0, blk1, ...; dev0 when no
  // device-specific line names the kind); queues with no device line are their own.
  const label = new Map<string, string>();
  const perKind = new Map<string, number>();
  for (const d of [...devs.values()].sort((a, b) => a.first - b.first)) {
    const k = d.kind ?? 'dev';
    const n = perKind.get(k) ?? 0;
    perKind.set(k, n + 1);
    label.set(d.ptr, `${k}${n}`);
  }
  const queues: QueueVerdict[] = [];
  for (const l of lives) {
    if (l.evs.length === 0) continue;
    const vdev = vqDev.get(l.vq) ?? null;
    const q: QueueIdent = { device: vdev ? label.get(vdev)! : `vq${l.vq}`, kind: vdev ? devs.get(vdev)!.kind : null, vdev, index: vqIndex.get(l.vq) ?? null };
    queues.push(modelQueue(l, q, opts.queues ?? [], opts.complete === true));
  }
  queues.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.lifetime - b.lifetime || (a.index ?? -1) - (b.index ?? -1)));
  const withHeads = queues.filter((q) => q.ids === 'heads').length;
  const ok = queues.filter((q) => q.verdict === 'ok').length;
  return {
    ok: ok === queues.length,
    queues,
    summary: {
      lines,
      devices: new Set(queues.map((q) => q.device)).size,
      queues: queues.length,
      ok,
      violations: queues.filter((q) => q.verdict === 'violation').length,
      device_errors: queues.filter((q) => q.verdict === 'device error').length,
      buffers_popped: queues.reduce((s, q) => s + q.pops, 0),
      used_entries: queues.reduce((s, q) => s + q.used_entries, 0),
      outstanding: queues.reduce((s, q) => s + q.outstanding, 0),
      ids: queues.length === 0 ? 'none' : withHeads === queues.length ? 'heads' : withHeads === 0 ? 'inferred' : 'mixed',
    },
    qemu_messages: messages,
  };
}
