/**
 * Verdicts, findings and their explanations on exact, hand-built conversations (no kernel): each
 * lifecycle the analysis names, the minnesota-goodbye symptoms, port reuse, orientation, and the
 * streaming bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Analyzer } from '../reports/analyzer.js';
import { parseServerHint } from '../reports/analyzer.js';
import type { AnalysisReport, Finding, FindingKind } from '../reports/report.js';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, RST, SYN } from '../stack/wire/tcp.js';
import { analyzeFrames, captureRecords, Conversation, only, type TimedFrame } from './analyze-support.js';

const ip = (s: string): number => parseIpv4(s)!;
const CLIENT = ip('10.77.0.1');
const SERVER = ip('10.77.0.2');

function finding(report: AnalysisReport, kind: FindingKind): Finding {
  const f = report.findings.find((x) => x.kind === kind);
  assert.ok(f, `expected a ${kind} finding, got ${report.findings.map((x) => x.kind).join(', ') || 'none'}`);
  return f;
}

/** A frame from an unrelated connection at time `t`, so the capture ends then. */
function endAt(frames: TimedFrame[], t: number): void {
  new Conversation(frames, [ip('10.9.9.9'), 9999], [ip('10.9.9.8'), 9998], { t }).send(0, ACK);
}

describe('verdicts', () => {
  it('complete: both FINs acknowledged, no findings; the active closer is in TIME_WAIT', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [CLIENT, 40000], [SERVER, 7])
      .handshake()
      .send(0, PSH | ACK, { len: 6 })
      .send(1, PSH | ACK, { len: 6 })
      .send(0, FIN | ACK)
      .send(1, FIN | ACK)
      .send(0, ACK);
    const r = only(analyzeFrames(frames));
    assert.equal(r.close.verdict, 'complete');
    assert.deepEqual(r.findings, []);
    assert.equal(r.close.fin_both_acked, true);
    assert.deepEqual(r.close.state_guess, { client: 'TIME_WAIT', server: 'CLOSED' });
    assert.equal(r.server_from, 'syn');
    assert.deepEqual([r.client.port, r.server.port], [40000, 7]);
    assert.equal(r.c2s.data_bytes, 6);
    assert.equal(r.s2c.unique_bytes, 6);
    assert.equal(r.handshake.syn_count, 1);
    assert.equal(r.handshake.ack_seen, true);
    assert.equal(r.handshake.connect_ms, 2);
    assert.equal(r.close.who_closed_first, 'client');
  });

  it('half-closed: "server sent no FIN on 3/3 connections", clients in FIN_WAIT2, with the filter and its count', () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 3; i++) {
      new Conversation(frames, [CLIENT, 40000 + i], [SERVER, 19], { t: 1000 + i })
        .handshake()
        .send(1, PSH | ACK, { len: 3 })
        .send(0, PSH | ACK, { len: 7 })
        .send(0, FIN | ACK)
        .send(1, ACK);
    }
    endAt(frames, 1010);
    const report = analyzeFrames(frames);
    const records = report.connections.filter((c) => c.server.port === 19);
    assert.equal(records.length, 3);
    for (const r of records) {
      assert.equal(r.close.verdict, 'half-closed');
      assert.deepEqual(r.close.state_guess, { client: 'FIN_WAIT2', server: 'CLOSE_WAIT' });
      assert.deepEqual(r.findings, ['missing-fin']);
    }
    const f = finding(report, 'missing-fin');
    assert.equal(f.title, 'server 10.77.0.2:19 sent no FIN on 3/3 connections');
    assert.equal(f.culprit, 'server');
    assert.match(f.explanation, /FIN_WAIT2 on 3 connections/);
    assert.match(f.explanation, /CLOSE_WAIT/);
    assert.equal(f.show.tcpdump, 'src host 10.77.0.2 and src port 19 and tcp[tcpflags] & tcp-fin != 0');
    assert.equal(f.show.tcpdump_packets, 0);
    assert.equal(f.show.tshark, 'ip.src==10.77.0.2 && tcp.srcport==19 && tcp.flags.fin==1');
    assert.equal(f.instances.length, 3);
    assert.deepEqual(f.instances[0]!.frames, [6, 7]);
  });

  it('with --fin-wait, a FIN just before the end is not (yet) a missing FIN; a stated capture end is', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [CLIENT, 40000], [SERVER, 19]).handshake().send(0, FIN | ACK).send(1, ACK);
    const waiting = analyzeFrames(frames, { thresholds: { fin_wait_ms: 1000 } });
    assert.equal(only(waiting).close.verdict, 'half-closed');
    assert.deepEqual(waiting.findings, []);
    assert.equal(waiting.capture.end_from, 'last-record');
    const later = analyzeFrames(frames, { thresholds: { fin_wait_ms: 1000 }, captureEndUnixS: 1002 });
    assert.equal(later.capture.end_from, 'option');
    assert.equal(later.capture.duration_s, 2);
    assert.deepEqual(only(later).findings, ['missing-fin']);
    assert.deepEqual(only(analyzeFrames(frames)).findings, ['missing-fin'], 'by default any half-close at the end');
  });

  it('reset, refused and unanswered', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [CLIENT, 40001], [SERVER, 80], { t: 1000 }).handshake().send(0, PSH | ACK, { len: 10 }).send(1, RST | ACK);
    new Conversation(frames, [CLIENT, 40002], [SERVER, 81], { t: 1000.1 }).send(0, SYN).send(1, RST | ACK);
    new Conversation(frames, [CLIENT, 40003], [SERVER, 82], { t: 1000.2 }).send(0, SYN, { dt: 1 }).send(0, SYN, { seq: 1000, dt: 2 }).send(0, SYN, { seq: 1000 });
    const report = analyzeFrames(frames);
    const byPort = new Map(report.connections.map((c) => [c.server.port, c]));
    assert.equal(byPort.get(80)!.close.verdict, 'reset');
    assert.equal(byPort.get(81)!.close.verdict, 'refused');
    assert.equal(byPort.get(82)!.close.verdict, 'unanswered');
    assert.equal(byPort.get(82)!.handshake.syn_count, 3);
    assert.equal(byPort.get(82)!.c2s.rexmt_pkts, 2);
    assert.equal(finding(report, 'reset').title, 'server 10.77.0.2:80 reset 1/1 connections');
    assert.equal(finding(report, 'refused').show.tcpdump_packets, 1);
    const u = finding(report, 'unanswered-syn');
    assert.equal(u.show.tcpdump, 'dst host 10.77.0.2 and dst port 82 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn');
    assert.equal(u.show.tcpdump_packets, 3);
  });

  it('hang (a request never answered) versus open (an idle connection nobody waits on)', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [CLIENT, 40001], [SERVER, 80], { t: 1000 }).handshake().send(0, PSH | ACK, { len: 20 }).send(1, ACK);
    new Conversation(frames, [CLIENT, 40002], [SERVER, 80], { t: 1000 })
      .handshake()
      .send(0, PSH | ACK, { len: 20 })
      .send(1, PSH | ACK, { len: 200 })
      .send(0, ACK);
    endAt(frames, 1007);
    const report = analyzeFrames(frames);
    const byPort = new Map(report.connections.map((c) => [c.client.port, c]));
    assert.equal(byPort.get(40001)!.close.verdict, 'hang');
    assert.deepEqual(byPort.get(40001)!.close.waiting, ['no-response']);
    assert.equal(byPort.get(40002)!.close.verdict, 'open');
    assert.deepEqual(byPort.get(40002)!.close.waiting, []);
    assert.ok(byPort.get(40001)!.close.idle_at_end_ms! > 5000);
    const h = finding(report, 'hang');
    assert.equal(h.connections, 1);
    assert.equal(h.of_connections, 2);
    assert.equal(h.show.tshark, `tcp.stream in {${byPort.get(40001)!.stream}}`);
    assert.equal(h.show.tshark_packets, 5);
    // A longer hang threshold turns the hang into an open connection.
    const relaxed = analyzeFrames(frames, { thresholds: { hang_ms: 10_000 } });
    assert.equal(relaxed.totals.by_verdict.hang, 0);
  });

  it('keep-alives are not progress: a kept-alive silent connection still hangs', () => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, [CLIENT, 40001], [SERVER, 80]).handshake().send(0, PSH | ACK, { len: 6 }).send(1, ACK, { dt: 1 });
    for (let i = 0; i < 8; i++) c.send(0, ACK, { seq: c.next(0) - 1, dt: 0.0001 }).send(1, ACK, { dt: 1 });
    const r = only(analyzeFrames(frames));
    assert.equal(r.c2s.keepalives, 8);
    assert.equal(r.s2c.keepalive_acks, 8);
    assert.equal(r.close.verdict, 'hang');
  });
});

