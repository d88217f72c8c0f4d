import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { runSim } from '../stack/sim-driver.js';
import { DUT_IP, peerOpens, rawBench, summary, twoStacks, type Bench } from './helpers/tcp-peer.js';

const PORT = 80;
const PP = 40000;
const PEER_ISN = 1000;
const MSL = 500;

/** An ESTABLISHED passive connection; returns the socket and the stack's ISS. */
async function established(b: Bench): Promise<{ sock: TcpSocket; iss: number; accepted: TcpSocket[] }> {
  const accepted: TcpSocket[] = [];
  b.stack.listen(PORT, (s) => accepted.push(s));
  const iss = await peerOpens(b, { srcPort: PP, dstPort: PORT, isn: PEER_ISN });
  const sock = accepted[0];
  assert.ok(sock);
  return { sock, iss, accepted };
}

type Step = (b: Bench, sock: TcpSocket, iss: number) => void;
const peer = (flags: number, ackOffset = 1, seqOffset = 1): Step => (b, _s, iss) =>
  b.peer.send({ srcPort: PP, dstPort: PORT, seq: PEER_ISN + seqOffset, ack: iss + ackOffset, flags });
const appClose: Step = (_b, s) => void s.end();

// Every path into TIME-WAIT (RFC 9293 §3.3.2) arms 2×MSL and ends in CLOSED (compare mirage #489).
const paths: Array<{ name: string; steps: Step[]; via: string[] }> = [
  { name: 'active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT', steps: [appClose, peer(ACK, 2), peer(FIN | ACK, 2)], via: ['Fin_wait_1', 'Fin_wait_2', 'Time_wait'] },
  { name: 'FIN+ACK at once: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT in one segment', steps: [appClose, peer(FIN | ACK, 2)], via: ['Fin_wait_1', 'Fin_wait_2', 'Time_wait'] },
  { name: 'simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT', steps: [appClose, peer(FIN | ACK, 1), peer(ACK, 2, 2)], via: ['Fin_wait_1', 'Closing', 'Time_wait'] },
];

for (const p of paths) {
  test(`TIME-WAIT path, ${p.name}; 2×MSL later CLOSED`, async () => {
    const b = rawBench({ tcp: { msl: MSL } });
    const { sock, iss } = await established(b);
    let closed = false;
    sock.on('close', () => (closed = true));
    for (const step of p.steps) {
      step(b, sock, iss);
      await b.run(5);
    }
    const states = b.stack.trace.slice(3).map((r) => r.to.name);
    assert.deepEqual([...new Set(states)], p.via, b.stack.trace.map((r) => r.line).join('\n'));
    const enteredAt = b.stack.trace.find((r) => r.to.name === 'Time_wait')!.timeMs;
    assert.ok(closed, "'close' once TIME-WAIT is reached");
    await b.run(2 * MSL + 10);
    const last = b.stack.trace.at(-1)!;
    assert.equal(last.line, '{ Time_wait }  - Timeout ->  { Closed }');
    assert.equal(last.timeMs - enteredAt, 2 * MSL);
    assert.equal(b.stack.tcp.connectionCount, 0);
    // Our FIN was acknowledged exactly once by each of our ACKs: one ACK per peer FIN (compare mirage #162).
    const acksOfPeerFin = b.peer.received.filter((c) => c.seg.flags === ACK && c.seg.ack === PEER_ISN + 2);
    assert.equal(acksOfPeerFin.length, 1, summary(b.peer.received).join('\n'));
  });
}

test('TIME-WAIT: a retransmitted FIN is ACKed again and restarts 2×MSL', async () => {
  const b = rawBench({ tcp: { msl: MSL } });
  const { sock, iss } = await established(b);
  sock.end();
  await b.run(5);
  peer(FIN | ACK, 2)(b, sock, iss);
  await b.run(600);
  const from = b.peer.received.length;
  peer(FIN | ACK, 2)(b, sock, iss);
  await b.run(5);
  assert.deepEqual(summary(b.peer.since(from)), [`. seq=${iss + 2} ack=${PEER_ISN + 2} len=0`]);
  await b.run(2 * MSL - 100);
  assert.equal(b.stack.tcp.connectionCount, 1, 'timer restarted by the FIN');
  await b.run(200);
  assert.equal(b.stack.tcp.connectionCount, 0);
});

