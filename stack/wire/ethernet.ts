/**
 * Ethernet II framing (IEEE 802.3 with a type field >= 0x0600, as RFC 894 carries IPv4).
 * The frame check sequence is not part of captured or TAP frames, and nothing is padded here:
 * the payload is kept as given (on parse it includes any padding after an IP datagram), so
 * emit(parse(frame)) reproduces the frame byte for byte.
 */
import { readMac, writeMac, type Mac } from '../addr.js';
import { allocBytes, placeBytes, readU16, writeU16 } from './bytes.js';
import { wireFail, type Parsed } from './errors.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERNET_HEADER_LEN = 14;

export interface EthernetRepr {
  dst: Mac;
  src: Mac;
  ethertype: number;
  payload: Uint8Array;
}

// Packet-view accessors over (buf, off): no allocation, shared by parseEthernet and fast paths.
export function ethernetDst(b: Uint8Array, off: number): Mac {
  return readMac(b, off);
}
export function ethernetSrc(b: Uint8Array, off: number): Mac {
  return readMac(b, off + 6);
}
export function ethernetType(b: Uint8Array, off: number): number {
  return readU16(b, off + 12);
}

/** Parses an Ethernet II header; the payload is a view (subarray) of `b`, not a copy. */
export function parseEthernet(b: Uint8Array): Parsed<EthernetRepr> {
  if (b.length < ETHERNET_HEADER_LEN) {
    return wireFail('ethernet', 'truncated', 'header', 0, `frame of ${b.length} bytes is shorter than the 14-byte header`);
  }
  return {
    ok: true,
    value: { dst: ethernetDst(b, 0), src: ethernetSrc(b, 0), ethertype: ethernetType(b, 0), payload: b.subarray(ETHERNET_HEADER_LEN) },
  };
}

export function ethernetReprLength(r: EthernetRepr): number {
  return ETHERNET_HEADER_LEN + r.payload.length;
}

/** Writes the frame at `buf[off]`; returns the bytes written. */
export function emitEthernetInto(r: EthernetRepr, buf: Uint8Array, off: number): number {
  writeMac(buf, off, r.dst);
  writeMac(buf, off + 6, r.src);
  writeU16(buf, off + 12, r.ethertype);
  placeBytes(buf, off + ETHERNET_HEADER_LEN, r.payload);
  return ETHERNET_HEADER_LEN + r.payload.length;
}

export function emitEthernet(r: EthernetRepr): Uint8Array {
  const buf = allocBytes(ethernetReprLength(r));
  emitEthernetInto(r, buf, 0);
  return buf;
}
