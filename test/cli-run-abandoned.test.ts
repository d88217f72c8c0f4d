import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkipReason } from './helpers/env.js';
import { fuzz } from './helpers/cli.js';
import type { Report } from '../reports/run-report.js';

/** A job that hits its timeout gives up on its connection the way a client should (RST), and says so. */
const skip = kernelSkipReason('unshare', 'socat');
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-abandoned-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a job that times out against a kernel-side server aborts its connection: our RST, set apart as abandoned, the job still stuck (issue #14 item 4)', { skip }, async () => {
  const out = join(dir, 'abandoned');
  // The server reads nothing and answers nothing: the 2 MB body cannot be sent before the 2 s timeout.
  const target = `exec:8080:'socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"exec 1>&-; sleep 8"'`;
  const r = await fuzz(['run', '--target', target, '--spec', 'post:/:b@2000000', '-n', '4', '-c', '4', '--timeout', '2000', '--seed', '1', '--out', out], { timeoutMs: 120_000 });
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  // Before: the client's sockets were left open to the end of the capture (no FIN, no RST of ours).
  for (const c of report.connections) assert.equal(c.c2s.rst.count, 1, `#${c.stream}: our client aborts the connection it gave up on`);
  assert.ok(report.run!.job_rows.every((j) => j.outcome === 'timeout' && j.abandoned === true));
  assert.deepEqual(report.findings.map((f) => `${f.kind}:${f.culprit}`), ['job-stuck:server']);
  assert.deepEqual(report.set_apart.map((a) => [a.reason, a.findings.map((f) => `${f.kind}:${f.culprit}`)]), [['abandoned-by-harness', ['reset:client']]]);
});
