import { BROADCAST_MAC, ipv4ToString, writeMac, type Ipv4, type Mac } from '../addr.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Link } from '../link/link.js';
import type { Logger } from '../log.js';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp, type ArpRepr } from '../wire/arp.js';
import { allocBytes } from '../wire/bytes.js';
import { formatWireError, type WireError } from '../wire/errors.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernetInto, parseEthernet } from '../wire/ethernet.js';
import { emitIcmp, parseIcmp } from '../wire/icmp.js';
import { IPPROTO_ICMP, emitIpv4Into, ipv4HeaderLength, ipv4ReprLength, isFragment, parseIpv4, type Ipv4Repr } from '../wire/ipv4.js';

/**
 * One IPv4-over-Ethernet host interface, RFC 1122 style: ARP (RFC 826) with a cache, request
 * rate limiting and a bounded packet queue per unresolved address; IPv4 input checks; ICMP echo.
 *
 * Deliberate limits, each counted when it bites:
 * - No reassembly: every fragment is dropped (`fragmentsDropped`, drop reason `ipv4-fragment`).
 *   RFC 1122 §3.3.2 requires reassembly of a general-purpose host; this stack sends only
 *   unfragmented datagrams on links it owns, so a fragment means a test sent it on purpose.
 * - No routing: destinations off the interface's subnet are dropped (`no-route`).
 * - Datagrams larger than the link MTU are dropped, never fragmented (`too-big`).
 */

export interface InterfaceOptions {
  link: Link;
  mac: Mac;
  ip: Ipv4;
  prefixLen: number;
  clock: Clock;
  log: Logger;
  /** How long a learned ARP entry is trusted (default 60 s). */
  arpTimeoutMs?: number;
}

export interface InterfaceStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  arpRequestsIn: number;
  arpRepliesIn: number;
  arpRequestsOut: number;
  arpRepliesOut: number;
  /** Datagrams accepted and delivered up (or answered). */
  ipv4In: number;
  ipv4Out: number;
  icmpEchoReplies: number;
  fragmentsDropped: number;
  /** Frames/datagrams dropped, by reason (e.g. `ipv4-bad-checksum`, `not-our-mac`, `arp-unresolved`). */
  drops: Record<string, number>;
}

export interface SendOptions {
  ttl?: number;
  /** Default true: this interface never fragments, and says so in the header. */
  dontFragment?: boolean;
}

const DEFAULT_TTL = 64;
const DEFAULT_ARP_TIMEOUT_MS = 60_000;
/** RFC 1122 §2.3.2.1: at most one ARP request per second per destination. */
const ARP_RETRY_MS = 1000;
/** Requests sent for one address before its queued packet is given up (Linux: 3). */
const ARP_MAX_REQUESTS = 3;
/**
 * Packets held per unresolved address (RFC 1122 §2.3.2.2 asks for at least the latest). Linux
 * holds up to 101 (unres_qlen): a burst of connects to a new neighbour must not lose its SYNs to
 * a one-packet queue and wait out a retransmission timeout.
 */
const ARP_QUEUE_MAX = 128;
/** Bound on learned entries, so a flood of ARP requests cannot grow memory without limit. */
const ARP_CACHE_MAX = 4096;
const LIMITED_BROADCAST = 0xffffffff;
const ICMP_UNREACH_PROTOCOL = 2;
/** RFC 792: an ICMP error quotes the IP header and the first 8 bytes of its payload. */
const ICMP_QUOTE_BYTES = 8;

interface ArpEntry {
  mac: Mac;
  expiresAt: number;
}

interface PendingResolution {
  /** Frames for this address, oldest first (RFC 1122 §2.3.2.2), destination MACs still unset. */
  frames: Uint8Array[];
  requests: number;
  timer: TimerHandle | undefined;
}

function isMulticastMac(mac: Mac): boolean {
  // The I/G bit is the least significant bit of the first octet.
  return Math.floor(mac / 2 ** 40) % 2 === 1;
}

