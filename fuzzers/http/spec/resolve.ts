import { createHash } from 'node:crypto';
import type { Rng } from '../../../stack/rng.js';
import type { MessageSpec, Offset, Token, Value } from './ast.js';
import { asciiSource, literalSource, readAll, type ByteSource } from './byte-source.js';
import { RenderError } from './errors.js';
import { fileSource, type FileAccess } from './file-source.js';
import { generatedSource, UNITS } from './generated.js';
import { specString } from './spec-string.js';
import { reasonPhrase } from './status-reasons.js';
import { hostFromUrl } from './url-host.js';

export interface RenderOptions {
  /** Every random choice (`@N` data, `r` offsets, websocket keys) comes from here. */
  readonly rng: Rng;
  /** Requests: the host connected to, for the automatic Host header (none without it). */
  readonly host?: string;
  /** `ws` responses: the client's Sec-WebSocket-Key, to derive Sec-WebSocket-Accept. */
  readonly websocketKey?: string;
  /** Where `<file` values may be read; without it they are refused (pathod without -d). */
  readonly files?: FileAccess;
}

/** A value bound to the exact bytes this rendering sends. */
export interface Bound {
  readonly spec: Value;
  readonly data: ByteSource;
}

export type ResolvedToken = Token<Bound, number>;

/**
 * A message with everything decided: automatic headers appended (as pathod's `resolve()` does),
 * generated values seeded, `r`/`a` offsets turned into numbers. `segments` are the base
 * message's bytes in order (what action offsets index); `length` is their sum.
 */
export interface ResolvedMessage {
  readonly kind: MessageSpec['kind'];
  readonly tokens: readonly ResolvedToken[];
  readonly segments: readonly ByteSource[];
  readonly length: number;
}

/** RFC 6455 §1.3: the GUID appended to the client's key before hashing. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function literal(text: string): Bound {
  return { spec: { kind: 'literal', bytes: Uint8Array.from(text, (c) => c.charCodeAt(0)), naked: false }, data: asciiSource(text) };
}

function header(key: string, value: string): Token<Bound, Offset> {
  return { type: 'header', form: 'h', key: literal(key), value: literal(value) };
}

function mapToken<V, W, O, P>(t: Token<V, O>, v: (x: V) => W, o: (x: O) => P): Token<W, P> {
  switch (t.type) {
    case 'method':
    case 'path':
    case 'reason':
    case 'body':
      return { type: t.type, value: v(t.value) };
    case 'header':
      return { ...t, key: v(t.key), value: v(t.value) };
    case 'pause':
      return { type: 'pause', offset: o(t.offset), seconds: t.seconds };
    case 'disconnect':
      return { type: 'disconnect', offset: o(t.offset) };
    case 'inject':
      return { type: 'inject', offset: o(t.offset), value: v(t.value) };
    default:
      return t;
  }
}

/** A uniform integer in [0, n) for n up to 2^53 (Rng.int only has 32 bits of resolution). */
function randomBelow(rng: Rng, n: number): number {
  if (n <= 2 ** 32) return rng.int(n);
  return Math.floor(((rng.u32() * 2 ** 21 + (rng.u32() >>> 11)) / 2 ** 53) * n);
}

/** pathod's `get_header`: is there a header whose key is `name`, ignoring ASCII case? */
function hasHeader(tokens: readonly Token<Bound, Offset>[], name: string): boolean {
  return tokens.some(
    (t) =>
      t.type === 'header' &&
      t.key.data.length === name.length &&
      Buffer.from(readAll(t.key.data, name.length)).toString('latin1').toLowerCase() === name.toLowerCase(),
  );
}

