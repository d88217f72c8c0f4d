/**
 * Retransmissions of acknowledged sequence space, told apart by the segments around them (issue
 * #14 item 2, #12 item 5): one that crossed the covering ACK in flight (by its timestamps, or by
 * timing without them) is no finding and acknowledging it is no duplicate-ACK finding; one whose
 * captured ACK the sender never took is an ACK lost after the capture point (warning); one the
 * sender resent after taking the ACK is retransmit-after-close, and the duplicate ACKs answering
 * it blame the resender. Resending an unanswered SYN is never a storm.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, SYN, type TcpOption } from '../stack/wire/tcp.js';
import type { AnalysisReport } from '../reports/report.js';
import { analyzeFrames, Conversation, type TimedFrame } from './analyze-support.js';

const CLIENT: [number, number] = [parseIpv4('10.77.0.1')!, 40000];
const SERVER: [number, number] = [parseIpv4('10.77.0.2')!, 80];
const ts = (tsval: number, tsecr: number): TcpOption[] => [{ kind: 'timestamps', tsval, tsecr }];
const kinds = (r: AnalysisReport): string[] => r.findings.map((f) => `${f.kind}:${f.culprit}`).sort();

/**
 * The kernel client (side 0, TSval in ms from 1000) sends a request and its FIN at t=1000.010;
 * our server (side 1, TSval from 7000) answers. `ackAt` is when the server's ACK of the FIN is
 * captured; then the client's FIN comes twice more at the capture times and TSvals given, each
 * echoing `echo`, each answered by the server's duplicate ACK.
 */
function finResent(opts: { timestamps: boolean; ackAt: number; resends: Array<{ at: number; tsval: number }>; echo: number }): AnalysisReport {
  const frames: TimedFrame[] = [];
  const c = new Conversation(frames, CLIENT, SERVER, { isn: [100, 9000] });
  const o = (tsval: number, tsecr: number): { options?: TcpOption[] } => (opts.timestamps ? { options: ts(tsval, tsecr) } : {});
  c.send(0, SYN, o(1000, 0)).send(1, SYN | ACK, o(7000, 1000)).send(0, ACK, { ...o(1001, 7000), dt: 0.007 });
  c.send(0, PSH | ACK, { len: 10, ...o(1009, 7000) }).send(1, PSH | ACK, { len: 20, ...o(7010, 1009) });
  c.send(0, FIN | ACK, { ...o(1010, 7010), dt: opts.ackAt - 1000.011 });
  c.send(1, FIN | ACK, { ...o(7300, 1010), dt: 0 });
  for (const r of opts.resends) {
    c.t = r.at;
    c.send(0, FIN | ACK, { seq: 111, ...o(r.tsval, opts.echo), dt: 0.00001 });
    c.send(1, ACK, o(7300, r.tsval));
  }
  return analyzeFrames(frames, { captureEndUnixS: 1010 });
}

describe('a FIN resent across the ACK that covered it', () => {
  it('by timestamps: sent 200 ms after the FIN by its TSval, read 300 ms late, echoing an older TSval: no finding', () => {
    // Before: retransmit-after-close (2 resends) and duplicate-ack-after-fin against the server.
    const r = finResent({ timestamps: true, ackAt: 1000.3, resends: [{ at: 1000.301, tsval: 1210 }, { at: 1000.302, tsval: 1290 }], echo: 7010 });
    assert.deepEqual(kinds(r), []);
  });

  it('without timestamps: captured within the round trip after the ACK: no finding', () => {
    const r = finResent({ timestamps: false, ackAt: 1000.3, resends: [{ at: 1000.3005, tsval: 0 }, { at: 1000.301, tsval: 0 }], echo: 0 });
    assert.deepEqual(kinds(r), []);
  });
});

describe('a FIN resent long after a captured ACK', () => {
  it('the sender never echoed that ACK: ack-lost-after-capture (warning), not retransmit-after-close', () => {
    const r = finResent({ timestamps: true, ackAt: 1000.02, resends: [{ at: 1000.25, tsval: 1250 }, { at: 1000.7, tsval: 1700 }], echo: 7010 });
    assert.deepEqual(kinds(r), ['ack-lost-after-capture:client']);
    const f = r.findings[0]!;
    assert.equal(f.severity, 'warning');
    assert.match(f.instances[0]!.detail, /resent 2 times/);
  });

  it('without timestamps the capture cannot say more: ack-lost-after-capture', () => {
    const r = finResent({ timestamps: false, ackAt: 1000.02, resends: [{ at: 1000.25, tsval: 0 }, { at: 1000.7, tsval: 0 }], echo: 0 });
    assert.deepEqual(kinds(r), ['ack-lost-after-capture:client']);
  });

  it('the sender echoed the ACK and resent anyway: retransmit-after-close, and the duplicate ACKs blame the resender', () => {
    const r = finResent({ timestamps: true, ackAt: 1000.02, resends: [{ at: 1000.25, tsval: 1250 }, { at: 1000.7, tsval: 1700 }], echo: 7300 });
    assert.deepEqual(kinds(r), ['duplicate-ack-after-fin:client', 'retransmit-after-close:client']);
    const dup = r.findings.find((f) => f.kind === 'duplicate-ack-after-fin')!;
    assert.match(dup.title, /^clients of 10\.77\.0\.2:80 kept resending/);
    assert.match(dup.instances[0]!.detail, /^client kept resending/);
    assert.match(dup.explanation, /the clients kept resending/);
  });
});

describe('a SYN nobody answers', () => {
  it('resent 5 times: unanswered-syn against the server, no retransmit-storm against the client', () => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, CLIENT, SERVER, { isn: [100, 9000] });
    c.send(0, SYN, { dt: 1 });
    for (const dt of [2, 4, 8, 16]) c.send(0, SYN, { seq: 100, dt });
    const r = analyzeFrames(frames);
    assert.equal(r.connections[0]!.c2s.max_tx_of_same_seq, 5);
    assert.deepEqual(kinds(r), ['unanswered-syn:server']);
  });
});
