import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH, SYN } from '../stack/wire/tcp.js';
import { runSim } from '../stack/sim-driver.js';
import type { Link } from '../stack/link/link.js';
import type { Stack } from '../stack/stack.js';
import { decodeFrame, LINKTYPE_ETHERNET } from '../stack/wire/frame.js';
import type { Bench, Conn } from '../fuzzers/raw/testbench/index.js';
import { benchTests, QUIET_MS, REPLY_MS } from './helpers/bench.js';
import { SERVER_IP, twoStacks } from './helpers/two-stacks.js';

const linkTest = benchTests(import.meta.url);

const GOODBYE = 'I made a string!\n';
const HI = 'hi mom\n';
const PORT = 19;
const PEER_ISN = 1000;
/** The endpoint's sequence number after its line and FIN. */
const AFTER_FIN = PEER_ISN + 1 + HI.length + 1;

interface Goodbye {
  c: Conn;
  /** The stack's ISS. */
  iss: number;
  stateAtCallback: string[];
}

/**
 * The seed's experiment on the bench: the goodbye service (on connection: write a string,
 * close) on the stack under test; the endpoint plays `echo "hi mom" | nc` as the client stack
 * sends it — SYN, then the handshake's ACK carrying the line and the FIN.
 */
async function goodbye(b: Bench): Promise<Goodbye> {
  const stateAtCallback: string[] = [];
  b.stack.listen(PORT, (s) => {
    stateAtCallback.push(s.state);
    s.write(GOODBYE);
    s.end();
  });
  const c = b.endpoint.conn({ remotePort: PORT, localPort: 40000, isn: PEER_ISN });
  c.send({ flags: SYN, options: [{ kind: 'mss', mss: 1460 }] });
  const iss = (await c.expect({ flags: SYN | ACK, ack: PEER_ISN + 1 }, { timeoutMs: REPLY_MS })).seg.seq;
  c.send({ flags: FIN | PSH | ACK, payload: Buffer.from(HI) });
  return { c, iss, stateAtCallback };
}

const synAcks = (b: Bench): number => b.endpoint.received.filter((r) => r.seg.flags === (SYN | ACK)).length;

linkTest('fixed order (default): FIN right after the data, no retransmission', {}, async (b) => {
  const { c, iss, stateAtCallback } = await goodbye(b);
  // The handshake's ACK carried the client's data and FIN, all processed before the callback.
  const finSeq = iss + 1 + GOODBYE.length;
  await c.expect({ flags: ACK, seq: iss + 1, ack: AFTER_FIN, payload: new Uint8Array(0) }, { timeoutMs: REPLY_MS });
  // The data without a pause, the FIN right behind it.
  await c.expect({ flags: PSH | ACK, seq: iss + 1, ack: AFTER_FIN, payload: Buffer.from(GOODBYE) }, { timeoutMs: 10 });
  await c.expect({ flags: FIN | ACK, seq: finSeq, ack: AFTER_FIN }, { timeoutMs: 5 });
  assert.deepEqual(stateAtCallback, ['Close_wait']);
  // The client, its FIN already sent, ACKs the data at once (nothing of its own could carry
  // the ACK later), then the FIN.
  c.send({ ack: finSeq });
  c.send({ ack: finSeq + 1 });
  await b.time.waitUntil(() => b.stack.tcp.connectionCount === 0, REPLY_MS);
  assert.deepEqual(
    b.stack.trace.map((r) => r.line),
    [
      '{ Closed }  - Passive_open ->  { Listen }',
      `{ Listen }  - Send_synack ${iss} ->  { Syn_rcvd ${iss} }`,
      `{ Syn_rcvd ${iss} }  - Recv_ack ${iss + 1} ->  { Established }`,
      '{ Established }  - Recv_fin ->  { Close_wait }',
      `{ Close_wait }  - Send_fin ${finSeq} ->  { Last_ack ${finSeq} }`,
      `{ Last_ack ${finSeq} }  - Recv_ack ${finSeq} ->  { Last_ack ${finSeq} }`,
      `{ Last_ack ${finSeq} }  - Recv_ack ${finSeq + 1} ->  { Closed }`,
    ],
  );
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
  assert.equal(synAcks(b), 1, 'the SYN,ACK was sent once');
  assert.equal(b.stack.tcp.stats.retransmits, 0);
  assert.equal(b.stack.tcp.connectionCount, 0);
});

