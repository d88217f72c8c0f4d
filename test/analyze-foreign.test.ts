/**
 * The analyzer on stacks it did not write (issue 12, item 5): each correction on a capture where
 * it must apply, and the healthy case where it must not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, RST, SYN } from '../stack/wire/tcp.js';
import { analyzeFrames, Conversation, only, type TimedFrame } from './analyze-support.js';

const CLIENT = parseIpv4('10.77.0.1')!;
const SERVER = parseIpv4('10.77.0.2')!;
const kinds = (r: ReturnType<typeof analyzeFrames>): string[] => r.findings.map((f) => f.kind);

describe('a reused 4-tuple', () => {
  it('the SYN after a closed connection, answered by a TIME_WAIT ACK, reset and sent again, is a new connection: no retransmit-after-close, no reset', () => {
    const frames: TimedFrame[] = [];
    const old = new Conversation(frames, [CLIENT, 40000], [SERVER, 79], { isn: [100, 9000] });
    old.handshake().send(1, PSH | ACK, { len: 17 }).send(1, FIN | ACK).send(0, ACK).send(0, FIN | ACK).send(1, ACK, { dt: 0.5 });
    // The same client port again; the server still holds the 4-tuple in TIME_WAIT and answers with
    // its old ACK; Linux's SYN-SENT resets and retries the SYN one second later (RFC 9293 §3.10.7.3).
    const again = new Conversation(frames, [CLIENT, 40000], [SERVER, 79], { isn: [50_000, 77_000], t: old.t });
    again.send(0, SYN).send(1, ACK, { seq: old.next(1), ack: old.next(0) }).send(0, RST, { seq: old.next(0), dt: 1 });
    again.send(0, SYN, { seq: 50_000 }).send(1, SYN | ACK).send(0, ACK).send(1, PSH | ACK, { len: 17 }).send(1, FIN | ACK).send(0, ACK).send(0, FIN | ACK).send(1, ACK);
    const report = analyzeFrames(frames, { captureEndUnixS: again.t + 5 });
    assert.equal(report.totals.connections, 2);
    assert.deepEqual(report.connections.map((c) => c.close.verdict), ['complete', 'complete']);
    assert.deepEqual(report.connections[1]!.close.rexmt_after_close, 0);
    // The one thing wrong is true: that connect took the second the retry waited.
    assert.deepEqual(kinds(report), ['slow-handshake']);
  });
});

describe('a SYN answered by a bare ACK', () => {
  it('is neither unanswered nor refused: syn-answered-by-ack names it, with the RST the client owed', () => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, [CLIENT, 40001], [SERVER, 79], { isn: [100, 9000] });
    c.send(0, SYN).send(1, ACK, { seq: 7000, ack: 4242 }).send(0, RST, { seq: 4242, dt: 1 }).send(0, SYN, { seq: 100 }).send(1, ACK, { seq: 7000, ack: 4242 });
    const report = analyzeFrames(frames, { captureEndUnixS: c.t + 3 });
    assert.equal(only(report).close.verdict, 'answered-by-ack');
    assert.deepEqual(kinds(report), ['syn-answered-by-ack']);
    assert.match(report.findings[0]!.instances[0]!.detail, /2 SYN\(s\) answered by 2 bare ACK\(s\) from frame 2, no SYN\/ACK; the client answered with RST 1 time/);
  });
});

describe('a FIN unanswered when the capture ends', () => {
  const capture = (): { frames: TimedFrame[]; end: number } => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, [CLIENT, 40002], [SERVER, 79]);
    c.handshake().send(1, PSH | ACK, { len: 17 }).send(0, ACK).send(0, FIN | ACK);
    return { frames, end: c.t };
  };

  it('unacknowledged and not resent, the capture ending at once: undetermined, no missing-fin, no CLOSE_WAIT claimed', () => {
    const { frames } = capture();
    const report = analyzeFrames(frames);
    assert.equal(only(report).close.verdict, 'undetermined');
    assert.deepEqual(only(report).close.state_guess, { client: 'FIN_WAIT1', server: 'unknown' });
    assert.deepEqual(kinds(report), []);
  });

  it('claimed once the capture ran long enough for a retransmission, or the socket table shows the state', () => {
    const { frames, end } = capture();
    const later = analyzeFrames(frames, { captureEndUnixS: end + 2 });
    assert.equal(only(later).close.verdict, 'half-closed');
    assert.deepEqual(kinds(later), ['missing-fin']);
    const shown = analyzeFrames(frames, { peerStates: new Map([['10.77.0.1:40002', 'FIN_WAIT1']]) });
    assert.equal(only(shown).close.verdict, 'half-closed');
    assert.deepEqual(kinds(shown), ['missing-fin']);
    const gone = analyzeFrames(frames, { peerStates: new Map([['10.77.0.1:40002', 'TIME_WAIT']]) });
    assert.equal(only(gone).close.verdict, 'undetermined');
  });
});

describe('stall', () => {
  const exchange = (gapS: number): TimedFrame[] => {
    const frames: TimedFrame[] = [];
    const c = new Conversation(frames, [CLIENT, 40003], [SERVER, 7]);
    c.handshake().send(0, PSH | ACK, { len: 1000, dt: gapS / 3 });
    // RTO backoff: the segment again after 1/3 and 2/3 of the gap, then its ACK.
    c.send(0, PSH | ACK, { len: 1000, seq: c.next(0) - 1000, dt: (2 * gapS) / 3 }).send(1, ACK);
    c.send(1, PSH | ACK, { len: 1000 }).send(0, ACK).send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
    return frames;
  };

  it('data outstanding for 3 s between progress: a finding with the gap and its frames', () => {
    const report = analyzeFrames(exchange(3));
    assert.deepEqual(kinds(report), ['stall']);
    assert.match(report.findings[0]!.instances[0]!.detail, /client's data stood still 1 time\(s\) for more than 1000 ms while outstanding: 3\.00\d s \(frames 4–6\)/);
  });

  it('a retransmission answered within the bound is not one', () => {
    assert.deepEqual(kinds(analyzeFrames(exchange(0.6))), []);
  });
});

describe('predictable ISNs (RFC 6528)', () => {
  const server = (isn: (i: number) => number, n = 12): ReturnType<typeof analyzeFrames> => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < n; i++) {
      const c = new Conversation(frames, [CLIENT, 41000 + i], [SERVER, 79], { isn: [(i * 2654435761) >>> 0, isn(i)], t: 1000 + i * 0.01 });
      c.handshake().send(1, PSH | ACK, { len: 17 }).send(1, FIN | ACK).send(0, ACK).send(0, FIN | ACK).send(1, ACK);
    }
    return analyzeFrames(frames, { captureEndUnixS: 1010 });
  };

  it("lwIP 2.1.3's: one ISN on every connection (its counter had not ticked)", () => {
    const r = server(() => 6510);
    assert.deepEqual(kinds(r), ['predictable-isn']);
    assert.match(r.findings[0]!.title, /11 of 12 repeat an earlier one \(ISN 6510 on 12 connections\)/);
  });

  it('a counter: small steps', () => {
    const r = server((i) => 6510 + i * 64_000);
    assert.deepEqual(kinds(r), ['predictable-isn']);
    assert.match(r.findings[0]!.title, /11 of 11 steps between consecutive connections are under 2\^20/);
  });

  it('keyed-hash ISNs (spread over the 32-bit space) are not; nor are fewer connections than --isn-min', () => {
    assert.deepEqual(kinds(server((i) => (Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0)), []);
    assert.deepEqual(kinds(server(() => 6510, 7)), []);
  });
});
