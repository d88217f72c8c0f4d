import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, PSH, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { peerOpens, rawBench, summary, type Bench } from './helpers/tcp-peer.js';

const PORT = 80;
const PEER_ISN = 1000;

interface RfcBench extends Bench {
  socks: Map<number, TcpSocket>;
}

function bench(): RfcBench {
  const b = rawBench();
  const socks = new Map<number, TcpSocket>();
  b.stack.listen(PORT, (s) => socks.set(s.remotePort, s));
  return { ...b, socks };
}

/** Completes a handshake from peer port `pp`; returns the socket, the stack's ISS and the bytes it reads. */
async function established(b: RfcBench, pp: number): Promise<{ sock: TcpSocket; iss: number; data: Buffer[] }> {
  const iss = await peerOpens(b, { srcPort: pp, dstPort: PORT, isn: PEER_ISN });
  const sock = b.socks.get(pp)!;
  const data: Buffer[] = [];
  sock.on('data', (d: Buffer) => data.push(d));
  return { sock, iss, data };
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
  test(`RST ${c.name}: ${c.expect}`, async () => {
    const b = bench();
    const { sock, iss } = await established(b, 40000);
    const reasons: string[] = [];
    sock.on('reset', (r: string) => reasons.push(r));
    const from = b.peer.received.length;
    b.peer.send({ srcPort: 40000, dstPort: PORT, seq: c.seq, flags: RST });
    await b.run(5);
    const out = summary(b.peer.since(from));
    if (c.expect === 'reset') {
      assert.deepEqual(reasons, ['peer-reset']);
      assert.deepEqual(out, []);
      assert.equal(b.stack.tcp.connectionCount, 0);
    } else {
      assert.deepEqual(reasons, []);
      assert.deepEqual(out, c.expect === 'challenge' ? [`. seq=${iss + 1} ack=${PEER_ISN + 1} len=0`] : []);
      assert.equal(sock.state, 'Established');
    }
  });
}

for (const seq of [PEER_ISN + 1, PEER_ISN + 50_000, PEER_ISN - 5000, 0x7fff0000]) {
  test(`SYN in ESTABLISHED (seq ${seq - PEER_ISN - 1 >= 0 ? '+' : ''}${seq - PEER_ISN - 1}): challenge ACK, connection kept (RFC 5961 §4.2)`, async () => {
    const b = bench();
    const { sock, iss } = await established(b, 40000);
    const from = b.peer.received.length;
    b.peer.send({ srcPort: 40000, dstPort: PORT, seq, flags: SYN });
    await b.run(5);
    // Outside the window the sequence check answers first (also an ACK); either way one ACK, no reset.
    assert.deepEqual(summary(b.peer.since(from)), [`. seq=${iss + 1} ack=${PEER_ISN + 1} len=0`]);
    assert.equal(sock.state, 'Established');
  });
}

for (const [name, ackOffset] of [
  ['acknowledges data never sent (SEG.ACK > SND.NXT)', 10],
  ['too old (SEG.ACK < SND.UNA − MAX.SND.WND)', -70_000],
] as const) {
  test(`data whose ACK ${name}: challenge ACK, data dropped (RFC 5961 §5.2)`, async () => {
    const b = bench();
    const { iss, data } = await established(b, 40000);
    const from = b.peer.received.length;
    b.peer.send({ srcPort: 40000, dstPort: PORT, seq: PEER_ISN + 1, ack: (iss + 1 + ackOffset) >>> 0, flags: ACK | PSH, payload: Buffer.from('injected') });
    await b.run(300);
    assert.deepEqual(summary(b.peer.since(from)), [`. seq=${iss + 1} ack=${PEER_ISN + 1} len=0`]);
    assert.deepEqual(data, []);
  });
}

test('challenge ACKs are rate-limited per connection (RFC 5961 §7), not globally (CVE-2016-5696)', async () => {
  const b = bench();
  const a = await established(b, 40000);
  const c = await established(b, 40001);
  const from = b.peer.received.length;
  for (let i = 0; i < 5; i++) b.peer.send({ srcPort: 40000, dstPort: PORT, seq: PEER_ISN + 100 + i, flags: RST });
  for (let i = 0; i < 5; i++) b.peer.send({ srcPort: 40001, dstPort: PORT, seq: PEER_ISN + 100 + i, flags: RST });
  await b.run(5);
  const burst = b.peer.since(from);
  assert.equal(burst.filter((x) => x.seg.dstPort === 40000).length, 1, 'one challenge ACK on the first connection');
  assert.equal(burst.filter((x) => x.seg.dstPort === 40001).length, 1, 'and its own on the second');
  assert.equal(b.stack.tcp.stats.challengeAcksLimited, 8);
  await b.run(1000);
  const from2 = b.peer.received.length;
  b.peer.send({ srcPort: 40000, dstPort: PORT, seq: PEER_ISN + 200, flags: RST });
  await b.run(5);
  assert.equal(b.peer.since(from2).length, 1, 'a new second, a new challenge ACK');
  assert.equal(a.sock.state, 'Established');
  assert.equal(c.sock.state, 'Established');
});
