import type { Clock, TimerHandle } from '../clock.js';

/*
 * A connection's timers (RFC 9293 §3.8.1 retransmission, §3.8.6.1 persist, §3.8.6.3 delayed ACK,
 * §3.10.7.4 TIME-WAIT's 2×MSL, FIN-WAIT-2's idle limit, RFC 8985 §7 probe timeout), multiplexed
 * on one clock timer. Each slot holds a deadline and the clock timer is set for the earliest.
 * Re-arming is the hot path — every ACK that advances SND.UNA restarts the retransmission timer
 * (RFC 6298 §5.3) — so moving a deadline later only writes a number: the clock timer then fires
 * early, the owner finds that slot not yet due, and `reschedule` sets the clock timer again.
 */

/** Retransmission timer (RFC 6298). */
export const RTX = 0;
/** Persist timer: zero-window probes and SWS-held sends (RFC 9293 §3.8.6.1). */
export const PERSIST = 1;
/** Delayed ACK (RFC 9293 §3.8.6.3, MUST-40). */
export const DELACK = 2;
/** TIME-WAIT's 2×MSL or FIN-WAIT-2's idle limit. */
export const LINGER = 3;
/** Tail loss probe (RFC 8985 §7). */
export const TLP = 4;
/** Number of slots; slots are numbered 0 … SLOTS − 1. */
export const SLOTS = 5;

/** The connection the timers belong to. */
export interface TimerOwner {
  /** The clock timer fired: take the slots that are due with `due`. */
  timersExpired(): void;
}

export class TimerMux {
  private readonly deadlines = [Infinity, Infinity, Infinity, Infinity, Infinity];
  private timer: TimerHandle | undefined;
  /** When the clock timer fires; Infinity when none is set. */
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly owner: TimerOwner,
  ) {}

  armed(slot: number): boolean {
    return this.deadlines[slot] !== Infinity;
  }

  /** The slot's deadline on the clock; Infinity when it is not armed. */
  deadline(slot: number): number {
    return this.deadlines[slot]!;
  }

  /** (Re)starts `slot` to expire `delayMs` from now. */
  arm(slot: number, delayMs: number): void {
    const at = this.clock.now() + delayMs;
    this.deadlines[slot] = at;
    if (at < this.timerAt) {
      this.clock.clearTimer(this.timer);
      this.timerAt = at;
      this.timer = this.clock.setTimer(delayMs, this.fired);
    }
  }

  /** Stops `slot` (the clock timer is left to fire early; see `reschedule`). */
  clear(slot: number): void {
    this.deadlines[slot] = Infinity;
  }

  /** Whether `slot` has expired at `now`; an expired slot is cleared, so it fires once. */
  due(slot: number, now: number): boolean {
    if (this.deadlines[slot]! > now) return false;
    this.deadlines[slot] = Infinity;
    return true;
  }

  /** Sets the clock timer for the earliest deadline when the one it is set for was cleared or has fired. */
  reschedule(): void {
    const d = this.deadlines;
    const next = Math.min(d[0]!, d[1]!, d[2]!, d[3]!, d[4]!);
    if (next === Infinity || next >= this.timerAt) return;
    this.clock.clearTimer(this.timer);
    this.timerAt = next;
    this.timer = this.clock.setTimer(next - this.clock.now(), this.fired);
  }

  /** Stops every slot and the clock timer (the connection is gone). */
  stop(): void {
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.deadlines.fill(Infinity);
  }

  private readonly fired = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.owner.timersExpired();
  };
}
