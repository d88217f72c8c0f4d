import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROADCAST_MAC, parseIpv4 as ip } from '../stack/addr.js';
import { VirtualClock } from '../stack/clock.js';
import { Interface } from '../stack/iface/interface.js';
import { createSimWire } from '../stack/link/sim.js';
import type { Link } from '../stack/link/link.js';
import { silentLogger } from '../stack/log.js';
import { Rng } from '../stack/rng.js';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp } from '../stack/wire/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernet, parseEthernet } from '../stack/wire/ethernet.js';
import { emitIcmp, parseIcmp } from '../stack/wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, emitIpv4, parseIpv4, type Ipv4Repr } from '../stack/wire/ipv4.js';

const IP_A = ip('10.77.0.1')!;
const IP_B = ip('10.77.0.2')!;
const MAC_A = 0x02000000000a;
const MAC_B = 0x02000000000b;

function newIface(link: Link, clock: VirtualClock, mac: number, addr: number, arpTimeoutMs?: number): Interface {
  return new Interface({ link, mac, ip: addr, prefixLen: 24, clock, log: silentLogger, arpTimeoutMs });
}

/** Interface A on one end of a sim wire; the test plays the other end with hand-made frames. */
function withPeer(latencyMs = 1) {
  const clock = new VirtualClock(1_000_000);
  const [la, lb] = createSimWire(clock, { latencyMs });
  const a = newIface(la, clock, MAC_A, IP_A);
  const seen: Array<{ at: number; frame: Uint8Array }> = [];
  lb.onFrame((frame) => seen.push({ at: clock.now(), frame }));
  return { clock, a, peer: lb, seen };
}

function datagram(over: Partial<Ipv4Repr> = {}): Ipv4Repr {
  return {
    src: IP_B,
    dst: IP_A,
    protocol: IPPROTO_TCP,
    ttl: 64,
    tos: 0,
    ident: 1,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    options: new Uint8Array(0),
    payload: Uint8Array.of(1, 2, 3, 4),
    ...over,
  };
}

function ipFrame(bytes: Uint8Array, dst = MAC_A): Uint8Array {
  return emitEthernet({ dst, src: MAC_B, ethertype: ETHERTYPE_IPV4, payload: bytes });
}

function arpOf(frame: Uint8Array) {
  const eth = parseEthernet(frame);
  assert.ok(eth.ok && eth.value.ethertype === ETHERTYPE_ARP);
  const arp = parseArp(eth.value.payload);
  assert.ok(arp.ok);
  return { eth: eth.value, arp: arp.value };
}

function ipOf(frame: Uint8Array) {
  const eth = parseEthernet(frame);
  assert.ok(eth.ok && eth.value.ethertype === ETHERTYPE_IPV4);
  const p = parseIpv4(eth.value.payload);
  assert.ok(p.ok, 'valid IPv4 with a correct checksum');
  return { eth: eth.value, ip: p.value };
}

test('ARP both ways on the sim wire: request/reply, the requester learned from the request, expiry re-resolves', () => {
  const clock = new VirtualClock();
  const [la, lb] = createSimWire(clock, { latencyMs: 1 });
  const a = newIface(la, clock, MAC_A, IP_A, 5000);
  const b = newIface(lb, clock, MAC_B, IP_B, 5000);
  const atB: Ipv4Repr[] = [];
  const atA: Ipv4Repr[] = [];
  b.registerProtocol(IPPROTO_TCP, (r) => atB.push(r));
  a.registerProtocol(IPPROTO_TCP, (r) => atA.push(r));
  a.sendIpv4(IP_B, IPPROTO_TCP, Uint8Array.of(1));
  clock.runUntilIdle();
  assert.deepEqual([...atB[0]!.payload], [1]);
  assert.deepEqual([a.stats.arpRequestsOut, b.stats.arpRepliesOut, a.stats.arpRepliesIn], [1, 1, 1]);
  // B learned A from the request addressed to it (RFC 826 merge): it answers without asking.
  b.sendIpv4(IP_A, IPPROTO_TCP, Uint8Array.of(2));
  clock.runUntilIdle();
  assert.deepEqual([...atA[0]!.payload], [2]);
  assert.equal(b.stats.arpRequestsOut, 0);
  // Entries expire: after the timeout A asks again.
  clock.advance(6000);
  a.sendIpv4(IP_B, IPPROTO_TCP, Uint8Array.of(3));
  clock.runUntilIdle();
  assert.equal(a.stats.arpRequestsOut, 2);
  assert.equal(atB.length, 2);
});

