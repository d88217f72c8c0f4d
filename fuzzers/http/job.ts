import type { Clock, TimerHandle } from '../../stack/clock.js';
import type { Rng } from '../../stack/rng.js';
import { abortSocket, isAbandonment, type DialedSocket, type Dialer, type JobOutcome, type JobResult } from '../netcat/job.js';
import { playPlan, type PlanSink } from './play.js';
import { ResponseReader, type BodyFraming } from './response-reader.js';
import { renderMessage, RenderError, specString, type FileAccess, type RenderedMessage, type RenderOptions, type RequestSpec } from './spec/index.js';

/**
 * One HTTP job, as pathoc plays a connection: connect, then for each request of the spec in
 * order, send its rendered bytes with the spec's pauses, injections and disconnect, and read one
 * response leniently. Requests share the connection while the server keeps it (RFC 9112 §9.3);
 * a timeout, a malformed framing or a close ends the playlist, as in pathoc. At the end the
 * client closes (FIN) and waits for the server's FIN, so a clean exchange shows both on the wire
 * and a server that never closes shows as a timeout.
 */

export interface HttpJobSpec {
  id: number;
  host: string;
  port: number;
  /** The requests this connection plays in order (`xN` already expanded by parseRequests). */
  requests: readonly RequestSpec[];
  /** The automatic Host header's value (pathoc: the host connected to); '' sends none. Default: `host`. */
  hostHeader?: string;
  /** This job's own generator: every `@N` value and `r` offset of its requests comes from it. */
  rng: Rng;
  /** Where `<file` values may be read (pathoc: the working directory, unconfined); refused without. */
  files?: FileAccess;
  /** Whole-job bound (connect + every request + the close), milliseconds. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Bound on each response (from the end of its request) and on the server's FIN at the end. */
  readTimeoutMs: number;
}

export interface HttpRequestResult {
  index: number;
  /** The frozen spec (replays these exact bytes), or the spec as written when `frozen` is false. */
  spec: string;
  /** False when the rendering was too large to freeze (it replays from the run's seed instead). */
  frozen: boolean;
  /** The method as sent (the first word of the request line). */
  method: string;
  /** Pauses and the disconnect as they ran: `pause 10s at 15`, `disconnect at 15`. */
  actions: string[];
  bytesPlanned: number;
  bytesSent: number;
  /** The spec's `d` ran: the client closed (FIN) after exactly `bytesSent` bytes. */
  disconnected: boolean;
  status?: number;
  reason?: string;
  version?: string;
  headerCount?: number;
  bodyLength?: number;
  framing?: BodyFraming;
  /** Interim (1xx) statuses read past. */
  informational?: number[];
  keepAlive?: boolean;
  /** From the request's first byte to the response's first byte / last byte. */
  firstByteMs?: number;
  totalMs?: number;
  /** Why the exchange did not complete (timeout, close, render failure). */
  error?: string;
  /** What was wrong with the response (RFC 9112 deviations), `; `-joined. */
  malformed?: string;
}

export interface HttpJobResult extends JobResult {
  http: {
    requests: HttpRequestResult[];
    /** Requests of the playlist never sent (the connection ended or failed first). */
    notSent: number;
    /** Response bytes that arrived when no response was expected. */
    unsolicitedBytes: number;
  };
}

/** Renderings up to this many bytes are frozen into the record; larger ones keep the written spec. */
const FREEZE_RECORD_LIMIT = 16 * 1024;

export interface HttpJobOptions {
  signal?: AbortSignal;
  /** Receives sockets of jobs that timed out, left open so the peer's state can be read. */
  keepOpen?: (sock: DialedSocket) => void;
  /** Response bytes kept in `received` (default 64 KiB). */
  maxKeep?: number;
}

export function runHttpJob(dialer: Dialer, spec: HttpJobSpec, opts: HttpJobOptions = {}): Promise<HttpJobResult> {
  return new HttpJobRun(dialer, spec, opts).run();
}

