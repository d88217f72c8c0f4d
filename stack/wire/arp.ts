/**
 * ARP (RFC 826) for IPv4 over Ethernet: hardware type 1, protocol type 0x0800, address lengths
 * 6 and 4 — the only combination an IPv4-over-Ethernet host sends or answers. Bytes after the
 * 28-byte packet (Ethernet padding) are not part of ARP and stay in the Ethernet payload.
 */
import { readMac, writeMac, type Ipv4, type Mac } from '../addr.js';
import { allocBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { ETHERTYPE_IPV4 } from './ethernet.js';
import { wireFail, type Parsed } from './errors.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_PACKET_LEN = 28;

export interface ArpRepr {
  op: number;
  senderMac: Mac;
  senderIp: Ipv4;
  targetMac: Mac;
  targetIp: Ipv4;
}

export function parseArp(b: Uint8Array): Parsed<ArpRepr> {
  if (b.length < ARP_PACKET_LEN) {
    return wireFail('arp', 'truncated', 'packet', 0, `packet of ${b.length} bytes is shorter than the 28 bytes of IPv4-over-Ethernet ARP`);
  }
  const htype = readU16(b, 0);
  if (htype !== ARP_HTYPE_ETHERNET) return wireFail('arp', 'unsupported', 'hardware type', 0, `hardware type ${htype} (only 1, Ethernet)`);
  const ptype = readU16(b, 2);
  if (ptype !== ETHERTYPE_IPV4) {
    return wireFail('arp', 'unsupported', 'protocol type', 2, `protocol type 0x${ptype.toString(16).padStart(4, '0')} (only 0x0800, IPv4)`);
  }
  if (b[4] !== 6) return wireFail('arp', 'bad-field', 'hardware length', 4, `hardware address length ${b[4]} (must be 6 for Ethernet)`);
  if (b[5] !== 4) return wireFail('arp', 'bad-field', 'protocol length', 5, `protocol address length ${b[5]} (must be 4 for IPv4)`);
  return {
    ok: true,
    value: { op: readU16(b, 6), senderMac: readMac(b, 8), senderIp: readU32(b, 14), targetMac: readMac(b, 18), targetIp: readU32(b, 24) },
  };
}

/** Writes the 28-byte packet at `buf[off]`; returns the bytes written. */
export function emitArpInto(r: ArpRepr, buf: Uint8Array, off: number): number {
  writeU16(buf, off, ARP_HTYPE_ETHERNET);
  writeU16(buf, off + 2, ETHERTYPE_IPV4);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  writeU16(buf, off + 6, r.op);
  writeMac(buf, off + 8, r.senderMac);
  writeU32(buf, off + 14, r.senderIp);
  writeMac(buf, off + 18, r.targetMac);
  writeU32(buf, off + 24, r.targetIp);
  return ARP_PACKET_LEN;
}

export function emitArp(r: ArpRepr): Uint8Array {
  const buf = allocBytes(ARP_PACKET_LEN);
  emitArpInto(r, buf, 0);
  return buf;
}
