import type { VirtualClock } from './clock.js';

export interface RunSimOptions {
  /** Stop once virtual time would pass this instant (the clock is left there). */
  untilMs?: number;
  /** Upper bound on loop iterations (every loop is bounded); default 1,000,000. */
  maxSteps?: number;
  /** Stop as soon as this returns true (checked after every step). */
  until?: () => boolean;
}

export interface RunSimResult {
  steps: number;
  timeMs: number;
  /** Why the run stopped. */
  reason: 'until' | 'time' | 'idle' | 'steps';
}

/** One macrotask turn: Node's nextTick queue, promise jobs and stream callbacks all run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Drives a simulation on the virtual clock: runs everything due at the current instant, lets
 * Node drain its nextTick/microtask/stream callbacks (Duplex sockets emit through them), and
 * only when nothing is left at this instant jumps to the next timer. Same inputs ⇒ same order
 * of events ⇒ same bytes on the wire.
 */
export async function runSim(clock: VirtualClock, opts: RunSimOptions = {}): Promise<RunSimResult> {
  const maxSteps = opts.maxSteps ?? 1_000_000;
  const untilMs = opts.untilMs ?? Infinity;
  let steps = 0;
  while (steps < maxSteps) {
    steps++;
    await settle();
    if (opts.until?.()) return { steps, timeMs: clock.now(), reason: 'until' };
    if (clock.runUntil(clock.now()) > 0) continue;
    const next = clock.nextTimerAt();
    if (next === undefined || next > untilMs) {
      if (untilMs !== Infinity && clock.now() < untilMs) clock.advance(untilMs - clock.now());
      return { steps, timeMs: clock.now(), reason: next === undefined && untilMs === Infinity ? 'idle' : 'time' };
    }
    clock.runUntil(next);
  }
  return { steps, timeMs: clock.now(), reason: 'steps' };
}
