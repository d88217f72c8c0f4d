import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { mssOption, rawBench, summary, type Bench } from './helpers/tcp-peer.js';

const PORT = 80;
const PEER_PORT = 40000;
const PEER_ISN = 1000;

/** Peer SYN → the stack's SYN,ACK; returns the stack's ISS. */
async function synToListener(b: Bench): Promise<number> {
  const from = b.peer.received.length;
  b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN, flags: SYN, options: mssOption(1460) });
  await b.runUntil(() => b.peer.received.length > from, 1000);
  const synack = b.peer.received[from]!.seg;
  assert.equal(synack.flags, SYN | ACK, summary(b.peer.since(from)).join('\n'));
  assert.equal(synack.ack, PEER_ISN + 1);
  assert.ok(synack.options.some((o) => o.kind === 'mss'), 'SYN,ACK carries MSS');
  return synack.seq;
}

test('passive open: the application sees the connection only once ESTABLISHED (the Minnesota Goodbye invariant)', async () => {
  const b = rawBench();
  const seen: string[] = [];
  b.stack.listen(PORT, (s) => seen.push(s.state));
  const iss = await synToListener(b);
  assert.deepEqual(seen, [], 'nothing handed out in SYN-RECEIVED');
  b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN + 1, ack: iss + 1, flags: ACK });
  await b.run(10);
  assert.deepEqual(seen, ['Established']);
  assert.deepEqual(
    b.stack.trace.map((r) => r.line),
    [
      '{ Closed }  - Passive_open ->  { Listen }',
      `{ Listen }  - Send_synack ${iss} ->  { Syn_rcvd ${iss} }`,
      `{ Syn_rcvd ${iss} }  - Recv_ack ${iss + 1} ->  { Established }`,
    ],
  );
});

// gVisor packetimpact tcp_acceptable_ack_syn_rcvd: only SEG.ACK = ISS+1 is acceptable in SYN-RECEIVED.
for (const offset of [0, 1, 2]) {
  test(`SYN-RECEIVED + ACK at ISS+${offset}: ${offset === 1 ? 'ESTABLISHED' : 'RST <SEQ=SEG.ACK>, still SYN-RECEIVED'}`, async () => {
    const b = rawBench();
    let accepted = 0;
    b.stack.listen(PORT, () => accepted++);
    const iss = await synToListener(b);
    const from = b.peer.received.length;
    b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN + 1, ack: (iss + offset) >>> 0, flags: ACK });
    await b.run(10);
    const after = b.peer.since(from);
    const states = b.stack.tcp.connections().map((t) => t.state.name);
    if (offset === 1) {
      assert.equal(accepted, 1);
      assert.deepEqual(after, [], 'no reply to the completing ACK');
      assert.deepEqual(states, ['Established']);
    } else {
      assert.equal(accepted, 0);
      assert.equal(after.length, 1, summary(after).join('\n'));
      assert.equal(after[0]!.seg.flags, RST);
      assert.equal(after[0]!.seg.seq, (iss + offset) >>> 0);
      assert.deepEqual(states, ['Syn_rcvd']);
      assert.ok(!b.stack.trace.some((r) => r.to.name === 'Established'));
    }
  });
}

test('RST in SYN-RECEIVED of a passive open: back to LISTEN, no more SYN,ACK retransmissions', async () => {
  const b = rawBench({ tcp: { initialRto: 1000 } });
  let accepted = 0;
  b.stack.listen(PORT, () => accepted++);
  const iss = await synToListener(b);
  // Let one retransmission happen first, so the test proves the timer was running.
  await b.run(1500);
  const synAcks = (): number => b.peer.received.filter((c) => c.seg.flags === (SYN | ACK)).length;
  assert.equal(synAcks(), 2);
  b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN + 1, flags: RST });
  await b.run(120_000);
  assert.equal(synAcks(), 2, 'no SYN,ACK after the RST');
  assert.equal(accepted, 0, 'the application never heard of it');
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.equal(b.stack.trace.at(-1)!.line, `{ Syn_rcvd ${iss} }  - Recv_rst ->  { Listen }`);
  // The listener still works.
  await synToListener(b);
});

test('retransmitted SYN in SYN-RECEIVED gets the SYN,ACK again', async () => {
  const b = rawBench();
  b.stack.listen(PORT, () => undefined);
  const iss = await synToListener(b);
  const from = b.peer.received.length;
  b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN, flags: SYN, options: mssOption(1460) });
  await b.run(10);
  assert.deepEqual(summary(b.peer.since(from)), [`S. seq=${iss} ack=${PEER_ISN + 1} len=0`]);
});

