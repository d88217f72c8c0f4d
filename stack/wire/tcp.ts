/**
 * TCP segments (RFC 9293 §3.1) with every header bit kept: the twelve bits after the data offset
 * are `flags` (FIN..CWR, NS — the historic RFC 3540 bit, AE in AccECN — and the three reserved
 * bits above it), so a crafted segment round-trips. Options are decoded in order, NOPs and all;
 * an option this code cannot interpret is kept raw, and bytes after End of Option List that are
 * not zero padding are kept too, so emit(parse(x)) == x for any header that parses.
 */
import type { Ipv4 } from '../addr.js';
import { allocBytes, hex16, placeBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { checksumFinish, checksumSum, pseudoHeaderSum } from './checksum.js';
import { wireFail, type Parsed, type WireError } from './errors.js';
import { IPPROTO_TCP } from './ipv4.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
export const ECE = 0x40;
export const CWR = 0x80;
export const NS = 0x100;
/** The reserved bits between the data offset and NS (RFC 9293 §3.1: must be zero). */
export const TCP_RESERVED_FLAGS = 0xe00;

export const TCP_MIN_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

// Option kinds (IANA "TCP Option Kind Numbers").
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMPS = 8;

export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; mss: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackPermitted' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'timestamps'; tsval: number; tsecr: number }
  /** An option kind this code does not decode, or a known kind with a length it cannot have. */
  | { kind: 'unknown'; type: number; data: Uint8Array }
  /** Bytes after End of Option List that are not all zero, kept verbatim (RFC 9293 §3.1 wants zeros). */
  | { kind: 'padding'; data: Uint8Array };

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The raw 16-bit field; the window scale is connection state, not a wire-format concern. */
  window: number;
  urgent: number;
  options: TcpOption[];
  payload: Uint8Array;
}

export interface TcpParseOptions {
  /** Verify the checksum over pseudo-header, header and payload (default true). */
  verifyChecksum?: boolean;
}

// Packet-view accessors over (buf, off): no allocation; parseTcp reads through them, so the
// analyzer's fast path and the full parser share one implementation of the layout.
export function tcpSrcPort(b: Uint8Array, off: number): number {
  return readU16(b, off);
}
export function tcpDstPort(b: Uint8Array, off: number): number {
  return readU16(b, off + 2);
}
export function tcpSeq(b: Uint8Array, off: number): number {
  return readU32(b, off + 4);
}
export function tcpAck(b: Uint8Array, off: number): number {
  return readU32(b, off + 8);
}
/** The data offset field: header length in 32-bit words. */
export function tcpDataOffset(b: Uint8Array, off: number): number {
  return b[off + 12]! >>> 4;
}
/** Header length in bytes (data offset × 4). */
export function tcpHeaderLength(b: Uint8Array, off: number): number {
  return (b[off + 12]! >>> 4) << 2;
}
/** All twelve bits after the data offset (see the flag constants). */
export function tcpFlags(b: Uint8Array, off: number): number {
  return ((b[off + 12]! & 0x0f) << 8) | b[off + 13]!;
}
export function tcpWindow(b: Uint8Array, off: number): number {
  return readU16(b, off + 14);
}
export function tcpChecksum(b: Uint8Array, off: number): number {
  return readU16(b, off + 16);
}
export function tcpUrgent(b: Uint8Array, off: number): number {
  return readU16(b, off + 18);
}

/**
 * Parses a segment (the whole IPv4 payload: TCP has no length field of its own). Checks, in
 * order: the fixed header fits, data offset 5..15, the header fits, the checksum, the options.
 */
