import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkipReason, run } from './helpers/env.js';
import { fuzz } from './helpers/cli.js';

/**
 * Issue #14 item 6: the seed is printed before anything can fail (a run that dies still tells
 * how to replay it), and a reused --netns that still holds sockets toward the target says so.
 */
const skip = kernelSkipReason('unshare');
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-seed-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a run whose target never comes up still printed its seed first', { skip }, async () => {
  const r = await fuzz(['run', '--target', "exec:8080:'false'", '--seed', '77', '-n', '1', '--out', join(dir, 'dead')], { timeoutMs: 60_000 });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /^seed 77; replay: fuzz run --target .* --seed 77 --link tap/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'the error is still one line');
});

test('a reused --netns holding TIME_WAIT sockets toward the target gets one warning', { skip }, async (t) => {
  const ns = `tfz-left-${process.pid}`;
  assert.equal((await run('ip', ['netns', 'add', ns])).code, 0);
  t.after(async () => void (await run('ip', ['netns', 'del', ns])));
  const args = ['run', '--target', 'builtin:echo', '-n', '8', '-c', '8', '--netns', ns, '--seed', '2'];
  const first = await fuzz([...args, '--out', join(dir, 'n1')], { timeoutMs: 60_000 });
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.doesNotMatch(first.stderr, /already holds/);
  const second = await fuzz([...args, '--out', join(dir, 'n2')], { timeoutMs: 60_000 });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stderr, new RegExp(`--netns ${ns} already holds 8 sockets toward 10\\.77\\.0\\.2:7 \\(8 TIME_WAIT\\)`));
});
