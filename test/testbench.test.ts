import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROADCAST_MAC } from '../stack/addr.js';
import { VirtualClock } from '../stack/clock.js';
import { createSimWire } from '../stack/link/sim.js';
import { ARP_REPLY, ARP_REQUEST, emitArp } from '../stack/wire/arp.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../stack/wire/ethernet.js';
import { decodeFrame, LINKTYPE_ETHERNET } from '../stack/wire/frame.js';
import { ACK, FIN, PSH, RST, SYN, type TcpRepr } from '../stack/wire/tcp.js';
import { tcpDatagram } from '../fuzzers/raw/kernel-injector.js';
import { BENCH_ENDPOINT_IP, BENCH_ENDPOINT_MAC, BENCH_STACK_IP, BENCH_STACK_MAC, Endpoint, ExpectError, SimTime } from '../fuzzers/raw/testbench/index.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { benchTests, QUIET_MS, REPLY_MS } from './helpers/bench.js';

const linkTest = benchTests(import.meta.url);

/** An endpoint on a sim wire whose other end the test drives frame by frame (no stack there). */
function rawEndpoint() {
  const clock = new VirtualClock(0);
  const [far, near] = createSimWire(clock, { latencyMs: 1 });
  const time = new SimTime(clock);
  const endpoint = new Endpoint({ link: near, time, ip: BENCH_ENDPOINT_IP, mac: BENCH_ENDPOINT_MAC, target: { ip: BENCH_STACK_IP, mac: BENCH_STACK_MAC } });
  const sent: Uint8Array[] = [];
  far.onFrame((f) => sent.push(f));
  /** A segment from the "stack" to the endpoint. */
  const fromStack = (seg: Partial<TcpRepr>, dst = BENCH_ENDPOINT_MAC): Uint8Array => {
    const repr: TcpRepr = { srcPort: 80, dstPort: 40000, seq: 0, ack: 0, flags: ACK, window: 1000, urgent: 0, options: [], payload: new Uint8Array(0), ...seg };
    const frame = emitEthernet({ dst, src: BENCH_STACK_MAC, ethertype: ETHERTYPE_IPV4, payload: tcpDatagram({ src: BENCH_STACK_IP, dst: BENCH_ENDPOINT_IP, repr }) });
    far.send(frame);
    return frame;
  };
  return { endpoint, time, far, sent, fromStack };
}

async function rejects(p: Promise<unknown>): Promise<ExpectError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ExpectError, String(e));
    return e;
  }
  assert.fail('the expectation held');
}

test('matching: an unset field is a don\'t-care; a mismatch names every wrong field, expected and got, and the frame', async () => {
  const { endpoint, fromStack } = rawEndpoint();
  fromStack({ seq: 5, flags: SYN | ACK }, BROADCAST_MAC); // frame 1: addressed to everyone, still ours
  fromStack({ seq: 7 }, 0x020000000099); // frame 2: another host's, not kept
  fromStack({ seq: 9, ack: 3, flags: PSH | ACK, payload: Buffer.from('hi') }); // frame 3
  assert.equal((await endpoint.expect({ flags: SYN | ACK }, { timeoutMs: 5 })).frame, 1);
  const e = await rejects(endpoint.expect({ seq: 9, ack: 4, flags: ACK, window: 1000, payload: Buffer.from('ho') }, { timeoutMs: 5 }));
  assert.equal(e.frame, 3);
  assert.deepEqual(e.mismatches, [
    { field: 'ack', expected: '4', got: '3' },
    { field: 'flags', expected: '.', got: 'P.' },
    { field: 'payload', expected: 'len 2 "ho"', got: 'len 2 "hi"' },
  ]);
  assert.equal(
    e.message,
    ['endpoint: frame 3 does not match', '  ack      expected 4, got 3', '  flags    expected ., got P.', '  payload  expected len 2 "ho", got len 2 "hi"', '  frame 3: 80 > 40000 [P.] seq 9 ack 3 win 1000 len 2 "hi"'].join('\n'),
  );
  // The mismatched segment was not taken: an expectation that fits it still can.
  assert.equal((await endpoint.expect({ payload: Buffer.from('hi') }, { timeoutMs: 0 })).frame, 3);
  assert.equal(endpoint.frameCount, 3);
});

test('expect with nothing arriving says so and how long it waited; expectNone names the segment it did not want', async () => {
  const { endpoint, time, fromStack } = rawEndpoint();
  const t0 = time.now();
  const e = await rejects(endpoint.expect({ flags: RST, seq: 1 }, { timeoutMs: 250 }));
  assert.equal(e.message, 'endpoint: expected {seq 1, flags R} within 250 ms, got nothing (0 frames so far)');
  assert.equal(time.now() - t0, 250, 'the virtual clock ran exactly the tolerance');
  fromStack({ seq: 1, flags: RST | ACK });
  fromStack({ seq: 2, flags: FIN | ACK });
  await endpoint.expectNone({ flags: RST }, { timeoutMs: 5 }); // R. is not R
  const none = await rejects(endpoint.expectNone({ flags: FIN | ACK }, { timeoutMs: 0 }));
  assert.equal(none.message, 'endpoint: expected no segment like {flags F.} within 0 ms, got frame 2: 80 > 40000 [F.] seq 2 ack 0 win 1000 len 0');
  // Nothing was taken by either: both are still there, in order.
  assert.deepEqual([(await endpoint.expect({}, { timeoutMs: 0 })).frame, (await endpoint.expect({}, { timeoutMs: 0 })).frame], [1, 2]);
});