export class Interface {
  readonly mac: Mac;
  readonly ip: Ipv4;
  readonly prefixLen: number;
  readonly stats: InterfaceStats = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    arpRequestsIn: 0,
    arpRepliesIn: 0,
    arpRequestsOut: 0,
    arpRepliesOut: 0,
    ipv4In: 0,
    ipv4Out: 0,
    icmpEchoReplies: 0,
    fragmentsDropped: 0,
    drops: {},
  };
  private readonly link: Link;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly arpTimeoutMs: number;
  private readonly netmask: number;
  /** Subnet-directed broadcast; undefined on /31 and /32, which have none (RFC 3021). */
  private readonly subnetBroadcast: Ipv4 | undefined;
  private readonly arpCache = new Map<Ipv4, ArpEntry>();
  private readonly pending = new Map<Ipv4, PendingResolution>();
  private readonly protocols = new Map<number, (ip: Ipv4Repr) => void>();
  private ident = 0;
  private closed = false;

  constructor(opts: InterfaceOptions) {
    if (!(Number.isInteger(opts.prefixLen) && opts.prefixLen >= 0 && opts.prefixLen <= 32)) {
      throw new RangeError(`prefix length must be 0..32, got ${opts.prefixLen}`);
    }
    this.link = opts.link;
    this.mac = opts.mac;
    this.ip = opts.ip >>> 0;
    this.prefixLen = opts.prefixLen;
    this.clock = opts.clock;
    this.log = opts.log;
    this.arpTimeoutMs = opts.arpTimeoutMs ?? DEFAULT_ARP_TIMEOUT_MS;
    this.netmask = opts.prefixLen === 0 ? 0 : (0xffffffff << (32 - opts.prefixLen)) >>> 0;
    this.subnetBroadcast = opts.prefixLen <= 30 ? (this.ip | ~this.netmask) >>> 0 : undefined;
    this.link.onFrame((frame) => this.input(frame));
  }

  /** The upper layer for `protocol` (one per protocol; a later call replaces it). */
  registerProtocol(protocol: number, handler: (ip: Ipv4Repr) => void): void {
    this.protocols.set(protocol, handler);
  }

  /** Sends one datagram from this interface's address; drops (and counts) what cannot be sent. */
  sendIpv4(dst: Ipv4, protocol: number, payload: Uint8Array, opts: SendOptions = {}): void {
    dst >>>= 0;
    if (this.closed) return this.drop('closed');
    const repr: Ipv4Repr = {
      src: this.ip,
      dst,
      protocol,
      ttl: opts.ttl ?? DEFAULT_TTL,
      tos: 0,
      ident: this.ident,
      dontFragment: opts.dontFragment ?? true,
      moreFragments: false,
      fragmentOffset: 0,
      options: new Uint8Array(0),
      payload,
    };
    const size = ETHERNET_HEADER_LEN + ipv4ReprLength(repr);
    if (size > this.link.maxFrame) {
      this.log.debug({ dst: ipv4ToString(dst), size, maxFrame: this.link.maxFrame }, 'iface: datagram larger than the link MTU dropped');
      return this.drop('too-big');
    }
    const broadcast = dst === LIMITED_BROADCAST || dst === this.subnetBroadcast;
    if (!broadcast && (dst === this.ip || ((dst ^ this.ip) & this.netmask) !== 0)) return this.drop('no-route');
    this.ident = (this.ident + 1) & 0xffff;
    // Carved from the wire emitters' shared slab: a fresh typed array per frame cost 7–10% of
    // the stack's time on the sim wire. Each frame is its own region; nothing is reused under it.
    const frame = allocBytes(size);
    emitEthernetInto({ dst: BROADCAST_MAC, src: this.mac, ethertype: ETHERTYPE_IPV4, payload: frame.subarray(0, 0) }, frame, 0);
    emitIpv4Into(repr, frame, ETHERNET_HEADER_LEN);
    this.stats.ipv4Out++;
    if (broadcast) return this.transmit(frame);
    const mac = this.lookup(dst);
    if (mac !== undefined) {
      writeMac(frame, 0, mac);
      return this.transmit(frame);
    }
    this.queueForResolution(dst, frame);
  }

  /** Stops timers, forgets queued packets and closes the link. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) this.clock.clearTimer(p.timer);
    this.pending.clear();
    this.link.close();
  }

  private input(frame: Uint8Array): void {
    if (this.closed) return;
    this.stats.framesIn++;
    this.stats.bytesIn += frame.length;
    const eth = parseEthernet(frame);
    if (!eth.ok) return this.dropWire(eth.error);
    const { dst, ethertype, payload } = eth.value;
    if (dst !== this.mac && dst !== BROADCAST_MAC) return this.drop('not-our-mac');
    if (ethertype === ETHERTYPE_ARP) return this.arpInput(payload);
    if (ethertype === ETHERTYPE_IPV4) return this.ipv4Input(payload);
    this.drop('unsupported-ethertype');
  }

  // ---- ARP (RFC 826 "Packet Reception", RFC 1122 §2.3.2) ----

  private arpInput(b: Uint8Array): void {
    const parsed = parseArp(b);
    if (!parsed.ok) return this.dropWire(parsed.error);
    const arp = parsed.value;
    if (arp.op === ARP_REQUEST) this.stats.arpRequestsIn++;
    else if (arp.op === ARP_REPLY) this.stats.arpRepliesIn++;
    if (isMulticastMac(arp.senderMac)) return this.drop('arp-bad-sender');
    if (arp.senderIp === this.ip) {
      if (arp.senderMac !== this.mac) this.log.warn({ ip: ipv4ToString(this.ip) }, 'iface: another host claims our address (ARP)');
      return this.drop(arp.senderMac === this.mac ? 'own-frame' : 'arp-conflict');
    }
    // RFC 826: update an existing entry from any packet; add one only when we are the target.
    // An all-zero sender is an address probe (RFC 5227) and teaches nothing.
    const forUs = arp.targetIp === this.ip;
    if (arp.senderIp !== 0 && (forUs || this.arpCache.has(arp.senderIp))) this.learn(arp.senderIp, arp.senderMac);
    if (!forUs) return this.drop('arp-not-for-us');
    if (arp.op === ARP_REQUEST) this.sendArpReply(arp);
  }

  private learn(ip: Ipv4, mac: Mac): void {
    this.arpCache.delete(ip); // re-insert so Map order is least recently learned first
    if (this.arpCache.size >= ARP_CACHE_MAX) this.arpCache.delete(this.arpCache.keys().next().value!);
    this.arpCache.set(ip, { mac, expiresAt: this.clock.now() + this.arpTimeoutMs });
    const waiting = this.pending.get(ip);
    if (waiting) {
      this.clock.clearTimer(waiting.timer);
      this.pending.delete(ip);
      for (const frame of waiting.frames) {
        writeMac(frame, 0, mac);
        this.transmit(frame);
      }
    }
  }

  private lookup(ip: Ipv4): Mac | undefined {
    const e = this.arpCache.get(ip);
    if (!e) return undefined;
    if (e.expiresAt <= this.clock.now()) {
      this.arpCache.delete(ip);
      return undefined;
    }
    return e.mac;
  }

  /**
   * RFC 1122 §2.3.2.2: keep packets for an unresolved address (the latest ARP_QUEUE_MAX, oldest
   * dropped first). A request goes out at once for a new address; while one is outstanding the
   * retry timer paces the next, so no destination ever sees more than one request per second
   * (§2.3.2.1).
   */
  private queueForResolution(dst: Ipv4, frame: Uint8Array): void {
    const p = this.pending.get(dst);
    if (p) {
      p.frames.push(frame);
      if (p.frames.length > ARP_QUEUE_MAX) {
        p.frames.shift();
        this.drop('arp-superseded');
      }
      return;
    }
    const fresh: PendingResolution = { frames: [frame], requests: 0, timer: undefined };
    this.pending.set(dst, fresh);
    this.sendArpRequest(dst, fresh);
  }

  private sendArpRequest(dst: Ipv4, p: PendingResolution): void {
    p.requests++;
    this.stats.arpRequestsOut++;
    this.transmitArp(BROADCAST_MAC, { op: ARP_REQUEST, senderMac: this.mac, senderIp: this.ip, targetMac: 0, targetIp: dst });
    p.timer = this.clock.setTimer(ARP_RETRY_MS, () => {
      p.timer = undefined;
      if (this.pending.get(dst) !== p) return;
      if (p.requests < ARP_MAX_REQUESTS) return this.sendArpRequest(dst, p);
      this.pending.delete(dst);
      this.log.debug({ dst: ipv4ToString(dst), requests: p.requests, packets: p.frames.length }, 'iface: no ARP reply, queued datagrams dropped');
      for (let i = 0; i < p.frames.length; i++) this.drop('arp-unresolved');
    });
  }

  private sendArpReply(req: ArpRepr): void {
    this.stats.arpRepliesOut++;
    this.transmitArp(req.senderMac, { op: ARP_REPLY, senderMac: this.mac, senderIp: this.ip, targetMac: req.senderMac, targetIp: req.senderIp });
  }

  private transmitArp(dstMac: Mac, arp: ArpRepr): void {
    const payload = emitArp(arp);
    const frame = new Uint8Array(ETHERNET_HEADER_LEN + payload.length);
    emitEthernetInto({ dst: dstMac, src: this.mac, ethertype: ETHERTYPE_ARP, payload }, frame, 0);
    this.transmit(frame);
  }

  // ---- IPv4 input (RFC 1122 §3.2.1) ----

  private ipv4Input(b: Uint8Array): void {
    // parseIpv4 checks version, IHL >= 5, IHL <= total length <= bytes present and the header
    // checksum (§3.2.1.1, §3.2.1.2), and cuts the payload at total length (link padding excluded).
    const parsed = parseIpv4(b);
    if (!parsed.ok) return this.dropWire(parsed.error);
    const ip = parsed.value;
    if (this.invalidSource(ip.src)) return this.drop('ipv4-bad-source');
    const toUs = ip.dst === this.ip;
    if (!toUs && ip.dst !== LIMITED_BROADCAST && ip.dst !== this.subnetBroadcast) return this.drop('ipv4-not-for-us');
    if (isFragment(ip)) {
      this.stats.fragmentsDropped++;
      return this.drop('ipv4-fragment');
    }
    this.stats.ipv4In++;
    // ICMP is handled here (echo) and then, if valid, also offered to a registered ICMP handler
    // (e.g. TCP listening for errors); other protocols go only to their handler.
    if (ip.protocol === IPPROTO_ICMP && !this.icmpInput(ip, toUs)) return;
    const handler = this.protocols.get(ip.protocol);
    if (handler) return handler(ip);
    if (ip.protocol === IPPROTO_ICMP) return;
    this.drop('ipv4-no-protocol');
    // §3.2.2.1: SHOULD answer an unsupported protocol with Protocol Unreachable — but never for
    // a broadcast (§3.2.2).
    if (toUs) this.sendUnreachable(ip, b, ICMP_UNREACH_PROTOCOL);
  }

  /**
   * §3.2.1.3: discard datagrams whose source no host may use: 0.0.0.0 (only during
   * configuration), 127/8 (never outside a host), broadcast, class D and E.
   */
  private invalidSource(src: Ipv4): boolean {
    const first = src >>> 24;
    return src === 0 || first === 127 || first >= 224 || src === this.subnetBroadcast;
  }

  /** Answers echo requests; returns false when the message was dropped as malformed. */
  private icmpInput(ip: Ipv4Repr, toUs: boolean): boolean {
    const parsed = parseIcmp(ip.payload);
    if (!parsed.ok) {
      this.dropWire(parsed.error);
      return false;
    }
    const msg = parsed.value;
    if (msg.kind !== 'echo-request') return true;
    // §3.2.2.6: a request to a broadcast address MAY be discarded (smurf amplification).
    if (!toUs) {
      this.drop('icmp-echo-broadcast');
      return true;
    }
    // §3.2.2.6: the reply carries the request's data unchanged, from the specific destination.
    this.stats.icmpEchoReplies++;
    this.sendIpv4(ip.src, IPPROTO_ICMP, emitIcmp({ kind: 'echo-reply', ident: msg.ident, seq: msg.seq, data: msg.data }));
    return true;
  }

  private sendUnreachable(ip: Ipv4Repr, datagram: Uint8Array, code: number): void {
    const quoted = datagram.subarray(0, ipv4HeaderLength(datagram, 0) + Math.min(ICMP_QUOTE_BYTES, ip.payload.length));
    this.sendIpv4(ip.src, IPPROTO_ICMP, emitIcmp({ kind: 'dest-unreachable', code, nextHopMtu: 0, original: quoted }));
  }

  // ---- output and accounting ----

  private transmit(frame: Uint8Array): void {
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
    this.link.send(frame);
  }

  private drop(reason: string): void {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1;
  }

  /** Parse failures count as `<layer>-<kind>`, e.g. `ipv4-bad-checksum`, `arp-truncated`. */
  private dropWire(e: WireError): void {
    this.log.debug({ reason: formatWireError(e) }, 'iface: malformed frame dropped');
    this.drop(`${e.layer}-${e.kind}`);
  }
}
