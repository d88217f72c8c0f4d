import { Duplex } from 'node:stream';
import { ipv4ToString } from '../addr.js';
import type { StateName } from './state.js';
import type { ResetReason, Tcb, TcbUser } from './tcb.js';

const DUPLEX_OPTIONS = { allowHalfOpen: true, autoDestroy: false, emitClose: true };

/**
 * A TCP connection as a Node Duplex stream, shaped like node:net's Socket so that an HTTP
 * server or client can sit on top:
 * - `write()` queues bytes (back-pressure once the send buffer is full);
 * - `end()` is a half-close: the FIN follows the queued data, reading goes on;
 *   'finish' is emitted once the FIN has been sent;
 * - `destroy()` aborts: an RST where the peer holds state (RFC 9293 §3.10.5);
 * - 'connect' (active opens) when ESTABLISHED;
 * - 'peer-fin' when the peer's FIN arrives (the readable side then ends: 'end' follows
 *   once the data has been read);
 * - 'reset' (reason: 'peer-reset' | 'refused' | 'timeout') when the connection is lost without
 *   a FIN — an event, not an 'error', so an unhandled reset never crashes the process; the
 *   socket is then destroyed;
 * - 'close' once both directions are done (TIME-WAIT or CLOSED; the TIME-WAIT itself stays in
 *   the stack, as the kernel keeps it after node:net's 'close').
 */
export class TcpSocket extends Duplex {
  readonly id: number;
  readonly localPort: number;
  readonly remotePort: number;
  /** Set once the connection needs nothing more from the socket (finished or reset). */
  tcbDone = false;

  constructor(private readonly tcb: Tcb) {
    super(DUPLEX_OPTIONS);
    this.id = tcb.id;
    this.localPort = tcb.localPort;
    this.remotePort = tcb.remotePort;
    this.on('finish', this.closeWhenDrained);
    this.on('end', this.closeWhenDrained);
    tcb.user = new SocketUser(this);
  }

  /** Dotted quads, made when asked (most connections never are). */
  get localAddress(): string {
    return ipv4ToString(this.tcb.localIp);
  }

  get remoteAddress(): string {
    return ipv4ToString(this.tcb.remoteIp);
  }

  /** The connection's state, in mirage's names (`Established`, `Fin_wait_2`, …). */
  get state(): StateName {
    return this.tcb.state.name;
  }

  /** node:net's switch for Nagle's algorithm (MUST-17: per connection). */
  setNoDelay(noDelay = true): this {
    this.tcb.nagle = !noDelay;
    return this;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.tcb.send(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.tcb.close(() => cb());
  }

  /**
   * Every consumption goes through read() (flowing mode calls it too); _read is no signal,
   * since Node calls it only once between two pushes. Once the reader has taken bytes, the
   * connection looks at whether its window should be reopened.
   */
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    if (chunk !== null && this.tcb.windowNeedsUpdate()) queueMicrotask(() => this.tcb.readDrained());
    return chunk;
  }

  override _read(): void {
    // Bytes are pushed as segments arrive; flow control is the TCP window.
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.tcbDone) this.tcb.abort();
    cb(err);
  }

  /**
   * After TIME-WAIT/CLOSED, 'close' waits until the FIN was reported ('finish') and the
   * reader has the bytes that arrived (or nobody is reading), so no event is lost.
   */
  readonly closeWhenDrained = (): void => {
    if (!this.tcbDone || this.destroyed) return;
    const writableDone = this.writableFinished || !this.writableEnded;
    const readableDone = this.readableEnded || (this.readableLength === 0 && this.readableFlowing !== true);
    if (writableDone && readableDone) this.destroy();
  };
}

/** The connection's view of its socket (one small object per connection, no closures). */
class SocketUser implements TcbUser {
  constructor(private readonly sock: TcpSocket) {}

  established(): void {
    this.sock.emit('connect');
  }

  data(chunk: Uint8Array): void {
    this.sock.push(chunk);
  }

  peerFin(): void {
    this.sock.emit('peer-fin');
    this.sock.push(null);
  }

  reset(reason: ResetReason): void {
    const s = this.sock;
    if (s.tcbDone) return;
    s.tcbDone = true;
    s.emit('reset', reason);
    s.destroy();
  }

  finished(): void {
    this.sock.tcbDone = true;
    // A FIN-WAIT-2 timeout ends the connection without the peer's FIN: end the reader too.
    this.sock.push(null);
    this.sock.closeWhenDrained();
  }

  unread(): number {
    return this.sock.readableLength;
  }
}