test('passive close: CLOSE-WAIT → LAST-ACK → CLOSED, no TIME-WAIT; the app sees peer-fin then end', async () => {
  const b = rawBench();
  const { sock, iss } = await established(b);
  const events: string[] = [];
  sock.on('peer-fin', () => events.push('peer-fin'));
  sock.on('end', () => events.push('end'));
  sock.on('close', () => events.push('close'));
  sock.resume();
  peer(FIN | ACK)(b, sock, iss);
  await b.run(5);
  assert.equal(sock.state, 'Close_wait');
  sock.end('bye');
  await b.run(5);
  assert.equal(sock.state, 'Last_ack');
  const fin = b.peer.received.at(-1)!.seg;
  assert.equal(fin.flags & FIN, FIN);
  peer(ACK, 2 + 3, 2)(b, sock, iss);
  await b.run(5);
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.deepEqual(events, ['peer-fin', 'end', 'close']);
  assert.deepEqual(
    b.stack.trace.slice(3).map((r) => r.line),
    ['{ Established }  - Recv_fin ->  { Close_wait }', `{ Close_wait }  - Send_fin ${iss + 4} ->  { Last_ack ${iss + 4} }`, `{ Last_ack ${iss + 4} }  - Recv_ack ${iss + 5} ->  { Closed }`],
  );
});

test('a second end() does not send a second FIN; the FIN is retransmitted on the timer', async () => {
  const b = rawBench({ tcp: { initialRto: 1000 } });
  const { sock } = await established(b);
  sock.end();
  sock.end();
  await b.run(10);
  const fins = (): number => b.peer.received.filter((c) => c.seg.flags & FIN).length;
  assert.equal(fins(), 1);
  await b.run(1000);
  assert.equal(fins(), 2, 'retransmitted after RTO');
});

test('FIN-WAIT-2 times out after its idle limit', async () => {
  const b = rawBench({ tcp: { finWait2Timeout: 5000 } });
  const { sock, iss } = await established(b);
  sock.end();
  await b.run(5);
  peer(ACK, 2)(b, sock, iss);
  await b.run(4000);
  assert.equal(sock.state, 'Fin_wait_2');
  await b.run(1100);
  assert.equal(b.stack.trace.at(-1)!.line, '{ Fin_wait_2 0 }  - Timeout ->  { Closed }');
  assert.equal(b.stack.tcp.connectionCount, 0);
});

test('abort (destroy) sends RST <SEQ=SND.NXT> and frees the connection; the peer RST resets the other way', async () => {
  const b = rawBench();
  const { sock, iss } = await established(b);
  const from = b.peer.received.length;
  sock.destroy();
  await b.run(5);
  assert.deepEqual(summary(b.peer.since(from)), [`R seq=${iss + 1} ack=- len=0`]);
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.equal(b.stack.trace.at(-1)!.line, '{ Established }  - Send_rst ->  { Closed }');

  const b2 = rawBench();
  const c2 = await established(b2);
  const reasons: string[] = [];
  let closed = false;
  c2.sock.on('reset', (r: string) => reasons.push(r));
  c2.sock.on('close', () => (closed = true));
  c2.sock.write('unsent for long');
  b2.peer.send({ srcPort: PP, dstPort: PORT, seq: PEER_ISN + 1, flags: RST });
  await b2.run(60_000);
  assert.deepEqual(reasons, ['peer-reset']);
  assert.ok(closed);
  assert.equal(b2.stack.tcp.connectionCount, 0);
  // After the RST nothing more is sent (timers cancelled, queues flushed; compare mirage #107).
  const afterRst = b2.peer.received.filter((c) => c.timeMs > b2.stack.trace.at(-1)!.timeMs);
  assert.deepEqual(summary(afterRst), []);
});

