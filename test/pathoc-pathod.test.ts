import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseRequests,
  parseResponse,
  renderMessage,
  sentBytes,
  specString,
  freezeMessage,
  SpecError,
  type MessageSpec,
  type RenderOptions,
} from '../fuzzers/http/spec/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../stack/rng.js';

/**
 * Parity with pathod 6.0.2. The expected strings below were produced by pathod's own language
 * code (pathod/language/*.py of mitmproxy 6.0.2, run under Python 3 with its sleeps stubbed):
 * for each spec, pathod's spec() of every parsed message and the exact bytes its serve() wrote.
 * Specs whose output depends on randomness are checked for structure and length further down,
 * as pathod's own tests do. Where we differ on purpose (test/pathoc-deviations.test.ts) the spec
 * is not in these tables.
 */

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function wire(msg: MessageSpec, opts: Partial<RenderOptions> = {}): string {
  return Buffer.from(sentBytes(renderMessage(msg, { rng: new Rng(1), websocketKey: WS_KEY, ...opts }))).toString('latin1');
}

/** [spec, host, pathod's spec() of each message, pathod's bytes for each message (latin1)]. */
const REQUESTS: Array<[string, string | undefined, string[], string[]]> = [
  ["get:/foo", "foo.com", ["'GET':/foo"], ["GET /foo HTTP/1.1\r\nHost: foo.com\r\n\r\n"]],
  ["GET:\"/foo\"", undefined, ["'GET':'/foo'"], ["GET /foo HTTP/1.1\r\n\r\n"]],
  ["GET:/foo", undefined, ["'GET':/foo"], ["GET /foo HTTP/1.1\r\n\r\n"]],
  ["GET:/ PUT:/", undefined, ["'GET':/", "'PUT':/"], ["GET / HTTP/1.1\r\n\r\n", "PUT / HTTP/1.1\r\n\r\n"]],
  ["GET:'/foo'", "foo.com", ["'GET':'/foo'"], ["GET /foo HTTP/1.1\r\nHost: foo.com\r\n\r\n"]],
  ["get:/foo:da", undefined, ["'GET':/foo:da"], ["GET /foo HTTP/1.1\r\n\r\n"]],
  ["get:/:ua", undefined, ["'GET':/:ua"], ["GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (Linux; U; Android 4.1.1; en-gb; Nexus 7 Build/JRO03D) AFL/01.04.02\r\n\r\n"]],
  ["get:/:uA", "h", ["'GET':/:ua"], ["GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (Linux; U; Android 4.1.1; en-gb; Nexus 7 Build/JRO03D) AFL/01.04.02\r\nHost: h\r\n\r\n"]],
  ["get:/:x5", undefined, ["'GET':/", "'GET':/", "'GET':/", "'GET':/", "'GET':/"], ["GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"]],
  ["get:/:x0", undefined, [], []],
  ["get:/:x0 put:/", undefined, ["'PUT':/"], ["PUT / HTTP/1.1\r\n\r\n"]],
  ["get:/foo bar", undefined, ["'GET':/foo:bar"], ["GET /foo HTTP/1.1\r\nContent-Length: 2\r\n\r\nar"]],
  ["'FOO':/", undefined, ["'FOO':/"], ["FOO / HTTP/1.1\r\n\r\n"]],
  ["\"get\":/x", undefined, ["'get':/x"], ["get /x HTTP/1.1\r\n\r\n"]],
  ["get:/:h'X-A'='b':c'text/html':cfoo/bar", undefined, ["'GET':/:h'X-A'='b':c'text/html':cfoo/bar"], ["GET / HTTP/1.1\r\nX-A: b\r\nContent-Type: text/html\r\nContent-Type: foo/bar\r\n\r\n"]],
  ["get:/:h\"X\"=\"y\":b'hello':h'content-length'='99'", "a", ["'GET':/:h'X'='y':b'hello':h'content-length'='99'"], ["GET / HTTP/1.1\r\nX: y\r\ncontent-length: 99\r\nHost: a\r\n\r\nhello"]],
  ["get:/:b'hello':r", "a", ["'GET':/:b'hello':r"], ["GET / HTTP/1.1\r\n\r\nhello"]],
  ["get:/:h'HOST'='x'", "a", ["'GET':/:h'HOST'='x'"], ["GET / HTTP/1.1\r\nHOST: x\r\n\r\n"]],
  ["get:'http://FOO.com:8080/x'", "h", ["'GET':'http://FOO.com:8080/x'"], ["GET http://FOO.com:8080/x HTTP/1.1\r\nHost: foo.com\r\n\r\n"]],
  ["get:'//foo.com/x'", "h", ["'GET':'//foo.com/x'"], ["GET //foo.com/x HTTP/1.1\r\nHost: foo.com\r\n\r\n"]],
  ["get:'https://a_b.c/'", "h", ["'GET':'https://a_b.c/'"], ["GET https://a_b.c/ HTTP/1.1\r\nHost: a_b.c\r\n\r\n"]],
  ["get:'http://user:pw@[::1]:80/'", "h", ["'GET':'http://user:pw@[::1]:80/'"], ["GET http://user:pw@[::1]:80/ HTTP/1.1\r\nHost: ::1\r\n\r\n"]],
  ["get:'http://a..b/'", "h", ["'GET':'http://a..b/'"], ["GET http://a..b/ HTTP/1.1\r\nHost: h\r\n\r\n"]],
  ["get:'http://x:99999/'", "h", ["'GET':'http://x:99999/'"], ["GET http://x:99999/ HTTP/1.1\r\nHost: h\r\n\r\n"]],
  ["get:'http://x:/'", "h", ["'GET':'http://x:/'"], ["GET http://x:/ HTTP/1.1\r\nHost: x\r\n\r\n"]],
  ["get:'http://-x/'", "h", ["'GET':'http://-x/'"], ["GET http://-x/ HTTP/1.1\r\nHost: h\r\n\r\n"]],
  ["get:'http://1.2.3.4/'", "h", ["'GET':'http://1.2.3.4/'"], ["GET http://1.2.3.4/ HTTP/1.1\r\nHost: 1.2.3.4\r\n\r\n"]],
  ["get:'ftp://[fe80::1%eth0]/'", "h", ["'GET':'ftp://[fe80::1%eth0]/'"], ["GET ftp://[fe80::1%eth0]/ HTTP/1.1\r\nHost: fe80::1%eth0\r\n\r\n"]],
  ["connect:'example.com:443'", "h", ["'CONNECT':'example.com:443'"], ["CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n"]],
  ["get:'HTTP://X.ORG'", "h", ["'GET':'HTTP://X.ORG'"], ["GET HTTP://X.ORG HTTP/1.1\r\nHost: x.org\r\n\r\n"]],
  ["ws:/:h'Sec-WebSocket-Key'='k'", "z", ["ws:/:h'Sec-WebSocket-Key'='k'"], ["GET / HTTP/1.1\r\nSec-WebSocket-Key: k\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nHost: z\r\n\r\n"]],
  ["ws:/:h'Sec-WebSocket-Key'='k':h'connection'='c':h'upgrade'='u':h'sec-websocket-version'='1'", "z", ["ws:/:h'Sec-WebSocket-Key'='k':h'connection'='c':h'upgrade'='u':h'sec-websocket-version'='1'"], ["GET / HTTP/1.1\r\nSec-WebSocket-Key: k\r\nconnection: c\r\nupgrade: u\r\nsec-websocket-version: 1\r\nHost: z\r\n\r\n"]],
  ["get:/:i0,'X':i5,'Y'", undefined, ["'GET':/:i0,'X':i5,'Y'"], ["XGET /Y HTTP/1.1\r\n\r\n"]],
  ["get:/:b'0123456789':i30,'X':d31", undefined, ["'GET':/:b'0123456789':i30,'X':d31"], ["GET / HTTP/1.1\r\nContent-LengthX:"]],
  ["get:/:d0", undefined, ["'GET':/:d0"], [""]],
  ["get:/:d5", undefined, ["'GET':/:d5"], ["GET /"]],
  ["get:/:d99", undefined, ["'GET':/:d99"], ["GET / HTTP/1.1\r\n\r\n"]],
  ["get:/:ia,'xx'", undefined, ["'GET':/:ia,'xx'"], ["GET / HTTP/1.1\r\n\r\nxx"]],
  ["get:/:i99,'xx':i98,'yy'", undefined, ["'GET':/:i99,'xx':i98,'yy'"], ["GET / HTTP/1.1\r\n\r\nyyxx"]],
  ["get:/:b<", undefined, ["'GET':/:b<"], ["GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\n<"]],
  ["get:/:b<:h'a'='b'", undefined, ["'GET':/:b<:h'a'='b'"], ["GET / HTTP/1.1\r\na: b\r\nContent-Length: 1\r\n\r\n<"]],
  ["get/foo", undefined, ["'GET':/foo"], ["GET /foo HTTP/1.1\r\n\r\n"]],
  ["GET /foo", undefined, ["'GET':/foo"], ["GET /foo HTTP/1.1\r\n\r\n"]],
  ["get : / : b 'x'", undefined, ["'GET':/:b'x'"], ["GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"]],
  ["getx", undefined, ["'GET':x"], ["GET x HTTP/1.1\r\n\r\n"]],
  ["get:/a\\\\b", undefined, ["'GET':/a\\\\b"], ["GET /a\\b HTTP/1.1\r\n\r\n"]],
  ["get:/a\\tb", undefined, ["'GET':/a\\tb"], ["GET /a\tb HTTP/1.1\r\n\r\n"]],
  ["get:/:b\"it's\"", undefined, ["'GET':/:b'it\\x27s'"], ["GET / HTTP/1.1\r\nContent-Length: 4\r\n\r\nit's"]],
  ["get:/:b'\\101\\7\\0'", undefined, ["'GET':/:b'A\\x07\\x00'"], ["GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nA\u0007\u0000"]],
  ["get:/:b'\\q\\z'", undefined, ["'GET':/:b'\\\\q\\\\z'"], ["GET / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\\q\\z"]],
  ["get:/:b'a\\\nb'", undefined, ["'GET':/:b'ab'"], ["GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab"]],
  ["get:/:p0,1:p0,2", undefined, ["'GET':/:p0,1:p0,2"], ["GET / HTTP/1.1\r\n\r\n"]],
  ["get:/:R:b'x'", undefined, ["'GET':/:r:b'x'"], ["GET / HTTP/1.1\r\n\r\nx"]],
  ["HEAD:/ POST:/ DELETE:/ OPTIONS:/ TRACE:/ CONNECT:/", undefined, ["'HEAD':/", "'POST':/", "'DELETE':/", "'OPTIONS':/", "'TRACE':/", "'CONNECT':/"], ["HEAD / HTTP/1.1\r\n\r\n", "POST / HTTP/1.1\r\n\r\n", "DELETE / HTTP/1.1\r\n\r\n", "OPTIONS / HTTP/1.1\r\n\r\n", "TRACE / HTTP/1.1\r\n\r\n", "CONNECT / HTTP/1.1\r\n\r\n"]],
  ["get:/ head:/", undefined, ["'GET':/", "'HEAD':/"], ["GET / HTTP/1.1\r\n\r\n", "HEAD / HTTP/1.1\r\n\r\n"]],
  ["get:/ post:/:b'x'", undefined, ["'GET':/", "'POST':/:b'x'"], ["GET / HTTP/1.1\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"]],
  ["get:/ delete:/", undefined, ["'GET':/", "'DELETE':/"], ["GET / HTTP/1.1\r\n\r\n", "DELETE / HTTP/1.1\r\n\r\n"]],
  ["get:/:cfoo:c'bar'", undefined, ["'GET':/:cfoo:c'bar'"], ["GET / HTTP/1.1\r\nContent-Type: foo\r\nContent-Type: bar\r\n\r\n"]],
  ["get:/:b'x'    ", undefined, ["'GET':/:b'x'"], ["GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"]],
  ["   get:/", undefined, ["'GET':/"], ["GET / HTTP/1.1\r\n\r\n"]],
  ["get:/:b''", undefined, ["'GET':/:b''"], ["GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"]],
  ["get:'':b'x'", "h", ["'GET':'':b'x'"], ["GET  HTTP/1.1\r\nContent-Length: 1\r\nHost: h\r\n\r\nx"]],
  ["get:/:h''=''", undefined, ["'GET':/:h''=''"], ["GET / HTTP/1.1\r\n: \r\n\r\n"]],
  ["get:/:b@0", "h", ["'GET':/:b@0"], ["GET / HTTP/1.1\r\nContent-Length: 0\r\nHost: h\r\n\r\n"]],
  ["get:/x:h'content-length'='5':b'abc'", "h", ["'GET':/x:h'content-length'='5':b'abc'"], ["GET /x HTTP/1.1\r\ncontent-length: 5\r\nHost: h\r\n\r\nabc"]],
  ["get:/:b'abc':da", "h", ["'GET':/:b'abc':da"], ["GET / HTTP/1.1\r\nContent-Length: 3\r\nHost: h\r\n\r\nabc"]],
  ["get:/:b'abc':pa,0:ia,'Q'", "h", ["'GET':/:b'abc':pa,0:ia,'Q'"], ["GET / HTTP/1.1\r\nContent-Length: 3\r\nHost: h\r\n\r\nabcQ"]],
  ["get:/:b'a\\\\'", undefined, ["'GET':/:b'a\\\\'"], ["GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\na\\"]],
  ["get:/:d007", undefined, ["'GET':/:d7"], ["GET / H"]],
  ["get:/:x02", undefined, ["'GET':/", "'GET':/"], ["GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"]],
  ["get:/:p01,010", undefined, ["'GET':/:p1,10"], ["GET / HTTP/1.1\r\n\r\n"]],
  ["get:/:b'x':i3 ,'y'", undefined, ["'GET':/:b'x':i3,'y'"], ["GETy / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"]],
  ["get:/:i  3,  'y'", undefined, ["'GET':/:i3,'y'"], ["GETy / HTTP/1.1\r\n\r\n"]],
  ["GeT:/", undefined, ["'GET':/"], ["GET / HTTP/1.1\r\n\r\n"]],
];

