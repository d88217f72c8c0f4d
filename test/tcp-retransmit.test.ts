import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, PSH, SYN, type TcpRepr } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { simBench, type Bench, type BenchStackOptions, type Conn } from '../fuzzers/raw/testbench/index.js';
import { since, summary } from './helpers/bench.js';

// Retransmission timing in virtual milliseconds: these scripts run on the sim wire only.

const PORT = 80;
const PP = 40000;
const PEER_ISN = 1000;

/** The endpoint opens (MSS 1000, its window `window`), then 5 ms pass. */
async function established(opts: BenchStackOptions, window = 65535): Promise<{ b: Bench; c: Conn; sock: TcpSocket; iss: number }> {
  const b = simBench(opts);
  let sock: TcpSocket | undefined;
  b.stack.listen(PORT, (s) => (sock = s));
  const c = await b.endpoint.connect({ remotePort: PORT, localPort: PP, isn: PEER_ISN, synOptions: [{ kind: 'mss', mss: 1000 }], window, timeoutMs: 1000 });
  await b.time.wait(5);
  return { b, c, sock: sock!, iss: c.peerIsn! };
}

/** Intervals between events, to the 10 ms (the first SYN waits for ARP; the sim wire adds 1 ms hops). */
function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => Math.round((t - times[i]!) / 10) * 10);
}

test('SYN retransmitted with ×2 back-off, then given up: "timeout" reset, nothing more sent', async () => {
  const b = simBench({ tcp: { initialRto: 1000, maxSynRetries: 4 } });
  const sock = b.stack.connect(b.endpoint.ip, PORT); // the endpoint never answers
  const reasons: string[] = [];
  sock.on('reset', (r: string) => reasons.push(r));
  await b.time.wait(120_000);
  const syns = b.endpoint.received.filter((r) => r.seg.flags === SYN);
  assert.deepEqual(gaps(syns.map((r) => r.timeMs)), [1000, 2000, 4000, 8000]);
  assert.deepEqual(reasons, ['timeout']);
  const iss = syns[0]!.seg.seq;
  assert.equal(b.stack.trace.at(-1)!.line, `{ Syn_sent ${iss} }  - Timeout ->  { Closed }`);
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.equal(b.endpoint.received.at(-1)!.timeMs, syns.at(-1)!.timeMs, 'silence after giving up');
});

test('data RTO: ×2 back-off from the initial RTO, R2 reached → reset "timeout", timers stopped', async () => {
  const { b, sock } = await established({ tcp: { initialRto: 1000, maxRetries: 3 } });
  const reasons: string[] = [];
  sock.on('reset', (r: string) => reasons.push(r));
  const from = b.endpoint.received.length;
  sock.write('never acknowledged');
  await b.time.wait(120_000);
  const data = since(b, from).filter((r) => r.seg.payload.length > 0);
  assert.deepEqual(gaps(data.map((r) => r.timeMs)), [1000, 2000, 4000]);
  assert.ok(data.every((r) => Buffer.from(r.seg.payload).toString() === 'never acknowledged'));
  assert.deepEqual(reasons, ['timeout']);
  assert.equal(b.stack.trace.at(-1)!.line, '{ Established }  - Timeout ->  { Closed }');
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.equal(b.endpoint.received.at(-1)!.timeMs, data.at(-1)!.timeMs, 'nothing after the last retransmission');
});

test('RTT samples set the RTO (RFC 6298 §2), Karn skips the retransmitted segment', async () => {
  const { b, c, sock, iss } = await established({ tcp: { initialRto: 1000, minRto: 10 } });
  const tcb = b.stack.tcp.connections()[0]!;
  // The handshake gave the first sample (SYN,ACK → ACK).
  const s0 = tcb.rto.srtt!;
  const v0 = tcb.rto.rttvar;
  assert.ok(s0 > 0 && v0 === s0 / 2);
  sock.write('a');
  await b.time.wait(5); // within the RTO (the 10 ms floor: SRTT 2 + 4 × 1 ms is less)
  c.send({ seq: PEER_ISN + 1, ack: iss + 2, flags: ACK });
  await b.time.wait(5);
  const r = 6; // sent at t, the peer's ACK leaves at t+5 and arrives at t+6
  const rttvar = 0.75 * v0 + 0.25 * Math.abs(s0 - r);
  const srtt = 0.875 * s0 + 0.125 * r;
  assert.equal(tcb.rto.srtt, srtt);
  assert.equal(tcb.rto.rto, Math.max(10, srtt + 4 * rttvar));
  // A segment that had to be retransmitted gives no sample (Karn).
  sock.write('b');
  await b.time.wait(200);
  c.send({ seq: PEER_ISN + 1, ack: iss + 3, flags: ACK });
  await b.time.wait(5);
  assert.equal(tcb.rto.srtt, srtt);
  assert.ok(b.stack.tcp.stats.retransmits >= 1);
});

