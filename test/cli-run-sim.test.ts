import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz } from './helpers/cli.js';

/**
 * `fuzz run --link sim`: the seed's story end to end without privileges, on the virtual clock.
 * These run the real CLI as a user would and read what it prints and writes.
 */
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-run-sim-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function report(out: string): { findings: Array<{ kind: string; connections: number; title: string }>; run: Record<string, any> } {
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
}

test('minnesota-goodbye on sim: no FIN on 128/128 connections, clients in FIN_WAIT2, exit 1', async () => {
  const out = join(dir, 'mg');
  const r = await fuzz(['run', '--target', 'builtin:goodbye', '--bug', 'minnesota-goodbye', '--link', 'sim', '--seed', '7', '--timeout', '5s', '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /no FIN on 128\/128 connections/);
  assert.match(r.stdout, /128 FIN_WAIT2/);
  assert.match(r.stdout, /tcpdump -nr \S*run\.pcap 'src host 10\.77\.0\.2 and src port 19 and tcp\[tcpflags\] & tcp-fin != 0'  \(0 packets\)/);
  assert.match(r.stdout, /128 timeout/);
  const rep = report(out);
  assert.equal(rep.findings.find((f) => f.kind === 'missing-fin')?.connections, 128);
  assert.equal(rep.run['peer_sockets_at_end'].states.FIN_WAIT2, 128);
  assert.equal(rep.run['stack_connections_at_end'].CLOSE_WAIT, 128);
  const trace = readFileSync(join(out, 'trace.log'), 'utf8');
  assert.match(trace, /\{ Listen \}  - Send_synack \d+ ->  \{ Syn_rcvd \d+ \}/);
  assert.doesNotMatch(trace, /Send_fin/, 'the target never ticks Send_fin');
});

test('minnesota-goodbye-halfway on sim: the pause and SYN/ACKs retransmitted after close, exit 1', async () => {
  const out = join(dir, 'half');
  const r = await fuzz(['run', '--bug', 'minnesota-goodbye-halfway', '--link', 'sim', '--seed', '7', '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /128 eof/);
  const rep = report(out);
  const kinds = new Map(rep.findings.map((f) => [f.kind, f.connections]));
  assert.equal(kinds.get('slow-handshake'), 128);
  assert.equal(kinds.get('retransmit-after-close'), 128);
  assert.equal(kinds.has('missing-fin'), false);
  for (const row of rep.run['job_rows'] as Array<{ first_byte_ms: number }>) assert.ok(row.first_byte_ms >= 2900, `first byte after about one 3 s RTO, got ${row.first_byte_ms}`);
});

test('fixed goodbye on sim: clean, every job ends with eof, exit 0; same seed gives the same pcap bytes', async () => {
  const a = join(dir, 'fixed-a');
  const b = join(dir, 'fixed-b');
  const ra = await fuzz(['run', '--link', 'sim', '--seed', '11', '--out', a]);
  assert.equal(ra.code, 0, ra.stdout + ra.stderr);
  assert.match(ra.stdout, /jobs ended: 128 eof/);
  const rb = await fuzz(['run', '--link', 'sim', '--seed', '11', '--out', b]);
  assert.equal(rb.code, 0);
  assert.ok(readFileSync(join(a, 'run.pcap')).equals(readFileSync(join(b, 'run.pcap'))), 'same seed, same pcap bytes');
  const rc = await fuzz(['run', '--link', 'sim', '--seed', '12', '--out', join(dir, 'fixed-c')]);
  assert.equal(rc.code, 0);
  assert.ok(!readFileSync(join(a, 'run.pcap')).equals(readFileSync(join(dir, 'fixed-c', 'run.pcap'))), 'another seed, other bytes (ISNs, ports)');
  for (const f of ['run.pcap', 'report.json', 'junit.xml', 'report.html', 'trace.log']) assert.ok(readFileSync(join(a, f)).length > 0, f);
});

test('fuzz reproduce: the bug case and its fixed twin both hold their expectations', async () => {
  for (const c of ['cases/minnesota-goodbye', 'cases/minnesota-goodbye-halfway', 'cases/minnesota-goodbye-fixed']) {
    const r = await fuzz(['reproduce', c, '--out', join(dir, c.replace('/', '-'))]);
    assert.equal(r.code, 0, `${c}:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /reproduced — every expectation held/);
  }
});

test('echo under injected faults: every job gets its bytes back intact, fault retransmissions are not findings', async () => {
  const out = join(dir, 'echo-faults');
  const r = await fuzz(['run', '--target', 'builtin:echo', '--link', 'sim', '--seed', '3', '-n', '64', '--payload', 'gen:20000', '--faults', 'drop=5%,dup=1%,reorder=2%,corrupt=0.1%', '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /jobs ended: 64 eof/);
  assert.match(r.stdout, /injected faults: /);
  const rep = report(out);
  assert.ok((rep.run['job_rows'] as Array<{ data_ok: boolean }>).every((j) => j.data_ok === true));
});

test('no false alarms on sim: 10,000 jobs at concurrency 1,000 against goodbye and echo give zero findings', async () => {
  for (const target of ['builtin:goodbye', 'builtin:echo']) {
    const r = await fuzz(['run', '--target', target, '--link', 'sim', '-n', '10000', '-c', '1000', '--seed', '5', '--out', join(dir, `big-${target.slice(8)}`)], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /jobs ended: 10000 eof/);
  }
});
