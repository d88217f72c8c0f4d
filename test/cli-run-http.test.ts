import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz } from './helpers/cli.js';
import { kernelSkipReason } from './helpers/env.js';

/** `fuzz run --fuzzer http` against builtin:http (sim) and real nginx in the lab (tap). */
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-run-http-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

type Report = { findings: Array<{ kind: string }>; connections: Array<{ close: { verdict: string; who_closed_first: string | null } }>; run: Record<string, any> };
const report = (out: string): Report => JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));

test('builtin:http on sim: 1000 × get:/ → 1000 × 200 and no finding; a 100 KiB crafted body arrives whole; d15 leaves no hang', async () => {
  const a = join(dir, 'get');
  const r = await fuzz(['run', '--target', 'builtin:http', '--link', 'sim', '-n', '1000', '--seed', '2', '--out', a]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /HTTP responses: 1000 200/);
  assert.match(r.stdout, /no findings/);

  const b = join(dir, 'body');
  const rb = await fuzz(['run', '--target', 'builtin:http', '--link', 'sim', '-n', '20', '--spec', "get:'/p/200:b@100k'", '--seed', '2', '--out', b]);
  assert.equal(rb.code, 0, rb.stdout + rb.stderr);
  for (const row of report(b).run['job_rows'] as Array<{ bytes_in: number; http: Array<{ status: number }> }>) {
    assert.equal(row.http[0]!.status, 200);
    assert.ok(row.bytes_in > 100 * 1024, `whole body: ${row.bytes_in}`);
  }

  const c = join(dir, 'd15');
  const rc = await fuzz(['run', '--target', 'builtin:http', '--link', 'sim', '-n', '50', '--spec', 'get:/:d15', '--seed', '2', '--out', c]);
  assert.equal(rc.code, 0, rc.stdout + rc.stderr);
  assert.ok(report(c).connections.every((x) => x.close.verdict === 'complete'));
});

test('--mutate: seeded variants, each job records the frozen spec it sent, the same seed replays them', async () => {
  const a = join(dir, 'mut-a');
  const b = join(dir, 'mut-b');
  for (const out of [a, b]) {
    const r = await fuzz(['run', '--target', 'builtin:http', '--link', 'sim', '-n', '40', '--mutate', '20', '--seed', '9', '--timeout', '20s', '--out', out]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
  }
  const specs = (out: string): string[] => (report(out).run['job_rows'] as Array<{ http: Array<{ spec: string }> }>).flatMap((j) => j.http.map((h) => h.spec));
  assert.ok(specs(a).length >= 40);
  assert.deepEqual(specs(a), specs(b));
  assert.ok(new Set(specs(a)).size > 5, 'the variants differ');
});

const nginxSkip = kernelSkipReason('nginx', 'unshare');

function nginxConf(root: string): string {
  writeFileSync(
    join(root, 'nginx.conf'),
    [
      'daemon off;',
      'master_process off;',
      `pid ${root}/nginx.pid;`,
      'error_log stderr notice;',
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${root}/body;`,
      '  client_header_timeout 2s;',
      '  server { listen 10.77.0.1:8080; location / { return 200 "hello from nginx\\n"; } }',
      '}',
      '',
    ].join('\n'),
  );
  return `exec:8080:'nginx -e stderr -p ${root} -c ${root}/nginx.conf'`;
}

test('real nginx as an exec target: clean verdicts, and a stalled request is nginx closing first', { skip: nginxSkip }, async () => {
  const root = mkdtempSync(join(dir, 'nginx-'));
  const target = nginxConf(root);
  const a = join(dir, 'nginx-get');
  const r = await fuzz(['run', '--target', target, '--spec', 'get:/', '-n', '300', '-c', '64', '--out', a], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /HTTP responses: 300 200/);
  assert.match(r.stdout, /our client stack connections at the end/);

  const b = join(dir, 'nginx-d15');
  const rb = await fuzz(['run', '--target', target, '--spec', 'get:/:d15', '-n', '50', '--out', b], { timeoutMs: 90_000 });
  assert.equal(rb.code, 0, rb.stdout + rb.stderr);

  const c = join(dir, 'nginx-stall');
  const rc = await fuzz(['run', '--target', target, '--spec', 'get:/:p10,30', '-n', '4', '--timeout', '15s', '--read-timeout', '10s', '--out', c], { timeoutMs: 90_000 });
  assert.ok(rc.code === 0 || rc.code === 1, rc.stderr);
  const rep = report(c);
  assert.equal(rep.connections.length, 4);
  for (const conn of rep.connections) {
    assert.equal(conn.close.who_closed_first, 'server', 'nginx closed the stalled request (client_header_timeout)');
    assert.notEqual(conn.close.verdict, 'hang');
  }
  for (const row of rep.run['job_rows'] as Array<{ http: Array<{ error: string | null }> }>) assert.match(row.http[0]!.error ?? '', /server closed/);
  assert.doesNotMatch(rc.stdout, /missing-fin/);
});
