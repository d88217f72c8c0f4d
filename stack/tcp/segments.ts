import { ACK, RST, SYN, type TcpOption, type TcpRepr } from '../wire/tcp.js';
import type { Timestamps } from './timestamps.js';

/*
 * The layout of the segments a connection sends: the options of a SYN in Linux's order and
 * padding (MSS, MUST-14/15 of RFC 9293 §3.7.1; SACK-permitted, RFC 2018 §2; Timestamps, RFC 7323
 * §3.2; window scale, RFC 7323 §2.2); Timestamps on every later segment (RFC 7323 §3.2) and
 * after them the SACK blocks, most recent first (RFC 2018 §4: at most three beside timestamps,
 * four alone); and the payload room those options leave in the MSS (RFC 6691).
 *
 * After the handshake every segment of every connection is written into one TcpRepr and one
 * Timestamps option, refilled for each send: TcbHost.transmit reads the segment during the call
 * only (it is serialised before anything else runs), so sending allocates nothing and a
 * connection carries no segment of its own.
 */

export const NO_OPTIONS: TcpOption[] = [];
export const EMPTY = new Uint8Array(0);
const NOP: TcpOption = { kind: 'nop' };
const SACK_PERMITTED: TcpOption = { kind: 'sackPermitted' };
/** NOP, NOP, Timestamps: the 12 bytes every segment carries once timestamps are on (RFC 7323 Appendix A). */
const TS_OPTION_BYTES = 12;

const out: TcpRepr = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
const tsOption = { kind: 'timestamps' as const, tsval: 0, tsecr: 0 };
const tsOptions: TcpOption[] = [NOP, NOP, tsOption];

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

/** The shared segment, refilled: valid until the next call (see above). */
export function segment(srcPort: number, dstPort: number, flags: number, seq: number, ack: number, window: number, options: TcpOption[], payload: Uint8Array): TcpRepr {
  out.srcPort = srcPort;
  out.dstPort = dstPort;
  out.seq = seq;
  out.ack = ack;
  out.flags = flags;
  out.window = window;
  out.options = options;
  out.payload = payload;
  return out;
}

/** Options after the handshake: Timestamps once negotiated, then the SACK blocks (the Timestamps option is the shared one). */
export function segmentOptions(ts: Timestamps, sack: ReadonlyArray<[number, number]>): TcpOption[] {
  const blocks = sack.length > 0;
  if (!ts.on && !blocks) return NO_OPTIONS;
  if (ts.on) {
    tsOption.tsval = ts.tsval();
    tsOption.tsecr = ts.recent;
    if (!blocks) return tsOptions;
  }
  const opts: TcpOption[] = ts.on ? [...tsOptions] : [];
  opts.push(NOP, NOP, { kind: 'sack', blocks: sack.slice(0, sackRoom(ts.on)) });
  return opts;
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

/** A SYN (`ack` undefined) or SYN,ACK at ISS: a fresh segment, kept by whoever retransmits it. */
export function synSegment(srcPort: number, dstPort: number, iss: number, ack: number | undefined, window: number, options: TcpOption[]): TcpRepr {
  const flags = ack === undefined ? SYN : SYN | ACK;
  return { srcPort, dstPort, seq: iss, ack: ack ?? 0, flags, window, urgent: 0, options, payload: EMPTY };
}

/** <SEQ=seq><CTL=RST>: a fresh segment. */
export function resetSegment(srcPort: number, dstPort: number, seq: number): TcpRepr {
  return { srcPort, dstPort, seq, ack: 0, flags: RST, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
}