export function parseTcp(b: Uint8Array, srcIp: Ipv4, dstIp: Ipv4, opts?: TcpParseOptions): Parsed<TcpRepr> {
  if (b.length < TCP_MIN_HEADER_LEN) {
    return wireFail('tcp', 'truncated', 'header', 0, `segment of ${b.length} bytes is shorter than the 20-byte header`);
  }
  const doff = tcpDataOffset(b, 0);
  if (doff < 5) return wireFail('tcp', 'bad-field', 'data offset', 12, `bad data offset ${doff} (must be 5..15)`);
  const hlen = doff << 2;
  if (hlen > b.length) {
    return wireFail('tcp', 'truncated', 'data offset', 12, `data offset ${doff} means a ${hlen}-byte header but only ${b.length} bytes are present`);
  }
  if (opts?.verifyChecksum !== false) {
    const sum = pseudoHeaderSum(srcIp, dstIp, IPPROTO_TCP, b.length) + checksumSum(b, 0, b.length);
    if (checksumFinish(sum) !== 0) {
      const found = tcpChecksum(b, 0);
      return wireFail('tcp', 'bad-checksum', 'checksum', 16, `bad checksum 0x${hex16(found)} (expected 0x${hex16(checksumFinish(sum - found))})`);
    }
  }
  const options = parseTcpOptions(b, TCP_MIN_HEADER_LEN, hlen);
  if (!Array.isArray(options)) return options;
  return {
    ok: true,
    value: {
      srcPort: tcpSrcPort(b, 0),
      dstPort: tcpDstPort(b, 0),
      seq: tcpSeq(b, 0),
      ack: tcpAck(b, 0),
      flags: tcpFlags(b, 0),
      window: tcpWindow(b, 0),
      urgent: tcpUrgent(b, 0),
      options,
      payload: b.subarray(hlen),
    },
  };
}

// EOL and NOP carry no data: one shared frozen object each instead of one per occurrence.
const OPT_EOL: TcpOption = Object.freeze({ kind: 'eol' });
const OPT_NOP: TcpOption = Object.freeze({ kind: 'nop' });
const OPT_SACK_PERMITTED: TcpOption = Object.freeze({ kind: 'sackPermitted' });

/** tcpOptionSpan results for options whose length is illegal (RFC 9293 §3.1 MUST-7). */
export const TCPOPT_SPAN_NO_LENGTH = -1;
export const TCPOPT_SPAN_TOO_SHORT = -2;
export const TCPOPT_SPAN_PAST_HEADER = -3;

/**
 * Bytes the option at `b[i]` occupies within a header ending at `end` (1 for EOL and NOP), or a
 * negative TCPOPT_SPAN_* when its length byte is missing, below 2, or runs past the header. The
 * one option walk: parseTcpOptions uses it, and fast paths can walk options without allocating.
 */
export function tcpOptionSpan(b: Uint8Array, i: number, end: number): number {
  const type = b[i]!;
  if (type === TCPOPT_EOL || type === TCPOPT_NOP) return 1;
  if (i + 1 >= end) return TCPOPT_SPAN_NO_LENGTH;
  const len = b[i + 1]!;
  if (len < 2) return TCPOPT_SPAN_TOO_SHORT;
  if (i + len > end) return TCPOPT_SPAN_PAST_HEADER;
  return len;
}

/**
 * Decodes the option bytes [start, end) of a header. RFC 9293 §3.1 MUST-7: an illegal option
 * length (below 2, or running past the header) is a typed error, never a loop or a crash.
 * Error offsets are relative to `b` (the segment).
 */
export function parseTcpOptions(b: Uint8Array, start: number, end: number): TcpOption[] | { ok: false; error: WireError } {
  const out: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const type = b[i]!;
    if (type === TCPOPT_EOL) {
      out.push(OPT_EOL);
      i++;
      // Zeros up to the next 4-byte boundary are the padding emit adds back by itself; anything
      // else after EOL (more zeros, or non-zero bytes) is kept verbatim.
      let implicit = ((i - start + 3) & ~3) + start === end;
      for (let j = i; implicit && j < end; j++) implicit = b[j] === 0;
      if (!implicit) out.push({ kind: 'padding', data: b.subarray(i, end) });
      return out;
    }
    const span = tcpOptionSpan(b, i, end);
    if (span === TCPOPT_SPAN_NO_LENGTH) {
      return wireFail('tcp', 'truncated', 'option length', i, `option kind ${type} at the end of the header has no length byte`);
    }
    if (span === TCPOPT_SPAN_TOO_SHORT) {
      return wireFail('tcp', 'bad-field', 'option length', i + 1, `bad option length ${b[i + 1]} for option kind ${type} (must be at least 2)`);
    }
    if (span === TCPOPT_SPAN_PAST_HEADER) {
      return wireFail('tcp', 'bad-field', 'option length', i + 1, `bad option length ${b[i + 1]} for option kind ${type} (runs ${i + b[i + 1]! - end} bytes past the header)`);
    }
    out.push(type === TCPOPT_NOP ? OPT_NOP : decodeOption(b, type, i, span));
    i += span;
  }
  return out;
}

