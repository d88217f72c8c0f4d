import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyLink } from '../stack/link/faults.js';
import type { Link } from '../stack/link/link.js';
import { Rng } from '../stack/rng.js';
import { runSim } from '../stack/sim-driver.js';
import type { TcpConfig } from '../stack/tcp/config.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { ACK, FIN, PSH, SYN, tcpFlagsShort, tcpOptionsSackBlocks, tcpOptionsTimestamps, type TcpOption, type TcpRepr } from '../stack/wire/tcp.js';
import { simBench, type Bench, type Conn } from '../fuzzers/raw/testbench/index.js';
import { since, summary } from './helpers/bench.js';
import { SERVER_IP, twoStacks } from './helpers/two-stacks.js';

// Delayed-ACK, probe and recovery timing in virtual milliseconds: these scripts run on the sim wire only.

const PORT = 80;
const PP = 40000;
const PEER_ISN = 1000;
const MSS = 1000;
/** What Linux offers in its SYN: MSS, SACK-permitted, timestamps, window scale. */
const LINUX_SYN = (tsval: number): TcpOption[] => [
  { kind: 'mss', mss: MSS },
  { kind: 'sackPermitted' },
  { kind: 'timestamps', tsval, tsecr: 0 },
  { kind: 'nop' },
  { kind: 'wscale', shift: 7 },
];
const SACK_SYN: TcpOption[] = [{ kind: 'mss', mss: MSS }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'sackPermitted' }];
const ts = (tsval: number, tsecr = 0): TcpOption[] => [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval, tsecr }];

/** The endpoint opens with `options` in its SYN (default MSS 1000), then 5 ms pass. */
async function established(b: Bench, options: TcpOption[] = [{ kind: 'mss', mss: MSS }]): Promise<{ c: Conn; sock: TcpSocket; iss: number }> {
  let sock: TcpSocket | undefined;
  b.stack.listen(PORT, (s) => (sock = s));
  const c = await b.endpoint.connect({ remotePort: PORT, localPort: PP, isn: PEER_ISN, synOptions: options, timeoutMs: 1000 });
  await b.time.wait(5);
  assert.ok(sock);
  return { c, sock, iss: c.peerIsn! };
}

test('SYN,ACK offers SACK and timestamps only when the SYN did, echoing its TSval (RFC 2018 §2, RFC 7323 §3.2)', async () => {
  const b = simBench();
  b.stack.listen(PORT, () => undefined);
  b.endpoint.send({ srcPort: PP, dstPort: PORT, seq: PEER_ISN, flags: SYN, options: LINUX_SYN(777) });
  b.endpoint.send({ srcPort: PP + 1, dstPort: PORT, seq: PEER_ISN, flags: SYN, options: [{ kind: 'mss', mss: MSS }] });
  await b.time.wait(5);
  const [withOpts, plain] = b.endpoint.received.map((r) => r.seg);
  assert.deepEqual(
    withOpts!.options.map((o) => o.kind),
    ['mss', 'sackPermitted', 'timestamps', 'nop', 'wscale'],
  );
  assert.equal(tcpOptionsTimestamps(withOpts!.options)!.tsecr, 777);
  assert.deepEqual(
    plain!.options.map((o) => o.kind),
    ['mss'],
  );
});

test('out-of-order data draws an immediate ACK with SACK blocks, most recent first; filling the hole is ACKed at once too', async () => {
  const b = simBench({ tcp: { delayedAckMs: 200 } });
  const { c, iss } = await established(b, SACK_SYN);
  const seg = (n: number): TcpRepr => c.send({ seq: PEER_ISN + 1 + n * 100, ack: iss + 1, flags: ACK, payload: new Uint8Array(100).fill(n) });
  const base = PEER_ISN + 1;
  const from = b.endpoint.received.length;
  seg(2); // hole at 0..1
  await b.time.wait(3);
  seg(5);
  await b.time.wait(3);
  seg(3); // joins 2: the block [2,4) comes first
  await b.time.wait(3);
  const acks = since(b, from);
  assert.equal(acks.length, 3, `each out-of-order segment is ACKed at once\n${summary(acks).join('\n')}`);
  assert.ok(acks.every((r) => r.seg.ack === base && r.timeMs - acks[0]!.timeMs < 10));
  assert.deepEqual(acks.map((r) => tcpOptionsSackBlocks(r.seg.options)), [
    [[base + 200, base + 300]],
    [[base + 500, base + 600], [base + 200, base + 300]],
    [[base + 200, base + 400], [base + 500, base + 600]],
  ]);
  const mid = b.endpoint.received.length;
  seg(0); // fills part of the hole: immediate ACK, blocks unchanged
  await b.time.wait(3);
  seg(1); // fills the hole up to block [2,4)
  await b.time.wait(3);
  const fills = since(b, mid);
  assert.deepEqual(fills.map((r) => [r.seg.ack - base, tcpOptionsSackBlocks(r.seg.options)]), [
    [100, [[base + 200, base + 400], [base + 500, base + 600]]],
    [400, [[base + 500, base + 600]]],
  ]);
});

