import assert from 'node:assert/strict';
import { ACK, PSH, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import type { Bench, Conn } from '../fuzzers/raw/testbench/index.js';
import { benchTests, QUIET_MS, REPLY_MS } from './helpers/bench.js';

const linkTest = benchTests(import.meta.url);

const PORT = 80;
const PEER_ISN = 1000;
const EMPTY = new Uint8Array(0);

interface Established {
  conn: Conn;
  sock: TcpSocket;
  /** The stack's ISS. */
  iss: number;
  data: Buffer[];
}

function listening(b: Bench): Map<number, TcpSocket> {
  const socks = new Map<number, TcpSocket>();
  b.stack.listen(PORT, (s) => socks.set(s.remotePort, s));
  return socks;
}

/** Completes a handshake from endpoint port `pp`; returns the socket, the stack's ISS and the bytes it reads. */
async function established(b: Bench, socks: Map<number, TcpSocket>, pp: number): Promise<Established> {
  const conn = await b.endpoint.connect({ remotePort: PORT, localPort: pp, isn: PEER_ISN, timeoutMs: REPLY_MS });
  assert.ok(await b.time.waitUntil(() => socks.has(pp), REPLY_MS), 'the application got the connection');
  const sock = socks.get(pp)!;
  const data: Buffer[] = [];
  sock.on('data', (d: Buffer) => data.push(d));
  return { conn, sock, iss: conn.peerIsn!, data };
}

/** The one challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 §3.2, §4.2, §5.2), and nothing else. */
async function challengeAck(b: Bench, e: Established): Promise<void> {
  await e.conn.expect({ flags: ACK, seq: e.iss + 1, ack: PEER_ISN + 1, payload: EMPTY }, { timeoutMs: REPLY_MS });
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
}

// RFC 5961 §3.2 / RFC 9293 §3.10.7.4 "Second", with RCV.NXT = PEER_ISN+1 and a 64 KiB window.
const rsts: Array<{ name: string; seq: number; expect: 'reset' | 'challenge' | 'ignored' }> = [
  { name: 'exactly RCV.NXT', seq: PEER_ISN + 1, expect: 'reset' },
  { name: 'in window, not exact (blind)', seq: PEER_ISN + 1 + 1000, expect: 'challenge' },
  { name: 'at the right edge − 1', seq: PEER_ISN + 1 + 65534, expect: 'challenge' },
  { name: 'at the right edge', seq: PEER_ISN + 1 + 65535, expect: 'ignored' },
  { name: 'below RCV.NXT', seq: PEER_ISN, expect: 'ignored' },
  { name: 'beyond the window', seq: PEER_ISN + 1 + 300_000, expect: 'ignored' },
];
for (const c of rsts) {
  linkTest(`RST ${c.name}: ${c.expect}`, {}, async (b) => {
    const e = await established(b, listening(b), 40000);
    const reasons: string[] = [];
    e.sock.on('reset', (r: string) => reasons.push(r));
    e.conn.send({ flags: RST, seq: c.seq });
    if (c.expect === 'challenge') await challengeAck(b, e);
    else await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
    if (c.expect === 'reset') {
      assert.deepEqual(reasons, ['peer-reset']);
      assert.equal(b.stack.tcp.connectionCount, 0);
    } else {
      assert.deepEqual(reasons, []);
      assert.equal(e.sock.state, 'Established');
    }
  });
}

for (const seq of [PEER_ISN + 1, PEER_ISN + 50_000, PEER_ISN - 5000, 0x7fff0000]) {
  linkTest(`SYN in ESTABLISHED (seq ${seq - PEER_ISN - 1 >= 0 ? '+' : ''}${seq - PEER_ISN - 1}): challenge ACK, connection kept (RFC 5961 §4.2)`, {}, async (b) => {
    const e = await established(b, listening(b), 40000);
    e.conn.send({ flags: SYN, seq });
    // Outside the window the sequence check answers first (also an ACK); either way one ACK, no reset.
    await challengeAck(b, e);
    assert.equal(e.sock.state, 'Established');
  });
}

for (const [name, ackOffset] of [
  ['acknowledges data never sent (SEG.ACK > SND.NXT)', 10],
  ['too old (SEG.ACK < SND.UNA − MAX.SND.WND)', -70_000],
] as const) {
  linkTest(`data whose ACK ${name}: challenge ACK, data dropped (RFC 5961 §5.2)`, {}, async (b) => {
    const e = await established(b, listening(b), 40000);
    e.conn.send({ seq: PEER_ISN + 1, ack: (e.iss + 1 + ackOffset) >>> 0, flags: ACK | PSH, payload: Buffer.from('injected') });
    await e.conn.expect({ flags: ACK, seq: e.iss + 1, ack: PEER_ISN + 1, payload: EMPTY }, { timeoutMs: REPLY_MS });
    await b.endpoint.expectNone({}, { timeoutMs: 300 });
    assert.deepEqual(e.data, []);
  });
}

linkTest('challenge ACKs are rate-limited per connection (RFC 5961 §7), not globally (CVE-2016-5696)', {}, async (b) => {
  const socks = listening(b);
  const a = await established(b, socks, 40000);
  const c = await established(b, socks, 40001);
  const from = b.endpoint.received.length;
  for (let i = 0; i < 5; i++) a.conn.send({ seq: PEER_ISN + 100 + i, flags: RST });
  for (let i = 0; i < 5; i++) c.conn.send({ seq: PEER_ISN + 100 + i, flags: RST });
  await b.time.wait(QUIET_MS);
  const burst = b.endpoint.received.slice(from);
  assert.equal(burst.filter((x) => x.seg.dstPort === 40000).length, 1, 'one challenge ACK on the first connection');
  assert.equal(burst.filter((x) => x.seg.dstPort === 40001).length, 1, 'and its own on the second');
  assert.equal(b.stack.tcp.stats.challengeAcksLimited, 8);
  await b.time.wait(1000);
  const from2 = b.endpoint.received.length;
  a.conn.send({ seq: PEER_ISN + 200, flags: RST });
  await b.time.wait(QUIET_MS);
  assert.equal(b.endpoint.received.length - from2, 1, 'a new second, a new challenge ACK');
  assert.equal(a.sock.state, 'Established');
  assert.equal(c.sock.state, 'Established');
});
