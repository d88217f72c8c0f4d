import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fuzz, FUZZ } from './helpers/cli.js';

const T = { timeoutMs: 20_000 };

test('fuzz spec render writes the exact request bytes to stdout', async () => {
  const r = await fuzz(['spec', 'render', "get:/x:h'Accept'='*/*':b'hi'", '--host', 'example.com', '--seed', '1'], T);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'GET /x HTTP/1.1\r\nAccept: */*\r\nContent-Length: 2\r\nHost: example.com\r\n\r\nhi');
  assert.equal(r.stderr, '');
});

test('several requests follow one another; --kind response renders a response', async () => {
  const two = await fuzz(['spec', 'render', 'get:/a put:/b', '--seed', '1'], T);
  assert.equal(two.stdout, 'GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\n\r\n');
  const resp = await fuzz(['spec', 'render', '--kind', 'response', '200:b"hi"', '--seed', '1'], T);
  assert.equal(resp.code, 0, resp.stderr);
  assert.equal(resp.stdout, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
});

test('pauses and disconnects are listed on stderr; output stops at the disconnect', async () => {
  const r = await fuzz(['spec', 'render', "get:/:b'xyz':p3,10:pa,f:i5,'!':d20", '--seed', '1'], T);
  assert.equal(r.code, 0, r.stderr);
  // d20: base bytes 0-19 go out (plus the injected '!'), then the connection closes.
  assert.equal(r.stdout, 'GET /! HTTP/1.1\r\nCont');
  assert.equal(r.stderr, '# pause 10s at byte 3\n# disconnect at byte 21\n');
  const forever = await fuzz(['spec', 'render', 'get:/:pa,f', '--seed', '1'], T);
  assert.equal(forever.stderr, '# pause forever at byte 18\n');
});

test('without --seed a seed is chosen and printed; giving it back replays the same bytes', async () => {
  const first = await fuzz(['spec', 'render', 'get:/:b@16,ascii_letters:ir,@1'], T);
  const seed = /^# seed (\d+)$/m.exec(first.stderr)?.[1];
  assert.ok(seed, first.stderr);
  const again = await fuzz(['spec', 'render', 'get:/:b@16,ascii_letters:ir,@1', '--seed', seed], T);
  assert.equal(again.stdout, first.stdout);
});

test('--explain prints the frozen spec, which renders to the same bytes', async () => {
  const spec = 'get:/:b@10,ascii_letters:ir,@1,digits';
  const bytes = await fuzz(['spec', 'render', spec, '--host', 'example.com', '--seed', '77'], T);
  const explained = await fuzz(['spec', 'render', spec, '--host', 'example.com', '--seed', '77', '--explain'], T);
  assert.equal(explained.code, 0, explained.stderr);
  const frozen = explained.stdout.trimEnd();
  assert.match(frozen, /^'GET':\/:b'[A-Za-z]{10}':i\d+,'\d':h'Content-Length'='10':h'Host'='example\.com'$/);
  const replay = await fuzz(['spec', 'render', frozen, '--seed', '1'], T);
  assert.equal(replay.stdout, bytes.stdout);
});

test('a bad spec exits 2 with the column marked under the spec, and no stack trace', async () => {
  const r = await fuzz(['spec', 'render', 'get:/:b'], T);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `fuzz: bad request spec at column 8: expected a value ('…', "…", @N, <file or a bare word), found end of spec\n  get:/:b\n         ^\n`,
  );
  const resp = await fuzz(['spec', 'render', '--kind', 'response', '200:x3'], T);
  assert.equal(resp.code, 2);
  assert.match(resp.stderr, /^fuzz: bad response spec at column 5: expected a component \(h c l r m b p d i\)/);
});

test('bad flags and unreadable files are one-line usage errors', async () => {
  for (const [args, pattern] of [
    [['spec', 'render', 'get:/', '--kind', 'frame'], /--kind must be request or response/],
    [['spec', 'render', 'get:/', '--seed', 'x'], /--seed must be a whole number/],
    [['spec', 'render', 'get:/', '--frob'], /frob/],
    [['spec', 'render'], /exactly one SPEC/],
    [['spec', 'draw', 'get:/'], /subcommand: render/],
    [['spec', 'render', 'get:/:b<no-such-file-here', '--seed', '1'], /File not readable: no-such-file-here/],
    [['spec', 'render', '--kind', 'response', 'ws', '--seed', '1'], /No websocket key/],
  ] as const) {
    const r = await fuzz([...args], T);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^fuzz: /);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('a reader that goes away (| head) ends a huge render promptly and cleanly', async () => {
  const child = spawn(process.execPath, [FUZZ, 'spec', 'render', 'get:/:b@100g', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let got = 0;
    for await (const chunk of child.stdout) {
      got += (chunk as Buffer).length;
      if (got >= 1 << 20) break;
    }
    child.stdout.destroy();
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.equal(signal, null, 'killed by the timeout: the render did not stop');
    assert.equal(code, 0, stderr);
    assert.ok(got >= 1 << 20);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});
