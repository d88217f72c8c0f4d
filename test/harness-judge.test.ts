import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultLedger } from '../harness/fault-ledger.js';
import { judge } from '../harness/judge.js';
import { planRun, type RunSettings } from '../harness/plan.js';
import type { RawRun } from '../harness/raw-run.js';
import { buildRunReport } from '../harness/run-report.js';
import { parseIpv4 } from '../stack/addr.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../stack/wire/ethernet.js';
import { emitIpv4, IPPROTO_TCP } from '../stack/wire/ipv4.js';
import { ACK, emitTcp, FIN, PSH, SYN } from '../stack/wire/tcp.js';
import type { JobResult } from '../fuzzers/netcat/job.js';
import { analyzeFrames, Conversation, type TimedFrame } from './analyze-support.js';

/**
 * The judge on small fixtures, without a child process: a plan, what the run saw (job results,
 * peer sockets, the fault ledger) and the capture's analysis → the findings that stand, those
 * the faults explain, and the report's verdict.
 */
const C = parseIpv4('10.77.0.1')!;
const S = parseIpv4('10.77.0.2')!;
const env = { privileged: false, readFile: () => new Uint8Array(0), now: new Date(0), randomSeed: () => 1 };
const plan = (s: RunSettings = {}) => planRun({ link: 'sim', seed: 1, out: '/tmp/x', ...s }, env);
const GOODBYE = new TextEncoder().encode('I made a string!\n');

function job(id: number, port: number, over: Partial<JobResult> = {}): JobResult {
  return { id, outcome: 'eof', localAddress: '10.77.0.1', localPort: port, remoteAddress: '10.77.0.2', remotePort: 19, startedAt: 0, endedAt: 10, bytesOut: 7, bytesIn: GOODBYE.length, received: GOODBYE, ...over };
}

function raw(jobs: JobResult[], over: Partial<RawRun> = {}): RawRun {
  return {
    link: 'sim',
    jobs,
    notStarted: 0,
    interrupted: false,
    peerSockets: new Map(jobs.map((j) => [`10.77.0.1:${j.localPort}`, 'TIME_WAIT'])),
    peerSocketSource: 'test',
    pcapPath: 'run.pcap',
    pcapFrames: 0,
    tracePath: 'trace.log',
    traceLines: 0,
    faultStats: undefined,
    faultLedger: undefined,
    startedAt: 0,
    endedAt: 1000,
    stackStats: {},
    stackStates: {},
    harness: null,
    kernelTcp: null,
    ...over,
  };
}

/** Complete goodbye connections from client ports `ports`, and half-closed ones (no server FIN) from `halfClosed`. */
function capture(ports: number[], halfClosed: number[] = []): ReturnType<typeof analyzeFrames> {
  const frames: TimedFrame[] = [];
  for (const p of ports) new Conversation(frames, [C, p], [S, 19]).handshake().send(1, PSH | ACK, { len: 16 }).send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
  for (const p of halfClosed) new Conversation(frames, [C, p], [S, 19]).handshake().send(1, PSH | ACK, { len: 16 }).send(0, FIN | ACK).send(1, ACK);
  return analyzeFrames(frames, { server: { ip: S, port: 19 } });
}

test('a clean run: no findings, a row per job joined with its connection and its peer socket', () => {
  const p = plan();
  const analysis = capture([40000, 40001]);
  const v = judge(p, raw([job(0, 40000), job(1, 40001)]), analysis);
  assert.deepEqual(v.findings, []);
  assert.deepEqual(v.explained, []);
  assert.deepEqual(
    v.rows.map((r) => [r.job, r.client, r.stream, r.verdict, r.peer_state_at_end, r.data_ok]),
    [
      [0, '10.77.0.1:40000', 0, 'complete', 'TIME_WAIT', true],
      [1, '10.77.0.1:40001', 1, 'complete', 'TIME_WAIT', true],
    ],
  );
  const report = buildRunReport(p, raw([job(0, 40000), job(1, 40001)]), analysis, v);
  assert.equal(report.verdict.exit_code, 0);
  assert.equal(report.verdict.status, 'clean');
  assert.equal(report.run?.job_outcomes.eof, 2);
});

test('wrong bytes and a stuck job are run findings, with the jobs they name and their connections as instances', () => {
  const p = plan();
  const jobs = [job(0, 40000, { received: new TextEncoder().encode('I made a strin') }), job(1, 40001, { outcome: 'timeout' })];
  const v = judge(p, raw(jobs), capture([40000, 40001]));
  assert.deepEqual(
    v.findings.map((f) => [f.source, f.kind, f.jobs, f.instances.map((i) => i.stream)]),
    [
      ['run', 'wrong-data', [0], [0]],
      ['run', 'job-stuck', [1], [1]],
    ],
  );
  const wrong = v.findings[0]!;
  assert.match(wrong.explanation, /job 0: /);
  assert.equal(wrong.show.tshark, 'tcp.stream in {0}');
  assert.equal(wrong.show.tshark_packets, 7, 'the stream filter shows its 7 packets');
  const report = buildRunReport(p, raw(jobs), capture([40000, 40001]), v);
  assert.equal(report.verdict.exit_code, 1);
  assert.deepEqual(report.verdict.by_kind, { 'wrong-data': 1, 'job-stuck': 1 });
});

test('a timed-out job on a connection with a capture finding is that finding, not a stuck job', () => {
  const v = judge(plan(), raw([job(0, 40000, { outcome: 'timeout' })]), capture([], [40000]));
  assert.deepEqual(
    v.findings.map((f) => [f.source, f.kind]),
    [['capture', 'missing-fin']],
  );
});

test('faults: a finding whose every connection the injector touched is explained, not standing; one untouched keeps it standing', () => {
  const p = plan({ faults: 'drop=1%' });
  const ledger = new FaultLedger(S, () => 0, () => 0);
  const frame = (port: number): Uint8Array =>
    emitEthernet({
      dst: 2,
      src: 1,
      ethertype: ETHERTYPE_IPV4,
      payload: emitIpv4({ src: C, dst: S, protocol: IPPROTO_TCP, ttl: 64, tos: 0, ident: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: new Uint8Array(0), payload: emitTcp({ srcPort: port, dstPort: 19, seq: 1, ack: 0, flags: SYN, window: 1, urgent: 0, options: [], payload: new Uint8Array(0) }, C, S) }),
    });
  ledger.observe('dropped', frame(40000), 'in');
  const touchedOnly = judge(p, raw([job(0, 40000, { outcome: 'timeout' })], { faultLedger: ledger, faultStats: { dropped: 1 } }), capture([], [40000]));
  assert.deepEqual(touchedOnly.findings, []);
  assert.deepEqual(touchedOnly.explained.map((f) => f.kind), ['missing-fin']);
  const mixed = judge(p, raw([job(0, 40000, { outcome: 'timeout' }), job(1, 40001, { outcome: 'timeout' })], { faultLedger: ledger }), capture([], [40000, 40001]));
  assert.deepEqual(mixed.findings.map((f) => [f.kind, f.connections]), [['missing-fin', 2]]);
  assert.deepEqual(mixed.explained, []);
  const report = buildRunReport(p, raw([job(0, 40000, { outcome: 'timeout' })], { faultLedger: ledger }), capture([], [40000]), touchedOnly);
  assert.equal(report.verdict.exit_code, 0);
  assert.equal(report.totals.findings['missing-fin'], 0, 'totals are recomputed after the separation');
  assert.equal(report.totals.flagged_connections, 0);
  assert.equal(report.verdict.explained_by_faults.length, 1);
});