test('a frame from the stack that does not decode fails the next expectation, naming the frame and the layer', async () => {
  const { endpoint, far, fromStack } = rawEndpoint();
  const good = fromStack({ seq: 1 });
  const bad = good.slice();
  bad[bad.length - 1]! ^= 0xff; // the TCP checksum no longer verifies
  bad[14 + 20 + 16]! ^= 0x01;
  far.send(bad);
  const e = await rejects(endpoint.expectNone({}, { timeoutMs: 5 }));
  assert.equal(e.frame, 2);
  assert.match(e.message, /^endpoint: frame 2 from the stack does not decode: tcp: bad checksum 0x[0-9a-f]{4} \(expected 0x[0-9a-f]{4}\) at byte 50$/);
});

test('the endpoint answers ARP for its own address only, and announces itself with a broadcast request', async () => {
  const { endpoint, time, far, sent } = rawEndpoint();
  const ask = (targetIp: number): void =>
    far.send(emitEthernet({ dst: BROADCAST_MAC, src: BENCH_STACK_MAC, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac: BENCH_STACK_MAC, senderIp: BENCH_STACK_IP, targetMac: 0, targetIp }) }));
  ask(BENCH_ENDPOINT_IP);
  ask(0x0a4d0001);
  endpoint.announce();
  await time.wait(5);
  const arps = sent.map((f) => {
    const d = decodeFrame(f, LINKTYPE_ETHERNET);
    assert.ok(d.ok && d.value.arp && d.value.eth);
    return [d.value.eth.dst, d.value.arp.op, d.value.arp.senderIp, d.value.arp.targetIp];
  });
  // The announcement leaves at once; the one reply when the request for .3 has arrived.
  assert.deepEqual(arps, [
    [BROADCAST_MAC, ARP_REQUEST, BENCH_ENDPOINT_IP, BENCH_STACK_IP],
    [BENCH_STACK_MAC, ARP_REPLY, BENCH_ENDPOINT_IP, BENCH_STACK_IP],
  ]);
});

linkTest('connection defaults: after the handshake ACK is set, SEQ = SND.NXT and ACK = RCV.NXT; numbers move with what is sent and taken only', {}, async (b) => {
  let sock: TcpSocket | undefined;
  b.stack.listen(80, (s) => (sock = s));
  const c = b.endpoint.conn({ remotePort: 80, localPort: 40000, isn: 0xfffffffe });
  assert.throws(() => c.send({}), /a segment before the stack's SYN needs its flags/);
  const synAck = await c.handshake({ timeoutMs: REPLY_MS });
  assert.deepEqual([c.peerIsn, c.rcvNxt, c.sndNxt], [synAck.seg.seq, (synAck.seg.seq + 1) >>> 0, 0xffffffff]);
  assert.deepEqual(c.peerSyn, { mss: 1460, wscale: undefined, sackPermitted: false, timestamps: false });
  assert.ok(await b.time.waitUntil(() => sock !== undefined, REPLY_MS));
  const data = c.send({ flags: PSH | ACK, payload: Buffer.from('abc') });
  assert.deepEqual([data.seq, data.ack, data.window, data.srcPort, data.dstPort], [0xffffffff, c.rcvSeq(0), 65535, 40000, 80]);
  assert.equal(c.sndNxt, 2, 'past the wrap: ISN + 1 + 3');
  assert.equal(c.sndSeq(3), 2);
  await c.expect({ flags: ACK, ack: 2 }, { timeoutMs: REPLY_MS });
  // An RST and a SYN after the first take no sequence space of ours.
  c.send({ flags: SYN, seq: c.sndSeq(1000) });
  await c.expect({ flags: ACK, ack: 2 }, { timeoutMs: REPLY_MS });
  assert.equal(c.sndNxt, 2);
  sock!.write('hello');
  const arrived = b.endpoint.received.length;
  await b.time.waitUntil(() => b.endpoint.received.length > arrived, REPLY_MS);
  assert.equal(c.rcvNxt, c.rcvSeq(0), 'data that arrived but was not taken changes nothing');
  // Taken by the endpoint's own expectation, still learnt by the connection it belongs to.
  await b.endpoint.expect({ payload: Buffer.from('hello'), seq: c.rcvSeq(0) }, { timeoutMs: 0 });
  assert.equal(c.rcvNxt, c.rcvSeq(5));
  assert.equal(c.send({}).ack, c.rcvSeq(5));
  await b.endpoint.expectNone({}, { timeoutMs: QUIET_MS });
});

linkTest("the stack's active open: awaitSyn learns its SYN, handshake answers SYN/ACK and takes its ACK", {}, async (b) => {
  const sock = b.stack.connect(b.endpoint.ip, 8080);
  const c = await b.endpoint.awaitSyn({ localPort: 8080, isn: 5000, timeoutMs: REPLY_MS });
  assert.equal(c.remotePort, sock.localPort);
  assert.equal(c.peerSyn?.mss, 1460);
  const ack = await c.handshake({ timeoutMs: REPLY_MS });
  assert.deepEqual([ack.seg.flags, ack.seg.seq, ack.seg.ack], [ACK, c.rcvSeq(0), 5001]);
  assert.ok(await b.time.waitUntil(() => sock.state === 'Established', REPLY_MS));
  c.send({ flags: FIN | ACK });
  await c.expect({ flags: ACK, ack: 5002 }, { timeoutMs: REPLY_MS });
  assert.equal(sock.state, 'Close_wait');
});