/** Request specs pathod rejects (parse error, or a crash while parsing). */
const REJECTED_REQUESTS = [
  "GET",
  "get:\u00f0",
  "get:/ connect:/",
  "get:/:b'foo':b'bar'",
  "foo:/",
  "get:/:b@1 k",
  "get:/:b@1K",
  "get:/:b@1,foo",
  "get:/:",
  "get::/",
  ":get:/",
  "get:/::b'x'",
  "gets:/",
  "get:/:hfoo='x'",
  "get:/:h'foo'=x",
  "get:/:i0,x",
  "get:/:p0",
  "get:/:p0,",
  "get:/:p0,x",
  "get:/:pz,1",
  "get:/:dz",
  "get:/:d0:d1",
  "get:/:x",
  "get:/:x2:x3",
  "get:/:s'foo'",
  "get:/p/:s'200':s'201'",
  "get:/:r:r",
  "get:/:ws",
  "ws",
  "get:/:lfoo",
  "get:/:mfoo",
  "get:/:ux",
  "get:/:ufoo",
  "",
  "   ",
  "get:/:b'\\x4'",
  "get:/:b'abc\\'",
  "get:/\u00e9",
];

/** [spec, unused, pathod's spec(), pathod's bytes (websocket key dGhlIHNhbXBsZSBub25jZQ==)]. */
const RESPONSES: Array<[string, undefined, string, string]> = [
  ["400:m'msg'", undefined, "400:m'msg'", "HTTP/1.1 400 msg\r\nContent-Length: 0\r\n\r\n"],
  ["200", undefined, "200", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
  ["400:b'foo'", undefined, "400:b'foo'", "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nfoo"],
  ["400:b'foo':r", undefined, "400:b'foo':r", "HTTP/1.1 400 Bad Request\r\n\r\nfoo"],
  ["400:m'msg':r", undefined, "400:m'msg':r", "HTTP/1.1 400 msg\r\n\r\n"],
  ["400:m'msg':h'foo'='bar':r", undefined, "400:m'msg':h'foo'='bar':r", "HTTP/1.1 400 msg\r\nfoo: bar\r\n\r\n"],
  ["400:h\"foo\"=\"bar\"", undefined, "400:h'foo'='bar'", "HTTP/1.1 400 Bad Request\r\nfoo: bar\r\nContent-Length: 0\r\n\r\n"],
  ["400:p0,10", undefined, "400:p0,10", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["400:pa,10", undefined, "400:pa,10", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["400", undefined, "400", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["400:da", undefined, "400:da", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["ws", undefined, "ws", "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nContent-Length: 0\r\n\r\n"],
  ["ws:200", undefined, "ws:200", "HTTP/1.1 200 OK\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nContent-Length: 0\r\n\r\n"],
  ["WS:h'Upgrade'='x'", undefined, "ws:h'Upgrade'='x'", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nconnection: upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nContent-Length: 0\r\n\r\n"],
  ["400:c'foo'", undefined, "400:c'foo'", "HTTP/1.1 400 Bad Request\r\nContent-Type: foo\r\nContent-Length: 0\r\n\r\n"],
  ["400:l'foo'", undefined, "400:l'foo'", "HTTP/1.1 400 Bad Request\r\nLocation: foo\r\nContent-Length: 0\r\n\r\n"],
  ["400:i0,'foo'", undefined, "400:i0,'foo'", "fooHTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["400:da", undefined, "400:da", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["400:pa,0", undefined, "400:pa,0", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
  ["400:ia,'xx'", undefined, "400:ia,'xx'", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nxx"],
  ["0200", undefined, "0200", "HTTP/1.1 0200 OK\r\nContent-Length: 0\r\n\r\n"],
  ["999", undefined, "999", "HTTP/1.1 999 Unknown code\r\nContent-Length: 0\r\n\r\n"],
  ["0", undefined, "0", "HTTP/1.1 0 Unknown code\r\nContent-Length: 0\r\n\r\n"],
  ["00", undefined, "00", "HTTP/1.1 00 Unknown code\r\nContent-Length: 0\r\n\r\n"],
  ["205:mOK", undefined, "205:mOK", "HTTP/1.1 205 OK\r\nContent-Length: 0\r\n\r\n"],
  ["418", undefined, "418", "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n"],
  ["200:h'Content-Length'='3':b'abcdef'", undefined, "200:h'Content-Length'='3':b'abcdef'", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"],
  ["200:h'CONTENT-LENGTH'='3'", undefined, "200:h'CONTENT-LENGTH'='3'", "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 3\r\n\r\n"],
  ["200:cfoo/bar:b'x'", undefined, "200:cfoo/bar:b'x'", "HTTP/1.1 200 OK\r\nContent-Type: foo/bar\r\nContent-Length: 1\r\n\r\nx"],
  ["200:b'x':i0,'a':i0,'b':i0,'c'", undefined, "200:b'x':i0,'a':i0,'b':i0,'c'", "abcHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"],
  ["99999999999999999999999", undefined, "99999999999999999999999", "HTTP/1.1 99999999999999999999999 Unknown code\r\nContent-Length: 0\r\n\r\n"],
  ["200:r:h'a'=''", undefined, "200:r:h'a'=''", "HTTP/1.1 200 OK\r\na: \r\n\r\n"],
];

const REJECTED_RESPONSES = [
  "400:msg,b:",
  "400'msg':b:",
  "foo:b\u00f0",
  "400:b@1:b@1",
  "205:m'x':m'y'",
  "200:u'x'",
  "200:s'200'",
  "200:x3",
  "200:lhttp://x/y",
  "200 200",
  "200:b'a' b'b'",
  "get:/",
];

test('requests: the same messages, canonical specs and wire bytes as pathod', () => {
  for (const [spec, host, specs, bytes] of REQUESTS) {
    const msgs = parseRequests(spec);
    assert.deepEqual(msgs.map(specString), specs, spec);
    assert.deepEqual(
      msgs.map((m) => wire(m, { host })),
      bytes,
      spec,
    );
  }
});

test('requests pathod rejects are rejected, with a SpecError', () => {
  for (const spec of REJECTED_REQUESTS) assert.throws(() => parseRequests(spec), SpecError, JSON.stringify(spec));
});

test('responses: the same canonical spec and wire bytes as pathod', () => {
  for (const [spec, , canonical, bytes] of RESPONSES) {
    const msg = parseResponse(spec);
    assert.equal(specString(msg), canonical, spec);
    assert.equal(wire(msg), bytes, spec);
  }
});

test('responses pathod rejects are rejected, with a SpecError', () => {
  for (const spec of REJECTED_RESPONSES) assert.throws(() => parseResponse(spec), SpecError, JSON.stringify(spec));
});

// ---- test_base.py

test('test_times: x5 gives five requests, none of them carrying x', () => {
  const reqs = parseRequests('get:/:x5');
  assert.equal(reqs.length, 5);
  assert.ok(reqs.every((r) => !r.tokens.some((t) => t.type === 'times')));
});

test('TokValueLiteral/NakedLiteral spec(): escapes and the \\x27 quote', () => {
  const body = (spec: string): string => specString(parseResponse(`200:b${spec}`)).slice('200:b'.length);
  assert.equal(body('foo'), 'foo');
  assert.equal(body("'foo'"), "'foo'");
  assert.equal(body("'f\\x00oo'"), "'f\\x00oo'");
  assert.equal(body('f\\x00oo'), 'f\\x00oo');
  assert.equal(body(`'"'`), `'"'`);
  assert.equal(body(`"'"`), "'\\x27'");
  assert.equal(body("'\\a'"), "'\\x07'");
  // Round trips: the spec of a literal parses back to the same bytes and the same spec.
  for (const lit of [`"'"`, `"\\'"`, "'a'", `'"'`, `"200:b'foo':i23,'\\''"`, "'\\a'"]) {
    const once = body(lit);
    assert.equal(body(once), once, lit);
    assert.equal(wire(parseResponse(`200:b${once}`)), wire(parseResponse(`200:b${lit}`)), lit);
  }
});

test('TokValueGenerate: sizes, units, data types and spec()', () => {
  const size = (v: string): number => renderMessage(parseResponse(`200:r:b${v}`), { rng: new Rng(1) }).length - 'HTTP/1.1 200 OK\r\n\r\n'.length;
  assert.equal(size('@10b'), 10);
  assert.equal(size('@10'), 10);
  assert.equal(size('@10k'), 10240);
  assert.equal(renderMessage(parseResponse('200:r:b@10g'), { rng: new Rng(1) }).length, 19 + 10 * 1024 ** 3);
  assert.match(wire(parseResponse('200:r:b@100,digits')), /\r\n\r\n\d{100}$/);
  const spec = (v: string): string => specString(parseResponse(`200:b${v}`)).slice(5);
  assert.equal(spec('@1b'), '@1');
  assert.equal(spec('@1k'), '@1k');
  assert.equal(spec('@1k,ascii'), '@1k,ascii');
  assert.equal(spec('@1,ascii'), '@1,ascii');
  assert.equal(spec('@10g,digits'), '@10g,digits');
  assert.equal(spec('@10,bytes'), '@10');
});

test('TokValueGenerate freeze: @100,ascii freezes to 100 bytes', () => {
  const frozen = freezeMessage(parseResponse('200:r:b@100,ascii'), { rng: new Rng(3) });
  const again = parseResponse(frozen);
  assert.equal(wire(again).length, 19 + 100);
});

test('TokValueFile: <path and <\'one two\' parse, print as <\'…\', freeze unchanged; access control', () => {
  assert.equal(specString(parseResponse("200:b<'one two'")), "200:b<'one two'");
  assert.equal(specString(parseResponse('200:b<path')), "200:b<'path'");
  const dir = mkdtempSync(join(tmpdir(), 'pathoc-'));
  try {
    writeFileSync(join(dir, 'one two'), 'x'.repeat(10000));
    const files = { root: dir, confined: true };
    const msg = parseResponse("200:r:b<'one two'");
    assert.equal(freezeMessage(msg, { rng: new Rng(1), files }), "200:r:b<'one two'");
    assert.equal(wire(msg, { files }), 'HTTP/1.1 200 OK\r\n\r\n' + 'x'.repeat(10000));
    assert.throws(() => wire(parseResponse('200:b<path2'), { files }), /File not readable/);
    assert.throws(() => wire(parseResponse('200:b<path2')), /File access disabled/);
    assert.throws(() => wire(parseResponse('200:b</outside'), { files }), /outside/);
    assert.throws(() => wire(parseResponse("200:b<'../x'"), { files }), /outside/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KeyValue and OptionsOrValue: spec() round trips, freezing twice changes nothing', () => {
  for (const s of ["200:h'foo'='bar'", "'GET':/", "'foo':/", "'get':/"]) {
    const parse = s.startsWith('200') ? (x: string) => parseResponse(x) : (x: string) => parseRequests(x)[0]!;
    const once = specString(parse(s));
    assert.equal(specString(parse(once)), once, s);
  }
  assert.equal(specString(parseRequests('get:/')[0]!), "'GET':/");
  const frozen = freezeMessage(parseRequests('@100:/:h@10=@10:c@100:u@100')[0]!, { rng: new Rng(5) });
  assert.equal(freezeMessage(parseRequests(frozen)[0]!, { rng: new Rng(6) }), frozen);
});

test('Integer: status codes keep their digits; m@100 freezes stably', () => {
  assert.equal(specString(parseResponse('200')), '200');
  const f = freezeMessage(parseResponse("200:m@100:r"), { rng: new Rng(2) });
  assert.equal(freezeMessage(parseResponse(f), { rng: new Rng(9) }), f);
});

// ---- test_http.py

test('TestRequest: simple, @1k path, multiple and multi-line specs', () => {
  assert.equal(wire(parseRequests('GET:"/foo"')[0]!), 'GET /foo HTTP/1.1\r\n\r\n');
  const gen = renderMessage(parseRequests('GET:@1k')[0]!, { rng: new Rng(1) });
  assert.equal(gen.baseLength, 'GET ' .length + 1024 + ' HTTP/1.1\r\n\r\n'.length);
  const multi = parseRequests('\n  GET\n  "/foo"\n  ir,@1\n\n  PUT\n\n  "/foo\n\n\n\n  bar"\n\n  ir,@1\n');
  assert.deepEqual(multi.map((m) => wire(m).length), ['GET /foo HTTP/1.1\r\n\r\n'.length + 1, 'PUT /foo\n\n\n\n  bar HTTP/1.1\r\n\r\n'.length + 1]);
  const two = parseRequests('\n get:"http://localhost:9999/p/200":ir,@1\n get:"http://localhost:9999/p/200":ir,@2\n');
  assert.equal(two.length, 2);
  assert.ok(freezeMessage(two[0]!, { rng: new Rng(1), host: 'x' }).endsWith(":h'Host'='localhost'"));
});

test('TestRequest: a nested response is the third token and renders', () => {
  const [r] = parseRequests("get:/p:s'200'");
  assert.equal(r!.tokens.length, 3);
  assert.equal(r!.tokens[2]!.type, 'nested');
  assert.equal(wire(r!), 'GET /p200 HTTP/1.1\r\n\r\n');
});

test('TestRequest: freeze of b@100 and of an @100 path is longer than 100', () => {
  assert.ok(freezeMessage(parseRequests('GET:/:b@100')[0]!, { rng: new Rng(1) }).length > 100);
  assert.ok(freezeMessage(parseRequests('GET:@100')[0]!, { rng: new Rng(1) }).length > 100);
});

test('TestRequest: ws upgrade requests default to GET and add the handshake headers', () => {
  const ws = wire(parseRequests('ws:/path/')[0]!, { rng: new Rng(4) });
  assert.match(ws, /^GET \/path\/ HTTP\/1\.1\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: [A-Za-z0-9+/]{22}==\r\n\r\n$/);
  assert.match(wire(parseRequests('ws:put:/path/')[0]!), /^PUT \/path\/ HTTP\/1\.1\r\n/);
  assert.match(freezeMessage(parseRequests('ws:/path/')[0]!, { rng: new Rng(4) }), /^ws:'GET':\/path\/:h'connection'='upgrade':/);
});

test('TestResponse: reason, default reason, lengths, raw, stress, spec round trips', () => {
  assert.equal(wire(parseResponse("400:m'msg'")), 'HTTP/1.1 400 msg\r\nContent-Length: 0\r\n\r\n');
  assert.match(wire(parseResponse("400:m'msg':b@100b")), /^HTTP\/1\.1 400 msg\r\nContent-Length: 100\r\n\r\n[^]{100}$/);
  for (const s of ["400:m'msg':r", "400:m'msg':h'foo'='bar':r", "400:m'msg':h'foo'='bar':b@100b:r"]) {
    const r = renderMessage(parseResponse(s), { rng: new Rng(1) });
    assert.equal(r.length, r.baseLength, s);
  }
  assert.equal(renderMessage(parseResponse('400:b@1g'), { rng: new Rng(1) }).baseLength, 'HTTP/1.1 400 Bad Request\r\nContent-Length: 1073741824\r\n\r\n'.length + 1024 ** 3);
  for (const s of ['400:b@100g', '400', '400:da']) assert.equal(specString(parseResponse(specString(parseResponse(s)))), specString(parseResponse(s)));
});

test('TestResponse: maximum length bounds what is sent with d0 and i0', () => {
  for (const s of ["400:m'msg':b@100:d0", "400:m'msg':b@100:d0:i0,'foo'"]) {
    const r = renderMessage(parseResponse(s), { rng: new Rng(1) });
    assert.ok(r.length <= r.baseLength + 3, s);
    assert.equal(r.disconnects, true);
  }
  assert.equal(wire(parseResponse("400:m'msg':b@100:i0,'foo':d0")), 'foo');
});

test('TestResponse: ws needs the client key, then answers 101 with the accept header', () => {
  assert.throws(() => renderMessage(parseResponse('ws'), { rng: new Rng(1) }), /No websocket key/);
  assert.match(wire(parseResponse('ws')), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
});

test('shortcuts: c, l and the user-agent letters with pathod\'s exact strings', () => {
  assert.equal(wire(parseResponse("400:c'foo'")).split('\r\n')[1], 'Content-Type: foo');
  assert.equal(wire(parseResponse("400:l'foo'")).split('\r\n')[1], 'Location: foo');
  const ua = (letter: string): string => wire(parseRequests(`get:/:u${letter}`)[0]!).split('\r\n')[1]!;
  assert.equal(ua('a'), 'User-Agent: Mozilla/5.0 (Linux; U; Android 4.1.1; en-gb; Nexus 7 Build/JRO03D) AFL/01.04.02');
  assert.equal(ua('g'), 'User-Agent: Googlebot/2.1 (+http://www.googlebot.com/bot.html)');
  assert.equal(ua('i'), 'User-Agent: Mozilla/5.0 (Windows; U; MSIE 9.0; WIndows NT 9.0; en-US)');
  assert.equal(ua("'a'"), 'User-Agent: a');
  assert.equal(wire(parseRequests('get:/:u@100')[0]!).split('\r\n')[1]!.length, 'User-Agent: '.length + 100);
});

test('nested responses: s\'200\' parses, s\'foo\' is rejected, @1 is kept in the spec', () => {
  assert.equal(specString(parseRequests("get:/:s'200'")[0]!), "'GET':/:s'200'");
  assert.throws(() => parseRequests("get:/:s'foo'"), SpecError);
  assert.ok(specString(parseRequests('get:/:s"200:b@1"')[0]!).includes('@1'));
  // pathod's test_nested_response_freeze: a nested spec with quotes and an inject.
  const r = parseRequests("get:/p/:s'200:b\\'foo\\':i10,\\'\\\\x27\\''")[0]!;
  assert.equal(wire(r), "GET /p/200:b'foo':i10,'\\x27' HTTP/1.1\r\n\r\n");
});

test('unique components: two bodies are refused', () => {
  assert.throws(() => parseResponse('400:b@1:b@1'), /multiple body clauses/);
});

// ---- test_actions.py

test('actions: parse and spec() of d, i and p', () => {
  const actions = (s: string): string => specString(parseResponse(s)).slice(4);
  assert.equal(actions('400:d0'), 'd0');
  assert.equal(actions('400:dr'), 'dr');
  assert.equal(actions('400:d100'), 'd100');
  assert.equal(actions('400:ir,@100'), 'ir,@100');
  assert.equal(actions('400:ia,@100'), 'ia,@100');
  assert.equal(actions("400:i0,'foo'"), "i0,'foo'");
  assert.equal(actions('400:p10,10'), 'p10,10');
  assert.equal(actions('400:p10,f'), 'p10,f');
  assert.equal(actions('400:pr,f'), 'pr,f');
  assert.equal(actions('400:pa,f'), 'pa,f');
  assert.equal(actions('400:pr,5'), 'pr,5');
});

test('actions: r resolves to an offset inside the message, a to one past its end; freeze keeps p and d', () => {
  for (let seed = 0; seed < 50; seed++) {
    const f = freezeMessage(parseRequests('GET:"/foo":dr')[0]!, { rng: new Rng(seed) });
    const n = Number(/:d(\d+)$/.exec(f)![1]);
    assert.ok(n >= 0 && n < 'GET /foo HTTP/1.1\r\n\r\n'.length, f);
  }
  assert.equal(freezeMessage(parseResponse('400:da:r'), { rng: new Rng(1) }), `400:d${'HTTP/1.1 400 Bad Request\r\n\r\n'.length + 1}:r`);
  assert.equal(freezeMessage(parseResponse('400:p0,5:d5:r'), { rng: new Rng(1) }), '400:p0,5:d5:r');
  const inj = freezeMessage(parseResponse('400:i0,@100:r'), { rng: new Rng(1) });
  assert.equal(freezeMessage(parseResponse(inj), { rng: new Rng(2) }), inj);
});

// ---- test_writer.py

test('writer: injections, disconnects and pauses on a 3- and 11-byte body', () => {
  const body = (s: string): string => wire(parseResponse(`200:r${s}`)).slice('HTTP/1.1 200 OK\r\n\r\n'.length);
  const base = 19;
  assert.equal(body(`:b'foo':i${base},'aaa'`), 'aaafoo');
  assert.equal(body(`:b'foo':i${base + 1},'aaa'`), 'faaaoo');
  assert.equal(wire(parseResponse(`200:r:b'${'foo'.repeat(100)}':d0`)), '');
  for (let off = 0; off < 11; off++) assert.equal(body(`:b'foobarvoing':d${base + off}`), 'foobarvoing'.slice(0, off));
  assert.equal(body(`:b'0123456789':p${base + 2},0:p${base + 1},0`), '0123456789');
  const r = renderMessage(parseResponse(`200:r:b'0123456789':p${base + 2},0:p${base + 1},0`), { rng: new Rng(1) });
  assert.deepEqual(
    r.plan.filter((s) => s.kind === 'pause').map((s) => s.kind === 'pause' && s.at),
    [base + 1, base + 2],
  );
});

test('writer: actions after the end (da, pa,0, ia)', () => {
  assert.equal(wire(parseResponse('400:da')), 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  assert.equal(wire(parseResponse('400:pa,0')), 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  assert.ok(wire(parseResponse("400:ia,'xx'")).endsWith('xx'));
});

// ---- test_generators.py

test('generated data: each data type draws only from its character set', () => {
  const sets: Record<string, RegExp> = {
    ascii_letters: /^[a-zA-Z]+$/,
    ascii_lowercase: /^[a-z]+$/,
    ascii_uppercase: /^[A-Z]+$/,
    digits: /^[0-9]+$/,
    hexdigits: /^[0-9a-fA-F]+$/,
    octdigits: /^[0-7]+$/,
    punctuation: /^[!-/:-@[-`{-~]+$/,
    whitespace: /^[ \t\n\r\x0b\x0c]+$/,
    ascii: /^[\x20-\x7e\t\n\r\x0b\x0c]+$/,
  };
  for (const [type, re] of Object.entries(sets)) {
    const data = wire(parseResponse(`200:r:b@4k,${type}`)).slice(19);
    assert.equal(data.length, 4096, type);
    assert.match(data, re, type);
  }
  const bytes = wire(parseResponse('200:r:b@64k')).slice(19);
  assert.equal(new Set(bytes).size, 256);
});
