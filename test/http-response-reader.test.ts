import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseReader, type HttpResponseSummary, type ResponseReaderOptions } from '../fuzzers/http/response-reader.js';

interface Case {
  name: string;
  bytes: string;
  opts?: ResponseReaderOptions;
  /** The connection closes after the bytes. */
  eof?: boolean;
  want: Partial<HttpResponseSummary> & { consumed?: number; done?: boolean; problem?: RegExp };
}

const CASES: Case[] = [
  {
    name: 'Content-Length body, persistent',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    want: { status: 200, reason: 'OK', version: 'HTTP/1.1', framing: 'length', bodyLength: 5, complete: true, keepAlive: true, problems: [], done: true },
  },
  {
    name: 'bytes after the response are not consumed',
    bytes: 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n',
    want: { status: 204, framing: 'none', bodyLength: 0, complete: true, consumed: 'HTTP/1.1 204 No Content\r\n\r\n'.length },
  },
  {
    name: 'chunked with extensions and trailers',
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\n' + 'x'.repeat(26) + '\r\n0\r\nX-Trailer: 1\r\n\r\n',
    want: { framing: 'chunked', bodyLength: 31, complete: true, keepAlive: true, problems: [], done: true },
  },
  {
    name: 'chunked, no trailers',
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    want: { framing: 'chunked', bodyLength: 3, complete: true, problems: [] },
  },
  {
    name: '1xx responses are skipped',
    bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    want: { status: 200, informational: [100, 103], bodyLength: 2, complete: true, headers: [['Content-Length', '2']] },
  },
  {
    name: 'HEAD: no body whatever Content-Length says',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 197\r\n\r\n',
    opts: { head: true },
    want: { framing: 'none', bodyLength: 0, complete: true, keepAlive: true, done: true },
  },
  {
    name: '304 has no body',
    bytes: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
    want: { framing: 'none', complete: true, done: true },
  },
  {
    name: '101 ends HTTP on the connection',
    bytes: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00',
    want: { status: 101, complete: true, keepAlive: false, consumed: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'.length },
  },
  {
    name: 'CONNECT 200 is a tunnel',
    bytes: 'HTTP/1.1 200 Connection established\r\n\r\n',
    opts: { connect: true },
    want: { status: 200, complete: true, keepAlive: false, done: true },
  },
  {
    name: 'Connection: close',
    bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    want: { keepAlive: false, complete: true, done: true },
  },
  {
    name: 'HTTP/1.0 persists only with keep-alive',
    bytes: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n',
    want: { version: 'HTTP/1.0', keepAlive: true, complete: true },
  },
  {
    name: 'no length: read to the close',
    bytes: 'HTTP/1.0 200 OK\r\n\r\nsome body',
    eof: true,
    want: { framing: 'close', bodyLength: 9, complete: true, keepAlive: false, problems: [] },
  },
  {
    name: 'bare LF line ends are accepted and noted',
    bytes: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
    want: { status: 200, bodyLength: 2, complete: true, problem: /bare LF/ },
  },
  {
    name: 'status line without a reason',
    bytes: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n',
    want: { status: 200, reason: '', complete: true, problem: /without the space before the reason/ },
  },
  {
    name: 'not HTTP at all',
    bytes: 'SSH-2.0-OpenSSH_9.2\r\n',
    eof: true,
    want: { status: undefined, framing: 'close', bodyLength: 21, complete: true, keepAlive: false, problem: /not an HTTP\/1\.x response/ },
  },
  {
    name: 'bad status line',
    bytes: 'HTTP/1.1 2OO OK\r\n\r\nrest',
    eof: true,
    want: { status: undefined, version: 'HTTP/1.1', framing: 'close', bodyLength: 4, problem: /bad status line/ },
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    want: { framing: 'chunked', bodyLength: 2, complete: true, keepAlive: false, problem: /both Transfer-Encoding and Content-Length/ },
  },
  {
    name: 'conflicting Content-Length values: read to the close',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    eof: true,
    want: { framing: 'close', bodyLength: 4, keepAlive: false, problem: /invalid Content-Length/ },
  },
  {
    name: 'repeated identical Content-Length is accepted',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc',
    want: { framing: 'length', bodyLength: 3, complete: true, problem: /repeated/ },
  },
  {
    name: 'truncated Content-Length body',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc',
    eof: true,
    want: { bodyLength: 3, complete: false, keepAlive: false, problem: /after 3 of 10 body bytes/ },
  },
  {
    name: 'truncated chunked body',
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc',
    eof: true,
    want: { bodyLength: 3, complete: false, problem: /inside the chunked body/ },
  },
  {
    name: 'bad chunk size',
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nmore',
    eof: true,
    want: { framing: 'chunked', bodyLength: 4, keepAlive: false, problem: /bad chunk-size line/ },
  },
  {
    name: 'chunk data without its CRLF',
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX',
    eof: true,
    want: { bodyLength: 4, problem: /not followed by CRLF/ },
  },
  {
    name: 'header line without a colon, obs-fold, bad name',
    bytes: 'HTTP/1.1 200 OK\r\nbogus\r\nX-A: 1\r\n  2\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n',
    want: { headers: [['X-A', '1 2'], ['Bad Name', 'x'], ['Content-Length', '0']], complete: true, problem: /without a name and colon/ },
  },
  {
    name: 'closed before any byte',
    bytes: '',
    eof: true,
    want: { status: undefined, complete: false, problem: /^no response before the connection closed$/ },
  },
  {
    name: 'closed inside the head',
    bytes: 'HTTP/1.1 200 OK\r\nContent-',
    eof: true,
    want: { complete: false, problem: /inside the response head/ },
  },
  {
    name: 'unsupported version closes',
    bytes: 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n',
    want: { status: 200, keepAlive: false, problem: /unsupported version/ },
  },
];

function check(c: Case, chunks: Uint8Array[]): void {
  const reader = new ResponseReader(c.opts);
  let consumed = 0;
  for (const ch of chunks) {
    if (reader.done) break;
    consumed += reader.push(ch);
  }
  if (c.eof) reader.end();
  const r = reader.result();
  const { consumed: wantConsumed, done, problem, ...fields } = c.want;
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(r[k as keyof HttpResponseSummary], v, `${c.name}: ${k}`);
  if (wantConsumed !== undefined) assert.equal(consumed, wantConsumed, `${c.name}: consumed`);
  if (done !== undefined) assert.equal(reader.done, done, `${c.name}: done`);
  if (problem) assert.ok(r.problems.some((p) => problem.test(p)), `${c.name}: problems ${JSON.stringify(r.problems)} lack ${problem}`);
}

test('response reader: table of clean, lenient and malformed responses', () => {
  for (const c of CASES) check(c, [Buffer.from(c.bytes, 'latin1')]);
});

test('response reader: the same results whatever the segmentation (byte by byte, and in 3-byte pieces)', () => {
  for (const c of CASES) {
    const all = Buffer.from(c.bytes, 'latin1');
    check(c, [...all].map((b) => Uint8Array.of(b)));
    const threes: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += 3) threes.push(all.subarray(i, i + 3));
    check(c, threes);
  }
});

test('response reader: a head over the bound is a problem, not a hang or an unbounded buffer', () => {
  const reader = new ResponseReader({ maxHeaderBytes: 1024 });
  reader.push(Buffer.from('HTTP/1.1 200 OK\r\n' + `X-Big: ${'a'.repeat(4000)}\r\n\r\n`, 'latin1'));
  reader.end();
  const r = reader.result();
  assert.match(r.problems[0]!, /response head over 1024 bytes/);
  assert.equal(r.keepAlive, false);
});

test('response reader: a large body is counted, not kept', () => {
  const reader = new ResponseReader();
  const n = 10 * 1024 * 1024;
  reader.push(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`));
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < n / chunk.length; i++) reader.push(chunk);
  assert.equal(reader.done, true);
  assert.equal(reader.result().bodyLength, n);
});
