import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingLink } from '../stack/link/recorder.js';
import { parsePcapBuffer } from '../stack/pcap/reader.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { runSim } from '../stack/sim-driver.js';
import type { Stack } from '../stack/stack.js';
import type { Tcb } from '../stack/tcp/tcb.js';
import { ETHERTYPE_IPV4, emitEthernet } from '../stack/wire/ethernet.js';
import { decodeFrame, type Frame } from '../stack/wire/frame.js';
import { ACK, PSH, RST, SYN, tcpOptionsWscale, type TcpOption, type TcpRepr } from '../stack/wire/tcp.js';
import { asPeer, blindInWindowRst, dataBeyondSndNxt, exactRst, inWindowSyn, outOfWindowAck, TOO_OLD_ACK_DISTANCE } from '../fuzzers/raw/attacks.js';
import { tcpDatagram } from '../fuzzers/raw/kernel-injector.js';
import { observeConnection, type ObservedConnection } from '../fuzzers/raw/observe.js';
import { echo } from '../targets/builtin/echo.js';
import { SERVER_IP, SERVER_MAC, CLIENT_IP, CLIENT_MAC, twoStacks } from './helpers/two-stacks.js';

const PEER = { ip: CLIENT_IP, port: 40000 };
const TARGET = { ip: SERVER_IP, port: 7 };

/** Near the top of sequence space, so every builder's arithmetic has to wrap. */
const conn: ObservedConnection = {
  peer: PEER,
  target: TARGET,
  rcvNxt: 0xffffff00,
  rcvWnd: 0x1000,
  sndUna: 5,
  sndNxt: 9,
  peerWindow: 502,
  timestamps: { peerTsval: 111, targetTsval: 222 },
};
const TS: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval: 111, tsecr: 222 }];

function seg(seq: number, ack: number, flags: number, payload: Uint8Array = new Uint8Array(0)): TcpRepr {
  return { srcPort: 40000, dstPort: 7, seq, ack, flags, window: 502, urgent: 0, options: TS, payload };
}

test('RFC 5961 builders: every field, sequence space wrapping, timestamps from both sides', () => {
  assert.deepEqual(blindInWindowRst(conn, 0x200), seg(0x100, 0, RST));
  assert.deepEqual(blindInWindowRst(conn, 0xfff), seg(0xeff, 0, RST));
  assert.deepEqual(exactRst(conn), seg(0xffffff00, 0, RST));
  assert.deepEqual(inWindowSyn(conn, 0), seg(0xffffff00, 0, SYN));
  assert.deepEqual(inWindowSyn(conn, 0x800), seg(0x700, 0, SYN));
  assert.deepEqual(outOfWindowAck(conn), seg(0xffffff00, (5 - TOO_OLD_ACK_DISTANCE) >>> 0, ACK));
  const data = new TextEncoder().encode('INJECTED');
  assert.deepEqual(dataBeyondSndNxt(conn, data), seg(0xffffff00, 10, ACK | PSH, data));
  assert.deepEqual(asPeer(conn, exactRst(conn)), { src: CLIENT_IP, dst: SERVER_IP, repr: exactRst(conn) });
  const { timestamps: _, ...noTs } = conn;
  assert.deepEqual(exactRst(noTs).options, []);
});

test('RFC 5961 builders: an offset outside the window (or the exact RST offset 0) is a RangeError', () => {
  for (const offset of [0, 0x1000, -1, 1.5, 0x7fffffff]) assert.throws(() => blindInWindowRst(conn, offset), RangeError, String(offset));
  for (const offset of [0x1000, -1]) assert.throws(() => inWindowSyn(conn, offset), RangeError, String(offset));
  assert.throws(() => inWindowSyn({ ...conn, rcvWnd: 0 }, 0), /not inside the window \(0\.\.-1\)/);
});

interface SimRun {
  server: Stack;
  frames(): Frame[];
  /** Segments the server sent since frame index `from`. */
  serverSent(from: number): TcpRepr[];
  frameCount(): number;
  inject(repr: TcpRepr): void;
  run(ms: number): Promise<void>;
  tcb(): Tcb | undefined;
  clientTcb: () => Tcb | undefined;
  echoed: () => number;
  write(bytes: Uint8Array): void;
  resets: string[];
}

/** Our echo service on a sim wire, a client stack with a live connection to it, every server-side frame recorded. */
async function simConnection(): Promise<SimRun> {
  const writer = PcapWriter.memory();
  const { clock, client, server, links } = twoStacks({}, {}, (a, b) => [a, new RecordingLink(b, writer)]);
  echo.serve(server);
  const sock = client.connect(SERVER_IP, 7, { localPort: PEER.port });
  let echoed = 0;
  const resets: string[] = [];
  sock.on('data', (d: Buffer) => (echoed += d.length));
  sock.on('reset', (r: string) => resets.push(r));
  const run = async (ms: number): Promise<void> => {
    await runSim(clock, { untilMs: clock.now() + ms });
  };
  const frames = (): Frame[] =>
    parsePcapBuffer(writer.bytes()).records.map((r) => {
      const f = decodeFrame(r.data, r.linktype);
      assert.ok(f.ok);
      return f.value;
    });
  await run(50);
  return {
    server,
    frames,
    frameCount: () => writer.frames,
    serverSent: (from) => frames().slice(from).flatMap((f) => (f.tcp && f.ipv4?.src === SERVER_IP ? [f.tcp] : [])),
    inject: (repr) => links[0].send(emitEthernet({ dst: SERVER_MAC, src: CLIENT_MAC, ethertype: ETHERTYPE_IPV4, payload: tcpDatagram({ src: CLIENT_IP, dst: SERVER_IP, repr }) })),
    run,
    tcb: () => server.tcp.connections()[0],
    clientTcb: () => client.tcp.connections()[0],
    echoed: () => echoed,
    write: (bytes) => sock.write(bytes),
    resets,
  };
}

