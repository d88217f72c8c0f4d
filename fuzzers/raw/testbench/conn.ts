/**
 * One TCP connection between the endpoint and the stack under test, kept as packetimpact's
 * tcpState keeps it: the 4-tuple, our ISN, the stack's ISN once its SYN (or SYN/ACK) is taken,
 * SND.NXT and RCV.NXT as the endpoint sees them, and the options each side's SYN offered.
 *
 * Sending, a field left out is the connection's current value: ports from the 4-tuple, SEQ =
 * SND.NXT, ACK = RCV.NXT when the ACK flag is set, the connection's window (65535 unless set),
 * no options, and the ACK flag itself once the stack's SYN is known. Matching, a field left out
 * is a don't-care, and the ports are the 4-tuple's. The numbers move only with what the test does: a segment the test
 * sends at or below SND.NXT (not an RST, not a SYN after the first) advances SND.NXT to its
 * end; a segment the test takes with expect advances RCV.NXT when it is in order. Segments that
 * arrived but were not taken change nothing, so a script means the same on a fast or a slow link.
 */
import { ipv4ToString } from '../../../stack/addr.js';
import { seqAdd, seqGt, seqLe } from '../../../stack/wire/seq.js';
import { ACK, RST, SYN, tcpOptionsMss, tcpOptionsSackPermitted, tcpOptionsTimestamps, tcpOptionsWscale, tcpSeqLength, type TcpOption, type TcpRepr } from '../../../stack/wire/tcp.js';
import type { ExpectOptions, Received, Scope, SegmentEndpoint } from './received.js';
import { ExpectError, type SegmentFields } from './match.js';

export interface ConnOptions {
  /** The stack's port. */
  remotePort: number;
  /** The endpoint's port. */
  localPort: number;
  /** The endpoint's initial sequence number. */
  isn: number;
  /** Options of the endpoint's SYN (or SYN/ACK); default MSS 1460. */
  synOptions?: TcpOption[];
  /** The window field of the endpoint's segments unless a segment sets its own; default 65535. */
  window?: number;
}

