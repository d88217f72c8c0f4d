/*
 * A connection's re-entrancy guard. Segment arrival (RFC 9293 §3.10.7) and timer expiry
 * (§3.10.8) are processed as one step each; the application's calls that arrive meanwhile (a
 * 'data' handler that writes, a 'peer-fin' handler that destroys) are queued and run when the
 * step is done, each as its own call — so a reply written in a 'data' handler carries the
 * pending ACK, and the order of events on the wire never depends on handler timing.
 */

/** The connection the queue guards. */
export interface Settling {
  /**
   * Runs inside the guard after each round of queued calls and sends what is due; returns false
   * once the connection is gone (nothing more runs).
   */
  settle(): boolean;
}

export class CallQueue {
  /** Calls in progress (nested ones included). */
  private depth = 0;
  /** Queued calls; undefined until the first (most connections never queue one). */
  private queued: Array<() => void> | undefined;

  constructor(private readonly owner: Settling) {}

  /** A step is in progress: an application call now must be queued. */
  get busy(): boolean {
    return this.depth > 0;
  }

  defer(call: () => void): void {
    (this.queued ??= []).push(call);
  }

  enter(): void {
    this.depth++;
  }

  /**
   * Ends a call. Leaving the outermost one runs the queued calls, then the owner's `settle`,
   * again while settling queued more (bounded), and returns true; a nested call returns false
   * at once.
   */
  leave(): boolean {
    if (this.depth > 1) {
      this.depth--;
      return false;
    }
    for (let round = 0; round < 1000; round++) {
      this.depth = 0;
      const queued = this.queued;
      if (queued) for (let i = 0; i < 10_000 && queued.length > 0; i++) queued.shift()!();
      this.depth = 1;
      const live = this.owner.settle();
      this.depth = 0;
      if (!live || !this.queued || this.queued.length === 0) break;
    }
    this.depth = 0;
    return true;
  }
}
