import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkipReason } from './helpers/env.js';
import { fuzz, FUZZ } from './helpers/cli.js';

/**
 * Regression tests for the defects the harness-architecture issue names: JUnit that disagreed
 * with the verdict or carried the whole run, and user-fixable failures (a target that never
 * listens, a bad log level, a parent killed mid-start) that ended as internal errors with stacks.
 */
const skipTap = kernelSkipReason('unshare');
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-defects-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** exit 2, one `fuzz: ` line on stderr matching `re`, no stack trace. */
function assertOneLine(r: { code: number | null; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^fuzz: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
}

const junitTotals = (out: string): { tests: number; failures: number; xml: string } => {
  const xml = readFileSync(join(out, 'junit.xml'), 'utf8');
  const m = /<testsuites [^>]*tests="(\d+)" failures="(\d+)"/.exec(xml)!;
  return { tests: Number(m[1]), failures: Number(m[2]), xml };
};

for (const link of ['sim', 'tap'] as const) {
  test(`--faults on builtin:echo over ${link}: a clean verdict is a clean JUnit, the explained findings reported in it`, { skip: link === 'tap' ? skipTap : undefined }, async () => {
    const out = join(dir, `faults-${link}`);
    const r = await fuzz(['run', '--link', link, '--target', 'builtin:echo', '--faults', 'drop=5%,dup=1%,reorder=2%', '-n', '64', '--seed', '3', '--out', out], { timeoutMs: 90_000 });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { verdict: { exit_code: number; explained_by_faults: unknown[] } };
    const junit = junitTotals(out);
    assert.equal(junit.failures === 0, r.code === 0, `JUnit failures ${junit.failures} vs exit ${r.code}: ${r.stdout}`);
    assert.equal(report.verdict.explained_by_faults.length > 0, true, 'this seed has findings the faults explain');
    assert.equal((junit.xml.match(/name="explained by the injected faults: /g) ?? []).length, report.verdict.explained_by_faults.length);
  });
}

test('junit.xml holds test cases, not the run: no job rows in it on a 2,000-job run', async () => {
  const out = join(dir, 'big');
  const r = await fuzz(['run', '--link', 'sim', '--target', 'builtin:echo', '-n', '2000', '-c', '200', '--seed', '5', '--out', out], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const junit = junitTotals(out);
  assert.doesNotMatch(junit.xml, /job_rows|"job":/);
  assert.ok(statSync(join(out, 'junit.xml')).size < statSync(join(out, 'report.json')).size / 4, 'the data stays in report.json');
  assert.equal(junit.failures, 0);
});

test('--log-level bogus: one line, exit 2', async () => {
  assertOneLine(await fuzz(['run', '--link', 'sim', '-n', '1', '--log-level', 'bogus', '--out', join(dir, 'll')]), /--log-level must be one of .*got 'bogus'/);
});

test('a kernel-side target that never listens, exits early, or is not there: one line naming why, exit 2', { skip: skipTap }, async () => {
  const never = await fuzz(['run', '--target', "exec:8083:'sleep 30'", '-n', '1', '--out', join(dir, 'never')], { timeoutMs: 60_000 });
  assertOneLine(never, /exec target 'sleep 30': nothing listens on 10\.77\.0\.1:8083 after \d+ ms/);
  const early = await fuzz(['run', '--target', "exec:8080:'echo bad config >&2; false'", '-n', '1', '--out', join(dir, 'early')], { timeoutMs: 60_000 });
  assertOneLine(early, /exited \(code 1\) before listening.*bad config/);
  const absent = await fuzz(['run', '--target', 'tcp://10.77.0.1:8081', '-n', '1', '--out', join(dir, 'absent')], { timeoutMs: 60_000 });
  assertOneLine(absent, /nothing listens on 10\.77\.0\.1:8081 after 5000 ms/);
});

test('the parent killed 0.2 s into a TAP run: the lab child ends by itself, without a stack trace', { skip: skipTap }, async () => {
  const out = join(dir, 'killed');
  const child = spawn(process.execPath, [FUZZ, 'run', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
  setTimeout(() => child.kill('SIGKILL'), 200);
  // The pipes close once every process holding them (the lab child too) has ended: bounded.
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 40_000);
    child.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
  assert.ok(closed, `the lab child outlived its parent by 40 s: ${text}`);
  assert.doesNotMatch(text, /internal error|\n\s+at |LabError/);
  if (existsSync(join(out, 'run.pcap'))) assert.ok(statSync(join(out, 'run.pcap')).size >= 24, 'a pcap, when there is one, has its header');
});