/**
 * The bug: the application's close, made in SYN_RCVD, is lost. The data goes out once the
 * held ACK is processed, it acknowledges the client's FIN (so a client waits in FIN_WAIT_2),
 * and no FIN follows: the stack sits in CLOSE_WAIT. `neverMs` is how long "never" is watched.
 */
function minnesotaGoodbye(neverMs: number) {
  return async (b: Bench): Promise<void> => {
    const { c, iss, stateAtCallback } = await goodbye(b);
    await c.expect({ flags: PSH | ACK, seq: iss + 1, ack: AFTER_FIN, payload: Buffer.from(GOODBYE) }, { timeoutMs: REPLY_MS });
    assert.deepEqual(stateAtCallback, ['Syn_rcvd'], 'the app got the connection before the handshake ACK was processed');
    c.send({});
    await b.endpoint.expectNone({}, { timeoutMs: neverMs });
    assert.equal(b.endpoint.received.filter((r) => r.seg.flags & FIN).length, 0, 'no FIN from the server, ever');
    const lines = b.stack.trace.map((r) => r.line);
    assert.ok(!lines.some((l) => l.includes('Send_fin')));
    assert.ok(lines.includes(`{ Syn_rcvd ${iss} }  - Recv_ack ${iss + 1} ->  { Established }`));
    assert.deepEqual(b.stack.tcp.countByState(), { Close_wait: 1 });
    assert.equal(synAcks(b), 1, 'the held ACK, processed right after the callback, retired the SYN,ACK');
  };
}
const MINNESOTA = 'minnesota-goodbye: close in SYN_RCVD does nothing — data, but no FIN; the client\'s FIN acknowledged, so it waits in FIN_WAIT_2';
// "Never" is two virtual minutes on the sim wire, and the quiet tolerance in real time on the TAP.
linkTest(`${MINNESOTA}, for 120 s`, { links: ['sim'], stack: { bugs: ['minnesota-goodbye'] } }, minnesotaGoodbye(120_000));
linkTest(MINNESOTA, { links: ['tap'], stack: { bugs: ['minnesota-goodbye'] } }, minnesotaGoodbye(QUIET_MS));

interface Frame {
  timeMs: number;
  flags: number;
  payload: number;
}

/**
 * The seed's experiment with a client stack: the goodbye service on a server stack with the
 * given bug profile; the client sends "hi mom\n", half-closes and reads to EOF, like
 * `echo "hi mom" | nc`, and resends on its own timers. Records what the server sends, with times.
 */
async function twoStackGoodbye(bugs: string[], runMs: number) {
  const fromServer: Frame[] = [];
  const tap = (a: Link, b: Link): [Link, Link] => {
    // Record the TCP segments leaving the server (link b) by wrapping its send.
    const send = b.send.bind(b);
    b.send = (f: Uint8Array) => {
      const d = decodeFrame(f, LINKTYPE_ETHERNET);
      if (d.ok && d.value.tcp) fromServer.push({ timeMs: b.clock.now() - 1_000_000, flags: d.value.tcp.flags, payload: d.value.tcp.payload.length });
      send(f);
    };
    return [a, b];
  };
  // Like the seed's nc, the client keeps its half-closed socket open: no FIN-WAIT-2 timeout.
  const { clock, client, server } = twoStacks({ tcp: { finWait2Timeout: 3_600_000 } }, { bugs }, tap);
  const stateAtCallback: string[] = [];
  server.listen(PORT, (s) => {
    stateAtCallback.push(s.state);
    s.write(GOODBYE);
    s.end();
  });
  const sock = client.connect(SERVER_IP, PORT);
  const got: Buffer[] = [];
  let peerFin = false;
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('peer-fin', () => (peerFin = true));
  sock.write(HI);
  sock.end();
  await runSim(clock, { untilMs: clock.now() + runMs });
  return { clock, client, server, sock, fromServer, stateAtCallback, data: Buffer.concat(got).toString(), peerFin, lines: server.trace.map((r) => r.line) };
}

