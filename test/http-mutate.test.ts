import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../stack/rng.js';
import { mutateSpecs } from '../fuzzers/http/mutate.js';
import { parseRequests, renderMessage } from '../fuzzers/http/spec/index.js';

const SEEDS = ['get:/', "post:/a:b'x':x3 get:/b", 'ws:/chat'];

test('mutate: the same seed gives the same variants; another seed gives others', () => {
  const a = mutateSpecs(SEEDS, new Rng(7), 200);
  const b = mutateSpecs(SEEDS, new Rng(7), 200);
  const c = mutateSpecs(SEEDS, new Rng(8), 200);
  assert.equal(a.length, 200);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(new Set(a).size > 150, `only ${new Set(a).size} distinct variants of 200`);
});

test('mutate: every variant parses, keeps its seed message count (xN groups included) and renders', () => {
  const sizes = new Set(SEEDS.map((s) => parseRequests(s).length));
  for (const v of mutateSpecs(SEEDS, new Rng(1), 300)) {
    const msgs = parseRequests(v);
    assert.ok(sizes.has(msgs.length), `${v} has ${msgs.length} messages`);
    for (const m of new Set(msgs)) renderMessage(m, { rng: new Rng(3), host: 'example.com' });
  }
});

test('mutate: every kind of mutation shows up, as the spec language writes it', () => {
  const all = mutateSpecs(['get:/'], new Rng(2), 400).join('\n');
  const kinds: Array<[string, RegExp]> = [
    ['disconnect at an offset', /:d\d+/],
    ['injection at an offset', /:i\d+,/],
    ['pause at an offset', /:p\d+,[123](?::|$)/m],
    ['oversized header', /h'X-Fuzz-\d+'=@\d+k,ascii_letters/],
    ['garbled header', /:h@\d+=@\d+/],
    ['many headers', /(:h'X-H\d+'='x'){64}/],
    ['odd method', /^(?!'GET')('[^']*'|@\d+,ascii_uppercase):/m],
    ['huge body', /:b@(256|1024|4096|16384)k/],
    ['bad framing', /h'(Content-Length|Transfer-Encoding)'=/],
    ['bad CRLF injection', /:i\d+,'(\\r|\\n)/],
  ];
  for (const [name, re] of kinds) assert.match(all, re, name);
});

test('mutate: action offsets fall inside the message (or just past its end)', () => {
  for (const v of mutateSpecs(['get:/index.html'], new Rng(4), 300)) {
    const [m] = parseRequests(v);
    const base = renderMessage(m!, { rng: new Rng(0) }).baseLength;
    for (const t of m!.tokens) {
      if (t.type === 'pause' || t.type === 'disconnect' || t.type === 'inject') {
        assert.equal(typeof t.offset, 'number', v);
        assert.ok((t.offset as number) <= base, `${v}: offset ${String(t.offset)} past ${base}`);
      }
    }
  }
});

test('mutate: nothing to mutate gives nothing', () => {
  assert.deepEqual(mutateSpecs([], new Rng(1), 5), []);
  assert.deepEqual(mutateSpecs(['get:/'], new Rng(1), 0), []);
});
