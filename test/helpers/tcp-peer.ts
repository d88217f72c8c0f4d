import { BROADCAST_MAC, type Ipv4, type Mac } from '../../stack/addr.js';
import { VirtualClock } from '../../stack/clock.js';
import { createSimWire } from '../../stack/link/sim.js';
import type { Link } from '../../stack/link/link.js';
import { runSim } from '../../stack/sim-driver.js';
import { Stack, type StackOptions } from '../../stack/stack.js';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp } from '../../stack/wire/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernet, parseEthernet } from '../../stack/wire/ethernet.js';
import { IPPROTO_TCP, emitIpv4, parseIpv4 } from '../../stack/wire/ipv4.js';
import { ACK, SYN, emitTcp, parseTcp, tcpFlagsShort, type TcpOption, type TcpRepr } from '../../stack/wire/tcp.js';

export const DUT_IP: Ipv4 = 0x0a4d0002; // 10.77.0.2
export const DUT_MAC: Mac = 0x020000000002;
export const PEER_IP: Ipv4 = 0x0a4d0001; // 10.77.0.1
export const PEER_MAC: Mac = 0x020000000001;

export interface Captured {
  timeMs: number;
  seg: TcpRepr;
}

/**
 * The testbench side of a packetimpact-style test: a raw endpoint on the sim wire that answers
 * ARP, crafts TCP segments byte-exact, and records every TCP segment the stack under test sends.
 */
export class RawPeer {
  readonly received: Captured[] = [];

  constructor(
    private readonly link: Link,
    private readonly clock: VirtualClock,
    readonly ip: Ipv4 = PEER_IP,
    readonly mac: Mac = PEER_MAC,
  ) {
    link.onFrame((f) => this.onFrame(f));
  }

  private onFrame(frame: Uint8Array): void {
    const eth = parseEthernet(frame);
    if (!eth.ok) return;
    if (eth.value.ethertype === ETHERTYPE_ARP) {
      const arp = parseArp(eth.value.payload);
      if (arp.ok && arp.value.op === ARP_REQUEST && arp.value.targetIp === this.ip) {
        const reply = emitArp({ op: ARP_REPLY, senderMac: this.mac, senderIp: this.ip, targetMac: arp.value.senderMac, targetIp: arp.value.senderIp });
        this.link.send(emitEthernet({ dst: arp.value.senderMac, src: this.mac, ethertype: ETHERTYPE_ARP, payload: reply }));
      }
      return;
    }
    if (eth.value.ethertype !== ETHERTYPE_IPV4) return;
    const ip = parseIpv4(eth.value.payload);
    if (!ip.ok || ip.value.protocol !== IPPROTO_TCP) return;
    const tcp = parseTcp(ip.value.payload, ip.value.src, ip.value.dst);
    if (!tcp.ok) throw new Error(`stack under test sent a bad TCP segment: ${JSON.stringify(tcp.error)}`);
    this.received.push({ timeMs: this.clock.now(), seg: tcp.value });
  }

  /** Sends a TCP segment to the stack under test. */
  send(seg: Partial<TcpRepr> & { srcPort: number; dstPort: number; flags: number }): void {
    const full: TcpRepr = { seq: 0, ack: 0, window: 65535, urgent: 0, options: [], payload: new Uint8Array(0), ...seg };
    this.sendIpPayload(emitTcp(full, this.ip, DUT_IP));
  }

  sendIpPayload(payload: Uint8Array, protocol = IPPROTO_TCP): void {
    const ip = emitIpv4({ src: this.ip, dst: DUT_IP, protocol, ttl: 64, tos: 0, ident: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: new Uint8Array(0), payload });
    this.link.send(emitEthernet({ dst: DUT_MAC, src: this.mac, ethertype: ETHERTYPE_IPV4, payload: ip }));
  }

  /** Introduces the peer to the stack (an ARP request it learns from), so tests start resolved. */
  announce(): void {
    this.link.send(arpRequestFrame(this.mac, this.ip, DUT_IP));
  }

  /** Segments received since index `from`. */
  since(from: number): Captured[] {
    return this.received.slice(from);
  }
}