function decodeOption(b: Uint8Array, type: number, i: number, len: number): TcpOption {
  switch (type) {
    case TCPOPT_MSS:
      if (len === 4) return { kind: 'mss', mss: readU16(b, i + 2) };
      break;
    case TCPOPT_WSCALE:
      if (len === 3) return { kind: 'wscale', shift: b[i + 2]! };
      break;
    case TCPOPT_SACK_PERMITTED:
      if (len === 2) return OPT_SACK_PERMITTED;
      break;
    case TCPOPT_SACK:
      // RFC 2018 §3: length 2 + 8n, n >= 1 blocks of (left edge, right edge).
      if (len >= 10 && (len - 2) % 8 === 0) {
        const blocks: Array<[number, number]> = [];
        for (let k = i + 2; k < i + len; k += 8) blocks.push([readU32(b, k), readU32(b, k + 4)]);
        return { kind: 'sack', blocks };
      }
      break;
    case TCPOPT_TIMESTAMPS:
      if (len === 10) return { kind: 'timestamps', tsval: readU32(b, i + 2), tsecr: readU32(b, i + 6) };
      break;
  }
  return { kind: 'unknown', type, data: b.subarray(i + 2, i + len) };
}

/** Bytes one option occupies on the wire. */
export function tcpOptionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamps':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
    case 'padding':
      return o.data.length;
  }
}

/** Header length the repr emits: 20 plus the options padded to a multiple of 4. */
export function tcpHeaderLengthOf(r: TcpRepr): number {
  let n = 0;
  for (const o of r.options) n += tcpOptionLength(o);
  return TCP_MIN_HEADER_LEN + ((n + 3) & ~3);
}

export function tcpReprLength(r: TcpRepr): number {
  return tcpHeaderLengthOf(r) + r.payload.length;
}

function writeOption(o: TcpOption, buf: Uint8Array, i: number): void {
  switch (o.kind) {
    case 'eol':
      buf[i] = TCPOPT_EOL;
      return;
    case 'nop':
      buf[i] = TCPOPT_NOP;
      return;
    case 'mss':
      buf[i] = TCPOPT_MSS;
      buf[i + 1] = 4;
      writeU16(buf, i + 2, o.mss);
      return;
    case 'wscale':
      buf[i] = TCPOPT_WSCALE;
      buf[i + 1] = 3;
      buf[i + 2] = o.shift;
      return;
    case 'sackPermitted':
      buf[i] = TCPOPT_SACK_PERMITTED;
      buf[i + 1] = 2;
      return;
    case 'sack':
      buf[i] = TCPOPT_SACK;
      buf[i + 1] = 2 + 8 * o.blocks.length;
      for (let k = 0; k < o.blocks.length; k++) {
        const [left, right] = o.blocks[k]!;
        writeU32(buf, i + 2 + 8 * k, left);
        writeU32(buf, i + 6 + 8 * k, right);
      }
      return;
    case 'timestamps':
      buf[i] = TCPOPT_TIMESTAMPS;
      buf[i + 1] = 10;
      writeU32(buf, i + 2, o.tsval);
      writeU32(buf, i + 6, o.tsecr);
      return;
    case 'unknown':
      buf[i] = o.type;
      buf[i + 1] = 2 + o.data.length;
      buf.set(o.data, i + 2);
      return;
    case 'padding':
      buf.set(o.data, i);
      return;
  }
}

/**
 * Writes the segment at `buf[off]`: options exactly as listed, the header padded to a multiple
 * of 4 with zeros (End of Option List) only if the list falls short, then the checksum over
 * the pseudo-header (RFC 9293 §3.1). Returns the bytes written. Throws RangeError for options
 * over 40 bytes: a caller bug, not input.
 */
