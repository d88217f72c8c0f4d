/**
 * A lenient, incremental HTTP/1.x response reader for HTTP jobs. It reads ONE response (skipping
 * interim 1xx responses) and never throws: whatever a fuzzed server sends is recorded as a
 * problem next to what could still be made of it, because a malformed response is a finding,
 * not a crash. Framing follows RFC 9112 §6.3; leniencies a client may allow (bare LF line ends,
 * §2.2) are accepted and noted.
 */

/** How the end of the body is found (RFC 9112 §6.3). */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

export interface HttpResponseSummary {
  /** `HTTP/1.1` as the server wrote it; '' when the response had no status line. */
  version: string;
  /** The final status code; undefined when there was none (not HTTP, closed early). */
  status: number | undefined;
  reason: string;
  headers: Array<[string, string]>;
  /** Interim (1xx) statuses skipped before the final response, in order. */
  informational: number[];
  framing: BodyFraming;
  /** Body bytes after transfer decoding (chunk framing not counted). */
  bodyLength: number;
  /** The response ended where its framing says it ends (an EOF-delimited body: at the close). */
  complete: boolean;
  /** May the connection carry another request? (RFC 9112 §9.3) */
  keepAlive: boolean;
  /** Every deviation from RFC 9112 seen, in order (bounded); empty for a clean response. */
  problems: string[];
}

export interface ResponseReaderOptions {
  /** The request was HEAD: the response has no body whatever its headers say (RFC 9110 §9.3.2). */
  head?: boolean;
  /** The request was CONNECT: a 2xx turns the connection into a tunnel (RFC 9110 §9.3.6). */
  connect?: boolean;
  /** Bound on one response head and on the trailer section (bytes); default 64 KiB. */
  maxHeaderBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const MAX_PROBLEMS = 16;
const MAX_INTERIM = 64;
/** A chunk-size line (size plus extensions) longer than this is not a chunk-size line. */
const MAX_CHUNK_LINE = 4096;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type State =
  | 'head'
  | 'body-length'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-data-end'
  | 'trailers'
  | 'body-close'
  | 'done';

export class ResponseReader {
  private state: State = 'head';
  private readonly maxHeaderBytes: number;
  /** Bytes of the line-oriented part being collected (a head, a chunk-size line, trailers). */
  private lines: Uint8Array[] = [];
  private linesLength = 0;
  /** The last two bytes held (0 before any). */
  private tail: [number, number] = [0, 0];
  /** Body bytes still expected (Content-Length or the current chunk). */
  private remaining = 0;
  private received = 0;
  private readonly summary: HttpResponseSummary = {
    version: '',
    status: undefined,
    reason: '',
    headers: [],
    informational: [],
    framing: 'none',
    bodyLength: 0,
    complete: false,
    keepAlive: false,
    problems: [],
  };

  constructor(private readonly opts: ResponseReaderOptions = {}) {
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 64 * 1024;
  }

  /** The whole response has been read; further bytes belong to whatever comes next. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Bytes of this response received so far (heads, framing and body). */
  get bytesReceived(): number {
    return this.received;
  }

  result(): HttpResponseSummary {
    return this.summary;
  }

  /**
   * Feeds bytes as they arrive. Returns how many were part of this response: once it is done,
   * the rest (`data.subarray(consumed)`) is not this response's.
   */
  push(data: Uint8Array): number {
    let at = 0;
    // Each step consumes at least one byte or changes state towards 'done'; bounded by the input.
    for (let steps = 0; at < data.length && this.state !== 'done' && steps <= 2 * data.length + 8; steps++) {
      at += this.step(data.subarray(at));
    }
    this.received += at;
    return at;
  }

  /** The connection ended (FIN, reset or the job gave up): settles the response as it stands. */
  end(): void {
    const s = this.summary;
    switch (this.state) {
      case 'done':
        return;
      case 'head':
        this.problem(this.linesLength === 0 && s.informational.length === 0 ? 'no response before the connection closed' : 'connection closed inside the response head');
        break;
      case 'body-length':
        this.problem(`connection closed after ${s.bodyLength} of ${s.bodyLength + this.remaining} body bytes`);
        break;
      case 'body-close':
        s.complete = true;
        break;
      default:
        this.problem('connection closed inside the chunked body');
    }
    s.keepAlive = false;
    this.state = 'done';
  }

  /** Keeps bytes of a line-oriented section, remembering its last two bytes. */
  private hold(b: Uint8Array): void {
    this.lines.push(b);
    this.linesLength += b.length;
    if (b.length >= 2) this.tail = [b[b.length - 2]!, b[b.length - 1]!];
    else if (b.length === 1) this.tail = [this.tail[1], b[0]!];
  }

  /** Ends the held section: its bytes, and nothing held any more. */
  private release(): Uint8Array {
    const all = concatBytes(this.lines);
    this.lines = [];
    this.linesLength = 0;
    this.tail = [0, 0];
    return all;
  }

  private problem(text: string): void {
    if (this.summary.problems.length < MAX_PROBLEMS) this.summary.problems.push(text);
  }