export interface Bench {
  clock: VirtualClock;
  stack: Stack;
  peer: RawPeer;
  /** Runs the simulation for `ms` of virtual time. */
  run(ms: number): Promise<void>;
  /** Runs until `cond` holds (bounded by `maxMs` of virtual time). */
  runUntil(cond: () => boolean, maxMs?: number): Promise<void>;
}

/** A stack under test on one end of a sim wire and a RawPeer on the other. */
export function rawBench(opts: Partial<StackOptions> = {}): Bench {
  const clock = new VirtualClock(1_000_000);
  const [a, b] = createSimWire(clock, { latencyMs: 1 });
  const stack = new Stack({ link: a, mac: DUT_MAC, ip: DUT_IP, clock, seed: 1, ...opts });
  const peer = new RawPeer(b, clock);
  peer.announce();
  clock.advance(2);
  return {
    clock,
    stack,
    peer,
    run: async (ms) => {
      await runSim(clock, { untilMs: clock.now() + ms });
    },
    runUntil: async (cond, maxMs = 600_000) => {
      await runSim(clock, { untilMs: clock.now() + maxMs, until: cond });
    },
  };
}

export interface PeerOpen {
  srcPort: number;
  dstPort: number;
  /** The peer's ISN. */
  isn: number;
  mss?: number;
  /** Window in the peer's final ACK (default 65535). */
  window?: number;
  /** SYN options (default: MSS only). */
  options?: TcpOption[];
}

/** The peer's half of a passive open: SYN, the stack's SYN,ACK, the ACK. Returns the stack's ISS. */
export async function peerOpens(b: Bench, o: PeerOpen): Promise<number> {
  const from = b.peer.received.length;
  b.peer.send({ srcPort: o.srcPort, dstPort: o.dstPort, seq: o.isn, flags: SYN, options: o.options ?? mssOption(o.mss ?? 1460) });
  await b.runUntil(() => b.peer.received.length > from, 1000);
  const iss = b.peer.received[from]!.seg.seq;
  b.peer.send({ srcPort: o.srcPort, dstPort: o.dstPort, seq: o.isn + 1, ack: iss + 1, flags: ACK, window: o.window ?? 65535 });
  await b.run(5);
  return iss;
}

/** `S.`/`F.`-style summary of captured segments (tcpdump flags), for readable assertion failures. */
export function summary(c: Captured[]): string[] {
  return c.map((x) => `${tcpFlagsShort(x.seg.flags)} seq=${x.seg.seq} ack=${x.seg.flags & ACK ? x.seg.ack : '-'} len=${x.seg.payload.length}`);
}

export function mssOption(mss: number): TcpOption[] {
  return [{ kind: 'mss', mss }];
}

/** Two stacks on one sim wire (for client ↔ server tests). */
export function twoStacks(
  clientOpts: Partial<StackOptions> = {},
  serverOpts: Partial<StackOptions> = {},
  wrap?: (a: Link, b: Link) => [Link, Link],
): { clock: VirtualClock; client: Stack; server: Stack; links: [Link, Link] } {
  const clock = new VirtualClock(1_000_000);
  let [a, b]: [Link, Link] = createSimWire(clock, { latencyMs: 1 });
  if (wrap) [a, b] = wrap(a, b);
  const client = new Stack({ link: a, mac: PEER_MAC, ip: PEER_IP, clock, seed: 2, ...clientOpts });
  const server = new Stack({ link: b, mac: DUT_MAC, ip: DUT_IP, clock, seed: 3, ...serverOpts });
  // Resolve ARP both ways before the test: a request in the client's name teaches the server,
  // the server's reply teaches the client.
  a.send(arpRequestFrame(PEER_MAC, PEER_IP, DUT_IP));
  clock.advance(2);
  return { clock, client, server, links: [a, b] };
}

/** A broadcast ARP request from (mac, ip) for `target`. */
function arpRequestFrame(mac: Mac, ip: Ipv4, target: Ipv4): Uint8Array {
  return emitEthernet({ dst: BROADCAST_MAC, src: mac, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac: mac, senderIp: ip, targetMac: 0, targetIp: target }) });
}