/** The base message's bytes in order: request or status line, headers, blank line, body. */
function segmentsOf(kind: MessageSpec['kind'], tokens: readonly Token<Bound, Offset>[]): ByteSource[] {
  const out: ByteSource[] = [];
  const first = <T extends Token<Bound, Offset>['type']>(type: T) =>
    tokens.find((t): t is Extract<Token<Bound, Offset>, { type: T }> => t.type === type);
  if (kind === 'request') {
    out.push(first('method')!.value.data, asciiSource(' '), first('path')!.value.data);
    const nested = first('nested');
    // pathod appends the nested response's canonical spec to the path (for pathod's /p/ anchor).
    if (nested) out.push(asciiSource(specString(nested.response)));
    out.push(asciiSource(' HTTP/1.1\r\n'));
  } else {
    const code = first('status')!.code;
    const reason = first('reason');
    out.push(asciiSource(`HTTP/1.1 ${code} `), reason ? reason.value.data : asciiSource(reasonPhrase(code)), asciiSource('\r\n'));
  }
  for (const t of tokens) {
    if (t.type === 'header') out.push(t.key.data, asciiSource(': '), t.value.data, asciiSource('\r\n'));
  }
  out.push(asciiSource('\r\n'));
  const body = first('body');
  if (body) out.push(body.value.data);
  return out;
}

/**
 * pathod's `Request.resolve` / `Response.resolve`, with its randomness drawn from `opts.rng` in a
 * fixed order (value seeds in spec order, then the websocket key, then offsets), so a seed
 * replays a rendering exactly.
 */
export function resolveMessage(msg: MessageSpec, opts: RenderOptions): ResolvedMessage {
  const bind = (v: Value): Bound => {
    switch (v.kind) {
      case 'literal':
        return { spec: v, data: literalSource(v.bytes) };
      case 'generated':
        return { spec: v, data: generatedSource(v.count * UNITS[v.unit], v.datatype, opts.rng.u32()) };
      case 'file':
        return { spec: v, data: fileSource(v.path, opts.files) };
    }
  };
  const written = msg.tokens.map((t) => mapToken(t, bind, (o: Offset) => o));
  const tokens = [...written];
  const has = (type: Token['type']): boolean => written.some((t) => t.type === type);
  const addMissing = (headers: Array<[string, string]>): void => {
    for (const [k, v] of headers) if (!hasHeader(written, k)) tokens.push(header(k, v));
  };
  const bodyLength = (): number => {
    const body = written.find((t) => t.type === 'body');
    return body && body.type === 'body' ? body.value.data.length : 0;
  };

  if (msg.kind === 'request') {
    if (has('ws')) {
      if (!has('method')) tokens.splice(1, 0, { type: 'method', value: literal('GET') });
      const key = Buffer.from(opts.rng.fill(new Uint8Array(16))).toString('base64');
      addMissing([
        ['connection', 'upgrade'],
        ['upgrade', 'websocket'],
        ['sec-websocket-version', '13'],
        ['sec-websocket-key', key],
      ]);
    }
    if (!has('raw')) {
      if (has('body')) addMissing([['Content-Length', String(bodyLength())]]);
      if (opts.host && !hasHeader(written, 'Host')) {
        const path = written.find((t) => t.type === 'path');
        const fromUrl = path?.type === 'path' && path.value.spec.kind === 'literal' ? hostFromUrl(path.value.spec.bytes) : undefined;
        tokens.push(header('Host', fromUrl ?? opts.host));
      }
    }
  } else {
    if (has('ws')) {
      if (opts.websocketKey === undefined) throw new RenderError('No websocket key - have we seen a client handshake?');
      if (!has('status')) tokens.splice(1, 0, { type: 'status', code: '101' });
      const accept = createHash('sha1').update(opts.websocketKey + WEBSOCKET_GUID).digest('base64');
      addMissing([
        ['connection', 'upgrade'],
        ['upgrade', 'websocket'],
        ['sec-websocket-accept', accept],
      ]);
    }
    if (!has('raw')) addMissing([['Content-Length', String(bodyLength())]]);
  }

  const segments = segmentsOf(msg.kind, tokens);
  const length = segments.reduce((n, s) => n + s.length, 0);
  const place = (o: Offset): number => (o === 'r' ? randomBelow(opts.rng, length) : o === 'a' ? length + 1 : o);
  return { kind: msg.kind, tokens: tokens.map((t) => mapToken(t, (b: Bound) => b, place)), segments, length };
}