test('timestamps: every segment carries TSval/TSecr; PAWS drops an older TSval with an ACK (RFC 7323 §5.3)', async () => {
  const b = simBench();
  let got = '';
  b.stack.listen(PORT, (s) => s.on('data', (d: Buffer) => (got += d.toString())));
  const from0 = b.endpoint.received.length;
  const c = b.endpoint.conn({ remotePort: PORT, localPort: PP, isn: PEER_ISN });
  c.send({ seq: PEER_ISN, flags: SYN, options: LINUX_SYN(5000) });
  await b.time.wait(3);
  const synAck = b.endpoint.received[from0]!.seg;
  const iss = synAck.seq;
  const ourTs = tcpOptionsTimestamps(synAck.options)!.tsval;
  c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, options: ts(5001, ourTs) });
  c.send({ seq: PEER_ISN + 1, ack: iss + 1, flags: ACK, payload: Buffer.from('new'), options: ts(5002, ourTs) });
  await b.time.wait(3);
  const from = b.endpoint.received.length;
  c.send({ seq: PEER_ISN + 4, ack: iss + 1, flags: ACK, payload: Buffer.from('old'), options: ts(4000, ourTs) });
  await b.time.wait(3);
  assert.equal(got, 'new');
  assert.equal(b.stack.tcp.stats.pawsDrops, 1);
  const reply = since(b, from);
  assert.deepEqual(summary(reply), [`. seq=${iss + 1} ack=${PEER_ISN + 4} len=0`]);
  assert.equal(tcpOptionsTimestamps(reply[0]!.seg.options)!.tsecr, 5002, 'TS.Recent is the newest in-window TSval');
});

/** The stack sends `n` segments of MSS bytes to the endpoint, which has not acknowledged any yet. */
async function sending(b: Bench, n: number): Promise<{ c: Conn; iss: number; data: number[] }> {
  const { c, sock, iss } = await established(b, SACK_SYN);
  const from = b.endpoint.received.length;
  sock.write(Buffer.alloc(n * MSS, 1));
  await b.time.wait(3);
  return { c, iss, data: since(b, from).map((r) => r.seg.seq - iss - 1) };
}

test('SACK recovery (RFC 6675): the holes the peer reports are resent, SACKed data is not, no timeout', async () => {
  const b = simBench({ tcp: { initialRto: 1000, minRto: 1000 } });
  const { c, iss, data } = await sending(b, 10);
  assert.deepEqual(data, [0, 1000, 2000, 3000], `initial window: four segments ${data}`);
  const s = iss + 1;
  const ack = (n: number, blocks: Array<[number, number]> = []): TcpRepr =>
    c.send({ seq: PEER_ISN + 1, ack: s + n, flags: ACK, options: blocks.length ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: blocks.map(([l, r]) => [s + l, s + r]) }] : [] });
  ack(2000);
  ack(4000); // slow start: cwnd grows to six segments, 4000..9999 go out
  await b.time.wait(3);
  const from = b.endpoint.received.length;
  // 4000 and 6000 are lost; the peer SACKs the others, one duplicate ACK each.
  ack(4000, [[5000, 6000]]);
  ack(4000, [[7000, 8000], [5000, 6000]]);
  ack(4000, [[7000, 9000], [5000, 6000]]);
  ack(4000, [[7000, 10000], [5000, 6000]]);
  await b.time.wait(3);
  const resent = since(b, from).filter((r) => r.seg.payload.length > 0 && r.seg.seq - s < 10000).map((r) => r.seg.seq - s);
  assert.deepEqual(resent, [4000, 6000], 'the two holes, once each');
  assert.equal(b.stack.tcp.stats.rtoExpiries, 0);
  assert.equal(b.stack.tcp.stats.fastRetransmits, 1);
});

test('tail loss probe (RFC 8985 §7): an unacknowledged tail is probed after 2·SRTT, long before the RTO', async () => {
  const b = simBench({ tcp: { initialRto: 1000, minRto: 1000 } });
  const { iss, data } = await sending(b, 2);
  assert.equal(data.length, 2);
  const probeFrom = b.endpoint.received.length;
  await b.time.wait(300);
  const probes = since(b, probeFrom);
  assert.equal(probes.length, 1, summary(probes).join('\n'));
  assert.equal(probes[0]!.seg.seq, iss + 1 + MSS, 'the last segment sent');
  assert.equal(b.stack.tcp.stats.tailLossProbes, 1);
  assert.equal(b.stack.tcp.stats.rtoExpiries, 0);
});

