import type { Duplex } from 'node:stream';
import type { Clock } from '../stack/clock.js';

/**
 * What a built-in service needs from a stack: a listener that hands over accepted connections
 * as Duplex streams, and the clock the stack runs on (so a service's own timers, e.g. HTTP
 * keep-alive, run on virtual time on the sim wire). Our `Stack` fits.
 */
export interface Listening {
  listen(port: number, onConnection: (sock: Duplex) => void, opts?: { backlog?: number }): unknown;
  readonly tcp: { readonly clock: Clock };
}

/**
 * The SYN and accept queue bound every built-in service asks for. Linux allows 4096 by default
 * (net.core.somaxconn); a fuzz run opens a thousand connections at once, and a SYN dropped by a
 * full queue would be our harness's doing, not the behaviour under test.
 */
export const SERVICE_BACKLOG = 4096;

/** A service that runs on our userspace stack and can be fuzzed. */
export interface BuiltinService {
  /** `goodbye`, `echo`, ... (the target is named `builtin:NAME`). */
  readonly name: string;
  readonly port: number;
  readonly summary: string;
  /** What a netcat job sends by default. */
  readonly defaultPayload: string;
  /** Starts serving on `stack`. */
  serve(stack: Listening): void;
  /**
   * Judges one job's bytes: undefined when what came back is what this service must send for
   * what was sent, else a one-line description of the difference.
   */
  check(sent: Uint8Array, received: Uint8Array): string | undefined;
}
