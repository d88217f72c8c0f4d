import type { Tcb } from './tcb.js';
import type { TcpSocket } from './socket.js';

/**
 * Called with each accepted connection. It may return a promise; with the default behaviour
 * that changes nothing. Under the Minnesota Goodbye profiles the handshake's final ACK waits for
 * the "callback" to complete — the returned promise settled and, if the handler called end(),
 * that end() finished — which is how mirage's `pushf (fst newconn) >>= fun () -> Rx.input …`
 * ordering is modelled with a Node stream (see bugs.ts).
 */
export type ConnectionHandler = (sock: TcpSocket) => unknown;

export interface ListenerHost {
  drainAccepted(l: Listener): void;
  unlisten(l: Listener): void;
}

/**
 * A passive OPEN on one port (RFC 9293 §3.10.1). `backlog` bounds both the SYN queue
 * (connections in SYN-RECEIVED) and the accept queue (ESTABLISHED, waiting while the listener
 * is paused): beyond it new SYNs, then handshake ACKs, are dropped and the peer retries.
 */
export class Listener {
  /** Connections in SYN-RECEIVED. */
  readonly embryonic = new Set<Tcb>();
  /** Established connections not yet handed to onConnection (only while paused). */
  readonly acceptQueue: TcpSocket[] = [];
  paused = false;
  closed = false;

  constructor(
    private readonly host: ListenerHost,
    readonly port: number,
    readonly onConnection: ConnectionHandler,
    readonly backlog: number,
  ) {}

  /** Stop handing out connections; they queue up to `backlog`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.host.drainAccepted(this);
  }

  /** Stop listening: queued and half-open connections are reset, accepted ones live on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unlisten(this);
  }
}