  private finish(): void {
    this.summary.complete = true;
    this.state = 'done';
  }

  /** Consumes a prefix of `data` in the current state; returns its length. */
  private step(data: Uint8Array): number {
    switch (this.state) {
      case 'head':
      case 'trailers':
        return this.collectLines(data);
      case 'chunk-size':
        return this.collectChunkSize(data);
      case 'body-length':
      case 'chunk-data': {
        const n = Math.min(this.remaining, data.length);
        this.remaining -= n;
        this.summary.bodyLength += n;
        if (this.remaining === 0) {
          if (this.state === 'body-length') this.finish();
          else this.state = 'chunk-data-end';
        }
        return n;
      }
      case 'chunk-data-end':
        return this.chunkDataEnd(data);
      case 'body-close':
        this.summary.bodyLength += data.length;
        return data.length;
      case 'done':
        return 0;
    }
  }

  /**
   * Collects a head (or the trailer section) up to its empty line. A response that does not
   * start like a status line is not HTTP/1.x: it is read to the close as a body, so its length
   * is still known.
   */
  private collectLines(data: Uint8Array): number {
    if (this.state === 'head' && this.linesLength < 5) {
      const seen = concatBytes([...this.lines, data.subarray(0, 5 - this.linesLength)]);
      if (!startsLikeStatusLine(seen)) {
        this.problem(`not an HTTP/1.x response (it starts with ${JSON.stringify(latin1(seen))})`);
        this.summary.bodyLength += this.linesLength;
        this.release();
        this.summary.framing = 'close';
        this.summary.keepAlive = false;
        this.state = 'body-close';
        return 0;
      }
    }
    const end = findBlankLineEnd(this.linesLength, this.tail, data);
    const take = end === -1 ? data.length : end;
    if (this.linesLength + take > this.maxHeaderBytes) {
      const what = this.state === 'head' ? 'response head' : 'trailer section';
      this.problem(`${what} over ${this.maxHeaderBytes} bytes; the rest is read to the close`);
      this.release();
      this.summary.framing = 'close';
      this.summary.keepAlive = false;
      this.state = 'body-close';
      return 0;
    }
    this.hold(data.subarray(0, take));
    if (end === -1) return take;
    const text = latin1(this.release());
    if (this.state === 'trailers') {
      this.noteBareLf(text);
      this.finish();
    } else {
      this.head(text);
    }
    return take;
  }

  private noteBareLf(text: string): void {
    if (/(^|[^\r])\n/.test(text)) this.problem('bare LF line ending (RFC 9112 §2.2)');
  }

  /** One complete head (status line and fields, blank line included). */
  private head(text: string): void {
    const s = this.summary;
    this.noteBareLf(text);
    const lines = text.split(/\r?\n/);
    lines.length -= 2; // the blank line and what follows its line end
    const m = /^(HTTP\/\d\.\d) +(\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
    if (!m) {
      this.problem(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
      s.version = (/^HTTP\/\S*/.exec(lines[0] ?? '') ?? [''])[0];
      s.headers = [];
      s.framing = 'close';
      s.keepAlive = false;
      this.state = 'body-close';
      return;
    }
    s.version = m[1]!;
    s.status = Number(m[2]);
    s.reason = m[3] ?? '';
    if (m[3] === undefined) this.problem('status line without the space before the reason (RFC 9112 §4)');
    s.headers = this.fields(lines.slice(1));
    if (s.status >= 100 && s.status < 200 && s.status !== 101) {
      // RFC 9110 §15.2: interim responses precede the final one; a client reads past them.
      s.informational.push(s.status);
      if (s.informational.length >= MAX_INTERIM) {
        this.problem(`${MAX_INTERIM} interim responses without a final one`);
        s.framing = 'close';
        s.keepAlive = false;
        this.state = 'body-close';
      }
      return;
    }
    this.frame();
  }

  /** Header fields, leniently: obs-fold joined (RFC 9112 §5.2), lines without a colon skipped. */
  private fields(lines: string[]): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const line of lines) {
      if (/^[ \t]/.test(line)) {
        this.problem('obsolete line folding (RFC 9112 §5.2)');
        const last = out[out.length - 1];
        if (last) last[1] = `${last[1]} ${line.trim()}`;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) {
        this.problem(`header line without a name and colon: ${JSON.stringify(line.slice(0, 80))}`);
        continue;
      }
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) this.problem(`bad header name ${JSON.stringify(name.slice(0, 80))} (RFC 9112 §5.1)`);
      out.push([name.trim(), line.slice(colon + 1).trim()]);
    }
    return out;
  }

  private values(name: string): string[] {
    return this.summary.headers.filter(([k]) => k.toLowerCase() === name).flatMap(([, v]) => v.split(',').map((x) => x.trim()));
  }

