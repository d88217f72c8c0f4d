import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Clock } from '../../stack/clock.js';
import { Rng } from '../../stack/rng.js';
import { playPlan, type PlanSink } from '../../fuzzers/http/play.js';
import { ResponseReader } from '../../fuzzers/http/response-reader.js';
import { parseResponse, renderMessage, RenderError, SpecError, type RenderedMessage, type ResponseSpec, type Token } from '../../fuzzers/http/spec/index.js';
import { HttpServerSocket, type StackConnection } from '../http-server-socket.js';
import { SERVICE_BACKLOG, type BuiltinService, type Listening } from '../target.js';

/**
 * `builtin:http`: an HTTP/1.1 server on stack port 80, built from Node's own `http.Server` (its
 * llhttp parser, keep-alive and pipelining logic) fed our stack's connections.
 *
 * - Persistent connections by default (RFC 9112 §9.3); a request with `Connection: close` (or an
 *   HTTP/1.0 request without keep-alive) gets its response and then our FIN. An idle persistent
 *   connection is closed (FIN) after Node's keep-alive timeout on the stack's clock: the
 *   advertised `Keep-Alive: timeout=5`, plus the 1 s margin Node 20 adds.
 * - `/` serves a small page; other paths a 404.
 * - `/p/SPEC` is pathod's craft anchor: SPEC (URL-unquoted) is a response spec in pathod's
 *   language, rendered and written to the connection as it is, pauses and disconnect included,
 *   so HTTP *clients* can be fuzzed. A spec that does not parse gets pathod's error response:
 *   status 800, reason `Parse Error`, a text body `pathod error: Error parsing response spec: …`
 *   with the column and caret (one that cannot be rendered, e.g. a `<file`, gets 800 with the
 *   reason as its text). Like pathod's, our 800 carries a Content-Length, and the connection
 *   stays open unless the request asked otherwise. `/p/` with no spec gets pathod's 800 `Not
 *   found`.
 * - A request the parser rejects gets a 400 (431 for oversized headers) and our FIN after it;
 *   Node's own handler would destroy the socket, which on our stack is an RST.
 * - A client's half-close (FIN) does not cut a response short: it is finished, then we close.
 * Randomness in crafted responses (`@N`, `r` offsets) comes from one generator per connection,
 * seeded from the connection's 4-tuple, so a run replays.
 */

export const HTTP_PAGE =
  '<!doctype html>\n<html><head><title>tcpfuzz builtin:http</title></head>\n' +
  '<body><h1>tcpfuzz builtin:http</h1><p>Craft any response with <code>/p/SPEC</code> (pathod response specs).</p></body></html>\n';

const CRAFT_ANCHOR = '/p/';

