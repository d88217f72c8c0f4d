/**
 * Real kernel captures, one test-owned namespace each (tcpdump on its `lo`, traffic from the
 * kernel's own sockets, nftables for loss — this kernel has no netem): the verdicts and findings
 * of each lifecycle, and every frame's analysis and every per-direction count equal to tshark's
 * on the same file. Scenarios run concurrently; each capture lasts under 3 s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalyzeOptions } from '../reports/analyzer.js';
import type { AnalysisReport, Finding, FindingKind } from '../reports/report.js';
import { formatSummary } from '../reports/summary.js';
import {
  countTcpdump,
  countTshark,
  directionCountDiff,
  frameDiff,
  kernelCapture,
  ourFrames,
  tsharkFrames,
  type KernelCapture,
} from './analyze-support.js';
import { kernelSkipReason } from './helpers/env.js';

const skip = kernelSkipReason('tshark', 'tcpdump', 'nft');

/** Captures one scenario, checks it against tshark, and hands the report over. */
async function scenario(
  name: string,
  opts: AnalyzeOptions,
  traffic: (k: KernelCapture) => Promise<number>,
  check: (report: AnalysisReport, k: KernelCapture) => Promise<void> | void,
): Promise<void> {
  const k = await kernelCapture(name);
  try {
    const ms = await traffic(k);
    const { file, endUnixS } = await k.finish(ms);
    const [{ frames, report }, theirs] = await Promise.all([ourFrames(file, { ...opts, captureEndUnixS: endUnixS }), tsharkFrames(file)]);
    assert.ok(theirs.size > 0, 'the capture must hold TCP frames');
    assert.deepEqual(frameDiff(frames, theirs).slice(0, 10), [], 'per-frame analysis differs from tshark');
    assert.deepEqual(directionCountDiff(report, theirs).slice(0, 10), [], 'per-direction counts differ from tshark');
    try {
      await check(report, k);
    } catch (e) {
      // The summary says what the analysis saw, which is what a failing scenario needs first.
      if (e instanceof Error) e.message += `\n${formatSummary(report)}`;
      throw e;
    }
  } finally {
    await k.close();
  }
}

function finding(report: AnalysisReport, kind: FindingKind): Finding {
  const f = report.findings.find((x) => x.kind === kind);
  assert.ok(f, `expected ${kind}, got ${report.findings.map((x) => `${x.kind} (${x.title})`).join('; ') || 'no findings'}`);
  return f;
}

/** The finding's filters show exactly the packets the report says, in tcpdump and in tshark. */
async function assertFilterCounts(file: string, f: Finding): Promise<void> {
  assert.equal(await countTcpdump(file, f.show.tcpdump), f.show.tcpdump_packets, `tcpdump '${f.show.tcpdump}'`);
  assert.equal(await countTshark(file, f.show.tshark), f.show.tshark_packets, `tshark '${f.show.tshark}'`);
}

/** TCP states the namespace's kernel holds, e.g. { 'FIN-WAIT-2': 3, 'CLOSE-WAIT': 3 }. */
async function kernelStates(k: KernelCapture): Promise<Record<string, number>> {
  const r = await k.ns.exec('ss', ['-Htan']);
  const states: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const state = line.trim().split(/\s+/)[0];
    if (state && state !== 'LISTEN') states[state] = (states[state] ?? 0) + 1;
  }
  return states;
}