// §3.10.7.1: no TCB. ACK on → <SEQ=SEG.ACK><CTL=RST>; ACK off → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; RST → nothing.
const noTcb: Array<{ name: string; flags: number; payload: number; expect: (s: number) => string[] }> = [
  { name: 'ACK', flags: ACK, payload: 0, expect: () => ['R seq=777 ack=- len=0'] },
  { name: 'data+ACK', flags: ACK | PSH, payload: 10, expect: () => ['R seq=777 ack=- len=0'] },
  { name: 'SYN', flags: SYN, payload: 0, expect: (s) => [`R. seq=0 ack=${s + 1} len=0`] },
  { name: 'FIN', flags: FIN, payload: 0, expect: (s) => [`R. seq=0 ack=${s + 1} len=0`] },
  { name: 'data, no ACK', flags: PSH, payload: 10, expect: (s) => [`R. seq=0 ack=${s + 10} len=0`] },
  { name: 'SYN+FIN+data', flags: SYN | FIN, payload: 5, expect: (s) => [`R. seq=0 ack=${s + 7} len=0`] },
  { name: 'RST', flags: RST, payload: 0, expect: () => [] },
  { name: 'RST+ACK', flags: RST | ACK, payload: 0, expect: () => [] },
];
for (const c of noTcb) {
  test(`no connection (closed port): ${c.name} → ${c.expect(0).length ? 'RST' : 'silence'}`, async () => {
    const b = rawBench();
    const seq = 4242;
    b.peer.send({ srcPort: PP, dstPort: 81, seq, ack: 777, flags: c.flags, payload: new Uint8Array(c.payload) });
    await b.run(5);
    assert.deepEqual(summary(b.peer.received), c.expect(seq));
  });
}

test('LISTEN: RST ignored, ACK answered with RST <SEQ=SEG.ACK>, nothing else created', async () => {
  const b = rawBench();
  b.stack.listen(PORT, () => undefined);
  b.peer.send({ srcPort: PP, dstPort: PORT, seq: 1, flags: RST });
  b.peer.send({ srcPort: PP, dstPort: PORT, seq: 1, ack: 999, flags: ACK });
  b.peer.send({ srcPort: PP, dstPort: PORT, seq: 1, flags: FIN });
  await b.run(5);
  assert.deepEqual(summary(b.peer.received), ['R seq=999 ack=- len=0']);
  assert.equal(b.stack.tcp.connectionCount, 0);
});

test('bounded SYN queue: SYNs beyond the backlog are dropped', async () => {
  const b = rawBench();
  b.stack.listen(PORT, () => undefined, { backlog: 3 });
  for (let i = 0; i < 10; i++) b.peer.send({ srcPort: PP + i, dstPort: PORT, seq: 1, flags: SYN });
  await b.run(5);
  assert.equal(b.peer.received.filter((c) => c.seg.flags === (SYN | ACK)).length, 3);
  assert.equal(b.stack.tcp.stats.synQueueDrops, 7);
});

test('accept backlog: a paused listener queues up to the backlog, then drops handshake ACKs until resumed', async () => {
  const b = rawBench({ tcp: { initialRto: 1000 } });
  const got: number[] = [];
  const l = b.stack.listen(PORT, (s) => got.push(s.remotePort), { backlog: 2 });
  l.pause();
  const isss: number[] = [];
  for (let i = 0; i < 3; i++) {
    b.peer.send({ srcPort: PP + i, dstPort: PORT, seq: 1, flags: SYN });
    await b.run(5);
    isss.push(b.peer.received.at(-1)!.seg.seq);
    b.peer.send({ srcPort: PP + i, dstPort: PORT, seq: 2, ack: isss[i]! + 1, flags: ACK });
    await b.run(5);
  }
  assert.equal(l.acceptQueue.length, 2);
  assert.equal(b.stack.tcp.stats.acceptQueueDrops, 1);
  l.resume();
  assert.deepEqual(got, [PP, PP + 1]);
  // The third peer's ACK is accepted once there is room (the SYN,ACK retransmission invites it).
  b.peer.send({ srcPort: PP + 2, dstPort: PORT, seq: 2, ack: isss[2]! + 1, flags: ACK });
  await b.run(5);
  assert.deepEqual(got, [PP, PP + 1, PP + 2]);
});

