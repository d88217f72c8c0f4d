import type { Logger } from '../log.js';
import { formatTransition, type Action, type State } from './state.js';

/** Which connection ticked: its id and its 4-tuple (a Tcb is one). */
export interface TracedConnection {
  readonly id: number;
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
}

/** One tick of one connection's state machine. `line` is the mirage-shaped text. */
export interface TransitionRecord {
  readonly timeMs: number;
  /** The connection's id (TcpSocket.id / Tcb.id). */
  readonly conn: number;
  /** Its 4-tuple, so a reader of the trace can find the connection in a capture. */
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly from: State;
  readonly action: Action;
  readonly to: State;
  readonly line: string;
}

export interface TraceOptions {
  /** How many records to keep (oldest dropped first); 0 keeps none. */
  limit: number;
  /** Called with every record, e.g. to stream the trace to a file. */
  onTransition?: (r: TransitionRecord) => void;
}

/**
 * The transition trace: every tick goes to pino at debug level, to the optional hook, and into
 * a ring buffer bounded by `limit`, so a 10,000-connection run does not hold millions of lines
 * while a test can still read back the last ones. Nothing is formatted when nobody listens.
 */
export class TransitionTrace {
  private ring: TransitionRecord[] = [];
  private head = 0;
  /** Records pushed out of the ring because of the limit. */
  dropped = 0;

  constructor(
    private readonly log: Logger,
    private readonly opts: TraceOptions,
  ) {}

  record(timeMs: number, c: TracedConnection, from: State, action: Action, to: State): void {
    const debug = this.log.isLevelEnabled('debug');
    if (this.opts.limit <= 0 && !this.opts.onTransition && !debug) return;
    const r: TransitionRecord = {
      timeMs,
      conn: c.id,
      localIp: c.localIp,
      localPort: c.localPort,
      remoteIp: c.remoteIp,
      remotePort: c.remotePort,
      from,
      action,
      to,
      line: formatTransition(from, action, to),
    };
    if (debug) this.log.debug({ conn: c.id, t: timeMs }, r.line);
    this.opts.onTransition?.(r);
    if (this.opts.limit <= 0) return;
    if (this.ring.length < this.opts.limit) {
      this.ring.push(r);
    } else {
      this.ring[this.head] = r;
      this.head = (this.head + 1) % this.opts.limit;
      this.dropped++;
    }
  }

  /** The kept records, oldest first. */
  list(): TransitionRecord[] {
    return this.ring.slice(this.head).concat(this.ring.slice(0, this.head));
  }

  clear(): void {
    this.ring = [];
    this.head = 0;
    this.dropped = 0;
  }
}
