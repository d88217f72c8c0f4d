/**
 * Time, injected. Every timer in the stack, the links and the fuzzers goes through a Clock so
 * that a run on the sim wire is deterministic: the VirtualClock only moves when told to.
 * Times are milliseconds as floating-point numbers (sub-millisecond precision is kept for
 * pcap timestamps).
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the clock's epoch (Unix epoch for RealClock, 0 or a chosen start for VirtualClock). */
  now(): number;
  /** Runs `cb` once after `delayMs` (clamped to >= 0). */
  setTimer(delayMs: number, cb: () => void): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

/** Wall-clock time; timers are Node timers, unref'd so a forgotten timer never keeps a process alive. */
export class RealClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly origin = Date.now() - performance.now();

  now(): number {
    return this.origin + performance.now();
  }

  setTimer(delayMs: number, cb: () => void): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      cb();
    }, Math.max(0, delayMs));
    t.unref();
    this.timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }
}

/** A virtual timer is its own handle: clearing marks it, the heap drops it when it reaches the top. */
interface VirtualTimer extends TimerHandle {
  readonly id: number;
  readonly at: number;
  readonly cb: () => void;
  state: TimerState;
}

const PENDING = 0;
const CANCELLED = 1;
const DONE = 2;
type TimerState = typeof PENDING | typeof CANCELLED | typeof DONE;

/**
 * A clock that moves only when advanced. Timers fire in (time, creation order) order, so two
 * runs with the same inputs fire the same callbacks in the same order. Work scheduled with
 * `defer` runs before any timer at the current instant (it models "as soon as possible").
 */
export class VirtualClock implements Clock {
  private t: number;
  private nextId = 1;
  /** Binary min-heap ordered by (at, id). */
  private heap: VirtualTimer[] = [];
  /** Cancelled timers still in the heap (removed lazily: cancelling is the hot path). */
  private cancelledInHeap = 0;
  private readonly deferred: Array<() => void> = [];

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(delayMs: number, cb: () => void): TimerHandle {
    const timer: VirtualTimer = { id: this.nextId++, at: this.t + Math.max(0, delayMs), cb, state: PENDING };
    this.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    const timer = handle as VirtualTimer | undefined;
    if (timer?.state !== PENDING) return;
    timer.state = CANCELLED;
    this.cancelledInHeap++;
    // Keep the heap from filling with the dead: rebuild once they are the majority.
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
  }

  /** Queues `cb` to run at the current instant, after the caller returns. */
  defer(cb: () => void): void {
    this.deferred.push(cb);
  }

  /** Number of live timers (cancelled ones excluded). */
  pendingTimers(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** Time of the next live timer, or undefined. */
  nextTimerAt(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.at;
  }

  /** Runs deferred work, then every timer due at or before now + ms, then leaves the clock at now + ms. */
  advance(ms: number): void {
    const until = this.t + Math.max(0, ms);
    this.runUntil(until, Number.MAX_SAFE_INTEGER);
    this.t = Math.max(this.t, until);
  }

  /**
   * Runs deferred work and timers in order until nothing is left, `untilMs` is reached or
   * `maxEvents` callbacks have run (every loop is bounded). Returns the number of callbacks run.
   */
  runUntil(untilMs: number, maxEvents = 10_000_000): number {
    let n = 0;
    while (n < maxEvents) {
      if (this.deferred.length > 0) {
        const batch = this.deferred.splice(0, this.deferred.length);
        for (const cb of batch) cb();
        n += batch.length;
        continue;
      }
      this.dropCancelledTop();
      const top = this.heap[0];
      if (!top || top.at > untilMs) break;
      this.pop();
      top.state = DONE;
      this.t = Math.max(this.t, top.at);
      top.cb();
      n++;
    }
    return n;
  }

  /** Runs until no deferred work or timer remains (bounded by `maxEvents` and `maxMs` of virtual time). */
  runUntilIdle(maxMs = 24 * 3600_000, maxEvents = 10_000_000): number {
    return this.runUntil(this.t + maxMs, maxEvents);
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.state === CANCELLED) {
      this.heap[0]!.state = DONE;
      this.cancelledInHeap--;
      this.pop();
    }
  }

  /** Drops every cancelled timer and restores the heap order (bottom-up heapify). */
  private compact(): void {
    const live = this.heap.filter((x) => x.state === PENDING);
    for (const x of this.heap) if (x.state === CANCELLED) x.state = DONE;
    this.heap = live;
    this.cancelledInHeap = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  private push(x: VirtualTimer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
