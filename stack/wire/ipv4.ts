/**
 * IPv4 (RFC 791). Options are not interpreted but kept verbatim, so that a parsed datagram
 * emits back to the same bytes; fragments are parsed like any datagram and recognised with
 * isFragment (reassembly is not a wire-format concern). The payload ends at Total Length:
 * link-layer padding after it is not part of the datagram.
 */
import type { Ipv4 } from '../addr.js';
import { allocBytes, hex16, placeBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { checksumFinish, checksumSum } from './checksum.js';
import { wireFail, type Parsed } from './errors.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_OPTIONS_LEN = 40;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;

export interface Ipv4Repr {
  src: Ipv4;
  dst: Ipv4;
  protocol: number;
  ttl: number;
  /** The whole second byte: DSCP and ECN (RFC 2474, RFC 3168). */
  tos: number;
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes (the field counts 8-byte units). */
  fragmentOffset: number;
  /** Raw option bytes, a multiple of 4 long on parse; emit pads with zeros (End of Option List). */
  options: Uint8Array;
  payload: Uint8Array;
  /**
   * The reserved flag bit, which RFC 791 says must be zero. Present only when a parsed datagram
   * had it set, so that crafted datagrams round-trip instead of being rejected or silently changed.
   */
  reservedFlag?: boolean;
}

export interface Ipv4ParseOptions {
  /** Verify the header checksum (default true). */
  verifyChecksum?: boolean;
}

// Packet-view accessors over (buf, off): no allocation, shared by parseIpv4 and fast paths.
export function ipv4Version(b: Uint8Array, off: number): number {
  return b[off]! >>> 4;
}
/** Header length in bytes (IHL × 4). */
export function ipv4HeaderLength(b: Uint8Array, off: number): number {
  return (b[off]! & 0x0f) << 2;
}
export function ipv4Tos(b: Uint8Array, off: number): number {
  return b[off + 1]!;
}
export function ipv4TotalLength(b: Uint8Array, off: number): number {
  return readU16(b, off + 2);
}
export function ipv4Ident(b: Uint8Array, off: number): number {
  return readU16(b, off + 4);
}
/** Fragment offset in bytes. */
export function ipv4FragmentOffset(b: Uint8Array, off: number): number {
  return (readU16(b, off + 6) & 0x1fff) << 3;
}
export function ipv4MoreFragments(b: Uint8Array, off: number): boolean {
  return (b[off + 6]! & 0x20) !== 0;
}
export function ipv4DontFragment(b: Uint8Array, off: number): boolean {
  return (b[off + 6]! & 0x40) !== 0;
}
export function ipv4Ttl(b: Uint8Array, off: number): number {
  return b[off + 8]!;
}
export function ipv4Protocol(b: Uint8Array, off: number): number {
  return b[off + 9]!;
}
export function ipv4Checksum(b: Uint8Array, off: number): number {
  return readU16(b, off + 10);
}
export function ipv4Src(b: Uint8Array, off: number): Ipv4 {
  return readU32(b, off + 12);
}
export function ipv4Dst(b: Uint8Array, off: number): Ipv4 {
  return readU32(b, off + 16);
}

/** True for any fragment of a fragmented datagram, the first included (MF set or offset > 0). */
export function isFragment(r: Ipv4Repr): boolean {
  return r.moreFragments || r.fragmentOffset > 0;
}

/**
 * Parses one IPv4 header and delimits its payload by Total Length. Checks, in order: the fixed
 * header fits, version 4, IHL >= 5, the options fit, IHL <= Total Length <= bytes available,
 * then the header checksum (RFC 1122 §3.2.1.2: a datagram whose checksum fails is discarded).
 */
export function parseIpv4(b: Uint8Array, opts?: Ipv4ParseOptions): Parsed<Ipv4Repr> {
  if (b.length < IPV4_MIN_HEADER_LEN) {
    return wireFail('ipv4', 'truncated', 'header', 0, `datagram of ${b.length} bytes is shorter than the 20-byte header`);
  }
  const version = ipv4Version(b, 0);
  if (version !== 4) return wireFail('ipv4', 'bad-field', 'version', 0, `bad version ${version} (must be 4)`);
  const hlen = ipv4HeaderLength(b, 0);
  if (hlen < IPV4_MIN_HEADER_LEN) return wireFail('ipv4', 'bad-field', 'ihl', 0, `bad IHL ${hlen >>> 2} (must be 5..15)`);
  if (hlen > b.length) return wireFail('ipv4', 'truncated', 'ihl', 0, `IHL ${hlen >>> 2} means a ${hlen}-byte header but only ${b.length} bytes are present`);
  const total = ipv4TotalLength(b, 0);
  if (total < hlen) return wireFail('ipv4', 'bad-field', 'total length', 2, `bad total length ${total} (less than the ${hlen}-byte header)`);
  if (total > b.length) return wireFail('ipv4', 'truncated', 'total length', 2, `total length ${total} exceeds the ${b.length} bytes present`);
  if (opts?.verifyChecksum !== false) {
    const sum = checksumSum(b, 0, hlen);
    if (checksumFinish(sum) !== 0) {
      const found = ipv4Checksum(b, 0);
      const expected = checksumFinish(sum - found);
      return wireFail('ipv4', 'bad-checksum', 'checksum', 10, `bad header checksum 0x${hex16(found)} (expected 0x${hex16(expected)})`);
    }
  }
  const flagsFrag = readU16(b, 6);
  const value: Ipv4Repr = {
    src: ipv4Src(b, 0),
    dst: ipv4Dst(b, 0),
    protocol: ipv4Protocol(b, 0),
    ttl: ipv4Ttl(b, 0),
    tos: ipv4Tos(b, 0),
    ident: ipv4Ident(b, 0),
    dontFragment: (flagsFrag & FLAG_DF) !== 0,
    moreFragments: (flagsFrag & FLAG_MF) !== 0,
    fragmentOffset: (flagsFrag & 0x1fff) << 3,
    options: b.subarray(IPV4_MIN_HEADER_LEN, hlen),
    payload: b.subarray(hlen, total),
  };
  if ((flagsFrag & FLAG_RESERVED) !== 0) value.reservedFlag = true;
  return { ok: true, value };
}

/** Header length the repr emits: 20 plus the options padded to a multiple of 4. */
export function ipv4HeaderLengthOf(r: Ipv4Repr): number {
  return IPV4_MIN_HEADER_LEN + ((r.options.length + 3) & ~3);
}

export function ipv4ReprLength(r: Ipv4Repr): number {
  return ipv4HeaderLengthOf(r) + r.payload.length;
}

/**
 * Writes the datagram at `buf[off]` with IHL, Total Length and the header checksum computed;
 * returns the bytes written. Throws RangeError for a repr no datagram can carry (options over
 * 40 bytes, more than 65535 bytes, a fragment offset not a multiple of 8): a caller bug, not input.
 */
export function emitIpv4Into(r: Ipv4Repr, buf: Uint8Array, off: number): number {
  if (r.options.length > IPV4_MAX_OPTIONS_LEN) throw new RangeError(`IPv4 options of ${r.options.length} bytes exceed 40`);
  if (r.fragmentOffset % 8 !== 0 || r.fragmentOffset < 0 || r.fragmentOffset > 0xfff8) {
    throw new RangeError(`IPv4 fragment offset ${r.fragmentOffset} is not a multiple of 8 in 0..65528`);
  }
  const hlen = ipv4HeaderLengthOf(r);
  const total = hlen + r.payload.length;
  if (total > 0xffff) throw new RangeError(`IPv4 datagram of ${total} bytes exceeds 65535`);
  buf[off] = 0x40 | (hlen >>> 2);
  buf[off + 1] = r.tos;
  writeU16(buf, off + 2, total);
  writeU16(buf, off + 4, r.ident);
  writeU16(buf, off + 6, (r.reservedFlag ? FLAG_RESERVED : 0) | (r.dontFragment ? FLAG_DF : 0) | (r.moreFragments ? FLAG_MF : 0) | (r.fragmentOffset >>> 3));
  buf[off + 8] = r.ttl;
  buf[off + 9] = r.protocol;
  writeU16(buf, off + 10, 0);
  writeU32(buf, off + 12, r.src);
  writeU32(buf, off + 16, r.dst);
  buf.set(r.options, off + IPV4_MIN_HEADER_LEN);
  buf.fill(0, off + IPV4_MIN_HEADER_LEN + r.options.length, off + hlen);
  writeU16(buf, off + 10, checksumFinish(checksumSum(buf, off, off + hlen)));
  placeBytes(buf, off + hlen, r.payload);
  return total;
}

export function emitIpv4(r: Ipv4Repr): Uint8Array {
  const buf = allocBytes(ipv4ReprLength(r));
  emitIpv4Into(r, buf, 0);
  return buf;
}