  /** Where the body ends, and whether the connection persists (RFC 9112 §6.3, §9.3). */
  private frame(): void {
    const s = this.summary;
    const status = s.status!;
    const connection = this.values('connection').map((v) => v.toLowerCase());
    if (s.version === 'HTTP/1.1') s.keepAlive = !connection.includes('close');
    else if (s.version === 'HTTP/1.0') s.keepAlive = connection.includes('keep-alive');
    else {
      this.problem(`unsupported version ${s.version}`);
      s.keepAlive = false;
    }

    if (status === 101 || (this.opts.connect && status >= 200 && status < 300)) {
      // The connection now speaks another protocol (or is a tunnel): no more HTTP/1.1 on it.
      s.keepAlive = false;
      this.finish();
      return;
    }
    if (this.opts.head || status === 204 || status === 304) {
      this.finish();
      return;
    }
    const codings = this.values('transfer-encoding').filter((v) => v !== '');
    const lengths = this.values('content-length');
    if (codings.length > 0) {
      if (lengths.length > 0) {
        // RFC 9112 §6.3 (3): Transfer-Encoding overrides, and the message may be a smuggling attempt.
        this.problem('both Transfer-Encoding and Content-Length');
        s.keepAlive = false;
      }
      if (codings[codings.length - 1]!.toLowerCase() === 'chunked') {
        s.framing = 'chunked';
        this.state = 'chunk-size';
      } else {
        s.framing = 'close';
        s.keepAlive = false;
        this.state = 'body-close';
      }
      return;
    }
    if (lengths.length > 0) {
      const distinct = [...new Set(lengths)];
      if (distinct.length === 1 && /^\d{1,15}$/.test(distinct[0]!)) {
        if (lengths.length > 1) this.problem(`Content-Length repeated (${lengths.join(', ')})`);
        s.framing = 'length';
        this.remaining = Number(distinct[0]);
        if (this.remaining === 0) this.finish();
        else this.state = 'body-length';
        return;
      }
      // RFC 9112 §6.3 (5): an invalid length is unrecoverable; read to the close to size it.
      this.problem(`invalid Content-Length ${JSON.stringify(lengths.join(', ').slice(0, 80))}`);
    }
    // RFC 9112 §6.3 (8): no length: the body ends at the close.
    s.framing = 'close';
    s.keepAlive = false;
    this.state = 'body-close';
  }

  /** `chunk-size [; ext] CRLF` (RFC 9112 §7.1). */
  private collectChunkSize(data: Uint8Array): number {
    const lf = data.indexOf(LF);
    const take = lf === -1 ? data.length : lf + 1;
    if (this.linesLength + take > MAX_CHUNK_LINE) return this.badChunking('chunk-size line too long');
    this.hold(data.subarray(0, take));
    if (lf === -1) return take;
    const raw = latin1(this.release());
    if (!raw.endsWith('\r\n')) this.problem('bare LF line ending (RFC 9112 §2.2)');
    const m = /^([0-9A-Fa-f]{1,13})[ \t]*(;.*)?\r?\n$/.exec(raw);
    if (!m) return take + this.badChunking(`bad chunk-size line ${JSON.stringify(raw.slice(0, 40))}`);
    this.remaining = parseInt(m[1]!, 16);
    this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
    return take;
  }

  /** The CRLF after a chunk's data. */
  private chunkDataEnd(data: Uint8Array): number {
    const held = this.linesLength;
    if (held === 0 && data[0] === LF) {
      this.problem('bare LF line ending (RFC 9112 §2.2)');
      this.state = 'chunk-size';
      return 1;
    }
    if (held === 0 && data[0] === CR) {
      this.hold(data.subarray(0, 1));
      return 1;
    }
    if (held === 1 && data[0] === LF) {
      this.release();
      this.state = 'chunk-size';
      return 1;
    }
    return this.badChunking('chunk data not followed by CRLF');
  }

  /** Chunking that cannot be followed: the rest of the connection counts as body. */
  private badChunking(text: string): number {
    this.problem(text);
    this.release();
    this.summary.keepAlive = false;
    this.state = 'body-close';
    return 0;
  }
}

function startsLikeStatusLine(b: Uint8Array): boolean {
  const want = 'HTTP/';
  for (let i = 0; i < b.length && i < want.length; i++) if (b[i] !== want.charCodeAt(i)) return false;
  return true;
}

/**
 * Where the blank line that ends a head (or trailer section) ends in `data`: the index just past
 * its LF, or -1. `held` is how many bytes of the section came before `data`, `tail` the last two
 * of them. A line is blank when it is empty or a lone CR (bare LF ends are accepted, RFC 9112
 * §2.2).
 */
function findBlankLineEnd(held: number, tail: readonly [number, number], data: Uint8Array): number {
  const byteAt = (i: number): number => (i >= 0 ? data[i]! : tail[2 + i]!);
  for (let i = data.indexOf(LF); i !== -1; i = data.indexOf(LF, i + 1)) {
    const prev = byteAt(i - 1);
    const startOfSection = held + i === 0 || (held + i === 1 && prev === CR);
    if (startOfSection || prev === LF || (prev === CR && byteAt(i - 2) === LF)) return i + 1;
  }
  return -1;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}