test('packets for an unresolved address are held in order, the oldest dropped past the bound, and sent after resolution (RFC 1122 §2.3.2.2)', () => {
  const { clock, a, peer, seen } = withPeer();
  const n = 130;
  for (let i = 0; i < n; i++) a.sendIpv4(IP_B, IPPROTO_TCP, Uint8Array.of(i));
  clock.advance(1);
  assert.equal(seen.length, 1, 'one ARP request, datagrams held');
  const { eth, arp } = arpOf(seen[0]!.frame);
  assert.equal(eth.dst, BROADCAST_MAC);
  assert.deepEqual([arp.op, arp.senderIp, arp.senderMac, arp.targetIp], [ARP_REQUEST, IP_A, MAC_A, IP_B]);
  peer.send(emitEthernet({ dst: MAC_A, src: MAC_B, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REPLY, senderMac: MAC_B, senderIp: IP_B, targetMac: MAC_A, targetIp: IP_A }) }));
  clock.runUntilIdle();
  assert.equal(seen.length, 1 + 128, 'a burst (e.g. 128 SYNs) survives resolution');
  const sent = seen.slice(1).map((s) => ipOf(s.frame));
  assert.ok(sent.every((x) => x.eth.dst === MAC_B));
  assert.deepEqual(
    sent.map((x) => x.ip.payload[0]),
    Array.from({ length: 128 }, (_, i) => i + 2),
    'in order, the two oldest dropped',
  );
  assert.equal(a.stats.drops['arp-superseded'], 2);
});

test('at most one ARP request per second per destination (RFC 1122 §2.3.2.1); unanswered ones give up after 3', () => {
  const { clock, a, seen } = withPeer(0);
  // A datagram to an absent host every 100 ms for 8 s, and to a second absent host.
  for (let t = 0; t < 80; t++) {
    a.sendIpv4(ip('10.77.0.9')!, IPPROTO_TCP, Uint8Array.of(t));
    if (t % 10 === 0) a.sendIpv4(ip('10.77.0.10')!, IPPROTO_TCP, Uint8Array.of(t));
    clock.advance(100);
  }
  clock.runUntilIdle();
  const requests = seen.map((s) => ({ at: s.at, target: arpOf(s.frame).arp.targetIp }));
  for (const target of [ip('10.77.0.9')!, ip('10.77.0.10')!]) {
    const times = requests.filter((r) => r.target === target).map((r) => r.at);
    assert.ok(times.length >= 6, `retries continue while traffic does: ${times.length}`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1000, `requests ${times[i - 1]} and ${times[i]} too close`);
  }
  assert.ok((a.stats.drops['arp-unresolved'] ?? 0) >= 2, 'queued datagrams dropped after 3 unanswered requests');
});

test('ICMP echo: the reply carries the request data, ident and seq; a broadcast echo is not answered', () => {
  const { clock, a, peer, seen } = withPeer();
  const data = new Rng(5).fill(new Uint8Array(333));
  // Teach A the peer's MAC first so the reply is the only frame.
  peer.send(emitEthernet({ dst: BROADCAST_MAC, src: MAC_B, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac: MAC_B, senderIp: IP_B, targetMac: 0, targetIp: IP_A }) }));
  peer.send(ipFrame(emitIpv4(datagram({ protocol: IPPROTO_ICMP, payload: emitIcmp({ kind: 'echo-request', ident: 0x1234, seq: 9, data }) }))));
  peer.send(ipFrame(emitIpv4(datagram({ dst: ip('10.77.0.255')!, protocol: IPPROTO_ICMP, payload: emitIcmp({ kind: 'echo-request', ident: 1, seq: 1, data }) })), BROADCAST_MAC));
  clock.runUntilIdle();
  assert.equal(seen.length, 2, 'ARP reply + one echo reply');
  const { eth, ip: reply } = ipOf(seen[1]!.frame);
  assert.equal(eth.dst, MAC_B);
  assert.deepEqual([reply.src, reply.dst, reply.protocol], [IP_A, IP_B, IPPROTO_ICMP]);
  const icmp = parseIcmp(reply.payload);
  assert.ok(icmp.ok && icmp.value.kind === 'echo-reply');
  assert.deepEqual([icmp.value.ident, icmp.value.seq], [0x1234, 9]);
  assert.deepEqual(icmp.value.data, data);
  assert.equal(a.stats.icmpEchoReplies, 1);
  assert.equal(a.stats.drops['icmp-echo-broadcast'], 1);
});

