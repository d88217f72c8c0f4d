import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../stack/clock.js';

/**
 * One netcat-like job, as `echo "hi mom" | nc -N HOST PORT` does it: connect, send the payload,
 * optionally half-close (shutdown(SHUT_WR), what `nc -N` does at stdin EOF), read until EOF,
 * reset or the job's timeout. Works over any dialer whose sockets are Duplex streams: kernel
 * sockets (node:net) in the lab namespace, or our own client stack on the sim wire.
 */

/** A connection as the job needs it: a Duplex plus its 4-tuple once connected. */
export interface DialedSocket extends Duplex {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

export interface Dialer {
  /** Starts connecting; the returned socket emits 'connect' (or 'error'/'reset'/'close'). */
  dial(host: string, port: number): DialedSocket;
  /** The clock that times jobs (RealClock for kernel sockets, the VirtualClock on the sim wire). */
  readonly clock: Clock;
}

export type JobOutcome = 'eof' | 'reset' | 'refused' | 'timeout' | 'connect-timeout' | 'error' | 'cancelled';

export interface JobSpec {
  id: number;
  host: string;
  port: number;
  payload: Uint8Array;
  /** Half-close after sending (nc -N). */
  halfClose: boolean;
  /** Whole-job bound (connect + exchange), milliseconds. */
  timeoutMs: number;
  /** Connect bound, milliseconds. */
  connectTimeoutMs: number;
}

export interface JobResult {
  id: number;
  outcome: JobOutcome;
  /** Error text for `error` outcomes (e.g. EHOSTUNREACH). */
  detail?: string;
  localAddress?: string;
  localPort?: number;
  remoteAddress: string;
  remotePort: number;
  startedAt: number;
  endedAt: number;
  connectMs?: number;
  firstByteMs?: number;
  bytesOut: number;
  bytesIn: number;
  /** What the peer sent, kept so the target can judge it (bounded by `maxKeep`). */
  received: Uint8Array;
  /**
   * The job gave up on its connection at its timeout: aborted it (RST), or kept it open for the
   * final socket-state reading. What the capture then shows of our side is the harness's doing.
   */
  abandoned?: true;
}

/** Outcomes after which the job gives up on a connection that is still open. */
export const isAbandonment = (outcome: JobOutcome): boolean => outcome === 'timeout' || outcome === 'connect-timeout';

/**
 * Aborts a connection the job gave up on: RST (RFC 9293 §3.10.7.1's ABORT), so the peer is not
 * left waiting for a FIN that will never come. A kernel socket is reset (node:net's
 * resetAndDestroy, SO_LINGER 0); our own stack's destroy() is an abort already.
 */
export function abortSocket(sock: DialedSocket): void {
  const s = sock as DialedSocket & { resetAndDestroy?: () => void };
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else sock.destroy();
}

/** Errors that mean the peer reset the connection, as node:net and our stack report them. */
function isReset(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNRESET' || err.code === 'EPIPE';
}

/**
 * Runs one job. Sockets that end in `timeout` are left open and handed to `keepOpen` (when
 * given) instead of being destroyed, so the run can read the kernel's view of them (e.g. the
 * client still in FIN_WAIT2) before it tears everything down.
 */
export function runNetcatJob(
  dialer: Dialer,
  spec: JobSpec,
  opts: { maxKeep?: number; keepOpen?: (sock: DialedSocket) => void; signal?: AbortSignal } = {},
): Promise<JobResult> {
  const clock = dialer.clock;
  const maxKeep = opts.maxKeep ?? 1 << 20;
  const startedAt = clock.now();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let bytesIn = 0;
  let connected = false;
  let connectMs: number | undefined;
  let firstByteMs: number | undefined;

  return new Promise<JobResult>((resolve) => {
    let settled = false;
    let timer: TimerHandle | undefined;
    const onAbort = (): void => finish('cancelled');
    const sock = dialer.dial(spec.host, spec.port);

    const finish = (outcome: JobOutcome, detail?: string): void => {
      if (settled) return;
      settled = true;
      clock.clearTimer(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const received = new Uint8Array(kept);
      let off = 0;
      for (const c of chunks) {
        received.set(c, off);
        off += c.length;
      }
      const result: JobResult = {
        id: spec.id,
        outcome,
        remoteAddress: spec.host,
        remotePort: spec.port,
        startedAt,
        endedAt: clock.now(),
        bytesOut: connected ? spec.payload.length : 0,
        bytesIn,
        received,
      };
      if (detail !== undefined) result.detail = detail;
      if (sock.localAddress !== undefined) result.localAddress = sock.localAddress;
      if (sock.localPort !== undefined) result.localPort = sock.localPort;
      if (connectMs !== undefined) result.connectMs = connectMs;
      if (firstByteMs !== undefined) result.firstByteMs = firstByteMs;
      if (isAbandonment(outcome)) result.abandoned = true;
      sock.removeAllListeners('data');
      sock.on('error', () => undefined);
      // After EOF the job closes gracefully, as nc does when the network side ends (a no-op when
      // it half-closed already): destroy() would be an abort, an RST on our own stack.
      if (outcome === 'eof') sock.end();
      else if (outcome === 'timeout' && opts.keepOpen) opts.keepOpen(sock);
      else if (isAbandonment(outcome)) abortSocket(sock);
      else sock.destroy();
      resolve(result);
    };

    if (opts.signal?.aborted) {
      finish('cancelled');
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const arm = (ms: number, outcome: JobOutcome): void => {
      clock.clearTimer(timer);
      timer = clock.setTimer(ms, () => finish(outcome));
    };
    arm(spec.connectTimeoutMs, 'connect-timeout');

    sock.once('connect', () => {
      connected = true;
      connectMs = clock.now() - startedAt;
      arm(Math.max(0, spec.timeoutMs - connectMs), 'timeout');
      if (spec.payload.length > 0) sock.write(spec.payload);
      if (spec.halfClose) sock.end();
    });
    sock.on('data', (d: Uint8Array) => {
      if (firstByteMs === undefined) firstByteMs = clock.now() - startedAt;
      bytesIn += d.length;
      if (kept < maxKeep) {
        const part = d.subarray(0, maxKeep - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    sock.once('end', () => finish('eof'));
    sock.once('reset', () => finish(connected ? 'reset' : 'refused'));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') finish('refused');
      else if (isReset(err)) finish(connected ? 'reset' : 'refused');
      else finish('error', err.code ?? err.message);
    });
    sock.once('close', () => finish(connected ? 'reset' : 'refused', 'closed without EOF'));
  });
}
