import { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../stack/clock.js';

/** A connection accepted by our stack, as far as the adapter uses it. */
export interface StackConnection extends Duplex {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  setNoDelay?(noDelay?: boolean): unknown;
}

/**
 * One of our stack's connections shaped as the socket Node's `http.Server` drives, so the
 * server's own well-kept parser and keep-alive logic run on our TCP. What a node:net Socket has
 * and the server uses is provided here, with the kernel's meaning:
 * - `setTimeout(ms)`: an idle timer on the stack's clock ('timeout' after `ms` without a byte
 *   in or out), so the keep-alive timeout also runs on the sim wire's virtual clock;
 * - `destroy()`: what close(2) does on a kernel socket — a FIN after the queued bytes, or an RST
 *   when received bytes were never read (RFC 2525 §2.17, Linux) — rather than our stack's
 *   abort, so a server closing a connection looks on the wire as it would from the kernel;
 * - `setNoDelay`, the addresses and ports.
 * Two additions serve crafted responses: `close()` (pathod's disconnect: always a FIN), and
 * `muteWhile(fn)`, which drops what Node writes during `fn` (the head and body of a response
 * whose bytes were already sent raw).
 */
export class HttpServerSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly remoteFamily = 'IPv4';
  private idleMs = 0;
  private idleTimer: TimerHandle | undefined;
  private muted = false;
  private graceful = false;

  constructor(
    private readonly conn: StackConnection,
    private readonly clock: Clock,
  ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = conn.remoteAddress;
    this.remotePort = conn.remotePort;
    this.localAddress = conn.localAddress;
    this.localPort = conn.localPort;
    conn.on('data', (d: Uint8Array) => {
      this.touch();
      if (this.destroyed) return;
      if (!this.push(d)) conn.pause();
    });
    conn.on('end', () => {
      if (!this.destroyed) this.push(null);
    });
    conn.on('error', () => this.destroy());
    conn.on('close', () => this.destroy());
  }

  setNoDelay(noDelay = true): this {
    this.conn.setNoDelay?.(noDelay);
    return this;
  }

  /** node:net's idle timeout: 'timeout' after `ms` without traffic; 0 turns it off. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleMs = ms;
    if (onTimeout) {
      if (ms === 0) this.off('timeout', onTimeout);
      else this.once('timeout', onTimeout);
    }
    this.touch();
    return this;
  }

  /**
   * Closes with a FIN after every byte written so far, whatever is unread (pathod's
   * `close_socket`); then the server sees the socket close.
   */
  close(): void {
    this.graceful = true;
    if (this.writableEnded) this.destroy();
    else this.end(() => this.destroy());
  }

  /** Runs `fn`, dropping (and acknowledging) every write made during it. */
  muteWhile(fn: () => void): void {
    this.muted = true;
    try {
      fn();
    } finally {
      this.muted = false;
    }
  }

  override write(chunk: any, encoding?: any, cb?: any): boolean {
    if (!this.muted) return super.write(chunk, encoding, cb);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  }

  override _read(): void {
    this.conn.resume();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    if (this.conn.writableEnded || this.conn.destroyed) {
      cb();
      return;
    }
    this.conn.write(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.conn.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clock.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
    const conn = this.conn;
    if (!conn.destroyed && !conn.writableEnded) {
      if (!this.graceful && this.readableLength > 0) conn.destroy();
      else conn.end();
    }
    // Keep reading what the peer still sends (discarded), so its FIN can arrive and the
    // connection finish.
    conn.resume();
    cb(err);
  }

  private touch(): void {
    this.clock.clearTimer(this.idleTimer);
    this.idleTimer = this.idleMs > 0 && !this.destroyed ? this.clock.setTimer(this.idleMs, () => this.emit('timeout')) : undefined;
  }
}
