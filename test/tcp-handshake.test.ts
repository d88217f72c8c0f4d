import assert from 'node:assert/strict';
import { ACK, FIN, RST, SYN, type TcpOption } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import type { Bench, Conn } from '../fuzzers/raw/testbench/index.js';
import { benchTests, QUIET_MS, REPLY_MS } from './helpers/bench.js';

const linkTest = benchTests(import.meta.url);

const PORT = 80;
const PEER_PORT = 40000;
const PEER_ISN = 1000;
const EMPTY = new Uint8Array(0);
const mss = (n: number): TcpOption[] => [{ kind: 'mss', mss: n }];

function conn(b: Bench): Conn {
  return b.endpoint.conn({ remotePort: PORT, localPort: PEER_PORT, isn: PEER_ISN });
}

/** Endpoint SYN (at its ISN) → the stack's SYN,ACK; returns the stack's ISS. */
async function synToListener(c: Conn): Promise<number> {
  c.send({ seq: PEER_ISN, flags: SYN, options: mss(1460) });
  const synack = (await c.expect({ flags: SYN | ACK, ack: PEER_ISN + 1 }, { timeoutMs: REPLY_MS })).seg;
  assert.ok(synack.options.some((o) => o.kind === 'mss'), 'SYN,ACK carries MSS');
  return synack.seq;
}

linkTest('passive open: the application sees the connection only once ESTABLISHED (the Minnesota Goodbye invariant)', {}, async (b) => {
  const seen: string[] = [];
  b.stack.listen(PORT, (s) => seen.push(s.state));
  const c = conn(b);
  const iss = await synToListener(c);
  assert.deepEqual(seen, [], 'nothing handed out in SYN-RECEIVED');
  c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK });
  await b.time.waitUntil(() => seen.length > 0, REPLY_MS);
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
  linkTest(`SYN-RECEIVED + ACK at ISS+${offset}: ${offset === 1 ? 'ESTABLISHED' : 'RST <SEQ=SEG.ACK>, still SYN-RECEIVED'}`, {}, async (b) => {
    let accepted = 0;
    b.stack.listen(PORT, () => accepted++);
    const c = conn(b);
    const iss = await synToListener(c);
    c.send({ seq: PEER_ISN + 1, ack: (iss + offset) >>> 0, flags: ACK });
    if (offset !== 1) await c.expect({ flags: RST, seq: (iss + offset) >>> 0 }, { timeoutMs: REPLY_MS });
    await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
    const states = b.stack.tcp.connections().map((t) => t.state.name);
    if (offset === 1) {
      assert.equal(accepted, 1);
      assert.deepEqual(states, ['Established']);
    } else {
      assert.equal(accepted, 0);
      assert.deepEqual(states, ['Syn_rcvd']);
      assert.ok(!b.stack.trace.some((r) => r.to.name === 'Established'));
    }
  });
}

linkTest('RST in SYN-RECEIVED of a passive open: back to LISTEN, no more SYN,ACK retransmissions', { links: ['sim'], stack: { tcp: { initialRto: 1000 } } }, async (b) => {
  let accepted = 0;
  b.stack.listen(PORT, () => accepted++);
  const c = conn(b);
  const iss = await synToListener(c);
  // Let one retransmission happen first, so the test proves the timer was running.
  await b.time.wait(1500);
  const synAcks = (): number => b.endpoint.received.filter((r) => r.seg.flags === (SYN | ACK)).length;
  assert.equal(synAcks(), 2);
  await c.expect({ flags: SYN | ACK, seq: iss }, { timeoutMs: 0 });
  c.send({ seq: PEER_ISN + 1, flags: RST });
  await c.expectNone({}, { timeoutMs: 120_000 });
  assert.equal(synAcks(), 2, 'no SYN,ACK after the RST');
  assert.equal(accepted, 0, 'the application never heard of it');
  assert.equal(b.stack.tcp.connectionCount, 0);
  assert.equal(b.stack.trace.at(-1)!.line, `{ Syn_rcvd ${iss} }  - Recv_rst ->  { Listen }`);
  // The listener still works.
  await synToListener(c);
});

