import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { runSim } from '../stack/sim-driver.js';
import type { Bench, Conn, SegmentFields } from '../fuzzers/raw/testbench/index.js';
import { benchTests, QUIET_MS, REPLY_MS, summary } from './helpers/bench.js';
import { SERVER_IP, twoStacks } from './helpers/two-stacks.js';

const linkTest = benchTests(import.meta.url);

const PORT = 80;
const PP = 40000;
const PEER_ISN = 1000;
const MSL = 500;
const EMPTY = new Uint8Array(0);

interface Established {
  c: Conn;
  sock: TcpSocket;
  /** The stack's ISS. */
  iss: number;
  accepted: TcpSocket[];
}

/** An ESTABLISHED passive connection; returns the socket and the stack's ISS. */
async function established(b: Bench): Promise<Established> {
  const accepted: TcpSocket[] = [];
  b.stack.listen(PORT, (s) => accepted.push(s));
  const c = await b.endpoint.connect({ remotePort: PORT, localPort: PP, isn: PEER_ISN, timeoutMs: REPLY_MS });
  await b.time.waitUntil(() => accepted.length > 0, REPLY_MS);
  const sock = accepted[0];
  assert.ok(sock);
  return { c, sock, iss: c.peerIsn!, accepted };
}

type Step = (e: Established) => void;
const peer = (flags: number, ackOffset = 1, seqOffset = 1): Step => (e) => void e.c.send({ seq: PEER_ISN + seqOffset, ack: e.iss + ackOffset, flags });
const appClose: Step = (e) => void e.sock.end();

// Every path into TIME-WAIT (RFC 9293 §3.3.2) arms 2×MSL and ends in CLOSED (compare mirage #489).
const paths: Array<{ name: string; steps: Step[]; via: string[] }> = [
  { name: 'active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT', steps: [appClose, peer(ACK, 2), peer(FIN | ACK, 2)], via: ['Fin_wait_1', 'Fin_wait_2', 'Time_wait'] },
  { name: 'FIN+ACK at once: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT in one segment', steps: [appClose, peer(FIN | ACK, 2)], via: ['Fin_wait_1', 'Fin_wait_2', 'Time_wait'] },
  { name: 'simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT', steps: [appClose, peer(FIN | ACK, 1), peer(ACK, 2, 2)], via: ['Fin_wait_1', 'Closing', 'Time_wait'] },
];

for (const p of paths) {
  linkTest(`TIME-WAIT path, ${p.name}; 2×MSL later CLOSED`, { links: ['sim'], stack: { tcp: { msl: MSL } } }, async (b) => {
    const e = await established(b);
    let closed = false;
    e.sock.on('close', () => (closed = true));
    for (const step of p.steps) {
      step(e);
      await b.time.wait(5);
    }
    const states = b.stack.trace.slice(3).map((r) => r.to.name);
    assert.deepEqual([...new Set(states)], p.via, b.stack.trace.map((r) => r.line).join('\n'));
    const enteredAt = b.stack.trace.find((r) => r.to.name === 'Time_wait')!.timeMs;
    assert.ok(closed, "'close' once TIME-WAIT is reached");
    await b.time.wait(2 * MSL + 10);
    const last = b.stack.trace.at(-1)!;
    assert.equal(last.line, '{ Time_wait }  - Timeout ->  { Closed }');
    assert.equal(last.timeMs - enteredAt, 2 * MSL);
    assert.equal(b.stack.tcp.connectionCount, 0);
    // Our FIN was acknowledged exactly once by each of our ACKs: one ACK per peer FIN (compare mirage #162).
    const acksOfPeerFin = b.endpoint.received.filter((r) => r.seg.flags === ACK && r.seg.ack === PEER_ISN + 2);
    assert.equal(acksOfPeerFin.length, 1, summary(b.endpoint.received).join('\n'));
  });
}

