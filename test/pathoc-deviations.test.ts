import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freezeMessage, parseRequests, parseResponse, renderMessage, sentBytes, specString, type MessageSpec, type RenderOptions } from '../fuzzers/http/spec/index.js';
import { Rng } from '../stack/rng.js';

/**
 * Each place we deliberately differ from pathod 6.0.2 (docs/pathoc.md), with what pathod did.
 * pathod's results quoted here come from running its own language code.
 */

function wire(msg: MessageSpec, opts: Partial<RenderOptions> = {}): string {
  return Buffer.from(sentBytes(renderMessage(msg, { rng: new Rng(1), ...opts }))).toString('latin1');
}
const body = (spec: string): string => wire(parseResponse(spec)).split('\r\n\r\n').slice(1).join('\r\n\r\n');

test('several actions inside one value land at their documented offsets (pathod: 01X2Y3456789)', () => {
  assert.equal(body("200:r:b'0123456789':i21,'X':i24,'Y'"), '01X234Y56789');
  assert.equal(body("200:r:b'0123456789':i20,'X':i21,'Y':i22,'Z'"), '0X1Y2Z3456789');
});

test('ties run in spec order and nothing is sent twice (pathod: HaH)', () => {
  assert.equal(wire(parseResponse("200:b'x':i1,'a':p1,0:d1:i1,'z'")), 'Ha');
});

test('a pause forever after the end is a plan step (pathod crashed: time.sleep("f"))', () => {
  const r = renderMessage(parseResponse('200:pa,f'), { rng: new Rng(1) });
  assert.deepEqual(r.plan.at(-1), { kind: 'pause', seconds: 'forever', at: r.length });
});

test('a nested response is appended to the path as its canonical spec (pathod crashed on Python 3)', () => {
  assert.equal(wire(parseRequests("get:/p/:s'200:b\"hi\"'")[0]!), "GET /p/200:b'hi' HTTP/1.1\r\n\r\n");
});

test('freeze keeps a nested response as written, so the request line replays unchanged', () => {
  const req = parseRequests("get:/p/:s'200:b@10'")[0]!;
  const frozen = freezeMessage(req, { rng: new Rng(1), host: 'h' });
  assert.equal(frozen, "'GET':/p/:s'200:b@10':h'Host'='h'");
  assert.equal(wire(parseRequests(frozen)[0]!), wire(req, { host: 'h' }));
});

test('a backslash escapes a quote inside a quoted literal, as the docs say (pathod: "Trailing \\ in string")', () => {
  assert.equal(body("200:b'fo\\'o'"), "fo'o");
  assert.equal(body('200:b"a\\"b"'), 'a"b');
  assert.equal(body("200:b'a\\\\'"), 'a\\');
});

test('escapes decode once, by Python\'s rules (pathod pre-converted \\n, so \'a\\\\nb\' became "ab")', () => {
  assert.equal(body("200:b'a\\\\nb'"), 'a\\nb');
  assert.equal(body("200:b'a\\\\tb'"), 'a\\tb');
});

test('a literal u value prints as a literal (pathod printed u\'a\' as ua, the Android shortcut)', () => {
  const [r] = parseRequests("get:/:u'a'");
  assert.equal(specString(r!), "'GET':/:u'a'");
  assert.equal(wire(parseRequests(specString(r!))[0]!), 'GET / HTTP/1.1\r\nUser-Agent: a\r\n\r\n');
  const frozen = freezeMessage(parseRequests('get:/:u@1,digits')[0]!, { rng: new Rng(1) });
  assert.match(frozen, /:u'\d'$/);
});

test('bare values that would re-parse differently print quoted (pathod: get:/a\\x3ab printed /a:b)', () => {
  assert.equal(specString(parseRequests('get:/a\\x3ab')[0]!), "'GET':'/a:b'");
  assert.equal(specString(parseRequests('get:/a\\x20b')[0]!), "'GET':'/a b'");
  assert.equal(specString(parseRequests('get:/a\\x40b')[0]!), "'GET':'/a@b'");
  assert.equal(specString(parseRequests('get:\\x3cx')[0]!), "'GET':'<x'");
  assert.equal(specString(parseRequests('get:/a\\tb')[0]!), "'GET':/a\\tb");
  for (const s of ['get:/a\\x3ab', 'get:/a\\x20b', 'get:\\x3cx']) {
    const [r] = parseRequests(s);
    assert.equal(wire(parseRequests(specString(r!))[0]!), wire(r!), s);
  }
});

test('a generated path gets the connection host (pathod crashed joining a generator)', () => {
  const out = wire(parseRequests('GET:@10,digits')[0]!, { host: 'example.com' });
  assert.match(out, /^GET \d{10} HTTP\/1\.1\r\nHost: example\.com\r\n\r\n$/);
});

test('a generated user agent is sent (pathod crashed: no .val on a generated value)', () => {
  assert.match(wire(parseRequests('get:/:u@5,digits')[0]!), /\r\nUser-Agent: \d{5}\r\n/);
});

test('an @N header key is matched by the bytes actually sent, not a fresh draw', () => {
  // @14,ascii_letters can never be "Content-Length" (has a dash), so Content-Length is added.
  assert.match(wire(parseRequests("get:/:h@14,ascii_letters='5':b'abc'")[0]!), /\r\nContent-Length: 3\r\n/);
});

test('duplicate clauses are reported at the duplicate (pathod: column 0)', () => {
  assert.throws(() => parseResponse('400:b@1:b@1'), (e: Error & { column?: number }) => e.column === 9);
});

test('numbers past 2^53, x over a million and frozen @N over 16 MiB are refused', () => {
  assert.throws(() => parseRequests('get:/:d9007199254740993'), /number too large/);
  assert.throws(() => parseRequests('get:/:b@9000t'), /too large/);
  assert.throws(() => parseRequests('get:/:x1000001'), /limit of 1000000/);
  assert.throws(() => freezeMessage(parseRequests('get:/:b@17m')[0]!, { rng: new Rng(1) }), /at most 16777216 bytes/);
});

test('websocket frames (wf) are not part of this language yet and are refused', () => {
  assert.throws(() => parseRequests("wf:b'foo'"));
});