function assertMatchesTcb(o: ObservedConnection | undefined, t: Tcb | undefined): void {
  assert.ok(o && t);
  assert.deepEqual({ rcvNxt: o.rcvNxt, sndNxt: o.sndNxt, sndUna: o.sndUna }, { rcvNxt: t.rcvNxt, sndNxt: t.sndNxt, sndUna: t.sndUna });
}

test('observeConnection reads RCV.NXT, SND.NXT, SND.UNA and the scaled RCV.WND off the wire, and is not fooled by injected segments', async () => {
  const s = await simConnection();
  s.write(new Uint8Array(200_000).fill(7));
  await s.run(2000);
  assert.equal(s.echoed(), 200_000);
  const o = observeConnection(s.frames(), PEER, TARGET);
  assertMatchesTcb(o, s.tcb());
  // The window the client uses is the one the server advertised, scaled as the client scales it.
  assert.equal(o!.rcvWnd, s.clientTcb()!.sndWnd);
  assert.ok(o!.timestamps);
  assert.equal(observeConnection(s.frames(), { ...PEER, port: 40001 }, TARGET), undefined);

  // Mid-capture (no handshake): the window field unscaled, a lower bound.
  const frames = s.frames();
  const synAck = frames.find((f) => f.tcp && f.tcp.flags & SYN && f.tcp.flags & ACK)!.tcp!;
  const shift = tcpOptionsWscale(synAck.options)!;
  assert.ok(shift > 0);
  const partial = observeConnection(frames.slice(4), PEER, TARGET)!;
  assert.equal(partial.rcvWnd * 2 ** shift, o!.rcvWnd);

  // Injections in the peer's name land in the capture: a SYN, an ACK of data never sent, an
  // ACK far too old. What the observer reports must still be the server's truth.
  s.inject(inWindowSyn(o!, 10));
  s.inject(dataBeyondSndNxt(o!, new Uint8Array(5)));
  s.inject(outOfWindowAck(o!));
  await s.run(10);
  const after = observeConnection(s.frames(), PEER, TARGET);
  assertMatchesTcb(after, s.tcb());
  assert.equal(after!.rcvWnd, o!.rcvWnd);
});

test('each injection draws the reaction RFC 5961 asks for from our stack (sim wire, 1 challenge ACK per second)', async () => {
  const s = await simConnection();
  s.write(new Uint8Array(1000).fill(1));
  await s.run(500);
  const challenged = async (name: string, build: (o: ObservedConnection) => TcpRepr): Promise<void> => {
    const t = s.tcb()!;
    const from = s.frameCount();
    s.inject(build(observeConnection(s.frames(), PEER, TARGET)!));
    await s.run(10);
    const sent = s.serverSent(from).map((x) => [x.flags, x.seq, x.ack, x.payload.length]);
    assert.deepEqual(sent, [[ACK, t.sndNxt, t.rcvNxt, 0]], name);
    assert.equal(s.tcb()!.state.name, 'Established', name);
  };
  await challenged('blind in-window RST', (o) => blindInWindowRst(o, 1));
  const limited = s.frameCount();
  s.inject(blindInWindowRst(observeConnection(s.frames(), PEER, TARGET)!, 2));
  await s.run(10);
  assert.deepEqual(s.serverSent(limited), [], 'a second challenge within the second is suppressed');
  assert.equal(s.server.tcp.stats.challengeAcksLimited, 1);
  await s.run(1000);
  await challenged('in-window SYN', (o) => inWindowSyn(o, o.rcvWnd - 1));
  await s.run(1000);
  await challenged('out-of-window ACK', outOfWindowAck);
  await s.run(1000);
  const rcvNxt = s.tcb()!.rcvNxt;
  await challenged('data acknowledging beyond SND.NXT', (o) => dataBeyondSndNxt(o, new Uint8Array(100)));
  assert.equal(s.tcb()!.rcvNxt, rcvNxt, 'the data was dropped');
  s.write(new Uint8Array(10));
  await s.run(500);
  assert.equal(s.echoed(), 1010, 'the connection still echoes, and only what the client sent');

  const from = s.frameCount();
  s.inject(exactRst(observeConnection(s.frames(), PEER, TARGET)!));
  await s.run(10);
  assert.deepEqual(s.serverSent(from), []);
  assert.equal(s.server.tcp.connectionCount, 0);
  assert.equal(s.server.tcp.stats.challengeAcks, 4);
  // The client still believes in the connection; its next segment meets no TCB and draws an RST.
  s.write(new Uint8Array(3));
  await s.run(500);
  assert.deepEqual(s.resets, ['peer-reset']);
});
