import type { VirtualClock } from '../clock.js';
import type { Link } from './link.js';

/**
 * The sim wire: two Link endpoints joined in one process. A frame sent on one end arrives at
 * the other after `latencyMs`, delivered by a VirtualClock timer. The clock fires timers in
 * (time, creation) order and the latency is fixed, so frames arrive in the order sent and two
 * runs with the same inputs deliver the same frames at the same virtual instants.
 */

export interface SimWireOptions {
  /** One-way delay (default 0: delivered at the same instant, after the sender returns). */
  latencyMs?: number;
  /** Largest frame each end accepts, Ethernet header included (default 1514). */
  maxFrame?: number;
}

export interface SimLinkStats {
  sent: number;
  delivered: number;
  /** Frames larger than maxFrame, refused by `send` as a NIC would refuse them. */
  droppedOversize: number;
  /** Frames that arrived at an end that was closed or had no receiver yet. */
  droppedUndeliverable: number;
}

class SimEndpoint implements Link {
  readonly clock: VirtualClock;
  readonly maxFrame: number;
  readonly stats: SimLinkStats = { sent: 0, delivered: 0, droppedOversize: 0, droppedUndeliverable: 0 };
  peer: SimEndpoint | undefined;
  private receiver: ((frame: Uint8Array) => void) | undefined;
  private closed = false;

  constructor(
    clock: VirtualClock,
    maxFrame: number,
    private readonly latencyMs: number,
  ) {
    this.clock = clock;
    this.maxFrame = maxFrame;
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    if (frame.length > this.maxFrame) {
      this.stats.droppedOversize++;
      return;
    }
    this.stats.sent++;
    const peer = this.peer!;
    this.clock.setTimer(this.latencyMs, () => peer.deliver(frame));
  }

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.receiver = cb;
  }

  close(): void {
    this.closed = true;
    this.receiver = undefined;
  }

  private deliver(frame: Uint8Array): void {
    if (this.closed || !this.receiver) {
      this.stats.droppedUndeliverable++;
      return;
    }
    this.stats.delivered++;
    this.receiver(frame);
  }
}

export type SimLink = Link & { readonly stats: SimLinkStats };

/** Creates both ends of a sim wire on `clock`. */
export function createSimWire(clock: VirtualClock, opts: SimWireOptions = {}): [SimLink, SimLink] {
  const latency = opts.latencyMs ?? 0;
  const maxFrame = opts.maxFrame ?? 1514;
  if (!(latency >= 0)) throw new RangeError(`sim wire latency must be >= 0 ms, got ${latency}`);
  if (!(Number.isInteger(maxFrame) && maxFrame >= 14)) throw new RangeError(`sim wire maxFrame must be an integer >= 14, got ${maxFrame}`);
  const a = new SimEndpoint(clock, maxFrame, latency);
  const b = new SimEndpoint(clock, maxFrame, latency);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
