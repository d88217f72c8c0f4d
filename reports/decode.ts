import { readU32 } from '../stack/wire/bytes.js';
import { locateIpv4 } from '../stack/wire/frame.js';
import {
  IPPROTO_TCP,
  IPV4_MIN_HEADER_LEN,
  ipv4Dst,
  ipv4FragmentOffset,
  ipv4HeaderLength,
  ipv4MoreFragments,
  ipv4Protocol,
  ipv4Src,
  ipv4TotalLength,
  ipv4Version,
} from '../stack/wire/ipv4.js';
import {
  TCP_MIN_HEADER_LEN,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMPS,
  TCPOPT_WSCALE,
  tcpAck,
  tcpOptionSpan,
  tcpDstPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSrcPort,
  tcpWindow,
} from '../stack/wire/tcp.js';
import type { TcpSegment } from './segment.js';

/** Why a frame is not analysed as TCP (SKIP_OK: it is). */
export const SKIP_OK = 0;
export const SKIP_NOT_IPV4 = 1;
export const SKIP_NOT_TCP = 2;
export const SKIP_FRAGMENT = 3;
export const SKIP_MALFORMED = 4;

/** RFC 7323 §2.3: a shift above 14 is used as 14 (Wireshark does the same). */
const MAX_WSCALE = 14;

/** Longest link header locateIpv4 reads: Linux cooked v2 (20 bytes); Ethernet with one VLAN tag is 18. */
const LINK_HEADER_MAX = 20;
/** The first bytes of a frame that lies inside a larger buffer, for locateIpv4. */
const linkHeader = new Uint8Array(LINK_HEADER_MAX);

/**
 * Offset in `b` of the IPv4 header of the frame b[off, end), or undefined. locateIpv4 reads its
 * array from index 0 and checks lengths against the array's; a frame inside a reused chunk
 * lends it a copy of its link header instead of a view per frame. A frame no longer than the
 * copy gets an exact view (rare: under 20 bytes there is no TCP to analyse).
 */
function ipv4Offset(b: Uint8Array, off: number, end: number, linktype: number): number | undefined {
  if (end - off <= LINK_HEADER_MAX) {
    const ip = locateIpv4(b.subarray(off, end), linktype);
    return ip === undefined ? undefined : off + ip;
  }
  for (let i = 0; i < LINK_HEADER_MAX; i++) linkHeader[i] = b[off + i]!;
  const ip = locateIpv4(linkHeader, linktype);
  return ip === undefined ? undefined : off + ip;
}

/**
 * Fills `s` from the captured frame b[off, off + caplen) without allocating, through stack/wire's
 * packet-view accessors, and says whether Wireshark would run its TCP analysis on it: IPv4
 * carrying TCP, not a fragment, with the 20 fixed header bytes captured. The segment length comes
 * from the IP total length (like `tcp.len`), so a snaplen-truncated capture still counts every
 * byte; a total length of 0 is TSO, where the frame's length is the datagram's.
 */
export function decodeTcpSegment(b: Uint8Array, off: number, caplen: number, linktype: number, origLen: number, s: TcpSegment): number {
  const end = off + caplen;
  const ip = ipv4Offset(b, off, end, linktype);
  if (ip === undefined || end < ip + IPV4_MIN_HEADER_LEN || ipv4Version(b, ip) !== 4) return SKIP_NOT_IPV4;
  if (ipv4Protocol(b, ip) !== IPPROTO_TCP) return SKIP_NOT_TCP;
  const ihl = ipv4HeaderLength(b, ip);
  const wireLen = origLen - (ip - off);
  let total = ipv4TotalLength(b, ip);
  if (total === 0) total = wireLen;
  if (ihl < IPV4_MIN_HEADER_LEN || total < ihl) return SKIP_MALFORMED;
  if (ipv4MoreFragments(b, ip) || ipv4FragmentOffset(b, ip) !== 0) return SKIP_FRAGMENT;
  const t = ip + ihl;
  if (end < t + TCP_MIN_HEADER_LEN) return SKIP_MALFORMED;
  const tcpLen = Math.min(total, wireLen) - ihl;
  const hdrLen = tcpHeaderLength(b, t);
  if (tcpLen < hdrLen) return SKIP_MALFORMED;
  s.src = ipv4Src(b, ip);
  s.dst = ipv4Dst(b, ip);
  s.srcPort = tcpSrcPort(b, t);
  s.dstPort = tcpDstPort(b, t);
  s.seq = tcpSeq(b, t);
  s.ack = tcpAck(b, t);
  s.flags = tcpFlags(b, t);
  s.window = tcpWindow(b, t);
  s.hdrLen = hdrLen;
  s.len = tcpLen - hdrLen;
  s.wscale = -1;
  s.mss = -1;
  s.sackPermitted = false;
  s.timestamps = false;
  s.tsval = 0;
  s.tsecr = 0;
  if (hdrLen > TCP_MIN_HEADER_LEN) scanOptions(b, t + TCP_MIN_HEADER_LEN, Math.min(t + hdrLen, end), s);
  return SKIP_OK;
}

/**
 * Reads the options the analysis uses, walking them as Wireshark does (stack/wire's one option
 * walk): EOL ends the list, an illegal length stops it, and an option counts only with its exact
 * length (MSS 4, window scale 3, SACK-permitted 2, timestamps 10).
 */
function scanOptions(b: Uint8Array, start: number, end: number, s: TcpSegment): void {
  for (let i = start; i < end; ) {
    const kind = b[i]!;
    if (kind === TCPOPT_EOL) return;
    const len = tcpOptionSpan(b, i, end);
    if (len < 0) return;
    if (kind === TCPOPT_WSCALE && len === 3) s.wscale = Math.min(b[i + 2]!, MAX_WSCALE);
    else if (kind === TCPOPT_MSS && len === 4) s.mss = (b[i + 2]! << 8) | b[i + 3]!;
    else if (kind === TCPOPT_SACK_PERMITTED && len === 2) s.sackPermitted = true;
    else if (kind === TCPOPT_TIMESTAMPS && len === 10) {
      s.timestamps = true;
      s.tsval = readU32(b, i + 2);
      s.tsecr = readU32(b, i + 6);
    }
    i += len;
  }
}
