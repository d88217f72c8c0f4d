import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../stack/rng.js';
import { runSim } from '../stack/sim-driver.js';
import type { TcpSocket } from '../stack/tcp/socket.js';
import { ETHERTYPE_IPV4, emitEthernet, ethernetType, parseEthernet } from '../stack/wire/ethernet.js';
import { IPPROTO_TCP, emitIpv4 } from '../stack/wire/ipv4.js';
import { emitTcp, type TcpOption } from '../stack/wire/tcp.js';
import { SERVER_IP, SERVER_MAC, CLIENT_IP, CLIENT_MAC, twoStacks } from './helpers/two-stacks.js';

const FRAMES = 100_000;
const LIVE = 20;

/** Options a hostile peer might send: legal, odd and broken lengths are all emitted verbatim. */
function randomOptions(rng: Rng): TcpOption[] {
  const out: TcpOption[] = [];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) {
    switch (rng.int(6)) {
      case 0:
        out.push({ kind: 'mss', mss: rng.int(65536) });
        break;
      case 1:
        out.push({ kind: 'wscale', shift: rng.int(256) });
        break;
      case 2:
        out.push({ kind: 'nop' });
        break;
      case 3:
        out.push({ kind: 'sackPermitted' });
        break;
      case 4:
        out.push({ kind: 'timestamps', tsval: rng.u32(), tsecr: rng.u32() });
        break;
      default:
        out.push({ kind: 'unknown', type: 9 + rng.int(200), data: rng.fill(new Uint8Array(rng.int(6))) });
    }
  }
  return out;
}

test('hostile input: 100,000 random, mutated and crafted frames; nothing escapes, memory bounded, live connections still work', async () => {
  const { clock, client, server, links } = twoStacks({ traceLimit: 1000 }, { traceLimit: 1000 });
  const [clientLink] = links;
  server.listen(7, (s) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
  });
  // Live connections, and a sample of legitimate IPv4 frames to mutate. (ARP is left out: a
  // mutated ARP frame legitimately rewrites the server's ARP cache, an interface matter.)
  const legit: Uint8Array[] = [];
  const send = clientLink.send.bind(clientLink);
  clientLink.send = (f: Uint8Array) => {
    if (legit.length < 500 && parseEthernet(f).ok && ethernetType(f, 0) === ETHERTYPE_IPV4) legit.push(f.slice());
    send(f);
  };
  const live: TcpSocket[] = [];
  const echoed = new Map<TcpSocket, Buffer[]>();
  for (let i = 0; i < LIVE; i++) {
    const s = client.connect(SERVER_IP, 7);
    echoed.set(s, []);
    s.on('data', (d: Buffer) => echoed.get(s)!.push(d));
    s.write(`hello ${i}`);
    live.push(s);
  }
  await runSim(clock, { untilMs: clock.now() + 100 });
  assert.ok(live.every((s) => s.state === 'Established'));
  const ports = live.map((s) => s.localPort);
  const heapBefore = process.memoryUsage().heapUsed;

  const rng = new Rng(0xbad);
  for (let sent = 0; sent < FRAMES; ) {
    for (let i = 0; i < 1000; i++, sent++) {
      const kind = rng.int(4);
      let frame: Uint8Array;
      if (kind === 0) {
        frame = rng.fill(new Uint8Array(rng.int(1600)));
      } else if (kind === 1) {
        frame = legit[rng.int(legit.length)]!.slice();
        for (let m = 1 + rng.int(4); m > 0; m--) {
          const op = rng.int(3);
          if (op === 0 && frame.length > 0) frame[rng.int(frame.length)]! ^= 1 << rng.int(8);
          else if (op === 1) frame = frame.subarray(0, rng.int(frame.length + 1));
          else frame = Uint8Array.from([...frame, ...rng.fill(new Uint8Array(rng.int(64)))]);
        }
      } else {
        // Well-formed Ethernet/IPv4/TCP with valid checksums, so the TCP code itself is exercised:
        // random flags, numbers, windows and options, aimed at live 4-tuples and the listener.
        const tcp = emitTcp(
          {
            srcPort: rng.chance(0.5) ? ports[rng.int(ports.length)]! : 1 + rng.int(65535),
            dstPort: rng.chance(0.6) ? 7 : rng.int(65536),
            seq: rng.u32(),
            ack: rng.u32(),
            flags: rng.int(0x200),
            window: rng.int(65536),
            urgent: rng.int(65536),
            options: randomOptions(rng),
            payload: rng.fill(new Uint8Array(rng.chance(0.7) ? 0 : rng.int(200))),
          },
          kind === 3 && rng.chance(0.3) ? rng.u32() : CLIENT_IP,
          SERVER_IP,
        );
        const ip = emitIpv4({ src: CLIENT_IP, dst: SERVER_IP, protocol: IPPROTO_TCP, ttl: 64, tos: 0, ident: rng.int(65536), dontFragment: rng.chance(0.9), moreFragments: rng.chance(0.02), fragmentOffset: rng.chance(0.02) ? 8 * rng.int(100) : 0, options: new Uint8Array(0), payload: tcp });
        frame = emitEthernet({ dst: SERVER_MAC, src: CLIENT_MAC, ethertype: ETHERTYPE_IPV4, payload: ip });
      }
      send(frame);
    }
    await runSim(clock, { untilMs: clock.now() + 5 });
  }
  await runSim(clock, { untilMs: clock.now() + 2000 });

  const stats = server.tcp.stats;
  assert.ok(stats.badSegments > 1000, `checksum/format failures counted: ${stats.badSegments}`);
  assert.ok(stats.resetsSent > 1000, `segments without a connection were answered with RSTs: ${stats.resetsSent}`);
  // Bounded: live connections + the SYN queue (backlog 511) at most; the trace is a ring.
  assert.ok(server.tcp.connectionCount <= LIVE + 511, `server holds ${server.tcp.connectionCount} connections`);
  assert.ok(server.trace.length <= 1000);
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew ${(heapGrowth / 1e6).toFixed(1)} MB`);

  // The live connections still carry data both ways and close cleanly.
  let closed = 0;
  for (const [i, s] of live.entries()) {
    s.on('close', () => closed++);
    s.end(Buffer.alloc(10_000, i));
  }
  await runSim(clock, { until: () => closed === LIVE, untilMs: clock.now() + 300_000 });
  for (const [i, s] of live.entries()) {
    const got = Buffer.concat(echoed.get(s)!);
    assert.equal(got.length, `hello ${i}`.length + 10_000, `connection ${i} echoed ${got.length} bytes`);
    assert.ok(got.subarray(`hello ${i}`.length).equals(Buffer.alloc(10_000, i)));
  }
  assert.equal(closed, LIVE);
  // And a new connection works.
  const fresh = client.connect(SERVER_IP, 7);
  const got: Buffer[] = [];
  fresh.on('data', (d: Buffer) => got.push(d));
  fresh.end('after the storm');
  await runSim(clock, { until: () => fresh.destroyed, untilMs: clock.now() + 60_000 });
  assert.equal(Buffer.concat(got).toString(), 'after the storm');
});