describe('findings of the minnesota-goodbye kind', () => {
  // The server hands the connection to the application before processing the handshake's ACK:
  // it keeps resending its SYN/ACK after the client's data and FIN, never sends a FIN, and the
  // client answers every SYN/ACK with the same ACK.
  const frames: TimedFrame[] = [];
  const c = new Conversation(frames, [CLIENT, 40000], [SERVER, 19], { isn: [100, 9000] });
  c.send(0, SYN).send(1, SYN | ACK).send(0, ACK).send(0, PSH | ACK, { len: 7 }).send(0, FIN | ACK, { dt: 1 });
  for (const dt of [2, 4, 8]) c.send(1, SYN | ACK, { seq: 9000, ack: 101, dt: 0.0001 }).send(0, ACK, { dt });
  const report = analyzeFrames(frames);
  const r = only(report);

  it('the SYN/ACK resent after the client FIN is a retransmit-after-close and a storm', () => {
    assert.equal(r.s2c.rexmt_pkts, 3);
    assert.equal(r.s2c.max_tx_of_same_seq, 4);
    assert.equal(r.close.synack_after_close, true);
    const after = finding(report, 'retransmit-after-close');
    assert.equal(after.culprit, 'server');
    assert.match(after.instances[0]!.detail, /3 times \(3 of them SYN\/ACK\)/);
    assert.equal(after.show.tshark, `frame.number in {${after.instances[0]!.frames.join(',')}}`);
    assert.equal(after.show.tshark_packets, 3);
    const storm = finding(report, 'retransmit-storm');
    assert.equal(storm.culprit, 'server');
    assert.match(storm.explanation, /\(SYN\/ACK on 1 connection\)/);
  });

  it('the client repeats its ACK after FIN: duplicate-ack-after-fin, charged to the server that kept resending (issue #14)', () => {
    assert.equal(r.c2s.dup_acks, 3);
    const dup = finding(report, 'duplicate-ack-after-fin');
    assert.equal(dup.culprit, 'server');
    assert.equal(dup.instances[0]!.frames.length, 3);
  });

  it('the server never sends FIN and never acknowledges the client FIN: FIN_WAIT1', () => {
    assert.equal(r.close.verdict, 'half-closed');
    assert.deepEqual(r.close.state_guess, { client: 'FIN_WAIT1', server: 'ESTABLISHED' });
    assert.match(finding(report, 'missing-fin').explanation, /FIN_WAIT1 on 1 connection/);
  });

  it('the summary exit signal: every finding kind of the connection is listed on its record', () => {
    assert.deepEqual(
      [...r.findings].sort(),
      ['duplicate-ack-after-fin', 'missing-fin', 'retransmit-after-close', 'retransmit-storm'],
    );
  });

  it('a server that never took the ACK accepted nothing: no server accept time, no pause', () => {
    assert.equal(r.handshake.synack_after_ack, 3);
    assert.equal(r.handshake.server_accept_ms, null);
    assert.equal(r.handshake.connect_ms, 2);
  });
});

