/**
 * The remote host a segment test plays: one IPv4 address and MAC on a link to the stack under
 * test. It answers ARP for its address itself, numbers every frame it receives (1-based, as a
 * capture at the endpoint would), keeps the TCP segments addressed to it, and sends segments
 * built with the stack's own wire emitters. What it sends is exactly what the test said; what
 * it expects is matched field by field (match.ts). Connections (conn.ts) sit on top.
 *
 * The endpoint knows nothing of how the link is made (sim wire or the kernel side of a TAP,
 * sim.ts and tap.ts) or of what runs at the other end.
 */
import { BROADCAST_MAC, type Ipv4, type Mac } from '../../../stack/addr.js';
import type { Link } from '../../../stack/link/link.js';
import { ARP_REPLY, ARP_REQUEST, emitArp } from '../../../stack/wire/arp.js';
import { formatWireError, type WireError } from '../../../stack/wire/errors.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernet, ethernetDst } from '../../../stack/wire/ethernet.js';
import { decodeFrame, LINKTYPE_ETHERNET } from '../../../stack/wire/frame.js';
import { SYN, type TcpRepr } from '../../../stack/wire/tcp.js';
import { tcpDatagram } from '../kernel-injector.js';
import { Conn, type ConnOptions } from './conn.js';
import { describeFields, describeSegment, ExpectError, segmentMatches, segmentMismatches, type SegmentFields } from './match.js';
import type { ExpectOptions, Received, Scope, SegmentEndpoint } from './received.js';
import type { BenchTime } from './time.js';

export interface EndpointOptions {
  link: Link;
  time: BenchTime;
  ip: Ipv4;
  mac: Mac;
  /** The stack under test: where segments go. */
  target: { ip: Ipv4; mac: Mac };
}

export class Endpoint implements SegmentEndpoint {
  readonly ip: Ipv4;
  readonly mac: Mac;
  readonly target: { ip: Ipv4; mac: Mac };
  private readonly time: BenchTime;
  /** Every TCP segment addressed to the endpoint, in arrival order. */
  readonly received: Received[] = [];
  private readonly link: Link;
  private readonly conns: Conn[] = [];
  /** Every segment: what an expectation of the endpoint's own looks at. */
  private readonly any: Scope = {
    name: 'endpoint',
    includes: () => true,
    relative: () => ({}),
    // A segment taken here still teaches the connection it belongs to.
    took: (r) => this.conns.find((c) => c.owns(r))?.learn(r.seg),
  };
  private readonly taken = new Set<Received>();
  private frames = 0;
  /** Frames addressed to the endpoint that do not decode: the stack under test sent garbage. */
  private readonly malformed: Array<{ frame: number; error: WireError }> = [];

  constructor(opts: EndpointOptions) {
    this.link = opts.link;
    this.time = opts.time;
    this.ip = opts.ip;
    this.mac = opts.mac;
    this.target = opts.target;
    this.link.onFrame((f) => this.receive(f));
  }

  /** Frames received so far (the number the next one gets, minus one). */
  get frameCount(): number {
    return this.frames;
  }

  /** A connection from `localPort` to the stack's `remotePort`; nothing is sent yet. */
  conn(opts: ConnOptions): Conn {
    const c = new Conn(this, opts);
    this.conns.push(c);
    return c;
  }

  /** Opens a connection to the stack's `remotePort` (its passive open): SYN, SYN/ACK, ACK. */
  async connect(opts: ConnOptions & ExpectOptions): Promise<Conn> {
    const c = this.conn(opts);
    await c.handshake(opts);
    return c;
  }

  /**
   * Waits for the stack's SYN to `localPort` (its active open) and returns the connection it
   * opens, the SYN taken and learnt; `handshake()` then answers it.
   */
  async awaitSyn(opts: { localPort: number; isn: number } & ExpectOptions): Promise<Conn> {
    const syn = await this.expectIn(
      { ...this.any, name: `endpoint port ${opts.localPort}`, includes: (r) => r.seg.dstPort === opts.localPort },
      { dstPort: opts.localPort, flags: SYN },
      opts,
    );
    const c = this.conn({ localPort: opts.localPort, remotePort: syn.seg.srcPort, isn: opts.isn });
    c.learn(syn.seg);
    return c;
  }

  /**
   * Sends a segment as given; fields left out are zero, except window 65535. No connection
   * state is involved (Conn.send fills in its own).
   */
  send(seg: SegmentFields & Pick<TcpRepr, 'srcPort' | 'dstPort' | 'flags'>): TcpRepr {
    const full: TcpRepr = { seq: 0, ack: 0, window: 65535, urgent: 0, options: [], payload: new Uint8Array(0), ...seg };
    this.sendFrame(emitEthernet({ dst: this.target.mac, src: this.mac, ethertype: ETHERTYPE_IPV4, payload: tcpDatagram({ src: this.ip, dst: this.target.ip, repr: full }) }));
    return full;
  }