describe('kernel captures: verdicts, findings and tshark agreement', { skip, concurrency: 3 }, () => {
  it('normal close: complete, no findings', () =>
    scenario(
      'normal',
      {},
      async (k) => {
        await k.start('server', 7001, 'echo');
        await k.start('client', 7001, 'send', '5');
        return 800;
      },
      (report) => {
        assert.equal(report.totals.connections, 5);
        assert.equal(report.totals.by_verdict.complete, 5);
        assert.deepEqual(report.findings, []);
        for (const r of report.connections) {
          assert.equal(r.c2s.data_bytes, 6);
          assert.equal(r.s2c.data_bytes, 6);
          assert.equal(r.close.fin_both_acked, true);
          assert.equal(r.close.state_guess.client, 'TIME_WAIT');
        }
      },
    ));

  it('half-close never completed: missing FIN, clients in FIN_WAIT2 as the kernel says', () =>
    scenario(
      'halfclose',
      {},
      async (k) => {
        await k.start('server', 7002, 'halfclose');
        await k.start('client', 7002, 'send', '3');
        await new Promise((r) => setTimeout(r, 1300));
        assert.deepEqual(await kernelStates(k), { 'FIN-WAIT-2': 3, 'CLOSE-WAIT': 3 });
        return 0;
      },
      async (report, k) => {
        assert.equal(report.totals.by_verdict['half-closed'], 3);
        for (const r of report.connections) assert.deepEqual(r.close.state_guess, { client: 'FIN_WAIT2', server: 'CLOSE_WAIT' });
        const f = finding(report, 'missing-fin');
        assert.equal(f.title, 'server 127.0.0.1:7002 sent no FIN on 3/3 connections');
        assert.equal(f.show.tcpdump_packets, 0);
        await assertFilterCounts(k.file, f);
        assert.equal(report.findings.length, 1);
      },
    ));

  it('RST from the server: reset', () =>
    scenario(
      'reset',
      {},
      async (k) => {
        await k.start('server', 7003, 'reset');
        await k.start('client', 7003, 'send', '2');
        return 600;
      },
      async (report, k) => {
        assert.equal(report.totals.by_verdict.reset, 2);
        const f = finding(report, 'reset');
        assert.equal(f.culprit, 'server');
        assert.equal(f.connections, 2);
        await assertFilterCounts(k.file, f);
      },
    ));

  it('nothing listening: refused', () =>
    scenario(
      'refused',
      {},
      async (k) => {
        await k.start('client', 7004, 'send', '2');
        return 500;
      },
      async (report, k) => {
        assert.equal(report.totals.by_verdict.refused, 2);
        const f = finding(report, 'refused');
        assert.equal(f.title, '127.0.0.1:7004 refused 2/2 connections');
        await assertFilterCounts(k.file, f);
      },
    ));

  it('server never gets the ACK: SYN/ACK resent after the client FIN, client data storm', () =>
    scenario(
      'synack-storm',
      { thresholds: { after_close_count: 1 } },
      async (k) => {
        // The server's input drops every client segment except the SYN (after tcpdump saw it).
        await k.nft('chain in {\n type filter hook input priority 0;\n tcp dport 7005 tcp flags & (syn | ack) == ack drop\n}');
        await k.start('server', 7005, 'sink');
        await k.start('client', 7005, 'send', '1');
        return 2600;
      },
      async (report, k) => {
        assert.equal(report.totals.connections, 1);
        const r = report.connections[0]!;
        assert.equal(r.handshake.synack_count >= 2, true, 'the server resends its SYN/ACK');
        assert.equal(r.close.synack_after_close, true);
        const after = finding(report, 'retransmit-after-close');
        assert.equal(after.culprit, 'server');
        assert.equal(after.instances[0]!.detail.includes('SYN/ACK'), true);
        const storm = finding(report, 'retransmit-storm');
        assert.equal(storm.culprit, 'client');
        assert.equal(r.close.verdict, 'half-closed');
        await assertFilterCounts(k.file, storm);
        await assertFilterCounts(k.file, after);
      },
    ));

  it('a reader that stops reading: zero-window stall, still closed at the end', () =>
    scenario(
      'zerowindow',
      { thresholds: { hang_ms: 1500 } },
      async (k) => {
        await k.start('server', 7006, 'stall');
        await k.start('client', 7006, 'flood', '1');
        return 2500;
      },
      async (report, k) => {
        const r = report.connections[0]!;
        assert.ok(r.s2c.zero_win_adverts > 0);
        assert.equal(r.s2c.zero_win_stall_ms.open_at_end, true);
        assert.ok(r.c2s.keepalives > 0, 'Linux probes a zero window with keep-alive-shaped segments');
        const f = finding(report, 'zero-window-stall');
        assert.equal(f.culprit, 'server');
        assert.equal(r.close.verdict, 'hang');
        assert.ok(r.close.waiting.includes('zero-window'));
        await assertFilterCounts(k.file, f);
      },
    ));

  it('keep-alive hang: a request never answered, kept alive by probes', () =>
    scenario(
      'keepalive',
      { thresholds: { hang_ms: 1500 } },
      async (k) => {
        await k.start('server', 7007, 'silent');
        await k.start('client', 7007, 'keepalive', '1');
        return 2600;
      },
      async (report, k) => {
        const r = report.connections[0]!;
        assert.ok(r.c2s.keepalives >= 1);
        assert.ok(r.s2c.keepalive_acks >= 1);
        assert.equal(r.close.verdict, 'hang');
        assert.deepEqual(r.close.waiting, ['no-response']);
        const f = finding(report, 'hang');
        assert.equal(f.show.tshark_packets, r.frames.count);
        await assertFilterCounts(k.file, f);
      },
    ));

  it('random loss (nftables numgen): retransmissions equal tshark, every connection completes', () =>
    scenario(
      'loss',
      {},
      async (k) => {
        const drop = 'tcp flags & syn == 0 numgen random mod 100 < 5 drop';
        await k.nft(`chain in {\n type filter hook input priority 0;\n tcp dport 7008 ${drop}\n tcp sport 7008 ${drop}\n}`);
        await k.start('server', 7008, 'sink');
        await k.start('client', 7008, 'send', '4', { SIZE: '300000' });
        return 2800;
      },
      (report) => {
        assert.equal(report.totals.connections, 4);
        assert.equal(report.totals.by_verdict.complete, 4);
        const rexmt = report.totals.c2s.rexmt_pkts + report.totals.s2c.rexmt_pkts + report.totals.c2s.out_of_order;
        assert.ok(rexmt > 0, 'the loss must cause retransmissions');
        const lifecycle = report.findings.filter((f) => ['missing-fin', 'hang', 'reset', 'refused', 'unanswered-syn'].includes(f.kind));
        assert.deepEqual(lifecycle, []);
      },
    ));
});