/** What one side's SYN offered (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
export interface SynOptions {
  mss: number | undefined;
  wscale: number | undefined;
  sackPermitted: boolean;
  timestamps: boolean;
}

export function synOptionsOf(options: readonly TcpOption[]): SynOptions {
  return {
    mss: tcpOptionsMss(options),
    wscale: tcpOptionsWscale(options),
    sackPermitted: tcpOptionsSackPermitted(options),
    timestamps: tcpOptionsTimestamps(options) !== undefined,
  };
}

export class Conn {
  readonly localPort: number;
  readonly remotePort: number;
  /** The endpoint's ISN. */
  readonly isn: number;
  readonly synOptions: TcpOption[];
  readonly window: number;
  /** The endpoint's SND.NXT: the sequence number its next new byte gets. */
  sndNxt: number;
  /** The stack's ISN, from its SYN or SYN/ACK; undefined before that is taken. */
  peerIsn: number | undefined;
  /** The endpoint's RCV.NXT: what it acknowledges; undefined before the stack's SYN. */
  rcvNxt: number | undefined;
  /** What the stack's SYN offered. */
  peerSyn: SynOptions | undefined;
  /** The latest TSval the stack sent (TS.Recent, RFC 7323 §4.3), for the endpoint's TSecr. */
  tsRecent: number | undefined;
  private synSent = false;
  private readonly scope: Scope;

  constructor(
    readonly endpoint: SegmentEndpoint,
    opts: ConnOptions,
  ) {
    this.localPort = opts.localPort;
    this.remotePort = opts.remotePort;
    this.isn = opts.isn >>> 0;
    this.sndNxt = this.isn;
    this.synOptions = opts.synOptions ?? [{ kind: 'mss', mss: 1460 }];
    this.window = opts.window ?? 65535;
    this.scope = {
      name: `${ipv4ToString(endpoint.ip)}:${this.localPort} ← ${ipv4ToString(endpoint.target.ip)}:${this.remotePort}`,
      includes: (r) => this.owns(r),
      relative: () => ({ seq: this.peerIsn, ack: this.isn }),
      took: (r) => this.learn(r.seg),
    };
  }

  /** Whether a received segment is on this connection's 4-tuple. */
  owns(r: Received): boolean {
    return r.seg.srcPort === this.remotePort && r.seg.dstPort === this.localPort && r.src === this.endpoint.target.ip;
  }

  /** The endpoint's sequence number `offset` bytes into its data (ISN + 1 + offset). */
  sndSeq(offset: number): number {
    return seqAdd(this.isn, 1 + offset);
  }

  /** The stack's sequence number `offset` bytes into its data (its ISN + 1 + offset). */
  rcvSeq(offset: number): number {
    if (this.peerIsn === undefined) throw new Error(`${this.scope.name}: the stack's ISN is not known yet (no SYN taken)`);
    return seqAdd(this.peerIsn, 1 + offset);
  }

  /**
   * The handshake. Without the stack's SYN taken (the endpoint opens, the stack's passive
   * open): SYN → the stack's SYN/ACK (acknowledging ISN+1) → ACK. After Endpoint.awaitSyn (the
   * stack opens): SYN/ACK → the stack's ACK. Returns the stack's segment that completed it.
   */
  async handshake(opts: ExpectOptions): Promise<Received> {
    if (this.peerIsn === undefined) {
      this.send({ flags: SYN, options: this.synOptions });
      const synAck = await this.expect({ flags: SYN | ACK, ack: seqAdd(this.isn, 1) }, opts);
      this.send({ flags: ACK });
      return synAck;
    }
    this.send({ flags: SYN | ACK, options: this.synOptions });
    return this.expect({ flags: ACK, ack: seqAdd(this.isn, 1) }, opts);
  }

  /** Sends a segment on this connection; fields left out take the connection's values (above). */
  send(fields: SegmentFields = {}): TcpRepr {
    const flags = fields.flags ?? (this.peerIsn !== undefined ? ACK : undefined);
    if (flags === undefined) throw new ExpectError(`${this.scope.name}: a segment before the stack's SYN needs its flags`, undefined, []);
    const ack = fields.ack ?? (flags & ACK && this.rcvNxt !== undefined ? this.rcvNxt : 0);
    const sent = this.endpoint.send({ seq: this.sndNxt, window: this.window, ...fields, srcPort: this.localPort, dstPort: this.remotePort, flags, ack });
    this.sent(sent);
    return sent;
  }

  /** The next segment of this connection not yet taken must match `fields`; it is taken and learnt. */
  expect(fields: SegmentFields, opts: ExpectOptions): Promise<Received> {
    return this.endpoint.expectIn(this.scope, { ...fields, srcPort: this.remotePort, dstPort: this.localPort }, opts);
  }

  /** After `timeoutMs`, no segment of this connection not yet taken matches `fields` (`{}`: none at all). */
  expectNone(fields: SegmentFields, opts: ExpectOptions): Promise<void> {
    return this.endpoint.expectNoneIn(this.scope, fields, opts);
  }

  /** NOP, NOP, Timestamps with `tsval` and TSecr = TS.Recent (RFC 7323 §3.2, Appendix A's layout). */
  timestamps(tsval: number): TcpOption[] {
    return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval, tsecr: this.tsRecent ?? 0 }];
  }

  /** What a segment the stack sent teaches the endpoint (called when it is taken). */
  learn(seg: TcpRepr): void {
    const end = seqAdd(seg.seq, tcpSeqLength(seg));
    if (seg.flags & SYN) {
      this.peerIsn = seg.seq;
      this.rcvNxt = end;
      this.peerSyn = synOptionsOf(seg.options);
    } else if (this.rcvNxt !== undefined && !(seg.flags & RST) && seqLe(seg.seq, this.rcvNxt) && seqGt(end, this.rcvNxt)) {
      this.rcvNxt = end;
    }
    const ts = tcpOptionsTimestamps(seg.options);
    if (ts) this.tsRecent = ts.tsval;
  }

  private sent(seg: TcpRepr): void {
    if (seg.flags & RST) return;
    const syn = (seg.flags & SYN) !== 0;
    if (syn && this.synSent) return;
    if (syn) this.synSent = true;
    const end = seqAdd(seg.seq, tcpSeqLength(seg));
    if (seqLe(seg.seq, this.sndNxt) && seqGt(end, this.sndNxt)) this.sndNxt = end;
  }
}