describe('the halfway pause: SYN/ACK resent after the client ACK, then data', () => {
  // The seed's halfway fix: SYN, SYN/ACK, the client's ACK + data + FIN, nothing from the server
  // while the client resends, the SYN/ACK again after the 3 s timer, the client's duplicate ACK,
  // then the server's data and FIN.
  function halfway(frames: TimedFrame[], port: number, t: number): void {
    const c = new Conversation(frames, [CLIENT, port], [SERVER, 19], { t, isn: [100, 9000] });
    c.send(0, SYN, { dt: 0.0001 }).send(1, SYN | ACK, { dt: 0.0001 }).send(0, ACK, { dt: 0 }).send(0, PSH | ACK, { len: 7, dt: 0 }).send(0, FIN | ACK, { dt: 0.2 });
    for (const dt of [0.4, 0.8, 1.5999]) c.send(0, FIN | PSH | ACK, { seq: 101, len: 7, dt });
    c.send(1, SYN | ACK, { seq: 9000, ack: 101, dt: 0.0001 }).send(0, ACK, { dt: 0 }).send(1, FIN | PSH | ACK, { ack: 109, len: 17, dt: 0.0001 }).send(0, ACK);
  }
  const frames: TimedFrame[] = [];
  halfway(frames, 40000, 1000);
  halfway(frames, 40001, 1010);
  const report = analyzeFrames(frames);
  const r = report.connections[0]!;

  it('the record: the ACK completed the handshake on the wire, the server took one 3 s later', () => {
    assert.equal(r.handshake.ack_seen, true);
    assert.equal(r.handshake.connect_ms, 0.2);
    assert.equal(r.handshake.synack_count, 2);
    assert.equal(r.handshake.synack_after_ack, 1);
    assert.equal(r.handshake.server_accept_ms, 3000.2);
    assert.equal(r.close.verdict, 'complete');
  });

  it('slow-handshake names the pause: title, explanation and the frames of ACK, resent SYN/ACK and the answer', () => {
    const f = finding(report, 'slow-handshake');
    assert.equal(f.title, "server 10.77.0.2:19 paused 3000 ms after the handshake on 2/2 connections: it resent its SYN/ACK instead of taking the client's ACK");
    assert.match(f.explanation, /the server resent its SYN\/ACK as if that ACK had never come: it had not processed it/);
    assert.match(f.explanation, /3000 ms after the handshake/);
    assert.deepEqual(f.instances[0]!.frames, [3, 9, 10]);
    assert.equal(
      f.instances[0]!.detail,
      "the server resent its SYN/ACK (frame 9) 2999.9 ms after the client's ACK (frame 3) had completed the handshake: it had not processed that ACK. " +
        'It took the client\'s answer at frame 10, and its first data came 3000 ms after the handshake (SYN→SYN/ACK 0.1 ms, SYN→ACK 0.2 ms, SYN→server accept 3000.2 ms)',
    );
    assert.equal(f.instances[0]!.t, 0.0002);
    assert.equal(f.instances[0]!.t_end, 3.0002);
    assert.equal(f.show.tshark_packets, 6, 'SYN and two SYN/ACKs per connection');
  });

  it('the client storm says the server held back its ACK', () => {
    const storm = finding(report, 'retransmit-storm');
    assert.equal(storm.culprit, 'client');
    assert.match(storm.explanation, /On 2 connections the resending began while the server had not yet taken the client's handshake ACK/);
    assert.match(storm.instances[0]!.detail, /began while the server had not taken the client's handshake ACK \(it resent its SYN\/ACK at frame 9\)/);
  });

  it('without the captured answer, the server\'s next segment bounds the pause', () => {
    const lost = frames.filter((_, i) => i !== 9);
    const rep = analyzeFrames(lost);
    assert.equal(rep.connections[0]!.handshake.server_accept_ms, 3000.2, "the server's data went out at the same instant");
    assert.match(finding(rep, 'slow-handshake').instances[0]!.detail, /The client's answer was not captured; the server's next segment \(frame 10\) shows it took one/);
  });

  it('a pause under the threshold is no finding; a higher threshold drops it', () => {
    assert.deepEqual(analyzeFrames(frames, { thresholds: { slow_handshake_ms: 3001 } }).findings.filter((f) => f.kind === 'slow-handshake'), []);
  });

  it('a SYN/ACK resent before the ACK was captured is ordinary loss, not the pause', () => {
    const lossy: TimedFrame[] = [];
    new Conversation(lossy, [CLIENT, 40000], [SERVER, 80]).send(0, SYN).send(1, SYN | ACK, { dt: 1 }).send(1, SYN | ACK, { seq: 5000 }).send(0, ACK).send(1, PSH | ACK, { len: 5 });
    const rep = analyzeFrames(lossy);
    assert.equal(only(rep).handshake.synack_after_ack, 0);
    assert.equal(only(rep).handshake.server_accept_ms, only(rep).handshake.connect_ms);
    const f = finding(rep, 'slow-handshake');
    assert.equal(f.title, '1/1 connections to 10.77.0.2:80 took ≥ 1000 ms to connect');
    assert.doesNotMatch(f.explanation, /paused/);
  });
});

describe('stalls, handshakes, reuse and orientation', () => {
  it('zero-window stall from the first zero-window advert to the window update', () => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, [CLIENT, 40000], [SERVER, 80]).handshake();
    c.send(0, PSH | ACK, { len: 1000 }).send(1, ACK, { window: 0, dt: 0.5 });
    for (let i = 0; i < 3; i++) c.send(0, ACK, { seq: c.next(0) - 1, dt: 0.0001 }).send(1, ACK, { window: 0, dt: 0.5 });
    c.send(1, ACK, { window: 65535 }).send(0, PSH | ACK, { len: 1000 }).send(1, ACK);
    const report = analyzeFrames(frames);
    const r = only(report);
    assert.equal(r.s2c.zero_win_adverts, 4);
    assert.equal(r.s2c.zero_win_stall_ms.max, 2000.3);
    assert.equal(r.s2c.zero_win_stall_ms.open_at_end, false);
    assert.equal(r.s2c.window_updates, 1);
    const f = finding(report, 'zero-window-stall');
    assert.equal(f.culprit, 'server');
    assert.equal(f.show.tcpdump, 'src host 10.77.0.2 and src port 80 and tcp[14:2] = 0');
    assert.equal(f.show.tcpdump_packets, 4);
  });

  it('slow handshake: a SYN resent after the 1 s timeout', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [CLIENT, 40000], [SERVER, 80]).send(0, SYN, { dt: 1 }).send(0, SYN, { seq: 1000 }).send(1, SYN | ACK).send(0, ACK);
    const report = analyzeFrames(frames);
    assert.equal(only(report).handshake.syn_to_synack_ms, 1001);
    assert.equal(only(report).handshake.connect_ms, 1002);
    assert.match(finding(report, 'slow-handshake').instances[0]!.detail, /SYN→SYN\/ACK 1001 ms/);
  });

  it('port reuse: a SYN with a new ISN on a used 4-tuple starts a new stream', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [CLIENT, 40000], [SERVER, 80], { t: 1000, isn: [100, 200] })
      .handshake()
      .send(0, FIN | ACK)
      .send(1, FIN | ACK)
      .send(0, ACK);
    new Conversation(frames, [CLIENT, 40000], [SERVER, 80], { t: 1001, isn: [777777, 888888] }).handshake().send(0, RST);
    const report = analyzeFrames(frames);
    assert.deepEqual(
      report.connections.map((c) => [c.stream, c.close.verdict, c.c2s.reused_ports]),
      [
        [0, 'complete', 0],
        [1, 'reset', 1],
      ],
    );
  });

  it('--server decides the orientation when no handshake was captured', () => {
    const frames: TimedFrame[] = [];
    new Conversation(frames, [ip('10.0.0.2'), 6000], [ip('10.0.0.1'), 5000]).send(0, PSH | ACK, { len: 10 }).send(1, PSH | ACK, { len: 10 });
    const guessed = only(analyzeFrames(frames));
    assert.equal(guessed.server_from, 'port');
    assert.equal(guessed.server.port, 5000);
    const told = only(analyzeFrames(frames, { server: parseServerHint('10.0.0.2')! }));
    assert.equal(told.server_from, 'option');
    assert.deepEqual(told.server, { ip: '10.0.0.2', port: 6000 });
    assert.equal(parseServerHint('10.0.0.2:0'), undefined);
    assert.equal(parseServerHint('host:80'), undefined);
    assert.deepEqual(parseServerHint('10.0.0.2:80'), { ip: ip('10.0.0.2'), port: 80 });
  });
});