test("data that arrives after our FIN is ACKed at once: a SACK peer's data and FIN in flight must not wait for its 2·SRTT probe", async () => {
  // The goodbye exchange that Linux clients reset when our ACK of their data waited for the
  // delayed-ACK timer: their FIN's tail loss probe crossed our ACK of the FIN, and our ACK of
  // the probe (from TIME-WAIT) met a closed socket.
  const b = simBench({ tcp: { delayedAckMs: 200 } });
  const { c, sock, iss } = await established(b, SACK_SYN);
  const from = b.endpoint.received.length;
  const peerSeg = (offset: number, ack: number, flags: number, payload = new Uint8Array(0)): TcpRepr =>
    c.send({ seq: PEER_ISN + 1 + offset, ack: iss + 1 + ack, flags, payload });
  // Control: in ESTABLISHED a lone segment still waits for the delayed-ACK timer (a reply may carry the ACK).
  const tHi = b.time.now();
  peerSeg(0, 0, ACK | PSH, Buffer.from('hi'));
  await b.time.wait(250);
  sock.write(Buffer.alloc(17, 0x67));
  sock.end();
  await b.time.wait(5);
  peerSeg(2, 17, ACK); // ACKs our data, not our FIN
  await b.time.wait(5);
  const t0 = b.time.now();
  peerSeg(2, 18, ACK | PSH, Buffer.from('goodbye')); // ACKs our FIN: FIN-WAIT-2
  await b.time.wait(5);
  peerSeg(9, 18, ACK | FIN);
  await b.time.wait(5);
  const got = since(b, from);
  const base = PEER_ISN + 1;
  assert.deepEqual(
    got.map((r) => [tcpFlagsShort(r.seg.flags), r.seg.seq - iss - 1, r.seg.ack - base, r.seg.payload.length]),
    [
      ['.', 0, 2, 0],
      ['P.', 0, 2, 17],
      ['F.', 17, 2, 0],
      ['.', 18, 9, 0],
      ['.', 18, 10, 0],
    ],
    summary(got).join('\n'),
  );
  const delayed = got[0]!.timeMs - tHi;
  assert.ok(delayed >= 200 && delayed < 205, `in ESTABLISHED the lone segment's ACK waited for the timer (${delayed} ms)`);
  const dataAck = got[3]!;
  assert.ok(dataAck.timeMs - t0 < 5, `the data after our FIN is ACKed within the wire's latency, not 200 ms later (${dataAck.timeMs - t0} ms)`);
  assert.equal(tcpOptionsSackBlocks(dataAck.seg.options), undefined, 'in-order data: no SACK block');
});

test("a pure ACK never lies beyond the peer's window: with the window closed over unaccepted data its SEQ is SND.UNA + SND.WND", async () => {
  const b = simBench({ tcp: { initialRto: 1000 } });
  const { c, sock, iss } = await established(b);
  sock.write(Buffer.alloc(3 * MSS, 1));
  await b.time.wait(3);
  // The peer takes the first segment and closes its window; the other two are beyond it.
  c.send({ seq: PEER_ISN + 1, ack: iss + 1 + MSS, flags: ACK, window: 0 });
  await b.time.wait(3);
  const from = b.endpoint.received.length;
  c.send({ seq: PEER_ISN + 1, ack: iss + 1 + MSS, flags: ACK, window: 0, payload: Buffer.from('x') });
  await b.time.wait(250);
  const acks = since(b, from).filter((r) => r.seg.ack === PEER_ISN + 2);
  assert.deepEqual(summary(acks), [`. seq=${iss + 1 + MSS} ack=${PEER_ISN + 2} len=0`]);
});

/** One `size`-byte echo over 5% drop in both directions on the sim wire; virtual seconds and timeouts. */
async function lossyEcho(size: number, tcp: Partial<TcpConfig>, seed: number): Promise<{ ok: boolean; seconds: number; rtos: number }> {
  const faulty = (a: Link, b: Link): [Link, Link] => [new FaultyLink(a, { drop: 0.05, duplicate: 0, reorder: 0, corrupt: 0, delayMs: 0, jitterMs: 0 }, new Rng(seed)), b];
  const { clock, client, server } = twoStacks({ tcp, traceLimit: 0 }, { tcp, traceLimit: 0 }, faulty);
  server.listen(7, (s) => s.pipe(s));
  const sock = client.connect(SERVER_IP, 7);
  const sent = Buffer.from(new Rng(seed).fill(new Uint8Array(size)));
  const got: Buffer[] = [];
  let ended = false;
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('end', () => (ended = true));
  sock.end(sent);
  const t0 = clock.now();
  await runSim(clock, { until: () => ended, untilMs: clock.now() + 600_000, maxSteps: 20_000_000 });
  return { ok: Buffer.concat(got).equals(sent), seconds: (clock.now() - t0) / 1000, rtos: client.tcp.stats.rtoExpiries + server.tcp.stats.rtoExpiries };
}

test('4 MiB echo over 5% drop both ways: with SACK and timestamps it takes a few seconds of virtual time, few timeouts', async () => {
  for (const seed of [1, 2]) {
    const r = await lossyEcho(4 << 20, {}, seed);
    assert.ok(r.ok, `seed ${seed}: echo intact`);
    assert.ok(r.seconds < 5 && r.rtos <= 4, `seed ${seed}: ${r.seconds} s virtual, ${r.rtos} timeouts`);
  }
  const plain = await lossyEcho(1 << 20, { sack: false, timestamps: false }, 1);
  assert.ok(plain.ok, 'without SACK (NewReno) the echo completes too');
});