linkTest('retransmitted SYN in SYN-RECEIVED gets the SYN,ACK again', {}, async (b) => {
  b.stack.listen(PORT, () => undefined);
  const c = conn(b);
  const iss = await synToListener(c);
  c.send({ seq: PEER_ISN, flags: SYN, options: mss(1460) });
  await c.expect({ flags: SYN | ACK, seq: iss, ack: PEER_ISN + 1, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
});

linkTest('CLOSE in SYN-RECEIVED sends a FIN and enters FIN-WAIT-1 (RFC 9293 §3.10.4; simultaneous open)', {}, async (b) => {
  const sock: TcpSocket = b.stack.connect(b.endpoint.ip, PORT);
  const c = await b.endpoint.awaitSyn({ localPort: PORT, isn: 5000, timeoutMs: REPLY_MS });
  const iss = c.peerIsn!;
  // Simultaneous open: the endpoint's own SYN crosses the stack's (RFC 1122 §4.2.2.10).
  c.send({ seq: 5000, flags: SYN, options: mss(1460) });
  await c.expect({ flags: SYN | ACK, seq: iss, ack: 5001 }, { timeoutMs: REPLY_MS });
  assert.equal(sock.state, 'Syn_rcvd');
  sock.end();
  await c.expect({ flags: FIN | ACK, seq: iss + 1, ack: 5001, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  assert.equal(sock.state, 'Fin_wait_1');
  assert.ok(b.stack.trace.some((r) => r.line === `{ Syn_rcvd ${iss} }  - Send_fin ${iss + 1} ->  { Fin_wait_1 ${iss + 1} }`));
  // The endpoint acknowledges SYN and FIN, then closes too: TIME-WAIT, then CLOSED.
  c.send({ seq: 5001, ack: iss + 2, flags: ACK });
  await b.time.waitUntil(() => sock.state !== 'Fin_wait_1', REPLY_MS);
  assert.equal(sock.state, 'Fin_wait_2');
  c.send({ seq: 5001, ack: iss + 2, flags: FIN | ACK });
  await b.time.waitUntil(() => sock.state !== 'Fin_wait_2', REPLY_MS);
  assert.equal(sock.state, 'Time_wait');
});

linkTest('simultaneous open completes both ways', {}, async (b) => {
  const sock = b.stack.connect(b.endpoint.ip, PORT);
  let connected = false;
  sock.on('connect', () => (connected = true));
  const c = await b.endpoint.awaitSyn({ localPort: PORT, isn: 7000, timeoutMs: REPLY_MS });
  const iss = c.peerIsn!;
  c.send({ seq: 7000, flags: SYN, options: mss(1000) });
  await c.expect({ flags: SYN | ACK, seq: iss, ack: 7001 }, { timeoutMs: REPLY_MS });
  // The endpoint's SYN,ACK repeats its SYN and acknowledges the stack's: ESTABLISHED (RFC 9293 Figure 8).
  c.send({ seq: 7000, ack: iss + 1, flags: SYN | ACK, options: mss(1000) });
  await b.time.waitUntil(() => connected, REPLY_MS);
  assert.equal(sock.state, 'Established');
  assert.ok(connected);
  assert.ok(b.stack.trace.some((r) => r.line === `{ Syn_sent ${iss} }  - Recv_syn 7000 ->  { Syn_rcvd ${iss} }`));
});

linkTest('SYN-SENT: unacceptable ACK draws RST, RST with acceptable ACK is "connection refused"', {}, async (b) => {
  const sock = b.stack.connect(b.endpoint.ip, PORT);
  const reasons: string[] = [];
  sock.on('reset', (r: string) => reasons.push(r));
  const c = await b.endpoint.awaitSyn({ localPort: PORT, isn: 9, timeoutMs: REPLY_MS });
  const iss = c.peerIsn!;
  c.send({ seq: 9, ack: iss, flags: SYN | ACK }); // ACK ≤ ISS
  await c.expect({ flags: RST, seq: iss, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  c.send({ seq: 0, ack: iss + 5, flags: RST | ACK }); // unacceptable: ignored
  await b.time.wait(QUIET_MS);
  assert.equal(sock.state, 'Syn_sent');
  c.send({ seq: 0, ack: iss + 1, flags: RST | ACK });
  await b.time.waitUntil(() => reasons.length > 0, REPLY_MS);
  assert.deepEqual(reasons, ['refused']);
  assert.equal(b.stack.tcp.connectionCount, 0);
});

for (const [opt, expected] of [[undefined, 536], [400, 400], [9000, 1460]] as const) {
  linkTest(`MSS ${opt ?? 'absent'}: ${expected} (${opt === undefined ? '536 when the SYN has no option, MUST-15' : 'the smaller one, MUST-16'})`, {}, async (b) => {
    let sock: TcpSocket | undefined;
    b.stack.listen(PORT, (s) => (sock = s));
    const c = conn(b);
    c.send({ flags: SYN, options: opt === undefined ? [] : mss(opt) });
    const iss = (await c.expect({ flags: SYN | ACK }, { timeoutMs: REPLY_MS })).seg.seq;
    c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, window: 65535 });
    await b.time.waitUntil(() => sock !== undefined, REPLY_MS);
    const from = b.endpoint.received.length;
    sock!.write(Buffer.alloc(3000, 1));
    await b.time.waitUntil(() => b.endpoint.received.length > from, REPLY_MS);
    await b.time.wait(QUIET_MS);
    const sizes = b.endpoint.received.slice(from).map((r) => r.seg.payload.length);
    assert.equal(Math.max(...sizes), expected, `peer MSS ${opt}: ${sizes}`);
  });
}

for (const offer of [true, false]) {
  linkTest(`window scaling ${offer ? 'offered by both SYNs: used' : 'not offered: not used'} (RFC 7323 §2.2)`, { stack: { tcp: { receiveBuffer: 1 << 20 } } }, async (b) => {
    b.stack.listen(PORT, () => undefined);
    const c = conn(b);
    c.send({ flags: SYN, options: offer ? [{ kind: 'mss', mss: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 2 }] : mss(1460) });
    const synack = (await c.expect({ flags: SYN | ACK }, { timeoutMs: REPLY_MS })).seg;
    const ws = synack.options.find((o) => o.kind === 'wscale');
    assert.equal(ws !== undefined, offer);
    assert.equal(synack.window, 65535, 'SYN window never scaled');
    c.send({ seq: PEER_ISN + 1, ack: synack.seq + 1, flags: ACK });
    c.send({ seq: PEER_ISN + 1, ack: synack.seq + 1, flags: ACK | FIN });
    const ack = (await c.expect({ flags: ACK, ack: PEER_ISN + 2 }, { timeoutMs: REPLY_MS })).seg;
    assert.equal(ack.window, offer ? (1 << 20) >>> 5 : 65535, `advertised window with scaling ${offer}`);
  });
}
