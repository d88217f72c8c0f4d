import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz } from './helpers/cli.js';

/** A user's mistake: exit 2, exactly one line on stderr, no stack trace, nothing on stdout. */
async function assertUsageError(args: string[], pattern: RegExp): Promise<void> {
  const r = await fuzz(args, { timeoutMs: 20_000 });
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line for ${args.join(' ')}, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^fuzz: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('bad input to fuzz run: one clear line, exit 2, nothing created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-cli-'));
  try {
    const out = join(dir, 'out');
    await assertUsageError(['run', '--target', 'builtin:nope', '--out', out], /unknown target 'builtin:nope'.*builtin:goodbye/);
    await assertUsageError(['run', '--bug', 'no-such-bug', '--out', out], /unknown bug profile|no-such-bug/);
    await assertUsageError(['run', '--jobs=-5', '--out', out], /--jobs must be between 1/);
    await assertUsageError(['run', '-n', '-5', '--out', out], /'-n' argument is ambiguous/);
    await assertUsageError(['run', '-c', '0', '--out', out], /--concurrency must be between 1/);
    await assertUsageError(['run', '--timeout', 'soon', '--out', out], /--timeout must be a duration/);
    await assertUsageError(['run', '--link', 'wifi', '--out', out], /--link must be tap or sim/);
    await assertUsageError(['run', '--faults', 'drop=200%', '--out', out], /--faults/);
    await assertUsageError(['run', '--frobnicate'], /frobnicate/);
    await assertUsageError(['nonsense'], /unknown command 'nonsense'/);
    assert.equal(existsSync(out), false, 'no output folder for rejected runs');

    const ro = join(dir, 'ro');
    writeFileSync(ro, 'a file, not a folder');
    await assertUsageError(['run', '--link', 'sim', '--out', join(ro, 'x')], /not a directory/);
    // /proc refuses new folders even to root: a permission check alone would miss it.
    await assertUsageError(['run', '--link', 'sim', '--out', '/proc/tcpfuzz-out'], /not writable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz reproduce and fuzz list: bad input exits 2, list names targets, bugs and cases', async () => {
  await assertUsageError(['reproduce', 'cases/no-such-case'], /no case 'cases\/no-such-case'/);
  await assertUsageError(['reproduce'], /exactly one CASE/);
  const r = await fuzz(['list']);
  assert.equal(r.code, 0);
  for (const name of ['builtin:goodbye', 'builtin:echo', 'builtin:discard', 'minnesota-goodbye', 'minnesota-goodbye-halfway', 'cases/minnesota-goodbye-fixed']) {
    assert.ok(r.stdout.includes(name), `fuzz list names ${name}`);
  }
  const help = await fuzz(['--help']);
  assert.equal(help.code, 0);
  for (const cmd of ['run', 'reproduce', 'serve', 'list', 'analyze']) assert.match(help.stdout, new RegExp(`\\n  ${cmd} `));
});
