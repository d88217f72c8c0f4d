import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  freezeMessage,
  parseRequests,
  parseResponse,
  renderMessage,
  sentBytes,
  type MessageSpec,
  type RenderedMessage,
  type RenderOptions,
} from '../fuzzers/http/spec/index.js';
import { Rng } from '../stack/rng.js';

const REQUESTS = [
  'get:/:b@10,ascii:ir,@1',
  'GET:@100:h@5=@7,digits:c@3:u@4,hexdigits:b@2k:pr,1:ir,@3:ir,\'x\':dr',
  'post:/up:b@1k,whitespace:ia,@2:pa,f',
  "ws:/chat:h'Origin'='x':ir,@1",
  "'FOO':'http://Example.org:81/a':b'\\x00\\xff':i0,@4",
  "get:/p/:s'200:b@10:ir,@1':dr",
  'get:/a\\x3ab:b@1,punctuation',
  'get:/:x3:b@5',
];
const RESPONSES = ['200:b@100,ascii_letters:ir,@10:pr,2', 'ws:b@10:dr', "404:m@5:l@3:c'x':ia,@1", '200:r:b@50,octdigits:dr'];

function summary(r: RenderedMessage): unknown {
  return {
    bytes: Buffer.from(sentBytes(r)).toString('latin1'),
    actions: r.plan.filter((s) => s.kind !== 'bytes'),
  };
}

function roundTrip(msg: MessageSpec, parse: (s: string) => MessageSpec, seed: number): void {
  const opts: RenderOptions = { rng: new Rng(seed), host: 'example.com', websocketKey: 'dGhlIHNhbXBsZSBub25jZQ==' };
  const rendered = renderMessage(msg, opts);
  const frozen = rendered.freeze();
  const again = parse(frozen);
  const replay = renderMessage(again, { ...opts, rng: new Rng(seed + 1000), host: 'elsewhere.net' });
  assert.deepEqual(summary(replay), summary(rendered), frozen);
  // A frozen spec has nothing left to draw: freezing it again gives it back.
  assert.equal(replay.freeze(), frozen);
  // freezeMessage with the same Rng state freezes the same rendering.
  assert.equal(freezeMessage(msg, { ...opts, rng: new Rng(seed) }), frozen);
}

test('parse(freeze(x)) renders the same bytes and actions as x, for requests', () => {
  for (const spec of REQUESTS) {
    for (const msg of parseRequests(spec)) {
      for (let seed = 0; seed < 20; seed++) roundTrip(msg, (s) => parseRequests(s)[0]!, seed);
    }
  }
});

test('parse(freeze(x)) renders the same bytes and actions as x, for responses', () => {
  for (const spec of RESPONSES) {
    for (let seed = 0; seed < 20; seed++) roundTrip(parseResponse(spec), parseResponse, seed);
  }
});

test('the frozen spec has pathod\'s shape: literals, numeric offsets, auto headers appended', () => {
  const frozen = freezeMessage(parseRequests('get:/:b@10,ascii:ir,@1')[0]!, { rng: new Rng(42), host: 'example.com' });
  assert.match(frozen, /^'GET':\/:b'[^]{10,40}':i\d+,'[^]{1,4}':h'Content-Length'='10':h'Host'='example\.com'$/);
  const i = Number(/:i(\d+),/.exec(frozen)![1]);
  assert.ok(i >= 0 && i < 'GET / HTTP/1.1\r\nContent-Length: 10\r\nHost: example.com\r\n\r\n'.length + 10);
});

test('different seeds give different renderings; the same seed the same one', () => {
  const [msg] = parseRequests('get:/:b@32:ir,@1');
  const f = (seed: number): string => freezeMessage(msg!, { rng: new Rng(seed) });
  assert.equal(f(5), f(5));
  assert.notEqual(f(5), f(6));
});
