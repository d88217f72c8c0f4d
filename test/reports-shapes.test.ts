/**
 * Connections by shape: who sent what, in order (plain ACKs of data left out, runs and repeated
 * pairs folded), with the verdict and the findings; one cluster per shape with its count, its
 * members and a representative whose trace is kept; and the terminal summary's shape lines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSummary } from '../reports/summary.js';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, RST, SYN } from '../stack/wire/tcp.js';
import { analyzeFrames, asReport, Conversation, type TimedFrame } from './analyze-support.js';

const C = parseIpv4('10.77.0.1')!;
const S = parseIpv4('10.77.0.2')!;

/** The seed's goodbye: data and FIN from the client, the server's string, no FIN from it. */
function goodbye(frames: TimedFrame[], port: number, t: number): void {
  new Conversation(frames, [C, port], [S, 19], { t })
    .handshake()
    .send(0, PSH | ACK, { len: 7 })
    .send(0, FIN | ACK)
    .send(1, PSH | ACK, { len: 17, ack: 1001 })
    .send(1, ACK)
    .send(0, ACK);
}

describe('connection shapes', () => {
  it('128 goodbye connections are one cluster of 128, with the seed\'s shape and one trace', () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 128; i++) goodbye(frames, 40000 + i, 1000 + i / 1000);
    const r = analyzeFrames(frames);
    assert.equal(r.clusters.length, 1);
    const c = r.clusters[0]!;
    assert.equal(c.signature, '→ SYN ← SYN/ACK → ACK → data → FIN ← data ← ACK');
    assert.equal(c.verdict, 'half-closed');
    assert.deepEqual(c.findings, ['missing-fin']);
    assert.equal(c.connections, 128);
    assert.equal(c.members.length, 128);
    assert.deepEqual(r.traces.map((t) => t.stream), [c.representative]);
    assert.ok(r.connections.every((x) => x.cluster === c.id) && r.timeline.every((x) => x.cluster === c.id));
    assert.match(formatSummary(asReport(r)), /\n1 shape, 128 connections: → SYN ← SYN\/ACK → ACK → data → FIN ← data ← ACK … no FIN from the server\n/);
  });

  it('folds runs and repeated request/response pairs, keeps retransmissions apart, leaves out the ACKs of data', () => {
    const frames: TimedFrame[] = [];
    const http = new Conversation(frames, [C, 41000], [S, 80]).handshake();
    for (let i = 0; i < 3; i++) http.send(0, PSH | ACK, { len: 50 }).send(1, ACK).send(1, PSH | ACK, { len: 1400 }).send(1, PSH | ACK, { len: 300 }).send(0, ACK);
    http.send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
    const resent = new Conversation(frames, [C, 41001], [S, 80], { t: 1001, isn: [100, 900] });
    resent.send(0, SYN).send(1, SYN | ACK).send(1, SYN | ACK, { seq: 900, dt: 1 }).send(0, ACK).send(0, RST | ACK);
    const r = analyzeFrames(frames);
    const sig = r.clusters.map((c) => c.signature).sort();
    assert.deepEqual(sig, ['→ SYN ← SYN/ACK → ACK (→ data ← data)+ → FIN ← FIN → ACK', '→ SYN ← SYN/ACK ← SYN/ACK again → ACK → RST'].sort());
    assert.equal(r.traces.length, 2, 'one trace per shape');
  });

  it('different verdicts or findings make different clusters, largest first', () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 3; i++) goodbye(frames, 42000 + i, 1000 + i);
    for (let i = 0; i < 5; i++) new Conversation(frames, [C, 43000 + i], [S, 7], { t: 1000 + i }).handshake().send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
    const r = analyzeFrames(frames);
    assert.deepEqual(
      r.clusters.map((c) => [c.connections, c.verdict]),
      [
        [5, 'complete'],
        [3, 'half-closed'],
      ],
    );
    const text = formatSummary(asReport(r));
    assert.match(text, /\n2 shapes, 8 connections:\n {2}5 × → SYN ← SYN\/ACK → ACK → FIN ← FIN → ACK … closed both ways {2}\(complete\)\n {2}3 × .* … no FIN from the server {2}\(half-closed: missing-fin\)\n/);
  });
});