test('fast retransmit on the third duplicate ACK, before the RTO (RFC 5681 §3.2)', async () => {
  const { b, c, sock, iss } = await established({ tcp: { initialRto: 5000 } });
  const from = b.endpoint.received.length;
  sock.write(Buffer.alloc(4000, 7)); // IW = 4 segments of 1000 (peer MSS 1000)
  await b.time.wait(5);
  assert.deepEqual(since(b, from).map((r) => r.seg.payload.length), [1000, 1000, 1000, 1000]);
  const first = b.endpoint.received.length;
  for (let i = 0; i < 3; i++) c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK });
  await b.time.wait(5);
  const out = since(b, first);
  assert.deepEqual(summary(out), [`. seq=${iss + 1} ack=${PEER_ISN + 1} len=1000`]);
  assert.equal(b.stack.tcp.stats.fastRetransmits, 1);
  assert.equal(b.stack.tcp.stats.rtoExpiries, 0);
});

test('zero window: persist probes with back-off, the connection stays, data flows once the window reopens', async () => {
  const { b, c, sock, iss } = await established({ tcp: { initialRto: 1000, maxRetries: 2 } }, 0);
  const from = b.endpoint.received.length;
  sock.write(Buffer.alloc(3000, 1));
  await b.time.wait(10);
  assert.deepEqual(since(b, from), [], 'nothing sent into a zero window');
  // Probe = <SEQ=SND.UNA−1> with no data; the peer answers each with its (still zero) window.
  const probes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const n = b.endpoint.received.length;
    await b.time.waitUntil(() => b.endpoint.received.length > n, 120_000);
    const p = b.endpoint.received.at(-1)!;
    assert.deepEqual(summary([p]), [`. seq=${iss} ack=${PEER_ISN + 1} len=0`]);
    probes.push(p.timeMs);
    c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, window: 0 });
  }
  assert.deepEqual(gaps(probes), [2000, 4000, 8000, 16000]);
  assert.equal(sock.state, 'Established', 'probes answered: no give-up although maxRetries is 2 (MUST-37)');
  const n = b.endpoint.received.length;
  c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, window: 65535 });
  await b.time.wait(5);
  assert.deepEqual(since(b, n).map((r) => r.seg.payload.length), [1000, 1000, 1000]);
  assert.equal(b.stack.tcp.stats.windowProbes, 5);
});

test('receiver: a paused reader closes the window to zero; reading reopens it with a window update', async () => {
  const { b, c, sock, iss } = await established({ tcp: { receiveBuffer: 8000, delayedAckMs: 0 } });
  sock.pause();
  let seq = PEER_ISN + 1;
  const windows: number[] = [];
  for (let i = 0; i < 8; i++) {
    c.send({ seq, ack: iss + 1, flags: ACK | PSH, payload: Buffer.alloc(1000, i) });
    seq += 1000;
    await b.time.wait(5);
    windows.push(b.endpoint.received.at(-1)!.seg.window);
  }
  assert.equal(windows.at(-1), 0, `windows: ${windows}`);
  // Data beyond a zero window is not accepted; the ACK repeats the zero window.
  c.send({ seq, ack: iss + 1, flags: ACK | PSH, payload: Buffer.alloc(100) });
  await b.time.wait(5);
  assert.deepEqual(summary([b.endpoint.received.at(-1)!]), [`. seq=${iss + 1} ack=${seq} len=0`]);
  assert.equal(b.endpoint.received.at(-1)!.seg.window, 0);
  const n = b.endpoint.received.length;
  let read = 0;
  sock.on('data', (d: Buffer) => (read += d.length));
  sock.resume();
  await b.time.wait(5);
  assert.equal(read, 8000);
  const update = since(b, n);
  assert.equal(update.length, 1, 'one window update');
  assert.equal(update[0]!.seg.ack, seq);
  assert.ok(update[0]!.seg.window >= 4000, `reopened to ${update[0]!.seg.window}`);
});