test('CLOSE in SYN-RECEIVED sends a FIN and enters FIN-WAIT-1 (RFC 9293 §3.10.4; simultaneous open)', async () => {
  const b = rawBench();
  const sock: TcpSocket = b.stack.connect(b.peer.ip, PORT);
  await b.run(5);
  const syn = b.peer.received[0]!.seg;
  assert.equal(syn.flags, SYN);
  // Simultaneous open: the peer's own SYN crosses ours (RFC 1122 §4.2.2.10).
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 5000, flags: SYN, options: mssOption(1460) });
  await b.run(5);
  assert.equal(sock.state, 'Syn_rcvd');
  const from = b.peer.received.length;
  sock.end();
  await b.run(5);
  assert.deepEqual(summary(b.peer.since(from)), [`F. seq=${syn.seq + 1} ack=5001 len=0`]);
  assert.equal(sock.state, 'Fin_wait_1');
  assert.ok(b.stack.trace.some((r) => r.line === `{ Syn_rcvd ${syn.seq} }  - Send_fin ${syn.seq + 1} ->  { Fin_wait_1 ${syn.seq + 1} }`));
  // The peer acknowledges SYN and FIN, then closes too: TIME-WAIT, then CLOSED.
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 5001, ack: syn.seq + 2, flags: ACK });
  await b.run(5);
  assert.equal(sock.state, 'Fin_wait_2');
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 5001, ack: syn.seq + 2, flags: FIN | ACK });
  await b.run(5);
  assert.equal(sock.state, 'Time_wait');
});

test('simultaneous open completes both ways', async () => {
  const b = rawBench();
  const sock = b.stack.connect(b.peer.ip, PORT);
  let connected = false;
  sock.on('connect', () => (connected = true));
  await b.run(5);
  const syn = b.peer.received[0]!.seg;
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 7000, flags: SYN, options: mssOption(1000) });
  await b.run(5);
  const synack = b.peer.received.at(-1)!.seg;
  assert.equal(synack.flags, SYN | ACK);
  assert.equal(synack.seq, syn.seq);
  assert.equal(synack.ack, 7001);
  // The peer's SYN,ACK repeats its SYN and acknowledges ours: ESTABLISHED (RFC 9293 Figure 8).
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 7000, ack: syn.seq + 1, flags: SYN | ACK, options: mssOption(1000) });
  await b.run(5);
  assert.equal(sock.state, 'Established');
  assert.ok(connected);
  assert.ok(b.stack.trace.some((r) => r.line === `{ Syn_sent ${syn.seq} }  - Recv_syn 7000 ->  { Syn_rcvd ${syn.seq} }`));
});

test('SYN-SENT: unacceptable ACK draws RST, RST with acceptable ACK is "connection refused"', async () => {
  const b = rawBench();
  const sock = b.stack.connect(b.peer.ip, PORT);
  const reasons: string[] = [];
  sock.on('reset', (r: string) => reasons.push(r));
  await b.run(5);
  const syn = b.peer.received[0]!.seg;
  const from = b.peer.received.length;
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 9, ack: syn.seq, flags: SYN | ACK }); // ACK ≤ ISS
  await b.run(5);
  assert.deepEqual(summary(b.peer.since(from)), [`R seq=${syn.seq} ack=- len=0`]);
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 0, ack: syn.seq + 5, flags: RST | ACK }); // unacceptable: ignored
  await b.run(5);
  assert.equal(sock.state, 'Syn_sent');
  b.peer.send({ srcPort: PORT, dstPort: syn.srcPort, seq: 0, ack: syn.seq + 1, flags: RST | ACK });
  await b.run(5);
  assert.deepEqual(reasons, ['refused']);
  assert.equal(b.stack.tcp.connectionCount, 0);
});

test('MSS: 536 when the SYN has no option (MUST-15), the smaller one otherwise (MUST-16)', async () => {
  for (const [opt, expected] of [[undefined, 536], [400, 400], [9000, 1460]] as const) {
    const b = rawBench();
    let sock: TcpSocket | undefined;
    b.stack.listen(PORT, (s) => (sock = s));
    b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN, flags: SYN, options: opt === undefined ? [] : mssOption(opt) });
    await b.run(5);
    const iss = b.peer.received[0]!.seg.seq;
    b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, window: 65535 });
    await b.run(5);
    const from = b.peer.received.length;
    sock!.write(Buffer.alloc(3000, 1));
    await b.run(5);
    const sizes = b.peer.since(from).map((c) => c.seg.payload.length);
    assert.equal(Math.max(...sizes), expected, `peer MSS ${opt}: ${sizes}`);
  }
});

test('window scaling is used only when both SYNs carry the option (RFC 7323 §2.2)', async () => {
  for (const offer of [true, false]) {
    const b = rawBench({ tcp: { receiveBuffer: 1 << 20 } });
    b.stack.listen(PORT, () => undefined);
    b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN, flags: SYN, options: offer ? [{ kind: 'mss', mss: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 2 }] : mssOption(1460) });
    await b.run(5);
    const synack = b.peer.received[0]!.seg;
    const ws = synack.options.find((o) => o.kind === 'wscale');
    assert.equal(ws !== undefined, offer);
    assert.equal(synack.window, 65535, 'SYN window never scaled');
    b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN + 1, ack: synack.seq + 1, flags: ACK });
    b.peer.send({ srcPort: PEER_PORT, dstPort: PORT, seq: PEER_ISN + 1, ack: synack.seq + 1, flags: ACK | FIN });
    await b.run(5);
    const ack = b.peer.received.at(-1)!.seg;
    assert.equal(ack.window, offer ? (1 << 20) >>> 5 : 65535, `advertised window with scaling ${offer}`);
  }
});