function synAcksOf(frames: Frame[]): Frame[] {
  return frames.filter((f) => (f.flags & (SYN | ACK)) === (SYN | ACK));
}

function iss(server: Stack): number {
  const r = server.trace.find((x) => x.action.kind === 'Send_synack')!;
  return (r.action as { seq: number }).seq;
}

test('minnesota-goodbye-halfway: pause of one initial RTO, SYN,ACK retransmitted on the timer, then data and FIN; SYN,ACKs go on after close', async () => {
  const r = await twoStackGoodbye(['minnesota-goodbye-halfway'], 60_000);
  assert.deepEqual(r.stateAtCallback, ['Syn_rcvd']);
  assert.equal(r.data, GOODBYE);
  assert.ok(r.peerFin);
  const sa = synAcksOf(r.fromServer);
  const dataAt = r.fromServer.find((f) => f.payload > 0)!.timeMs;
  const finAt = r.fromServer.find((f) => f.flags & FIN)!.timeMs;
  // The SYN,ACK at ~0, its retransmission after the 3 s initial RTO, data and FIN right after.
  assert.ok(sa[1]!.timeMs >= 3000 && sa[1]!.timeMs < 3010, `retransmitted SYN,ACK at ${sa[1]!.timeMs} ms`);
  assert.ok(dataAt >= sa[1]!.timeMs && dataAt < sa[1]!.timeMs + 10, `data at ${dataAt} ms`);
  assert.ok(finAt >= dataAt && finAt < dataAt + 10, `FIN at ${finAt} ms`);
  const isn = iss(r.server);
  const established = r.lines.indexOf(`{ Syn_rcvd ${isn} }  - Recv_ack ${isn + 1} ->  { Established }`);
  const fin = r.lines.findIndex((l) => l.startsWith('{ Established }  - Send_fin'));
  assert.ok(established > 0 && fin > established, r.lines.join('\n'));
  // The seed's stale line: the original handshake ACK, processed after the callback returned.
  assert.ok(r.lines.some((l) => /^\{ Fin_wait_1 \d+ \}  - Recv_ack \d+ ->  \{ Fin_wait_1 \d+ \}$/.test(l) && l.includes(`Recv_ack ${isn + 1} `)), r.lines.join('\n'));
  // SYN,ACKs keep coming after the server's side has closed (3 s, 6 s, 12 s, 24 s back-off).
  const closedAt = finAt;
  const after = sa.filter((f) => f.timeMs > closedAt + 100);
  assert.ok(after.length >= 2, `SYN,ACKs after close at: ${after.map((f) => f.timeMs)}`);
  assert.deepEqual(
    sa.map((f) => Math.round(f.timeMs / 1000)),
    [0, 3, 9, 21, 45].filter((t) => t * 1000 < 60_000),
  );
});

test('retransmissionsPending counts the orphaned SYN,ACK retransmitter after close, until its retry limit', async () => {
  const r = await twoStackGoodbye(['minnesota-goodbye-halfway'], 30_000);
  const finAt = r.fromServer.find((f) => f.flags & FIN)!.timeMs;
  assert.ok(finAt < 5000 && r.peerFin, 'the server closed long ago');
  assert.ok(r.server.tcp.connections().every((t) => !t.retransmitting), 'no connection has anything unacknowledged');
  assert.equal(r.server.tcp.retransmissionsPending(), 1, 'the listen entry still resends its SYN,ACK (next at 45 s)');
  await runSim(r.clock, { untilMs: r.clock.now() + 400_000 });
  assert.equal(r.server.tcp.retransmissionsPending(), 0, 'quiet once the entry gave up');
  assert.equal(r.client.tcp.retransmissionsPending(), 0);
});