  /** Sends a whole Ethernet frame, byte for byte. */
  sendFrame(frame: Uint8Array): void {
    this.link.send(frame);
  }

  /** A broadcast ARP request for the stack's address: the stack learns the endpoint from it (RFC 826). */
  announce(): void {
    const req = emitArp({ op: ARP_REQUEST, senderMac: this.mac, senderIp: this.ip, targetMac: 0, targetIp: this.target.ip });
    this.sendFrame(emitEthernet({ dst: BROADCAST_MAC, src: this.mac, ethertype: ETHERTYPE_ARP, payload: req }));
  }

  /** The next segment not yet taken, from any connection, must match `fields`; returns it. */
  expect(fields: SegmentFields, opts: ExpectOptions): Promise<Received> {
    return this.expectIn(this.any, fields, opts);
  }

  /** After `timeoutMs`, no segment not yet taken matches `fields` (`{}`: no segment at all). */
  expectNone(fields: SegmentFields, opts: ExpectOptions): Promise<void> {
    return this.expectNoneIn(this.any, fields, opts);
  }

  /** expect within a scope (a connection's 4-tuple): the one implementation of it. */
  async expectIn(scope: Scope, fields: SegmentFields, opts: ExpectOptions): Promise<Received> {
    const next = (): Received | undefined => this.received.find((r) => !this.taken.has(r) && scope.includes(r));
    await this.time.waitUntil(() => next() !== undefined || this.malformed.length > 0, opts.timeoutMs);
    this.throwIfMalformed(scope);
    const r = next();
    const rel = scope.relative();
    if (!r) {
      throw new ExpectError(`${scope.name}: expected ${describeFields(fields, rel)} within ${opts.timeoutMs} ms, got nothing (${this.frames} frames so far)`, undefined, []);
    }
    const bad = segmentMismatches(fields, r.seg, rel);
    if (bad.length > 0) {
      const width = Math.max(...bad.map((m) => m.field.length));
      const lines = bad.map((m) => `  ${m.field.padEnd(width)}  expected ${m.expected}, got ${m.got}`);
      throw new ExpectError(`${scope.name}: frame ${r.frame} does not match\n${lines.join('\n')}\n  frame ${r.frame}: ${describeSegment(r.seg, rel)}`, r.frame, bad);
    }
    this.taken.add(r);
    scope.took(r);
    return r;
  }

  async expectNoneIn(scope: Scope, fields: SegmentFields, opts: ExpectOptions): Promise<void> {
    await this.time.wait(opts.timeoutMs);
    this.throwIfMalformed(scope);
    const r = this.received.find((x) => !this.taken.has(x) && scope.includes(x) && segmentMatches(fields, x.seg));
    if (r) {
      const rel = scope.relative();
      throw new ExpectError(`${scope.name}: expected no segment like ${describeFields(fields, rel)} within ${opts.timeoutMs} ms, got frame ${r.frame}: ${describeSegment(r.seg, rel)}`, r.frame, []);
    }
  }

  private throwIfMalformed(scope: Scope): void {
    const m = this.malformed[0];
    if (m) throw new ExpectError(`${scope.name}: frame ${m.frame} from the stack does not decode: ${formatWireError(m.error)}`, m.frame, []);
  }

  private receive(frame: Uint8Array): void {
    const n = ++this.frames;
    if (frame.length < 6) return;
    const dst = ethernetDst(frame, 0);
    if (dst !== this.mac && dst !== BROADCAST_MAC) return;
    const d = decodeFrame(frame, LINKTYPE_ETHERNET);
    if (!d.ok) {
      this.malformed.push({ frame: n, error: d.error });
      return;
    }
    const { arp, ipv4, tcp } = d.value;
    if (arp) {
      if (arp.op === ARP_REQUEST && arp.targetIp === this.ip) {
        const reply = emitArp({ op: ARP_REPLY, senderMac: this.mac, senderIp: this.ip, targetMac: arp.senderMac, targetIp: arp.senderIp });
        this.sendFrame(emitEthernet({ dst: arp.senderMac, src: this.mac, ethertype: ETHERTYPE_ARP, payload: reply }));
      }
      return;
    }
    if (ipv4?.dst === this.ip && tcp) this.received.push({ frame: n, timeMs: this.time.now(), src: ipv4.src, seg: tcp });
  }
}