test('IPv4 input checks (RFC 1122 §3.2.1): each bad datagram is dropped and counted by reason; good ones reach the handler without padding', () => {
  const { clock, a, peer } = withPeer();
  const delivered: Ipv4Repr[] = [];
  a.registerProtocol(IPPROTO_TCP, (r) => delivered.push(r));
  const good = emitIpv4(datagram());
  const badSum = Uint8Array.from(good);
  badSum[10]! ^= 0x01;
  const v6 = Uint8Array.from(good);
  v6[0] = 0x65;
  const ihl4 = Uint8Array.from(good);
  ihl4[0] = 0x44;
  const longer = Uint8Array.from(good);
  longer[3] = 200; // total length beyond the bytes present (checked before the checksum)
  const badIcmp = emitIpv4(datagram({ protocol: IPPROTO_ICMP, payload: Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1) }));
  const cases: Array<[Uint8Array, string]> = [
    [ipFrame(badSum), 'ipv4-bad-checksum'],
    [ipFrame(v6), 'ipv4-bad-field'],
    [ipFrame(ihl4), 'ipv4-bad-field'],
    [ipFrame(longer), 'ipv4-truncated'],
    [ipFrame(emitIpv4(datagram({ moreFragments: true }))), 'ipv4-fragment'],
    [ipFrame(emitIpv4(datagram({ fragmentOffset: 8 }))), 'ipv4-fragment'],
    [ipFrame(emitIpv4(datagram({ dst: ip('10.77.0.3')! }))), 'ipv4-not-for-us'],
    [ipFrame(emitIpv4(datagram({ src: ip('127.0.0.1')! }))), 'ipv4-bad-source'],
    [ipFrame(emitIpv4(datagram({ src: ip('10.77.0.255')! }))), 'ipv4-bad-source'],
    [ipFrame(badIcmp), 'icmp-bad-checksum'],
    [ipFrame(good, 0x02000000000c), 'not-our-mac'],
    [emitEthernet({ dst: MAC_A, src: MAC_B, ethertype: 0x86dd, payload: new Uint8Array(40) }), 'unsupported-ethertype'],
    [new Uint8Array(10), 'ethernet-truncated'],
    [emitEthernet({ dst: MAC_A, src: MAC_B, ethertype: ETHERTYPE_ARP, payload: new Uint8Array(10) }), 'arp-truncated'],
  ];
  for (const [frame, reason] of cases) {
    const before = a.stats.drops[reason] ?? 0;
    peer.send(frame);
    clock.runUntilIdle();
    assert.equal(a.stats.drops[reason], before + 1, reason);
  }
  assert.equal(delivered.length, 0);
  assert.equal(a.stats.fragmentsDropped, 2);
  // Ethernet padding after Total Length is not part of the payload.
  peer.send(ipFrame(Uint8Array.from([...good, 0, 0, 0, 0, 0, 0])));
  clock.runUntilIdle();
  assert.equal(delivered.length, 1);
  assert.deepEqual([...delivered[0]!.payload], [1, 2, 3, 4]);
  assert.equal(a.stats.framesIn, cases.length + 1);
});

test('an unsupported protocol is answered with Protocol Unreachable quoting the header + 8 bytes', () => {
  const { clock, a, peer, seen } = withPeer();
  peer.send(emitEthernet({ dst: BROADCAST_MAC, src: MAC_B, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac: MAC_B, senderIp: IP_B, targetMac: 0, targetIp: IP_A }) }));
  const sent = emitIpv4(datagram({ protocol: 253, payload: new Uint8Array(20).fill(7) }));
  peer.send(ipFrame(sent));
  clock.runUntilIdle();
  const icmp = parseIcmp(ipOf(seen[1]!.frame).ip.payload);
  assert.ok(icmp.ok && icmp.value.kind === 'dest-unreachable');
  assert.equal(icmp.value.code, 2);
  assert.deepEqual(icmp.value.original, sent.subarray(0, 28));
  assert.equal(a.stats.drops['ipv4-no-protocol'], 1);
});