export const http: BuiltinService = {
  name: 'http',
  port: 80,
  summary: "HTTP/1.1 on port 80 (Node's http server on our stack): persistent connections, a page at /, pathod's /p/RESPONSE-SPEC anchor",
  defaultPayload: 'GET / HTTP/1.0\\r\\n\\r\\n',
  serve(stack: Listening) {
    const clock = stack.tcp.clock;
    const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => handle(req, res, clock));
    // A client's FIN ends its requests, not the response in progress: Node's http.Server has
    // this switch (lib/_http_server.js, socketOnEnd) but its types do not list it.
    (server as typeof server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const sock = socket as HttpServerSocket;
      if (sock.destroyed) return;
      if (inFlight(sock) > 0 || !sock.writable) {
        sock.close();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      sock.end(`HTTP/1.1 ${status}\r\nDate: ${httpDate(clock)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    stack.listen(this.port, (conn) => {
      server.emit('connection', new HttpServerSocket(conn as StackConnection, clock));
    }, { backlog: SERVICE_BACKLOG });
  },
  check(sent, received) {
    return checkResponses(sent, received);
  },
};

/** Responses started on a socket and not yet finished. */
const responding = new WeakMap<HttpServerSocket, number>();

function inFlight(sock: HttpServerSocket): number {
  return responding.get(sock) ?? 0;
}

function handle(req: IncomingMessage, res: ServerResponse, clock: Clock): void {
  const sock = req.socket as unknown as HttpServerSocket;
  responding.set(sock, inFlight(sock) + 1);
  res.once('close', () => responding.set(sock, inFlight(sock) - 1));
  const url = req.url ?? '/';
  if (url.startsWith(CRAFT_ANCHOR)) {
    crafted(sock, res, unquote(url.slice(CRAFT_ANCHOR.length)), clock);
    return;
  }
  if (url === '/') {
    res.writeHead(200, { Date: httpDate(clock), 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(HTTP_PAGE) });
    res.end(req.method === 'HEAD' ? undefined : HTTP_PAGE);
    return;
  }
  res.writeHead(404, { Date: httpDate(clock), 'Content-Type': 'text/plain' });
  res.end('not found\n');
}

/**
 * RFC 9110 §6.6.1's Date, from the stack's clock rather than the wall clock Node would use,
 * so a sim run's bytes depend only on its seed.
 */
function httpDate(clock: Clock): string {
  return new Date(clock.now()).toUTCString();
}

/** Python's `urllib.parse.unquote` for ASCII specs: `%XX` decoded, a malformed `%` kept. */
export function unquote(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** pathod's `make_error_response`: 800, the reason, a text body. */
function errorResponse(reason: string, body: string): ResponseSpec {
  const literal = (text: string) => ({ kind: 'literal' as const, bytes: Buffer.from(text, 'latin1'), naked: false });
  const tokens: Token[] = [
    { type: 'status', code: '800' },
    { type: 'header', form: 'h', key: literal('Content-Type'), value: literal('text/plain') },
    { type: 'reason', value: literal(reason) },
    { type: 'body', value: literal(`pathod error: ${body}`) },
  ];
  return { kind: 'response', tokens };
}

/** The crafted response for a `/p/` spec, or pathod's error response when there is none. */
function craftedResponse(spec: string, rng: Rng): RenderedMessage {
  let msg: ResponseSpec;
  if (spec === '') msg = errorResponse('Not found', 'No valid craft request found');
  else {
    try {
      msg = parseResponse(spec);
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      msg = errorResponse('Parse Error', `Error parsing response spec: ${e.format()}\n`);
    }
  }
  try {
    return renderMessage(msg, { rng });
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    return renderMessage(errorResponse(e.message, e.message), { rng });
  }
}

/** The generator for crafted responses on one connection (seeded from its 4-tuple). */
const connectionRngs = new WeakMap<HttpServerSocket, Rng>();

function rngFor(sock: HttpServerSocket): Rng {
  let rng = connectionRngs.get(sock);
  if (!rng) {
    const key = `${sock.remoteAddress}:${sock.remotePort}>${sock.localAddress}:${sock.localPort}`;
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    rng = new Rng(h >>> 0);
    connectionRngs.set(sock, rng);
  }
  return rng;
}

/**
 * Writes a crafted response straight to the connection once it is this response's turn (Node
 * queues pipelined responses), then lets Node finish its own response object silently, so the
 * next request on the connection is answered as usual.
 */
function crafted(sock: HttpServerSocket, res: ServerResponse, spec: string, clock: Clock): void {
  const rendered = craftedResponse(spec, rngFor(sock));
  const go = (): void => {
    void playPlan(rendered, serverSink(sock, clock)).then((played) => {
      if (played.end === 'sent') sock.muteWhile(() => res.end());
    });
  };
  if (res.socket) go();
  else res.once('socket', go);
}

function serverSink(sock: HttpServerSocket, clock: Clock): PlanSink {
  const ended = (): boolean => sock.destroyed || !sock.writable;
  const waitFor = (events: string[], ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clock.clearTimer(timer);
        for (const e of events) sock.off(e, done);
        resolve();
      };
      const timer = ms === Infinity ? undefined : clock.setTimer(ms, done);
      for (const e of events) sock.once(e, done);
    });
  return {
    write: (chunk) => sock.write(chunk),
    drained: () => waitFor(['drain', 'close'], Infinity),
    // `forever` lasts until the client goes away (its FIN or reset); then the rest is dropped.
    pause: (ms) => {
      if (ended() || (ms === Infinity && sock.readableEnded)) return Promise.resolve();
      return waitFor(ms === Infinity ? ['close', 'end'] : ['close'], ms);
    },
    disconnect: () => sock.close(),
    stopped: ended,
  };
}

/**
 * A netcat job's bytes judged as HTTP: every response in what came back must be complete and
 * well-formed (our server never sends anything else, whatever it was sent).
 */
function checkResponses(sent: Uint8Array, received: Uint8Array): string | undefined {
  const method = /^[^ ]*/.exec(Buffer.from(sent.subarray(0, 32)).toString('latin1'))![0].toUpperCase();
  let at = 0;
  for (let n = 1; at < received.length; n++) {
    const reader = new ResponseReader({ head: method === 'HEAD' });
    const used = reader.push(received.subarray(at));
    reader.end();
    at += used;
    const r = reader.result();
    if (r.problems.length > 0) return `response ${n}: ${r.problems.join('; ')}`;
    if (used === 0) break;
  }
  return undefined;
}
