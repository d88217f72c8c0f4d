import { ACK, RST, SYN, type TcpOption, type TcpRepr } from '../wire/tcp.js';
import type { Timestamps } from './timestamps.js';

/*
 * The layout of the segments one connection sends: the options of a SYN in Linux's order and
 * padding (MSS MUST-14/15, RFC 9293 §3.7.1; SACK-permitted, RFC 2018 §2; Timestamps, RFC 7323
 * §3.2; window scale, RFC 7323 §2.2); Timestamps on every later segment (RFC 7323 §3.2) and
 * after them the SACK blocks, most recent first (RFC 2018 §4: at most three beside timestamps,
 * four alone); the payload room those options leave in the MSS (RFC 6691); and one TcpRepr
 * refilled for every segment after the handshake, so sending allocates nothing.
 */

export const NO_OPTIONS: TcpOption[] = [];
export const EMPTY = new Uint8Array(0);
const NOP: TcpOption = { kind: 'nop' };
const SACK_PERMITTED: TcpOption = { kind: 'sackPermitted' };
/** NOP, NOP, Timestamps: the 12 bytes every segment carries once timestamps are on (RFC 7323 Appendix A). */
const TS_OPTION_BYTES = 12;

/** SACK blocks that fit beside the other options. */
function sackRoom(ts: boolean): number {
  return ts ? 3 : 4;
}

/** Largest payload for a segment under `mss` with timestamps `ts` and `sackBlocks` blocks to report (RFC 6691). */
export function maxPayload(mss: number, ts: boolean, sackBlocks: number): number {
  const blocks = Math.min(sackBlocks, sackRoom(ts));
  const opts = (ts ? TS_OPTION_BYTES : 0) + (blocks > 0 ? 4 + 8 * blocks : 0);
  return Math.max(1, mss - opts);
}

export class SegmentWriter {
  /** The segment handed to the host, refilled for every send (TcbHost.transmit). */
  private readonly out: TcpRepr;
  private readonly tsOption = { kind: 'timestamps' as const, tsval: 0, tsecr: 0 };
  private readonly tsOptions: TcpOption[] = [NOP, NOP, this.tsOption];

  constructor(srcPort: number, dstPort: number) {
    this.out = { srcPort, dstPort, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
  }

  /** The connection's one segment, refilled: valid until the next call. */
  segment(flags: number, seq: number, ack: number, window: number, options: TcpOption[], payload: Uint8Array): TcpRepr {
    const out = this.out;
    out.seq = seq;
    out.ack = ack;
    out.flags = flags;
    out.window = window;
    out.options = options;
    out.payload = payload;
    return out;
  }

  /** Timestamps once negotiated, then the SACK blocks. */
  options(ts: Timestamps, sack: ReadonlyArray<[number, number]>): TcpOption[] {
    const blocks = sack.length > 0;
    if (!ts.on && !blocks) return NO_OPTIONS;
    if (ts.on) {
      this.tsOption.tsval = ts.tsval();
      this.tsOption.tsecr = ts.recent;
      if (!blocks) return this.tsOptions;
    }
    const opts: TcpOption[] = ts.on ? [...this.tsOptions] : [];
    opts.push(NOP, NOP, { kind: 'sack', blocks: sack.slice(0, sackRoom(ts.on)) });
    return opts;
  }

  /** A SYN (`ack` undefined) or SYN,ACK at ISS: a fresh segment, kept by whoever retransmits it. */
  syn(iss: number, ack: number | undefined, window: number, options: TcpOption[]): TcpRepr {
    const flags = ack === undefined ? SYN : SYN | ACK;
    return { srcPort: this.out.srcPort, dstPort: this.out.dstPort, seq: iss, ack: ack ?? 0, flags, window, urgent: 0, options, payload: EMPTY };
  }

  /** <SEQ=seq><CTL=RST>: a fresh segment. */
  reset(seq: number): TcpRepr {
    return { srcPort: this.out.srcPort, dstPort: this.out.dstPort, seq, ack: 0, flags: RST, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
  }
}

/**
 * A SYN's options: MSS, SACK-permitted, timestamps (TSecr `tsecr`) when `ts.on`, window scale
 * `wscale` when offered, in Linux's order and padding.
 */
export function synOptions(mss: number, sack: boolean, ts: Timestamps, tsecr: number, wscale: number | undefined): TcpOption[] {
  const opts: TcpOption[] = [{ kind: 'mss', mss }];
  if (ts.on) {
    const option: TcpOption = { kind: 'timestamps', tsval: ts.tsval(), tsecr };
    if (sack) opts.push(SACK_PERMITTED, option);
    else opts.push(NOP, NOP, option);
  } else if (sack) opts.push(NOP, NOP, SACK_PERMITTED);
  if (wscale !== undefined) opts.push(NOP, { kind: 'wscale', shift: wscale });
  return opts;
}