test('ARP: answers requests for its address, learns only from those (or known senders), ignores conflicts and probes', () => {
  const { clock, a, peer, seen } = withPeer();
  const req = (senderIp: number, targetIp: number, senderMac = MAC_B) =>
    emitEthernet({ dst: BROADCAST_MAC, src: senderMac, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac, senderIp, targetMac: 0, targetIp }) });
  peer.send(req(ip('10.77.0.5')!, ip('10.77.0.6')!)); // not for us: not learned
  peer.send(req(IP_A, IP_A, 0x02000000000c)); // someone claims our address
  peer.send(req(0, IP_A)); // an RFC 5227 probe: answered but not learned
  clock.runUntilIdle();
  assert.equal(a.stats.drops['arp-not-for-us'], 1);
  assert.equal(a.stats.drops['arp-conflict'], 1);
  assert.equal(seen.length, 1);
  seen.length = 0;
  a.sendIpv4(ip('10.77.0.5')!, IPPROTO_TCP, Uint8Array.of(1));
  clock.advance(1);
  assert.equal(arpOf(seen[0]!.frame).arp.op, ARP_REQUEST, '10.77.0.5 was not learned from a request for someone else');
  seen.length = 0;
  peer.send(req(IP_B, IP_A));
  clock.runUntilIdle();
  const { eth, arp } = arpOf(seen[0]!.frame);
  assert.equal(eth.dst, MAC_B);
  assert.deepEqual([arp.op, arp.senderMac, arp.senderIp, arp.targetMac, arp.targetIp], [ARP_REPLY, MAC_A, IP_A, MAC_B, IP_B]);
  seen.length = 0;
  a.sendIpv4(IP_B, IPPROTO_TCP, Uint8Array.of(1));
  clock.runUntilIdle();
  assert.equal(ipOf(seen[0]!.frame).eth.dst, MAC_B, 'learned from the request addressed to us');
});

test('send side: broadcast needs no ARP, off-subnet and oversize datagrams are dropped and counted, DF and TTL as asked', () => {
  const { clock, a, seen } = withPeer();
  a.sendIpv4(ip('10.77.0.255')!, IPPROTO_TCP, Uint8Array.of(1), { ttl: 3, dontFragment: false });
  a.sendIpv4(ip('192.0.2.1')!, IPPROTO_TCP, Uint8Array.of(1));
  a.sendIpv4(IP_B, IPPROTO_TCP, new Uint8Array(1481));
  clock.runUntilIdle();
  assert.equal(seen.length, 1);
  const { eth, ip: sent } = ipOf(seen[0]!.frame);
  assert.equal(eth.dst, BROADCAST_MAC);
  assert.deepEqual([sent.ttl, sent.dontFragment], [3, false]);
  assert.equal(a.stats.drops['no-route'], 1);
  assert.equal(a.stats.drops['too-big'], 1);
});

test('hostile frames never throw: random bytes and bit-flipped valid frames are all dropped or handled', () => {
  const { clock, a, peer } = withPeer(0);
  const rng = new Rng(1234);
  const valid = [
    ipFrame(emitIpv4(datagram({ protocol: IPPROTO_ICMP, payload: emitIcmp({ kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(30) }) }))),
    emitEthernet({ dst: MAC_A, src: MAC_B, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac: MAC_B, senderIp: IP_B, targetMac: 0, targetIp: IP_A }) }),
    ipFrame(emitIpv4(datagram({ options: Uint8Array.of(1, 1, 1, 0) }))),
  ];
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    let f: Uint8Array;
    if (i % 2 === 0) f = rng.fill(new Uint8Array(rng.int(120)));
    else {
      f = Uint8Array.from(valid[rng.int(valid.length)]!);
      for (let k = rng.int(4); k >= 0; k--) f[14 + rng.int(f.length - 14)]! ^= 1 << rng.int(8);
    }
    peer.send(f);
  }
  assert.doesNotThrow(() => clock.runUntilIdle());
  assert.equal(a.stats.framesIn, n);
});
