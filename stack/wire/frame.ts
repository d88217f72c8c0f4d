/**
 * Whole captured frames: strips the link-layer header of the common pcap linktypes
 * (https://www.tcpdump.org/linktypes.html) and decodes ARP, IPv4 and, in unfragmented
 * datagrams, TCP and ICMP. locateIpv4 is the allocation-free fast path for analysers that only
 * need the IPv4 header offset and then read fields through the packet-view accessors.
 */
import { readU16 } from './bytes.js';
import { parseArp, ARP_PACKET_LEN, type ArpRepr } from './arp.js';
import { wireFail, type Parsed, type WireError } from './errors.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, parseEthernet, type EthernetRepr } from './ethernet.js';
import { parseIcmp, type IcmpRepr } from './icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, ipv4HeaderLength, ipv4TotalLength, isFragment, parseIpv4, type Ipv4Repr } from './ipv4.js';
import { parseTcp, type TcpRepr } from './tcp.js';

/** BSD loopback: a 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** Raw IP: IPv4 or IPv6, told apart by the version nibble. */
export const LINKTYPE_RAW = 101;
/** Linux "cooked" capture v1 (tcpdump -i any): 16-byte header, protocol at byte 14. */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Linux "cooked" capture v2: 20-byte header, protocol at byte 0. */
export const LINKTYPE_LINUX_SLL2 = 276;

const VLAN_TAG_LEN = 4;
const AF_INET = 2;
// BSD AF_INET6 differs per OS: NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
const AF_INET6_VALUES = new Set([24, 28, 30]);

export interface Frame {
  eth?: EthernetRepr;
  arp?: ArpRepr;
  ipv4?: Ipv4Repr;
  tcp?: TcpRepr;
  icmp?: IcmpRepr;
  /** Bytes after the ARP packet or IPv4 datagram (Ethernet minimum-size padding), when any. */
  padding?: Uint8Array;
}

export interface DecodeOptions {
  /** Verify IPv4, TCP and ICMP checksums (default true). */
  verifyChecksums?: boolean;
}

/** Link header length for a linktype (Ethernet: without a VLAN tag), or -1 when unsupported. */
function linkHeaderLength(linktype: number): number {
  switch (linktype) {
    case LINKTYPE_NULL:
      return 4;
    case LINKTYPE_ETHERNET:
      return ETHERNET_HEADER_LEN;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      return 0;
    case LINKTYPE_LINUX_SLL:
      return 16;
    case LINKTYPE_LINUX_SLL2:
      return 20;
    default:
      return -1;
  }
}

/** Offset of the network-layer header: the fixed link header, plus one 802.1Q tag on Ethernet. */
function networkOffset(b: Uint8Array, linktype: number, hl: number): number {
  if (linktype === LINKTYPE_ETHERNET && b.length >= ETHERNET_HEADER_LEN + VLAN_TAG_LEN && readU16(b, 12) === ETHERTYPE_VLAN) {
    return ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
  }
  return hl;
}

/** The network protocol as an ethertype (0 when the link header names none we know); `b` holds the link header. */
function networkEthertype(b: Uint8Array, linktype: number, netOff: number): number {
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      return readU16(b, netOff - 2);
    case LINKTYPE_LINUX_SLL:
      return readU16(b, 14);
    case LINKTYPE_LINUX_SLL2:
      return readU16(b, 0);
    case LINKTYPE_IPV4:
      return ETHERTYPE_IPV4;
    case LINKTYPE_RAW: {
      if (b.length === 0) return 0;
      const v = b[0]! >>> 4;
      return v === 4 ? ETHERTYPE_IPV4 : v === 6 ? ETHERTYPE_IPV6 : 0;
    }
    case LINKTYPE_NULL: {
      const le = b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
      const be = readU16(b, 0) * 0x10000 + readU16(b, 2);
      const af = (le >>> 0) < 256 ? le : be;
      return af === AF_INET ? ETHERTYPE_IPV4 : AF_INET6_VALUES.has(af) ? ETHERTYPE_IPV6 : 0;
    }
    default:
      return 0;
  }
}

/** Offset of the IPv4 header in a captured frame, or undefined when the frame carries no IPv4. */
export function locateIpv4(bytes: Uint8Array, linktype: number): number | undefined {
  const hl = linkHeaderLength(linktype);
  if (hl < 0 || bytes.length < hl) return undefined;
  const off = networkOffset(bytes, linktype, hl);
  return networkEthertype(bytes, linktype, off) === ETHERTYPE_IPV4 ? off : undefined;
}

/** Shifts an inner layer's error offset so that it counts from the start of the frame. */
function shifted(error: WireError, by: number): { ok: false; error: WireError } {
  error.offset += by;
  return { ok: false, error };
}

/**
 * Decodes every layer this module knows. A frame carrying something else (IPv6, UDP, an unknown
 * ethertype) decodes to the layers that were understood; a fragment decodes to its IPv4 header
 * only (its payload is not a whole segment). Any malformed layer makes the whole decode fail with
 * that layer's WireError, its offset counted from the start of the frame.
 */
export function decodeFrame(bytes: Uint8Array, linktype: number, opts?: DecodeOptions): Parsed<Frame> {
  const hl = linkHeaderLength(linktype);
  if (hl < 0) return wireFail('frame', 'unsupported', 'linktype', 0, `linktype ${linktype} (supported: 0, 1, 101, 113, 228, 276)`);
  const frame: Frame = {};
  if (linktype === LINKTYPE_ETHERNET) {
    const eth = parseEthernet(bytes);
    if (!eth.ok) return eth;
    frame.eth = eth.value;
  } else if (bytes.length < hl) {
    return wireFail('frame', 'truncated', 'link header', 0, `frame of ${bytes.length} bytes is shorter than the ${hl}-byte link header of linktype ${linktype}`);
  }
  const off = networkOffset(bytes, linktype, hl);
  const ethertype = networkEthertype(bytes, linktype, off);
  const verify = opts?.verifyChecksums !== false;
  if (ethertype === ETHERTYPE_IPV4) {
    const ip = parseIpv4(bytes.subarray(off), { verifyChecksum: verify });
    if (!ip.ok) return shifted(ip.error, off);
    const ipv4 = ip.value;
    frame.ipv4 = ipv4;
    const end = off + ipv4TotalLength(bytes, off);
    if (end < bytes.length) frame.padding = bytes.subarray(end);
    if (isFragment(ipv4)) return { ok: true, value: frame };
    const payloadOff = off + ipv4HeaderLength(bytes, off);
    if (ipv4.protocol === IPPROTO_TCP) {
      const tcp = parseTcp(ipv4.payload, ipv4.src, ipv4.dst, { verifyChecksum: verify });
      if (!tcp.ok) return shifted(tcp.error, payloadOff);
      frame.tcp = tcp.value;
    } else if (ipv4.protocol === IPPROTO_ICMP) {
      const icmp = parseIcmp(ipv4.payload, { verifyChecksum: verify });
      if (!icmp.ok) return shifted(icmp.error, payloadOff);
      frame.icmp = icmp.value;
    }
  } else if (ethertype === ETHERTYPE_ARP) {
    const arp = parseArp(bytes.subarray(off));
    if (!arp.ok) return shifted(arp.error, off);
    frame.arp = arp.value;
    if (off + ARP_PACKET_LEN < bytes.length) frame.padding = bytes.subarray(off + ARP_PACKET_LEN);
  }
  return { ok: true, value: frame };
}
