/**
 * `tap:` targets as data, without a lab: the target's syntax and placeholders, the plan's checks,
 * `--versus` planning and comparison, and the readiness doctor's line from what it saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRun, type PlanEnv } from '../harness/plan.js';
import { replayCommand } from '../harness/replay.js';
import { parseIpv4 } from '../stack/addr.js';
import { emitArp, ARP_REPLY, ARP_REQUEST } from '../stack/wire/arp.js';
import { emitEthernet, ETHERTYPE_ARP } from '../stack/wire/ethernet.js';
import { UserError } from '../stack/user-error.js';
import { foreignCommand, foreignEnv, parseForeignTarget } from '../targets/foreign.js';
import { notReadyReason, ReadinessWatch } from '../targets/foreign-ready.js';
import { compareRuns } from '../reports/versus.js';
import { asReport, analyzeFrames, sampleRunSection, tcpFrame } from './analyze-support.js';

const env: PlanEnv = { privileged: true, readFile: () => new Uint8Array(), now: new Date(Date.UTC(2026, 11, 4)), randomSeed: () => 7 };
const STACK = parseIpv4('10.77.0.2')!;
const KERNEL = parseIpv4('10.77.0.1')!;

test('tap:PORT:COMMAND: the port, the command as typed, the placeholders and variables filled in', () => {
  const t = parseForeignTarget("tap:79:'solo5-hvt --net:service={tap} unikernel.hvt --ipv4={ip}/{prefix} --ipv4-gateway={gw}'")!;
  assert.equal(t.port, 79);
  const a = { tap: 'tcpfuzz1', stackIp: STACK, kernelIp: KERNEL, prefixLen: 24 };
  assert.equal(foreignCommand(t, a, null), 'solo5-hvt --net:service=tcpfuzz1 unikernel.hvt --ipv4=10.77.0.2/24 --ipv4-gateway=10.77.0.1');
  assert.equal(foreignCommand(t, a, 'valgrind -q'), 'exec valgrind -q solo5-hvt --net:service=tcpfuzz1 unikernel.hvt --ipv4=10.77.0.2/24 --ipv4-gateway=10.77.0.1');
  assert.deepEqual(foreignEnv(a), { TCPFUZZ_TAP: 'tcpfuzz1', TCPFUZZ_STACK_IP: '10.77.0.2', TCPFUZZ_KERNEL_IP: '10.77.0.1', TCPFUZZ_PREFIX_LEN: '24' });
  assert.equal(parseForeignTarget('builtin:echo'), undefined);
  for (const [bad, why] of [
    ['tap:0:x', /bad port '0'/],
    ['tap:79:', /has no command/],
    ['tap:79:run {dev}', /unknown placeholder \{dev\}/],
  ] as const) {
    assert.throws(() => parseForeignTarget(bad), (e: unknown) => e instanceof UserError && why.test(e.message));
  }
});

test('the plan: tap: needs the TAP link, takes no --bug, owns --wrap and --ready-timeout; --stack-ip moves the server', () => {
  const p = planRun({ target: 'tap:79:examples/lwip/server', stackIp: '10.77.0.9', wrap: 'valgrind -q', readyTimeout: '3s' }, env);
  assert.deepEqual(p.target, { kind: 'foreign', foreign: { port: 79, command: 'examples/lwip/server' }, port: 79, readyTimeoutMs: 3000, wrap: 'valgrind -q' });
  assert.deepEqual(p.server, { ip: parseIpv4('10.77.0.9'), port: 79 });
  assert.equal(p.workload.fuzzer === 'netcat' && p.workload.payloadText, 'hi mom\\n');
  assert.match(replayCommand(p), /--stack-ip 10\.77\.0\.9 --wrap 'valgrind -q' --ready-timeout 3000/);
  assert.throws(() => planRun({ target: 'tap:79:x', link: 'sim' }, env), /needs --link tap/);
  assert.throws(() => planRun({ target: 'tap:79:x', bugs: ['minnesota-goodbye'] }, env), /does not run/);
  assert.throws(() => planRun({ target: 'builtin:echo', wrap: 'valgrind' }, env), /go with a tap:PORT:'COMMAND' target/);
});

test('--versus: the same seed, jobs and payload against the reference, its files in OUT/versus; its findings split three ways', () => {
  const p = planRun({ target: 'tap:7:examples/lwip/server', versus: "exec:7:'socat TCP-LISTEN:7,fork EXEC:cat'", payload: 'gen:100', jobs: 50, out: 'out', wrap: 'valgrind' }, env);
  const v = p.versus!;
  assert.equal(v.targetText, "exec:7:'socat TCP-LISTEN:7,fork EXEC:cat'");
  assert.equal(v.seed, p.seed);
  assert.equal(v.jobs.count, 50);
  assert.deepEqual(v.workload, p.workload);
  assert.equal(v.outDir, 'out/versus');
  assert.equal(v.versus, null);
  assert.match(replayCommand(p), /--versus 'exec:7:'/);
  assert.throws(() => planRun({ versus: 'builtin:nope' }, env), (e: unknown) => e instanceof UserError && e.text().startsWith('--versus: unknown target'));

  const base = asReport(analyzeFrames([]), sampleRunSection());
  const withKinds = (kinds: string[]): typeof base => ({ ...base, findings: kinds.map((kind) => ({ kind }) as (typeof base.findings)[number]) });
  assert.deepEqual(compareRuns(withKinds(['predictable-isn', 'reset']), withKinds(['reset', 'stall']), 'out/versus/report.json'), {
    target: 'builtin:goodbye',
    report: 'out/versus/report.json',
    summary: withKinds([]).verdict.summary,
    exit_code: withKinds([]).verdict.exit_code,
    target_only: ['predictable-isn'],
    shared: ['reset'],
    versus_only: ['stall'],
  });
});

test("the doctor's line from what it saw: bad checksums, another address, silence", () => {
  const e = { tap: 'tcpfuzz1', stackIp: STACK, port: 79, waitedMs: 2000 };
  const silent = new ReadinessWatch(STACK);
  silent.facts.carrier = true;
  assert.equal(notReadyReason(silent.facts, e), 'opened tcpfuzz1 but sent nothing after 2000 ms (no answer to ARP for 10.77.0.2)');

  const other = new ReadinessWatch(STACK);
  other.facts.carrier = true;
  const arp = (op: number, ip: number) => emitEthernet({ dst: 0xffffffffffff, src: 0x021f0a4d0009, ethertype: ETHERTYPE_ARP, payload: emitArp({ op, senderMac: 0x021f0a4d0009, senderIp: ip, targetMac: 0, targetIp: op === ARP_REQUEST ? ip : KERNEL }) });
  other.observe(arp(ARP_REQUEST, parseIpv4('10.77.0.9')!));
  assert.match(notReadyReason(other.facts, e), /^answers ARP for 10\.77\.0\.9, not 10\.77\.0\.2/);

  const offload = new ReadinessWatch(STACK);
  offload.facts.carrier = true;
  offload.observe(arp(ARP_REPLY, STACK));
  const synAck = tcpFrame(STACK, KERNEL, { srcPort: 79, dstPort: 40000, seq: 1, ack: 2, flags: 0x12, window: 65535, urgent: 0, options: [], payload: new Uint8Array() });
  // A checksum left for an offload that is not there: the TCP checksum field is zero.
  const ipOff = 14;
  const tcpOff = ipOff + 20;
  synAck[tcpOff + 16] = 0;
  synAck[tcpOff + 17] = 0;
  offload.observe(synAck);
  offload.facts.connect = 'timeout';
  assert.match(notReadyReason(offload.facts, e), /^sends IPv4 with bad tcp checksums \(1 frames\), which the kernel drops/);
});
