/**
 * How time passes on a bench. On the sim wire it is the virtual clock, moved by running the
 * simulation (deterministic: the same script gives the same frames at the same instants); on
 * the TAP it is real, and every wait is a bounded real wait.
 */
import type { VirtualClock } from '../../../stack/clock.js';
import { runSim } from '../../../stack/sim-driver.js';

export interface BenchTime {
  /** Milliseconds on the clock the stack under test and the endpoint share. */
  now(): number;
  /** Lets `ms` pass. */
  wait(ms: number): Promise<void>;
  /** Resolves true as soon as `cond` holds, false once `maxMs` passed without it. */
  waitUntil(cond: () => boolean, maxMs: number): Promise<boolean>;
}

/** Virtual time: waiting runs the simulation (stack/sim-driver.ts) on the clock. */
export class SimTime implements BenchTime {
  constructor(private readonly clock: VirtualClock) {}

  now(): number {
    return this.clock.now();
  }

  async wait(ms: number): Promise<void> {
    await runSim(this.clock, { untilMs: this.clock.now() + ms });
  }

  async waitUntil(cond: () => boolean, maxMs: number): Promise<boolean> {
    await runSim(this.clock, { untilMs: this.clock.now() + maxMs, until: cond });
    return cond();
  }
}

/** How often a real wait looks at its condition. */
const POLL_MS = 1;

/** Real time: the process's event loop runs the stack, the links and their timers meanwhile. */
export class RealTime implements BenchTime {
  constructor(private readonly clock: { now(): number }) {}

  now(): number {
    return this.clock.now();
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }

  async waitUntil(cond: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = this.clock.now() + maxMs;
    while (!cond()) {
      const left = deadline - this.clock.now();
      if (left <= 0) return false;
      await this.wait(Math.min(POLL_MS, left));
    }
    return true;
  }
}
