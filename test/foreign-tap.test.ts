import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkipReason, run } from './helpers/env.js';
import { fuzz } from './helpers/cli.js';
import { LWIP_SERVER, lwipSkipReason } from './helpers/lwip.js';

/**
 * `--target tap:PORT:'COMMAND'` against a stack nobody here wrote: the lwIP example server
 * (examples/lwip) on its own TAP, every frame relayed through the harness. Its verdict, its pcap
 * read by tshark, the injected faults, and the doctor's one line for each way a stack fails to
 * come up.
 */
const skip = lwipSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-foreign-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SILENT = fileURLToPath(new URL('./helpers/silent-tap.js', import.meta.url));
type Report = { findings: Array<{ kind: string; connections: number; title: string; explanation: string }>; totals: { connections: number }; verdict: { exit_code: number; explained_by_faults: Array<{ kind: string }> }; run: Record<string, any> };
const report = (out: string): Report => JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;

async function tsharkStreams(pcap: string): Promise<number> {
  const r = await run('tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'tcp.stream'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return new Set(r.stdout.split('\n').filter((l) => l.trim() !== '')).size;
}

test('lwIP on tap: 128 goodbye jobs end eof, the relay lost nothing, tshark counts the connections the report gives, lwIP\'s ISNs are named', { skip }, async () => {
  const out = join(dir, 'lwip');
  const r = await fuzz(['run', '--target', `tap:79:'${LWIP_SERVER}'`, '--seed', '12', '--out', out], { timeoutMs: 90_000 });
  const rep = report(out);
  assert.match(r.stdout, /jobs ended: 128 eof/, r.stdout + r.stderr);
  assert.match(r.stdout, /relay: \d+ frames from the stack, \d+ to it; no frame lost on the way/);
  assert.equal(rep.run['target_kind'], 'foreign');
  assert.equal(rep.totals.connections, 128);
  assert.equal(await tsharkStreams(join(out, 'run.pcap')), rep.totals.connections);
  // lwIP 2.1.3 numbers its connections from a counter (tcp_next_iss: iss += tcp_ticks): RFC 6528's point.
  assert.deepEqual(rep.findings.map((f) => f.kind), ['predictable-isn'], r.stdout);
  assert.equal(r.code, 1);
});

test('lwIP on tap with --faults drop=5%: the drops are in the pcap, attributed, and explain what they caused', { skip }, async () => {
  const out = join(dir, 'lwip-drop');
  const r = await fuzz(['run', '--target', `tap:7:'${LWIP_SERVER}'`, '--faults', 'drop=5%', '--payload', 'gen:20000', '--seed', '3', '--out', out], { timeoutMs: 120_000 });
  const rep = report(out);
  assert.ok((rep.run['fault_stats']?.dropped ?? 0) > 0, JSON.stringify(rep.run['fault_stats']));
  assert.ok(rep.run['fault_touched_connections'] > 0);
  assert.match(r.stdout, /injected faults: .*dropped/);
  // What the drops cause (retransmissions) is in the capture, and every finding left standing is not the injector's.
  const rexmt = await run('tshark', ['-n', '-r', join(out, 'run.pcap'), '-Y', 'tcp.analysis.retransmission'], { timeoutMs: 60_000 });
  assert.ok(rexmt.stdout.trim().split('\n').length > 0);
  assert.ok(!rep.findings.some((f) => f.kind === 'retransmit-storm' || f.kind === 'target-crashed' || f.kind === 'target-unresponsive'), JSON.stringify(rep.findings.map((f) => f.kind)));
});

test('a stack that crashes mid-run: target-crashed names the signal, its last frame and its stderr', { skip }, async () => {
  const out = join(dir, 'crash');
  const r = await fuzz(['run', '--target', `tap:79:'${LWIP_SERVER} --crash-after 40'`, '--timeout', '2s', '--linger', '0', '--out', out], { timeoutMs: 90_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const crash = report(out).findings.find((f) => f.kind === 'target-crashed');
  assert.ok(crash, r.stdout);
  assert.match(crash.title, /SIGABRT/);
  assert.match(crash.explanation, /its last frame was run\.pcap frame \d+, \d+\.\d{3} s into the run/);
  assert.match(crash.explanation, /--crash-after 40: aborting on connection 41/);
});

const notReady: Array<[string, string, RegExp]> = [
  ['never opens the device', `tap:79:'sleep 30'`, /never opened the TAP device tcpfuzz1 \(no carrier after \d+ ms\)/],
  ['opens it but sends nothing', `tap:79:'${process.execPath} ${SILENT}'`, /opened tcpfuzz1 but sent nothing after \d+ ms/],
  ['answers ARP for another address', `tap:79:'${LWIP_SERVER} --ip 10.77.0.9'`, /answers ARP for 10\.77\.0\.9, not 10\.77\.0\.2: .*--stack-ip 10\.77\.0\.9/],
  ['is not listening on the port', `tap:81:'${LWIP_SERVER}'`, /answered the SYN to 10\.77\.0\.2:81 with RST: nothing listens on port 81/],
  ['exits at once', `tap:79:'exit 3'`, /exited \(code 3\) before it was ready/],
];
for (const [what, target, line] of notReady) {
  test(`a stack that ${what}: one line, exit 2, no stack trace`, { skip }, async () => {
    const r = await fuzz(['run', '--target', target, '--ready-timeout', '2s', '--out', join(dir, what.replace(/\W+/g, '-'))], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^fuzz: tap target '.*' /);
    assert.match(lines[0]!, line);
  });
}

test('--stack-ip serves a stack with a fixed address; --wrap runs it under a checker whose failure at exit is the finding', { skip }, async () => {
  const out = join(dir, 'wrap');
  const checker = join(dir, 'checker.sh');
  // A checker in the manner of valgrind --error-exitcode: it outlives the stop signal the target
  // gets (its whole process group does), reports, and fails at exit.
  writeFileSync(checker, 'trap : TERM\n"$@" & pid=$!\nwait $pid; wait $pid\necho "==1== ERROR SUMMARY: 2 errors from 1 contexts" >&2\nexit 99\n');
  const r = await fuzz(['run', '--target', `tap:79:'${LWIP_SERVER} --ip 10.77.0.9'`, '--stack-ip', '10.77.0.9', '--wrap', `sh ${checker}`, '-n', '16', '--out', out], { timeoutMs: 90_000 });
  assert.match(r.stdout, /jobs ended: 16 eof/, r.stdout + r.stderr);
  const crash = report(out).findings.find((f) => f.kind === 'target-crashed');
  assert.ok(crash, r.stdout);
  assert.match(crash.title, /exited \(code 99\) when stopped/);
  assert.match(crash.explanation, /ERROR SUMMARY: 2 errors/);
  assert.match(report(out).run['command'], /--stack-ip 10\.77\.0\.9 --wrap /);
});

test('--versus: the same echo jobs against the kernel (socat) name what is lwIP\'s alone', { skip: skip ?? kernelSkipReason('socat') }, async () => {
  const out = join(dir, 'versus');
  const r = await fuzz(['run', '--target', `tap:7:'${LWIP_SERVER}'`, '--versus', "exec:7:'socat TCP-LISTEN:7,fork,reuseaddr,backlog=256 EXEC:cat'", '-n', '64', '--seed', '5', '--out', out], { timeoutMs: 120_000 });
  const v = report(out).run && (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { versus: { target_only: string[]; shared: string[]; report: string } }).versus;
  assert.ok(v, r.stdout + r.stderr);
  assert.deepEqual(v.target_only, ['predictable-isn']);
  assert.deepEqual(v.shared, []);
  assert.match(r.stdout, /the target's alone: predictable-isn · both: none/);
  assert.equal(JSON.parse(readFileSync(v.report, 'utf8')).run.seed, 5);
});

test('fuzz reproduce cases/lwip-goodbye: a tap: case holds its expectations', { skip }, async () => {
  const r = await fuzz(['reproduce', 'cases/lwip-goodbye', '--out', join(dir, 'case')], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /case lwip-goodbye: reproduced/);
});