describe('streaming bounds', () => {
  it('closed connections are finalised after the linger time; records and graphs are capped', () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 5000; i++) {
      const c = new Conversation(frames, [CLIENT, 20000 + i], [SERVER, 80], { t: 1000 + i * 2, isn: [i * 7919, i * 104729] });
      c.handshake().send(0, PSH | ACK, { len: 10 }).send(1, FIN | ACK).send(0, FIN | ACK).send(1, ACK);
    }
    const records = captureRecords(frames);
    let emitted = 0;
    const a = new Analyzer({ lingerMs: 30_000, maxRecords: 100, onConnection: () => emitted++ });
    let maxLive = 0;
    for (const r of records) {
      a.push(r);
      maxLive = Math.max(maxLive, a.liveConnections);
    }
    const report = a.finish();
    // 15 connections fall inside the linger time; sweeps run every 1,024 closed connections.
    assert.ok(maxLive <= 1100, `live connections must stay bounded, got ${maxLive}`);
    assert.equal(emitted, 5000);
    assert.equal(report.totals.connections, 5000);
    assert.equal(report.totals.by_verdict.complete, 5000);
    assert.equal(report.connections.length, 100);
    assert.equal(report.connections_omitted, 4900);
  });

  it('a long connection keeps the first and the last segments of its graph', () => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, [CLIENT, 40000], [SERVER, 80]).handshake();
    for (let i = 0; i < 3000; i++) c.send(0, PSH | ACK, { len: 100, dt: 0.0001 });
    c.send(0, PSH | ACK, { len: 100, seq: c.next(0) - 100 });
    for (let i = 0; i < 4; i++) c.send(0, PSH | ACK, { len: 100, seq: c.next(0) - 100, dt: 0.5 });
    const report = analyzeFrames(frames, { thresholds: { storm_count: 5 } });
    const trace = report.traces[0]!;
    assert.equal(trace.points.length, 1000);
    assert.equal(trace.points_omitted, 3008 - 1000);
    assert.equal(trace.points.at(-1)![2], 1 + 2999 * 100);
  });
});
