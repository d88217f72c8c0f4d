/**
 * ICMPv4 (RFC 792). Echo request/reply and destination unreachable are decoded; every other
 * message — and any of those three with bytes this repr cannot carry (an echo with a non-zero
 * code, an unreachable whose unused bytes are not zero) — is kept raw, so emit(parse(x)) == x.
 */
import { allocBytes, hex16, placeBytes, readU16, writeU16 } from './bytes.js';
import { checksumFinish, checksumSum } from './checksum.js';
import { wireFail, type Parsed } from './errors.js';

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_HEADER_LEN = 8;

/** Destination-unreachable codes used by this project (RFC 792, RFC 1191). */
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_NEEDFRAG = 4;

export type IcmpRepr =
  | { kind: 'echo-request' | 'echo-reply'; ident: number; seq: number; data: Uint8Array }
  | {
      kind: 'dest-unreachable';
      code: number;
      /** Next-hop MTU for code 4 (RFC 1191 §4); zero otherwise. */
      nextHopMtu: number;
      /** The original IP header plus leading payload bytes the message quotes. */
      original: Uint8Array;
    }
  | { kind: 'raw'; type: number; code: number; /** Everything after the checksum: at least the 4 "rest of header" bytes. */ body: Uint8Array };

export interface IcmpParseOptions {
  /** Verify the message checksum (default true). */
  verifyChecksum?: boolean;
}

// Packet-view accessors over (buf, off).
export function icmpType(b: Uint8Array, off: number): number {
  return b[off]!;
}
export function icmpCode(b: Uint8Array, off: number): number {
  return b[off + 1]!;
}
export function icmpChecksum(b: Uint8Array, off: number): number {
  return readU16(b, off + 2);
}

export function parseIcmp(b: Uint8Array, opts?: IcmpParseOptions): Parsed<IcmpRepr> {
  if (b.length < ICMP_HEADER_LEN) {
    return wireFail('icmp', 'truncated', 'header', 0, `message of ${b.length} bytes is shorter than the 8-byte header`);
  }
  if (opts?.verifyChecksum !== false) {
    const sum = checksumSum(b, 0, b.length);
    if (checksumFinish(sum) !== 0) {
      const found = icmpChecksum(b, 0);
      return wireFail('icmp', 'bad-checksum', 'checksum', 2, `bad checksum 0x${hex16(found)} (expected 0x${hex16(checksumFinish(sum - found))})`);
    }
  }
  const type = icmpType(b, 0);
  const code = icmpCode(b, 0);
  if ((type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) && code === 0) {
    return {
      ok: true,
      value: { kind: type === ICMP_ECHO_REQUEST ? 'echo-request' : 'echo-reply', ident: readU16(b, 4), seq: readU16(b, 6), data: b.subarray(8) },
    };
  }
  if (type === ICMP_DEST_UNREACHABLE && b[4] === 0 && b[5] === 0) {
    return { ok: true, value: { kind: 'dest-unreachable', code, nextHopMtu: readU16(b, 6), original: b.subarray(8) } };
  }
  return { ok: true, value: { kind: 'raw', type, code, body: b.subarray(4) } };
}

export function icmpReprLength(r: IcmpRepr): number {
  switch (r.kind) {
    case 'echo-request':
    case 'echo-reply':
      return ICMP_HEADER_LEN + r.data.length;
    case 'dest-unreachable':
      return ICMP_HEADER_LEN + r.original.length;
    case 'raw':
      return 4 + r.body.length;
  }
}

/**
 * Writes the message at `buf[off]` with its checksum; returns the bytes written. Throws
 * RangeError for a raw message shorter than the 8-byte header every ICMP type has: a caller bug.
 */
export function emitIcmpInto(r: IcmpRepr, buf: Uint8Array, off: number): number {
  const len = icmpReprLength(r);
  if (len < ICMP_HEADER_LEN) throw new RangeError(`ICMP message of ${len} bytes is shorter than the 8-byte header`);
  switch (r.kind) {
    case 'echo-request':
    case 'echo-reply':
      buf[off] = r.kind === 'echo-request' ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
      buf[off + 1] = 0;
      writeU16(buf, off + 4, r.ident);
      writeU16(buf, off + 6, r.seq);
      placeBytes(buf, off + 8, r.data);
      break;
    case 'dest-unreachable':
      buf[off] = ICMP_DEST_UNREACHABLE;
      buf[off + 1] = r.code;
      writeU16(buf, off + 4, 0);
      writeU16(buf, off + 6, r.nextHopMtu);
      placeBytes(buf, off + 8, r.original);
      break;
    case 'raw':
      buf[off] = r.type;
      buf[off + 1] = r.code;
      placeBytes(buf, off + 4, r.body);
      break;
  }
  writeU16(buf, off + 2, 0);
  writeU16(buf, off + 2, checksumFinish(checksumSum(buf, off, off + len)));
  return len;
}

export function emitIcmp(r: IcmpRepr): Uint8Array {
  const buf = allocBytes(icmpReprLength(r));
  emitIcmpInto(r, buf, 0);
  return buf;
}
