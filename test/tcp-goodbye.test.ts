import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, SYN } from '../stack/wire/tcp.js';
import { runSim } from '../stack/sim-driver.js';
import { DUT_IP, twoStacks } from './helpers/tcp-peer.js';
import type { Link } from '../stack/link/link.js';
import type { Stack } from '../stack/stack.js';

const GOODBYE = 'I made a string!\n';

interface Frame {
  timeMs: number;
  flags: number;
  payload: number;
}

/**
 * The seed's experiment: the goodbye service (on connection: write a string, close) on a
 * server stack with the given bug profile; a client sends "hi mom\n", half-closes and reads
 * to EOF, like `echo "hi mom" | nc`. Records what the server sends, with times.
 */
async function goodbye(bugs: string[], runMs: number) {
  const fromServer: Frame[] = [];
  const tap = (a: Link, b: Link): [Link, Link] => {
    // Record frames leaving the server (link b) by wrapping its send.
    const send = b.send.bind(b);
    b.send = (f: Uint8Array) => {
      if (f.length >= 54 && f[12] === 0x08 && f[13] === 0 && f[23] === 6) {
        const tcp = f.subarray(34);
        fromServer.push({ timeMs: b.clock.now() - 1_000_000, flags: tcp[13]!, payload: f.length - 34 - ((tcp[12]! >> 4) << 2) });
      }
      send(f);
    };
    return [a, b];
  };
  // Like the seed's nc, the client keeps its half-closed socket open: no FIN-WAIT-2 timeout.
  const { clock, client, server } = twoStacks({ tcp: { finWait2Timeout: 3_600_000 } }, { bugs }, tap);
  const stateAtCallback: string[] = [];
  server.listen(19, (s) => {
    stateAtCallback.push(s.state);
    s.write(GOODBYE);
    s.end();
  });
  const sock = client.connect(DUT_IP, 19);
  const got: Buffer[] = [];
  let peerFin = false;
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('peer-fin', () => (peerFin = true));
  sock.write('hi mom\n');
  sock.end();
  await runSim(clock, { untilMs: clock.now() + runMs });
  return { clock, client, server, sock, fromServer, stateAtCallback, data: Buffer.concat(got).toString(), peerFin, lines: server.trace.map((r) => r.line) };
}

function synAcks(frames: Frame[]): Frame[] {
  return frames.filter((f) => (f.flags & (SYN | ACK)) === (SYN | ACK));
}

function iss(server: Stack): number {
  const r = server.trace.find((x) => x.action.kind === 'Send_synack')!;
  return (r.action as { seq: number }).seq;
}

test('fixed order (default): FIN right after the data, no retransmission', async () => {
  const r = await goodbye([], 30_000);
  // The handshake's ACK carried the client's data and FIN, all processed before the callback.
  assert.deepEqual(r.stateAtCallback, ['Close_wait']);
  assert.equal(r.data, GOODBYE);
  assert.ok(r.peerFin);
  const isn = iss(r.server);
  const finSeq = isn + 1 + GOODBYE.length;
  assert.deepEqual(r.lines, [
    '{ Closed }  - Passive_open ->  { Listen }',
    `{ Listen }  - Send_synack ${isn} ->  { Syn_rcvd ${isn} }`,
    `{ Syn_rcvd ${isn} }  - Recv_ack ${isn + 1} ->  { Established }`,
    '{ Established }  - Recv_fin ->  { Close_wait }',
    `{ Close_wait }  - Send_fin ${finSeq} ->  { Last_ack ${finSeq} }`,
    // The client, its FIN already sent, ACKs the data at once (nothing of its own could carry
    // the ACK later), then the FIN.
    `{ Last_ack ${finSeq} }  - Recv_ack ${finSeq} ->  { Last_ack ${finSeq} }`,
    `{ Last_ack ${finSeq} }  - Recv_ack ${finSeq + 1} ->  { Closed }`,
  ]);
  const dataAt = r.fromServer.find((f) => f.payload > 0)!.timeMs;
  const finAt = r.fromServer.find((f) => f.flags & FIN)!.timeMs;
  assert.ok(dataAt < 10 && finAt - dataAt < 5, `data at ${dataAt} ms, FIN at ${finAt} ms`);
  assert.equal(synAcks(r.fromServer).length, 1, 'the SYN,ACK was sent once');
  assert.equal(r.server.tcp.stats.retransmits, 0);
  assert.equal(r.server.tcp.connectionCount, 0);
});

test('minnesota-goodbye: close in SYN_RCVD does nothing — data, but no FIN ever; peer stuck in FIN_WAIT_2', async () => {
  const r = await goodbye(['minnesota-goodbye'], 120_000);
  assert.deepEqual(r.stateAtCallback, ['Syn_rcvd'], 'the app got the connection before the handshake ACK was processed');
  assert.equal(r.data, GOODBYE, 'the data still goes out once the ACK is processed');
  assert.ok(!r.peerFin);
  assert.equal(r.fromServer.filter((f) => f.flags & FIN).length, 0, 'no FIN from the server, ever');
  assert.ok(!r.lines.some((l) => l.includes('Send_fin')));
  const isn = iss(r.server);
  assert.ok(r.lines.includes(`{ Syn_rcvd ${isn} }  - Recv_ack ${isn + 1} ->  { Established }`));
  assert.equal(r.sock.state, 'Fin_wait_2');
  assert.deepEqual(r.server.tcp.countByState(), { Close_wait: 1 });
  assert.equal(synAcks(r.fromServer).length, 1, 'the held ACK, processed right after the callback, retired the SYN,ACK');
});

test('minnesota-goodbye-halfway: pause of one initial RTO, SYN,ACK retransmitted on the timer, then data and FIN; SYN,ACKs go on after close', async () => {
  const r = await goodbye(['minnesota-goodbye-halfway'], 60_000);
  assert.deepEqual(r.stateAtCallback, ['Syn_rcvd']);
  assert.equal(r.data, GOODBYE);
  assert.ok(r.peerFin);
  const sa = synAcks(r.fromServer);
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
  const r = await goodbye(['minnesota-goodbye-halfway'], 30_000);
  const finAt = r.fromServer.find((f) => f.flags & FIN)!.timeMs;
  assert.ok(finAt < 5000 && r.peerFin, 'the server closed long ago');
  assert.ok(r.server.tcp.connections().every((t) => !t.retransmitting), 'no connection has anything unacknowledged');
  assert.equal(r.server.tcp.retransmissionsPending(), 1, 'the listen entry still resends its SYN,ACK (next at 45 s)');
  await runSim(r.clock, { untilMs: r.clock.now() + 400_000 });
  assert.equal(r.server.tcp.retransmissionsPending(), 0, 'quiet once the entry gave up');
  assert.equal(r.client.tcp.retransmissionsPending(), 0);
});