linkTest('TIME-WAIT: a retransmitted FIN is ACKed again and restarts 2×MSL', { links: ['sim'], stack: { tcp: { msl: MSL } } }, async (b) => {
  const e = await established(b);
  e.sock.end();
  await e.c.expect({ flags: FIN | ACK, seq: e.iss + 1 }, { timeoutMs: REPLY_MS });
  peer(FIN | ACK, 2)(e);
  await e.c.expect({ flags: ACK, seq: e.iss + 2, ack: PEER_ISN + 2 }, { timeoutMs: REPLY_MS });
  await b.time.wait(600);
  peer(FIN | ACK, 2)(e);
  await e.c.expect({ flags: ACK, seq: e.iss + 2, ack: PEER_ISN + 2, payload: EMPTY }, { timeoutMs: 5 });
  await b.endpoint.expectNone({}, { timeoutMs: 5 });
  await b.time.wait(2 * MSL - 100);
  assert.equal(b.stack.tcp.connectionCount, 1, 'timer restarted by the FIN');
  await b.time.wait(200);
  assert.equal(b.stack.tcp.connectionCount, 0);
});

linkTest('passive close: CLOSE-WAIT → LAST-ACK → CLOSED, no TIME-WAIT; the app sees peer-fin then end', {}, async (b) => {
  const e = await established(b);
  const { sock, iss } = e;
  const events: string[] = [];
  sock.on('peer-fin', () => events.push('peer-fin'));
  sock.on('end', () => events.push('end'));
  sock.on('close', () => events.push('close'));
  sock.resume();
  peer(FIN | ACK)(e);
  await b.time.waitUntil(() => sock.state !== 'Established', REPLY_MS);
  assert.equal(sock.state, 'Close_wait');
  const from = b.endpoint.received.length;
  sock.end('bye');
  await b.time.waitUntil(() => b.endpoint.received.slice(from).some((r) => r.seg.flags & FIN), REPLY_MS);
  assert.equal(sock.state, 'Last_ack');
  const fin = b.endpoint.received.at(-1)!.seg;
  assert.equal(fin.flags & FIN, FIN);
  peer(ACK, 2 + 3, 2)(e);
  await b.time.waitUntil(() => b.stack.tcp.connectionCount === 0, REPLY_MS);
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.deepEqual(events, ['peer-fin', 'end', 'close']);
  assert.deepEqual(
    b.stack.trace.slice(3).map((r) => r.line),
    ['{ Established }  - Recv_fin ->  { Close_wait }', `{ Close_wait }  - Send_fin ${iss + 4} ->  { Last_ack ${iss + 4} }`, `{ Last_ack ${iss + 4} }  - Recv_ack ${iss + 5} ->  { Closed }`],
  );
});

linkTest('a second end() does not send a second FIN; the FIN is retransmitted on the timer', { links: ['sim'], stack: { tcp: { initialRto: 1000 } } }, async (b) => {
  const { sock } = await established(b);
  sock.end();
  sock.end();
  await b.time.wait(10);
  const fins = (): number => b.endpoint.received.filter((r) => r.seg.flags & FIN).length;
  assert.equal(fins(), 1);
  await b.time.wait(1000);
  assert.equal(fins(), 2, 'retransmitted after RTO');
});

linkTest('FIN-WAIT-2 times out after its idle limit', { links: ['sim'], stack: { tcp: { finWait2Timeout: 5000 } } }, async (b) => {
  const e = await established(b);
  e.sock.end();
  await b.time.wait(5);
  peer(ACK, 2)(e);
  await b.time.wait(4000);
  assert.equal(e.sock.state, 'Fin_wait_2');
  await b.time.wait(1100);
  assert.equal(b.stack.trace.at(-1)!.line, '{ Fin_wait_2 0 }  - Timeout ->  { Closed }');
  assert.equal(b.stack.tcp.connectionCount, 0);
});