/** The stack closes first and reaches TIME-WAIT. */
async function stackInTimeWait(b: Bench): Promise<{ iss: number; accepted: TcpSocket[] }> {
  const { sock, iss, accepted } = await established(b);
  sock.end();
  await b.run(5);
  peer(FIN | ACK, 2)(b, sock, iss);
  await b.run(5);
  assert.deepEqual(b.stack.tcp.countByState(), { Time_wait: 1 });
  return { iss, accepted };
}

test('TIME-WAIT + SYN beyond the old RCV.NXT: a new incarnation with ISS = old SND.NXT + 65537 (RFC 1122 §4.2.2.13)', async () => {
  const b = rawBench({ tcp: { msl: 30_000 } });
  const { iss, accepted } = await stackInTimeWait(b);
  const old = b.stack.tcp.connections()[0]!;
  const newIsn = PEER_ISN + 2 + 5000;
  const from = b.peer.received.length;
  b.peer.send({ srcPort: PP, dstPort: PORT, seq: newIsn, flags: SYN });
  await b.run(5);
  const newIss = (iss + 2 + 65537) >>> 0;
  assert.deepEqual(summary(b.peer.since(from)), [`S. seq=${newIss} ack=${newIsn + 1} len=0`]);
  assert.ok(!old.alive, 'the TIME-WAIT TCB is gone');
  const lines = b.stack.trace.slice(-3).map((r) => r.line);
  assert.deepEqual(lines, [`{ Time_wait }  - Recv_syn ${newIsn} ->  { Closed }`, '{ Closed }  - Passive_open ->  { Listen }', `{ Listen }  - Send_synack ${newIss} ->  { Syn_rcvd ${newIss} }`]);
  b.peer.send({ srcPort: PP, dstPort: PORT, seq: newIsn + 1, ack: newIss + 1, flags: ACK });
  await b.run(5);
  assert.equal(accepted.length, 2, 'the new incarnation reached the application');
  assert.deepEqual(b.stack.tcp.countByState(), { Established: 1 });
});

for (const offset of [0, -1, -100_000]) {
  test(`TIME-WAIT + SYN at the old RCV.NXT${offset === 0 ? '' : ` ${offset}`}: no new incarnation, an ACK, TIME-WAIT stays`, async () => {
    const b = rawBench({ tcp: { msl: 30_000 } });
    const { iss } = await stackInTimeWait(b);
    const from = b.peer.received.length;
    b.peer.send({ srcPort: PP, dstPort: PORT, seq: (PEER_ISN + 2 + offset) >>> 0, flags: SYN });
    await b.run(5);
    assert.deepEqual(summary(b.peer.since(from)), [`. seq=${iss + 2} ack=${PEER_ISN + 2} len=0`]);
    assert.deepEqual(b.stack.tcp.countByState(), { Time_wait: 1 });
  });
}

test('port reuse while the server holds TIME-WAIT: the client reconnects from the same port at once, on the sim wire', async () => {
  const { clock, client, server } = twoStacks({}, { tcp: { msl: 30_000 } });
  let served = 0;
  // The server closes first (the goodbye shape), so TIME-WAIT is on its side.
  server.listen(PORT, (s) => {
    served++;
    s.end('bye\n');
    s.resume();
  });
  const openedAt: number[] = [];
  for (let round = 0; round < 3; round++) {
    const sock = client.connect(DUT_IP, PORT, { localPort: PP });
    let closed = false;
    sock.on('connect', () => openedAt.push(clock.now()));
    sock.on('data', () => undefined);
    sock.on('end', () => sock.end());
    sock.on('close', () => (closed = true));
    await runSim(clock, { until: () => closed, untilMs: clock.now() + 600_000 });
    assert.ok(closed, `round ${round} closed`);
    assert.deepEqual(server.tcp.countByState(), { Time_wait: 1 });
    await runSim(clock, { untilMs: clock.now() + 3 });
  }
  assert.equal(served, 3);
  const gaps = openedAt.slice(1).map((t, i) => t - openedAt[i]!);
  assert.ok(gaps.every((g) => g < 50), `reconnects took ${gaps.join(', ')} ms (TIME-WAIT is 60,000 ms)`);
  assert.equal(client.tcp.stats.resetsSent + server.tcp.stats.resetsSent, 0, 'no RST exchanged');
  assert.equal(server.trace.filter((r) => r.action.kind === 'Recv_syn').length, 2);
});