class HttpJobRun {
  private readonly clock: Clock;
  private readonly startedAt: number;
  private readonly sock: DialedSocket;
  private readonly maxKeep: number;
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private connectMs: number | undefined;
  private firstByteMs: number | undefined;
  private connected = false;
  private peerEnded = false;
  private weEnded = false;
  private closed = false;
  /** Set once the job cannot go on (timeout, reset, error, abort); the outcome it ends with. */
  private stop: { outcome: JobOutcome; detail?: string } | undefined;
  private wake: (() => void) | undefined;
  /** The request being played, its response's reader, and when its first byte went out. */
  private current: { record: HttpRequestResult; reader: ResponseReader; start: number } | undefined;
  private readonly requests: HttpRequestResult[] = [];
  private unsolicited = 0;
  private notSent = 0;
  private jobTimer: TimerHandle | undefined;

  constructor(
    dialer: Dialer,
    private readonly spec: HttpJobSpec,
    private readonly opts: HttpJobOptions,
  ) {
    this.clock = dialer.clock;
    this.startedAt = this.clock.now();
    this.maxKeep = opts.maxKeep ?? 64 * 1024;
    this.sock = dialer.dial(spec.host, spec.port);
  }

  async run(): Promise<HttpJobResult> {
    const sock = this.sock;
    const onAbort = (): void => this.halt('cancelled');
    sock.once('connect', () => {
      this.connected = true;
      this.connectMs = this.clock.now() - this.startedAt;
      this.notify();
    });
    sock.on('data', (d: Uint8Array) => this.onData(d));
    sock.on('drain', () => this.notify());
    sock.once('end', () => {
      this.peerEnded = true;
      this.notify();
    });
    sock.once('reset', () => this.halt(this.connected ? 'reset' : 'refused'));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') this.halt('refused');
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.halt(this.connected ? 'reset' : 'refused');
      else this.halt('error', err.code ?? err.message);
    });
    sock.once('close', () => {
      this.closed = true;
      // node:net sockets close after 'end' on a clean close; without the peer's FIN it was lost.
      if (!this.peerEnded) this.halt(this.connected ? 'reset' : 'refused', 'closed without EOF');
      this.notify();
    });
    if (this.opts.signal?.aborted) this.halt('cancelled');
    this.opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.jobTimer = this.clock.setTimer(this.spec.timeoutMs, () => this.halt('timeout'));
    try {
      const outcome = await this.play();
      return this.result(outcome);
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
      this.clock.clearTimer(this.jobTimer);
    }
  }

  // ---- events -----------------------------------------------------------------------------

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private halt(outcome: JobOutcome, detail?: string): void {
    this.stop ??= detail === undefined ? { outcome } : { outcome, detail };
    this.notify();
  }

  private onData(d: Uint8Array): void {
    const now = this.clock.now();
    this.firstByteMs ??= now - this.startedAt;
    this.bytesIn += d.length;
    if (this.keptBytes < this.maxKeep) {
      const part = d.subarray(0, this.maxKeep - this.keptBytes);
      this.kept.push(part);
      this.keptBytes += part.length;
    }
    const cur = this.current;
    if (!cur || cur.reader.done) {
      this.unsolicited += d.length;
      return;
    }
    if (cur.reader.bytesReceived === 0) cur.record.firstByteMs = now - cur.start;
    const used = cur.reader.push(d);
    this.unsolicited += d.length - used;
    if (cur.reader.done) {
      cur.record.totalMs = now - cur.start;
      this.notify();
    }
  }

  /** Waits until `cond` holds, the job stops or `deadline` passes (every wait is bounded). */
  private async until(cond: () => boolean, deadline: number): Promise<boolean> {
    while (!cond() && this.stop === undefined && this.clock.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = deadline === Infinity ? undefined : this.clock.setTimer(deadline - this.clock.now(), resolve);
        this.wake = () => {
          this.clock.clearTimer(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return cond();
  }

  // ---- the playlist -------------------------------------------------------------------------

  private async play(): Promise<JobOutcome> {
    const connectBy = this.startedAt + Math.min(this.spec.connectTimeoutMs, this.spec.timeoutMs);
    if (!(await this.until(() => this.connected, connectBy))) return this.stopOutcome() ?? 'connect-timeout';

    const list = this.spec.requests;
    let next = 0;
    for (; next < list.length && this.stop === undefined && !this.peerEnded && !this.weEnded; next++) {
      if (!(await this.exchange(next, list[next]!))) {
        next++;
        break;
      }
    }
    this.notSent = list.length - next;
    const stopped = this.stopOutcome();
    if (stopped) return stopped;

    // The client's close, then the server's (RFC 9112 §9.6): both FINs on the wire.
    if (!this.weEnded) {
      this.sock.end();
      this.weEnded = true;
    }
    const readBy = this.clock.now() + this.spec.readTimeoutMs;
    if (!(await this.until(() => this.peerEnded, readBy))) return this.stopOutcome() ?? 'timeout';
    await this.until(() => this.closed, readBy);
    return 'eof';
  }

  /** Plays one request and reads its response; false when the playlist cannot go on. */
  private async exchange(index: number, request: RequestSpec): Promise<boolean> {
    let rendered: RenderedMessage;
    try {
      rendered = renderMessage(request, this.renderOptions());
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      this.requests.push({ ...emptyRecord(index, specString(request)), error: `cannot render: ${e.message}` });
      return false;
    }
    const frozen = rendered.length <= FREEZE_RECORD_LIMIT;
    const record: HttpRequestResult = {
      ...emptyRecord(index, frozen ? rendered.freeze() : specString(request)),
      frozen,
      method: requestMethod(rendered),
      bytesPlanned: rendered.length,
    };
    this.requests.push(record);
    const reader = new ResponseReader({ head: record.method.toUpperCase() === 'HEAD', connect: record.method.toUpperCase() === 'CONNECT' });
    const start = this.clock.now();
    this.current = { record, reader, start };

    const played = await playPlan(rendered, this.sink());
    record.bytesSent = played.bytes;
    record.actions = played.actions;
    record.disconnected = played.end === 'disconnected';
    if (played.end === 'stopped' && this.stop === undefined) {
      record.error = `server closed the connection after ${record.bytesSent} of ${record.bytesPlanned} request bytes`;
    }
    // After a disconnect the server may still answer what it got (e.g. a 400) before it closes.
    if (this.stop === undefined) await this.until(() => reader.done || this.peerEnded, this.clock.now() + this.spec.readTimeoutMs);
    if (this.stop && !reader.done) record.error ??= `${this.stopText()} before the response was complete`;
    const timedOut = !reader.done && !this.peerEnded && !this.stop;
    // A close settles the response (an EOF-delimited body ends; anything else was cut short).
    if (!timedOut) reader.end();
    this.settle(record, reader, start);
    if (timedOut) {
      record.error ??= `no complete response within ${this.spec.readTimeoutMs} ms`;
      return false;
    }
    const r = reader.result();
    return played.end === 'sent' && r.complete && r.keepAlive && this.stop === undefined;
  }

  /** The outcome the job stopped with, if it did (read through a call: awaits change it). */
  private stopOutcome(): JobOutcome | undefined {
    return this.stop?.outcome;
  }

  private stopText(): string {
    const stop = this.stop;
    if (stop === undefined) return 'the connection ended';
    if (stop.outcome === 'timeout') return 'the job timed out';
    if (stop.outcome === 'cancelled') return 'the run was cancelled';
    if (stop.outcome === 'error') return `socket error ${stop.detail ?? ''}`.trim();
    return `connection ${stop.outcome}`;
  }

  private renderOptions(): RenderOptions {
    const host = this.spec.hostHeader ?? this.spec.host;
    return { rng: this.spec.rng, ...(host !== '' ? { host } : {}), ...(this.spec.files ? { files: this.spec.files } : {}) };
  }

  /** Copies what the reader made of the response into the request's record. */
  private settle(record: HttpRequestResult, reader: ResponseReader, start: number): void {
    const r = reader.result();
    if (r.status !== undefined) {
      record.status = r.status;
      record.reason = r.reason;
      record.version = r.version;
      record.headerCount = r.headers.length;
    }
    if (reader.bytesReceived > 0) {
      record.bodyLength = r.bodyLength;
      record.framing = r.framing;
      record.keepAlive = r.keepAlive;
      if (r.informational.length > 0) record.informational = r.informational;
      if (r.problems.length > 0) record.malformed = r.problems.join('; ');
      // A body that ends at the close completes only now.
      if (r.complete) record.totalMs ??= this.clock.now() - start;
    } else if (r.problems.length > 0) {
      record.error ??= r.problems.join('; ');
    }
    this.current = undefined;
  }

  /** The connection as the plan player sees it: the job's socket, clock and stop conditions. */
  private sink(): PlanSink {
    return {
      write: (chunk) => {
        this.bytesOut += chunk.length;
        return this.sock.write(chunk);
      },
      drained: async () => {
        await this.until(() => !this.sock.writableNeedDrain || this.sendingStopped(), Infinity);
      },
      // A server that closes during a pause will not read the rest: the pause ends there.
      pause: async (ms) => {
        await this.until(() => this.sendingStopped(), this.clock.now() + ms);
      },
      disconnect: () => {
        // pathoc closes the socket: a FIN after exactly the bytes before the offset.
        this.sock.end();
        this.weEnded = true;
      },
      stopped: () => this.sendingStopped(),
    };
  }

  private sendingStopped(): boolean {
    return this.stop !== undefined || this.peerEnded || this.closed;
  }

  // ---- the result ---------------------------------------------------------------------------

  private result(outcome: JobOutcome): HttpJobResult {
    const sock = this.sock;
    const received = new Uint8Array(this.keptBytes);
    let off = 0;
    for (const c of this.kept) {
      received.set(c, off);
      off += c.length;
    }
    const r: HttpJobResult = {
      id: this.spec.id,
      outcome,
      remoteAddress: this.spec.host,
      remotePort: this.spec.port,
      startedAt: this.startedAt,
      endedAt: this.clock.now(),
      bytesOut: this.bytesOut,
      bytesIn: this.bytesIn,
      received,
      http: { requests: this.requests, notSent: this.notSent, unsolicitedBytes: this.unsolicited },
    };
    if (this.stop?.detail !== undefined) r.detail = this.stop.detail;
    if (sock.localAddress !== undefined) r.localAddress = sock.localAddress;
    if (sock.localPort !== undefined) r.localPort = sock.localPort;
    if (this.connectMs !== undefined) r.connectMs = this.connectMs;
    if (this.firstByteMs !== undefined) r.firstByteMs = this.firstByteMs;
    if (isAbandonment(outcome)) r.abandoned = true;
    sock.removeAllListeners('data');
    sock.on('error', () => undefined);
    if (outcome === 'timeout' && this.opts.keepOpen) this.opts.keepOpen(sock);
    else if (this.closed) return r;
    else if (isAbandonment(outcome)) abortSocket(sock);
    else sock.destroy();
    return r;
  }
}

function emptyRecord(index: number, spec: string): HttpRequestResult {
  return { index, spec, frozen: false, method: '', actions: [], bytesPlanned: 0, bytesSent: 0, disconnected: false };
}

/** The first word of the request line as it goes out (injections included), at most 32 bytes. */
function requestMethod(rendered: RenderedMessage): string {
  let text = '';
  for (const step of rendered.plan) {
    if (step.kind !== 'bytes') continue;
    for (const c of step.data.chunks(32)) {
      text += Buffer.from(c).toString('latin1');
      const space = text.indexOf(' ');
      if (space !== -1 || text.length >= 32) return (space === -1 ? text : text.slice(0, space)).slice(0, 32);
    }
  }
  return text;
}
