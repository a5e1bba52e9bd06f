/**
 * The simulator's memory models against the litmus shapes: every interleaving of the two threads'
 * operations and of their buffered stores becoming visible, enumerated depth-first, gives the set
 * of outcomes each model allows. Uses the same SimMemory the ring code runs on in the simulator.
 */
import { LITMUS_BYTES, outcomeKey, registersOf, type LitmusOp, type LitmusShape } from '../litmus/shapes.js';
import { SimWorld, type MemoryModel, type SimMemory } from './memory.js';

/** Barriers dropped, as the `plain` real mode runs it. */
export function stripBarriers(s: LitmusShape): LitmusShape {
  const strip = (t: LitmusOp[]): LitmusOp[] => t.filter((o) => o.op !== 'mb').map((o) => (o.op === 'stRel' ? { ...o, op: 'st' as const } : o.op === 'ldAcq' ? { ...o, op: 'ld' as const } : o));
  return { ...s, threads: [strip(s.threads[0]), strip(s.threads[1])] };
}

/** All accesses sequentially consistent, as the `atomics` real mode runs it (Atomics.store is a full barrier). */
export function sequentialize(s: LitmusShape): LitmusShape {
  const seq = (t: LitmusOp[]): LitmusOp[] => t.filter((o) => o.op !== 'mb').flatMap((o): LitmusOp[] => (o.op === 'st' || o.op === 'stRel' ? [{ ...o, op: 'stRel' }, { op: 'mb' }] : [o]));
  return { ...s, threads: [seq(s.threads[0]), seq(s.threads[1])] };
}

/** The program a real litmus mode actually runs: plain drops the barriers, atomics makes every access SC, vqlab runs it as written. */
export function programFor(s: LitmusShape, mode: 'plain' | 'atomics' | 'vqlab'): LitmusShape {
  return mode === 'plain' ? stripBarriers(s) : mode === 'atomics' ? sequentialize(s) : s;
}

export function allowedOutcomes(shape: LitmusShape, model: MemoryModel): Set<string> {
  const world = new SimWorld(new ArrayBuffer(LITMUS_BYTES), model);
  const mems: SimMemory[] = [world.side(), world.side()];
  for (const [loc, v] of Object.entries(shape.init ?? {})) world.u16[shape.locs[loc] >>> 1] = v;
  const regNames = registersOf(shape);
  const regs = new Map<string, number>();
  const out = new Set<string>();
  const exec = (t: number, o: LitmusOp): void => {
    const m = mems[t];
    switch (o.op) {
      case 'st': m.st16(shape.locs[o.loc], o.val); break;
      case 'stRel': m.st16Release(shape.locs[o.loc], o.val); break;
      case 'ld': regs.set(o.reg, m.ld16(shape.locs[o.loc])); break;
      case 'ldAcq': regs.set(o.reg, m.ld16Acquire(shape.locs[o.loc])); break;
      case 'mb': m.mb(); break;
    }
  };
  const pcs = [0, 0];
  const rec = (): void => {
    if (pcs[0] === shape.threads[0].length && pcs[1] === shape.threads[1].length) {
      out.add(outcomeKey(regNames, regNames.map((r) => regs.get(r) ?? 0)));
      return;
    }
    const save = (): [ReturnType<SimWorld['save']>, Map<string, number>, number[]] => [world.save(), new Map(regs), pcs.slice()];
    const restore = (s: ReturnType<typeof save>): void => {
      world.restore(s[0]);
      regs.clear(); for (const [k, v] of s[1]) regs.set(k, v);
      pcs[0] = s[2][0]; pcs[1] = s[2][1];
    };
    const snap = save();
    for (let t = 0; t < 2; t++) {
      if (pcs[t] >= shape.threads[t].length) continue;
      const o = shape.threads[t][pcs[t]];
      // weak: a plain load branches over every version it may read.
      const versions = o.op === 'ld' && model === 'weak' && !mems[t].buf.some((p) => p.off === shape.locs[o.loc]) ? mems[t].versionTimes(shape.locs[o.loc], 2).times.length + 1 : 1;
      for (let v = 0; v < versions; v++) {
        world.pickVersion = () => v;
        pcs[t]++;
        exec(t, o);
        rec();
        restore(snap);
      }
      world.pickVersion = () => 0;
    }
    for (let t = 0; t < 2; t++) for (let j = 0; j < mems[t].buf.length; j++) {
      if (!mems[t].drainable(j)) continue;
      mems[t].drainAt(j);
      rec();
      restore(snap);
    }
  };
  rec();
  return out;
}