test('delayed ACK: one segment is ACKed within delayedAckMs (< 500 ms), every second segment at once', async () => {
  const { b, c, iss } = await established({ tcp: { delayedAckMs: 200 } });
  const n = b.endpoint.received.length;
  const sentAt = b.time.now();
  c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK | PSH, payload: Buffer.alloc(100) });
  await b.time.wait(100);
  assert.equal(b.endpoint.received.length, n, 'not yet');
  await b.time.wait(150);
  assert.equal(b.endpoint.received.length, n + 1);
  assert.equal(b.endpoint.received.at(-1)!.timeMs - sentAt, 1 + 200 + 1, 'one hop, the 200 ms delay, one hop');
  const m = b.endpoint.received.length;
  c.send({ seq: PEER_ISN + 101, ack: iss + 1, flags: ACK, payload: Buffer.alloc(1000) });
  c.send({ seq: PEER_ISN + 1101, ack: iss + 1, flags: ACK, payload: Buffer.alloc(1000) });
  await b.time.wait(5);
  assert.deepEqual(summary(since(b, m)), [`. seq=${iss + 1} ack=${PEER_ISN + 2101} len=0`]);
});

test('out-of-order segments: immediate duplicate ACK, then one ACK covering the filled gap; bytes in order', async () => {
  const { b, c, sock, iss } = await established({});
  const got: Buffer[] = [];
  sock.on('data', (d: Buffer) => got.push(d));
  const n = b.endpoint.received.length;
  c.send({ seq: PEER_ISN + 1 + 5, ack: iss + 1, flags: ACK, payload: Buffer.from('world') });
  await b.time.wait(5);
  assert.deepEqual(summary(since(b, n)), [`. seq=${iss + 1} ack=${PEER_ISN + 1} len=0`]);
  c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, payload: Buffer.from('hello') });
  await b.time.wait(5);
  assert.deepEqual(summary(since(b, n + 1)), [`. seq=${iss + 1} ack=${PEER_ISN + 11} len=0`]);
  assert.equal(Buffer.concat(got).toString(), 'helloworld');
});

test('Nagle (per socket): small writes wait while data is in flight; off by default', async () => {
  for (const nagle of [false, true]) {
    const { b, c, sock, iss } = await established({});
    sock.setNoDelay(!nagle);
    const n = b.endpoint.received.length;
    sock.write('a');
    await b.time.wait(1);
    sock.write('b');
    sock.write('c');
    await b.time.wait(1);
    const sent = (): string[] => since(b, n).map((r) => Buffer.from(r.seg.payload).toString());
    assert.deepEqual(sent(), nagle ? ['a'] : ['a', 'b', 'c']);
    c.send({ seq: PEER_ISN + 1, ack: iss + 2, flags: ACK });
    await b.time.wait(5);
    assert.deepEqual(sent(), nagle ? ['a', 'bc'] : ['a', 'b', 'c']);
  }
});

test('retransmissionsPending: one per connection with a SYN,ACK, data or FIN awaiting its ACK', async () => {
  const b = simBench({ tcp: { initialRto: 1000 } });
  let sock: TcpSocket | undefined;
  b.stack.listen(PORT, (s) => (sock = s));
  assert.equal(b.stack.tcp.retransmissionsPending(), 0);
  const c = b.endpoint.conn({ remotePort: PORT, localPort: PP, isn: PEER_ISN });
  c.send({ seq: PEER_ISN, flags: SYN });
  await b.time.wait(5);
  const iss = b.endpoint.received.at(-1)!.seg.seq;
  assert.equal(b.stack.tcp.retransmissionsPending(), 1, 'SYN,ACK');
  const ack = (n: number): TcpRepr => c.send({ seq: PEER_ISN + 1, ack: iss + 1 + n, flags: ACK });
  ack(0);
  await b.time.wait(5);
  assert.equal(b.stack.tcp.retransmissionsPending(), 0, 'handshake done');
  sock!.write('data');
  await b.time.wait(5);
  assert.equal(b.stack.tcp.retransmissionsPending(), 1, 'data');
  ack(4);
  await b.time.wait(5);
  assert.equal(b.stack.tcp.retransmissionsPending(), 0);
  sock!.end();
  await b.time.wait(5);
  assert.equal(b.stack.tcp.retransmissionsPending(), 1, 'FIN');
  ack(5);
  await b.time.wait(5);
  assert.equal(b.stack.tcp.retransmissionsPending(), 0, 'FIN-WAIT-2');
});
