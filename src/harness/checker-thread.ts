/**
 * The live checker in a thread of its own, at the lowest CPU priority (nice 19 by default).
 *
 * The checker is an observer: it must not perturb what it watches. On the main thread it woke
 * every 2 ms and, on a machine with as many CPUs as sides, took one of them from a busy side for
 * as long as its drain lasted: PARTIAL_ORDER runs with faults had a p99 of ~2 ms that was the
 * checker's, not the queue's (`vqlab run --order partial --fault-rate 0.01 --queue-size 256
 * --notify wait`: p99 2.03-2.10 ms on the main thread, 0.21-0.25 ms at nice 19). At nice 19 it
 * runs on CPU time the sides leave idle; when it falls behind, the event logs fill and the sides
 * wait for it (the logs' back-pressure), so it never loses a record and its lag is bounded by the
 * log size. Linux applies setpriority() to the calling thread only, so the sides keep theirs.
 *
 * Protocol (an Int32Array over a small SharedArrayBuffer): the checker sets FOUND when it has seen a
 * violation (the run stops); the main thread sets FINISH (+ COMPLETE when every buffer was
 * reclaimed, or ABANDON when the run failed) and notifies; the checker drains what is left (not
 * when abandoned), finishes, posts its summary, exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setPriority } from 'node:os';
import { LiveChecker, type CheckerSummary } from '../check/live.js';
import { EventLog } from '../check/events.js';
import type { CheckerOptions } from '../check/checker.js';

export const CK_FOUND = 0;
export const CK_FINISH = 1;
export const CK_COMPLETE = 2;
/** 1 once the thread's priority was lowered; -1 when the OS refused (it runs at the sides' priority). */
export const CK_NICED = 3;
/** The run failed or was interrupted: stop without draining the backlog (its results are partial anyway). */
export const CK_ABANDON = 4;
const CK_WORDS = 5;

export interface CheckerThreadInit {
  opts: CheckerOptions;
  driverLog: SharedArrayBuffer;
  deviceLog: SharedArrayBuffer;
  ck: SharedArrayBuffer;
  /** Nice value for the checker's thread (0..19); 0 leaves it at the sides' priority. */
  nice: number;
  /** Drain at least this often (ms). */
  intervalMs: number;
  /** Test-only (cfg.testHooks with side 'checker'): misbehave after this many checked used entries. */
  testFault?: { fault: 'throw' | 'exit' | 'hang' | 'idle'; after: number; exitCode?: number } | null;
}

export const newCheckerControl = (): SharedArrayBuffer => new SharedArrayBuffer(CK_WORDS * 4);

/** Body of workers/checker.js. */
export function checkerWorkerMain(): void {
  const init = workerData as CheckerThreadInit;
  const ck = new Int32Array(init.ck);
  if (init.nice > 0) {
    try { setPriority(0, init.nice); Atomics.store(ck, CK_NICED, 1); } catch { Atomics.store(ck, CK_NICED, -1); }
  }
  const live = new LiveChecker(init.opts, new EventLog(init.driverLog), new EventLog(init.deviceLog));
  const tf = init.testFault ?? null;
  let restored = false;
  for (;;) {
    const finishing = Atomics.load(ck, CK_FINISH) !== 0;
    if (finishing && Atomics.load(ck, CK_ABANDON) !== 0) break;
    // The sides are done: the last drain should not wait for idle CPU on a loaded machine. Only a
    // privileged process may raise a thread's priority again; otherwise it drains at nice N.
    if (finishing && init.nice > 0 && !restored) { restored = true; try { setPriority(0, 0); } catch { /* not allowed */ } }
    if (tf?.fault === 'idle' && !finishing && live.checker.usedEntries >= tf.after) {
      // Test hook: reads nothing more until the run ends (a checker starved of CPU, deterministically).
      Atomics.wait(ck, CK_FINISH, 0, init.intervalMs);
      continue;
    }
    live.drain();
    if (tf && tf.fault !== 'idle' && live.checker.usedEntries >= tf.after) {
      if (tf.fault === 'throw') throw new Error('test hook: checker thread throws');
      if (tf.fault === 'exit') process.exit(tf.exitCode ?? 1);
      for (;;) { /* test hook: hang, deaf to FINISH */ }
    }
    if (live.stop) Atomics.store(ck, CK_FOUND, 1);
    if (finishing) break;
    Atomics.wait(ck, CK_FINISH, 0, init.intervalMs);
  }
  const summary: CheckerSummary = live.summary(Atomics.load(ck, CK_COMPLETE) !== 0);
  parentPort!.postMessage({ type: 'summary', summary });
}

/**
 * The main thread's handle on the checker thread. `stop` reads the checker's FOUND flag; finish()
 * asks for the last drain and resolves with the summary, or rejects with a typed reason when the
 * thread died or did not answer in time (nothing waits forever).
 */
export class CheckerThread {
  private readonly ck: Int32Array;
  private summary: CheckerSummary | null = null;
  private failed: string | null = null;
  private readonly exited: Promise<void>;

  constructor(private readonly worker: import('node:worker_threads').Worker, ckBuffer: SharedArrayBuffer) {
    this.ck = new Int32Array(ckBuffer);
    // Never what keeps the process alive: every path of a run finishes or terminates it, and a
    // path that throws must not leave a process that cannot exit.
    worker.unref();
    worker.on('message', (m: { type: string; summary?: CheckerSummary }) => { if (m.type === 'summary') this.summary = m.summary!; });
    worker.on('error', (e: Error) => { this.failed ??= `${e.name}: ${e.message}`; });
    this.exited = new Promise((res) => worker.on('exit', (code) => {
      if (!this.summary) this.failed ??= `checker thread exited with code ${code} without a summary`;
      res();
    }));
  }

  /** The checker found a violation (the run should stop). */
  get stop(): boolean { return Atomics.load(this.ck, CK_FOUND) !== 0; }
  /** Why the thread failed, once it has. */
  get failure(): string | null { return this.failed; }
  /** 1: running at the requested nice value; -1: the OS refused; 0: not asked (or not yet). */
  get niced(): number { return Atomics.load(this.ck, CK_NICED); }

  /**
   * Last drain and summary. `completed`: every buffer was reclaimed (lost buffers are then a
   * violation). `drain`: read what is left in the logs first; otherwise the backlog is abandoned.
   */
  async finish(completed: boolean, timeoutMs: number, drain = completed): Promise<CheckerSummary> {
    Atomics.store(this.ck, CK_COMPLETE, completed ? 1 : 0);
    Atomics.store(this.ck, CK_ABANDON, drain ? 0 : 1);
    Atomics.store(this.ck, CK_FINISH, 1);
    Atomics.notify(this.ck, CK_FINISH);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((res) => { timer = setTimeout(() => res('late'), timeoutMs); });
    const r = await Promise.race([this.exited.then(() => 'exit' as const), late]);
    clearTimeout(timer);
    if (r === 'late') {
      await this.worker.terminate();
      throw new Error(`checker thread did not finish within ${timeoutMs} ms`);
    }
    if (!this.summary) throw new Error(this.failed ?? 'checker thread gave no summary');
    return this.summary;
  }
}