export function emitTcpInto(r: TcpRepr, srcIp: Ipv4, dstIp: Ipv4, buf: Uint8Array, off: number): number {
  const hlen = tcpHeaderLengthOf(r);
  if (hlen > TCP_MAX_HEADER_LEN) throw new RangeError(`TCP options of ${hlen - TCP_MIN_HEADER_LEN} bytes exceed 40`);
  const len = hlen + r.payload.length;
  writeU16(buf, off, r.srcPort);
  writeU16(buf, off + 2, r.dstPort);
  writeU32(buf, off + 4, r.seq);
  writeU32(buf, off + 8, r.ack);
  buf[off + 12] = ((hlen >>> 2) << 4) | ((r.flags >>> 8) & 0x0f);
  buf[off + 13] = r.flags & 0xff;
  writeU16(buf, off + 14, r.window);
  writeU16(buf, off + 16, 0);
  writeU16(buf, off + 18, r.urgent);
  let i = off + TCP_MIN_HEADER_LEN;
  for (const o of r.options) {
    writeOption(o, buf, i);
    i += tcpOptionLength(o);
  }
  buf.fill(0, i, off + hlen);
  placeBytes(buf, off + hlen, r.payload);
  const sum = pseudoHeaderSum(srcIp, dstIp, IPPROTO_TCP, len) + checksumSum(buf, off, off + len);
  writeU16(buf, off + 16, checksumFinish(sum));
  return len;
}

export function emitTcp(r: TcpRepr, srcIp: Ipv4, dstIp: Ipv4): Uint8Array {
  const buf = allocBytes(tcpReprLength(r));
  emitTcpInto(r, srcIp, dstIp, buf, 0);
  return buf;
}

/** Sequence space the segment occupies: payload bytes plus one each for SYN and FIN (RFC 9293 §3.4). */
export function tcpSeqLength(r: TcpRepr): number {
  return r.payload.length + (r.flags & SYN ? 1 : 0) + (r.flags & FIN ? 1 : 0);
}

// Names in bit order, as Wireshark's Info column lists them ("[SYN, ACK]"). Wireshark (4.0+)
// calls 0x100 "AE", its AccECN name (RFC 3540's NS is historic).
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [FIN, 'FIN'],
  [SYN, 'SYN'],
  [RST, 'RST'],
  [PSH, 'PSH'],
  [ACK, 'ACK'],
  [URG, 'URG'],
  [ECE, 'ECE'],
  [CWR, 'CWR'],
  [NS, 'AE'],
];

/** Wireshark style: "SYN, ACK"; NS as "AE", reserved bits as "Reserved"; "<None>" when no bit is set. */
export function tcpFlagsToString(flags: number): string {
  const parts: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if (flags & bit) parts.push(name);
  if (flags & TCP_RESERVED_FLAGS) parts.push('Reserved');
  return parts.length > 0 ? parts.join(', ') : '<None>';
}

// tcpdump's letters in its table order: F S R P . U E W (ACK is ".", CWR is "W"). tcpdump 4.99
// prints nothing for NS or the reserved bits, and neither does this.
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [FIN, 'F'],
  [SYN, 'S'],
  [RST, 'R'],
  [PSH, 'P'],
  [ACK, '.'],
  [URG, 'U'],
  [ECE, 'E'],
  [CWR, 'W'],
];

/** tcpdump style: "S." for SYN+ACK, "none" when no flag is set. */
export function tcpFlagsShort(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter;
  return s === '' ? 'none' : s;
}

/** The first option of a kind, typed (small finders for the common questions). */
export function findTcpOption<K extends TcpOption['kind']>(opts: readonly TcpOption[], kind: K): Extract<TcpOption, { kind: K }> | undefined {
  for (const o of opts) if (o.kind === kind) return o as Extract<TcpOption, { kind: K }>;
  return undefined;
}

export function tcpOptionsMss(opts: readonly TcpOption[]): number | undefined {
  return findTcpOption(opts, 'mss')?.mss;
}

export function tcpOptionsWscale(opts: readonly TcpOption[]): number | undefined {
  return findTcpOption(opts, 'wscale')?.shift;
}

export function tcpOptionsSackPermitted(opts: readonly TcpOption[]): boolean {
  return findTcpOption(opts, 'sackPermitted') !== undefined;
}

export function tcpOptionsSackBlocks(opts: readonly TcpOption[]): Array<[number, number]> | undefined {
  return findTcpOption(opts, 'sack')?.blocks;
}

export function tcpOptionsTimestamps(opts: readonly TcpOption[]): { tsval: number; tsecr: number } | undefined {
  return findTcpOption(opts, 'timestamps');
}