linkTest('abort (destroy) sends RST <SEQ=SND.NXT> and frees the connection', {}, async (b) => {
  const { c, sock, iss } = await established(b);
  sock.destroy();
  await c.expect({ flags: RST, seq: iss + 1, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.equal(b.stack.trace.at(-1)!.line, '{ Established }  - Send_rst ->  { Closed }');
});

linkTest("the peer's RST resets the connection, and nothing more is sent after it", { links: ['sim'] }, async (b) => {
  const { c, sock } = await established(b);
  const reasons: string[] = [];
  let closed = false;
  sock.on('reset', (r: string) => reasons.push(r));
  sock.on('close', () => (closed = true));
  sock.write('unsent for long');
  c.send({ seq: PEER_ISN + 1, flags: RST });
  await b.time.wait(60_000);
  assert.deepEqual(reasons, ['peer-reset']);
  assert.ok(closed);
  assert.equal(b.stack.tcp.connectionCount, 0);
  // After the RST nothing more is sent (timers cancelled, queues flushed; compare mirage #107).
  const resetAt = b.stack.trace.at(-1)!.timeMs;
  assert.deepEqual(b.endpoint.received.filter((r) => r.timeMs > resetAt), []);
});

// §3.10.7.1: no TCB. ACK on → <SEQ=SEG.ACK><CTL=RST>; ACK off → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; RST → nothing.
const noTcb: Array<{ name: string; flags: number; payload: number; expect: (s: number) => SegmentFields | undefined }> = [
  { name: 'ACK', flags: ACK, payload: 0, expect: () => ({ flags: RST, seq: 777 }) },
  { name: 'data+ACK', flags: ACK | PSH, payload: 10, expect: () => ({ flags: RST, seq: 777 }) },
  { name: 'SYN', flags: SYN, payload: 0, expect: (s) => ({ flags: RST | ACK, seq: 0, ack: s + 1 }) },
  { name: 'FIN', flags: FIN, payload: 0, expect: (s) => ({ flags: RST | ACK, seq: 0, ack: s + 1 }) },
  { name: 'data, no ACK', flags: PSH, payload: 10, expect: (s) => ({ flags: RST | ACK, seq: 0, ack: s + 10 }) },
  { name: 'SYN+FIN+data', flags: SYN | FIN, payload: 5, expect: (s) => ({ flags: RST | ACK, seq: 0, ack: s + 7 }) },
  { name: 'RST', flags: RST, payload: 0, expect: () => undefined },
  { name: 'RST+ACK', flags: RST | ACK, payload: 0, expect: () => undefined },
];
for (const c of noTcb) {
  linkTest(`no connection (closed port): ${c.name} → ${c.expect(0) ? 'RST' : 'silence'}`, {}, async (b) => {
    const seq = 4242;
    const conn = b.endpoint.conn({ remotePort: 81, localPort: PP, isn: seq });
    conn.send({ seq, ack: 777, flags: c.flags, payload: new Uint8Array(c.payload) });
    const reply = c.expect(seq);
    if (reply) await conn.expect({ ...reply, payload: EMPTY }, { timeoutMs: REPLY_MS });
    await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  });
}

linkTest('LISTEN: RST ignored, ACK answered with RST <SEQ=SEG.ACK>, nothing else created', {}, async (b) => {
  b.stack.listen(PORT, () => undefined);
  const c = b.endpoint.conn({ remotePort: PORT, localPort: PP, isn: 1 });
  c.send({ seq: 1, flags: RST });
  c.send({ seq: 1, ack: 999, flags: ACK });
  c.send({ seq: 1, flags: FIN });
  await c.expect({ flags: RST, seq: 999, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  assert.equal(b.stack.tcp.connectionCount, 0);
});

linkTest('bounded SYN queue: SYNs beyond the backlog are dropped', {}, async (b) => {
  b.stack.listen(PORT, () => undefined, { backlog: 3 });
  for (let i = 0; i < 10; i++) b.endpoint.send({ srcPort: PP + i, dstPort: PORT, seq: 1, flags: SYN });
  await b.time.waitUntil(() => b.stack.tcp.stats.synQueueDrops === 7, REPLY_MS);
  await b.time.wait(QUIET_MS);
  assert.equal(b.endpoint.received.filter((r) => r.seg.flags === (SYN | ACK)).length, 3);
  assert.equal(b.stack.tcp.stats.synQueueDrops, 7);
});

linkTest('accept backlog: a paused listener queues up to the backlog, then drops handshake ACKs until resumed', { stack: { tcp: { initialRto: 1000 } } }, async (b) => {
  const got: number[] = [];
  const l = b.stack.listen(PORT, (s) => got.push(s.remotePort), { backlog: 2 });
  l.pause();
  const conns: Array<{ c: Conn; iss: number }> = [];
  for (let i = 0; i < 3; i++) {
    const c = b.endpoint.conn({ remotePort: PORT, localPort: PP + i, isn: 1 });
    c.send({ seq: 1, flags: SYN });
    const iss = (await c.expect({ flags: SYN | ACK }, { timeoutMs: REPLY_MS })).seg.seq;
    c.send({ seq: 2, ack: iss + 1, flags: ACK });
    conns.push({ c, iss });
  }
  await b.time.waitUntil(() => b.stack.tcp.stats.acceptQueueDrops > 0, REPLY_MS);
  assert.equal(l.acceptQueue.length, 2);
  assert.equal(b.stack.tcp.stats.acceptQueueDrops, 1);
  l.resume();
  assert.deepEqual(got, [PP, PP + 1]);
  // The third endpoint's ACK is accepted once there is room (the SYN,ACK retransmission invites it).
  conns[2]!.c.send({ seq: 2, ack: conns[2]!.iss + 1, flags: ACK });
  await b.time.waitUntil(() => got.length === 3, REPLY_MS);
  assert.deepEqual(got, [PP, PP + 1, PP + 2]);
});

/** The stack closes first and reaches TIME-WAIT; its FIN and its ACK of the endpoint's FIN are taken. */
async function stackInTimeWait(b: Bench): Promise<Established> {
  const e = await established(b);
  e.sock.end();
  await e.c.expect({ flags: FIN | ACK, seq: e.iss + 1 }, { timeoutMs: REPLY_MS });
  peer(FIN | ACK, 2)(e);
  await e.c.expect({ flags: ACK, seq: e.iss + 2, ack: PEER_ISN + 2 }, { timeoutMs: REPLY_MS });
  assert.deepEqual(b.stack.tcp.countByState(), { Time_wait: 1 });
  return e;
}

linkTest('TIME-WAIT + SYN beyond the old RCV.NXT: a new incarnation with ISS = old SND.NXT + 65537 (RFC 1122 §4.2.2.13)', { stack: { tcp: { msl: 30_000 } } }, async (b) => {
  const { c, iss, accepted } = await stackInTimeWait(b);
  const old = b.stack.tcp.connections()[0]!;
  const newIsn = PEER_ISN + 2 + 5000;
  c.send({ seq: newIsn, flags: SYN });
  const newIss = (iss + 2 + 65537) >>> 0;
  await c.expect({ flags: SYN | ACK, seq: newIss, ack: newIsn + 1, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  assert.ok(!old.alive, 'the TIME-WAIT TCB is gone');
  const lines = b.stack.trace.slice(-3).map((r) => r.line);
  assert.deepEqual(lines, [`{ Time_wait }  - Recv_syn ${newIsn} ->  { Closed }`, '{ Closed }  - Passive_open ->  { Listen }', `{ Listen }  - Send_synack ${newIss} ->  { Syn_rcvd ${newIss} }`]);
  c.send({ seq: newIsn + 1, ack: newIss + 1, flags: ACK });
  await b.time.waitUntil(() => accepted.length === 2, REPLY_MS);
  assert.equal(accepted.length, 2, 'the new incarnation reached the application');
  assert.deepEqual(b.stack.tcp.countByState(), { Established: 1 });
});

for (const offset of [0, -1, -100_000]) {
  linkTest(`TIME-WAIT + SYN at the old RCV.NXT${offset === 0 ? '' : ` ${offset}`}: no new incarnation, an ACK, TIME-WAIT stays`, { stack: { tcp: { msl: 30_000 } } }, async (b) => {
    const { c, iss } = await stackInTimeWait(b);
    c.send({ seq: (PEER_ISN + 2 + offset) >>> 0, flags: SYN });
    await c.expect({ flags: ACK, seq: iss + 2, ack: PEER_ISN + 2, payload: EMPTY }, { timeoutMs: REPLY_MS });
    await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
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
    const sock = client.connect(SERVER_IP, PORT, { localPort: PP });
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
