import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_KERNEL_IP } from '../stack/lab/index.js';
import { parseKernelTarget } from '../targets/kernel.js';
import { TargetError } from '../targets/registry.js';
import { kernelSkipReason, TestNetns } from './helpers/env.js';

test('kernel targets: tcp://HOST:PORT and exec:PORT:COMMAND parse; everything else is a one-line error', () => {
  const k = LAB_KERNEL_IP;
  assert.deepEqual(parseKernelTarget('tcp://10.77.0.1:8080', k), { kind: 'tcp', host: '10.77.0.1', port: 8080 });
  assert.deepEqual(parseKernelTarget("exec:8080:'nginx -c /t/nginx.conf'", k), { kind: 'exec', port: 8080, command: 'nginx -c /t/nginx.conf' });
  assert.deepEqual(parseKernelTarget('exec:80:"a \'b\'"', k), { kind: 'exec', port: 80, command: "a 'b'" });
  assert.deepEqual(parseKernelTarget('exec:80:socat TCP-LISTEN:80,fork EXEC:cat', k), { kind: 'exec', port: 80, command: 'socat TCP-LISTEN:80,fork EXEC:cat' });
  assert.equal(parseKernelTarget('builtin:http', k), undefined);
  const bad: Array<[string, RegExp]> = [
    ['tcp://10.77.0.1', /expected tcp:\/\/HOST:PORT/],
    ['tcp://example.com:80', /an IPv4 address: the lab has no names/],
    ['tcp://127.0.0.1:80', /cannot be reached from the stack: in the lab the kernel side is 10\.77\.0\.1/],
    ['tcp://10.77.0.1:0', /bad port '0'/],
    ['tcp://10.77.0.1:70000', /bad port '70000'/],
    ["exec:'nginx'", /bad port|expected exec:PORT:'COMMAND'/],
    ['exec:8080:', /has no command/],
    ["exec:8080:''", /has no command/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseKernelTarget(text, k), (e: unknown) => e instanceof TargetError && re.test(e.message) && !e.message.includes('\n'), text);
  }
});

const skip = kernelSkipReason('nginx', 'socat', 'curl');

test('exec target: real nginx in the lab, fuzzed by our stack over the TAP; curl fetches builtin:http /p/ there', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-nginx-'));
  const ns = await TestNetns.create('tcpfuzz-http');
  try {
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'master_process off;',
        `pid ${dir}/nginx.pid;`,
        'error_log stderr notice;',
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        `  client_body_temp_path ${dir}/body;`,
        `  proxy_temp_path ${dir}/proxy;`,
        '  client_header_timeout 2s;',
        '  keepalive_timeout 75s;',
        '  server {',
        '    listen 10.77.0.1:8080;',
        '    location / { return 200 "hello from nginx\\n"; }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const target = `exec:8080:'nginx -e stderr -p ${dir} -c ${dir}/nginx.conf'`;
    const child = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'http-kernel-child.js');
    const r = await ns.exec(process.execPath, [child, JSON.stringify({ target, dir })], { timeoutMs: 110_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(out.error, undefined, out.error);

    assert.match(out.localhostOnly, /listens on 127\.0\.0\.1:8081 only, which the stack cannot reach: listen on 10\.77\.0\.1:8081 or 0\.0\.0\.0:8081/);
    assert.match(out.exitsEarly, /exec target 'echo boom; exit 3': exited \(code 3\) before listening; log .*target\.log: boom/);
    assert.match(out.neverListens, /nothing listens on 10\.77\.0\.1:8083 after 500 ms/);
    assert.ok(out.readyMs < 10_000);

    assert.deepEqual(out.single.outcomes, { eof: 200 });
    assert.deepEqual(out.single.statuses, { 200: 200 });
    assert.equal(out.single.connections, 200);
    assert.deepEqual(out.persistent.statuses, { 200: 500 });
    assert.equal(out.persistent.connections, 5);
    assert.deepEqual(out.persistent.outcomes, { eof: 5 });
    assert.deepEqual(out.closeRequested.statuses, { 200: 50 });
    assert.deepEqual(out.closeRequested.outcomes, { eof: 50 });
    for (const s of [out.single, out.persistent, out.closeRequested]) {
      assert.deepEqual([s.errors, s.malformed], [[], 0]);
    }
    // A request cut after 15 bytes: nginx closes (it answers nothing to a bare request line).
    assert.deepEqual(out.disconnect.outcomes, { eof: 20 });
    assert.deepEqual(out.disconnect.errors, ['no response before the connection closed']);
    // A request stalled for 30 s: nginx's client_header_timeout (2 s) closes it, with a FIN.
    assert.deepEqual(out.stalled.outcomes, { eof: 1 });
    assert.deepEqual(out.stalled.errors, ['server closed the connection after 10 of 35 request bytes']);
    assert.ok(out.stalled.durationsMs[0] >= 1900 && out.stalled.durationsMs[0] < 5000, `closed after ${out.stalled.durationsMs[0]} ms`);
    assert.equal(out.resetsReceived, 0);
    assert.equal(out.resetsSent, 0);

    // Stopped by us (the shell may die of the SIGTERM itself); nginx got it and shut down.
    assert.equal(out.exit.beforeStop, false);
    assert.equal(out.pidGone, true);
    assert.match(readFileSync(join(dir, 'target.log'), 'utf8'), /signal 15 \(SIGTERM\) received.*exiting/);
    assert.equal(out.curl, 'hi');
  } finally {
    await ns.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
