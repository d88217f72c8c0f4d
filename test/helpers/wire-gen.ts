/**
 * Generators of valid, canonical wire reprs from a seeded Rng, for the round-trip and fuzz
 * tests. "Canonical" means the one form parse returns: TCP option lists either fill whole
 * 32-bit words or end with EOL (emit pads with zeros, which parse reads as that EOL's padding),
 * ICMP raw messages never look like an echo or an unreachable, IPv4 options are whole words.
 */
import type { Rng } from '../../stack/rng.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, type EthernetRepr } from '../../stack/wire/ethernet.js';
import { emitArp, type ArpRepr } from '../../stack/wire/arp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP, type Ipv4Repr } from '../../stack/wire/ipv4.js';
import { emitIcmp, type IcmpRepr } from '../../stack/wire/icmp.js';
import { emitTcp, tcpOptionLength, type TcpOption, type TcpRepr } from '../../stack/wire/tcp.js';

export function genBytes(rng: Rng, maxLen: number): Uint8Array {
  return rng.fill(new Uint8Array(rng.int(maxLen + 1)));
}

export function genMac(rng: Rng): number {
  return (rng.u32() & 0xffff) * 2 ** 32 + rng.u32();
}

export function genEthernet(rng: Rng): EthernetRepr {
  return { dst: genMac(rng), src: genMac(rng), ethertype: rng.int(0x10000), payload: genBytes(rng, 120) };
}

export function genArp(rng: Rng): ArpRepr {
  return { op: rng.int(0x10000), senderMac: genMac(rng), senderIp: rng.u32(), targetMac: genMac(rng), targetIp: rng.u32() };
}

export function genIpv4(rng: Rng, payload: Uint8Array = genBytes(rng, 200), protocol = rng.int(256)): Ipv4Repr {
  const r: Ipv4Repr = {
    src: rng.u32(),
    dst: rng.u32(),
    protocol,
    ttl: rng.int(256),
    tos: rng.int(256),
    ident: rng.int(0x10000),
    dontFragment: rng.chance(0.5),
    moreFragments: rng.chance(0.2),
    fragmentOffset: rng.chance(0.8) ? 0 : rng.int(8192) * 8,
    options: rng.chance(0.7) ? new Uint8Array(0) : rng.fill(new Uint8Array(4 * (1 + rng.int(10)))),
    payload,
  };
  if (rng.chance(0.05)) r.reservedFlag = true;
  return r;
}

const RAW_ICMP_TYPES = [4, 5, 11, 12, 13, 14, 42, 200];

export function genIcmp(rng: Rng): IcmpRepr {
  switch (rng.int(4)) {
    case 0:
    case 1:
      return { kind: rng.chance(0.5) ? 'echo-request' : 'echo-reply', ident: rng.int(0x10000), seq: rng.int(0x10000), data: genBytes(rng, 64) };
    case 2:
      return { kind: 'dest-unreachable', code: rng.int(16), nextHopMtu: rng.int(0x10000), original: genBytes(rng, 48) };
    default:
      return { kind: 'raw', type: RAW_ICMP_TYPES[rng.int(RAW_ICMP_TYPES.length)]!, code: rng.int(256), body: rng.fill(new Uint8Array(4 + rng.int(40))) };
  }
}

// Kinds the parser decodes (0-5, 8) never appear as 'unknown' in canonical lists.
const UNKNOWN_OPTION_TYPES = [6, 7, 9, 14, 19, 28, 29, 30, 34, 253, 254];

function genOption(rng: Rng): TcpOption {
  switch (rng.int(8)) {
    case 0:
      return { kind: 'nop' };
    case 1:
      return { kind: 'mss', mss: rng.int(0x10000) };
    case 2:
      return { kind: 'wscale', shift: rng.int(256) };
    case 3:
      return { kind: 'sackPermitted' };
    case 4: {
      const blocks: Array<[number, number]> = [];
      for (let n = 1 + rng.int(4); n > 0; n--) blocks.push([rng.u32(), rng.u32()]);
      return { kind: 'sack', blocks };
    }
    case 5:
      return { kind: 'timestamps', tsval: rng.u32(), tsecr: rng.u32() };
    default:
      return { kind: 'unknown', type: UNKNOWN_OPTION_TYPES[rng.int(UNKNOWN_OPTION_TYPES.length)]!, data: genBytes(rng, 6) };
  }
}

export function genTcpOptions(rng: Rng): TcpOption[] {
  const out: TcpOption[] = [];
  let len = 0;
  for (let n = rng.int(7); n > 0; n--) {
    const o = genOption(rng);
    const l = tcpOptionLength(o);
    if (len + l > 38) break;
    out.push(o);
    len += l;
  }
  if (rng.chance(0.3)) {
    out.push({ kind: 'eol' });
    len++;
    // Bytes after EOL that are not the implicit zero padding: kept verbatim as 'padding'.
    if (rng.chance(0.5) && ((len + 3) & ~3) + 4 <= 40) {
      const data = rng.fill(new Uint8Array(((len + 3) & ~3) - len + 4));
      data[rng.int(data.length)] = 1 + rng.int(255);
      out.push({ kind: 'padding', data });
    }
  } else {
    for (; len % 4 !== 0; len++) out.push({ kind: 'nop' });
  }
  return out;
}

export function genTcp(rng: Rng, payload: Uint8Array = genBytes(rng, 300)): TcpRepr {
  return {
    srcPort: rng.int(0x10000),
    dstPort: rng.int(0x10000),
    seq: rng.u32(),
    ack: rng.u32(),
    flags: rng.int(0x1000),
    window: rng.int(0x10000),
    urgent: rng.int(0x10000),
    options: genTcpOptions(rng),
    payload,
  };
}

/** A whole valid Ethernet frame: IPv4+TCP, IPv4+ICMP, or ARP (with Ethernet padding sometimes). */
export function genFrame(rng: Rng): Uint8Array {
  const pick = rng.int(5);
  let ethertype = ETHERTYPE_IPV4;
  let payload: Uint8Array;
  if (pick === 4) {
    ethertype = ETHERTYPE_ARP;
    payload = emitArp(genArp(rng));
  } else if (pick === 3) {
    const ip = genIpv4(rng, emitIcmp(genIcmp(rng)), IPPROTO_ICMP);
    payload = emitIpv4(unfragmented(ip));
  } else {
    const ip = unfragmented(genIpv4(rng, new Uint8Array(0), IPPROTO_TCP));
    ip.payload = emitTcp(genTcp(rng, genBytes(rng, 100)), ip.src, ip.dst);
    payload = emitIpv4(ip);
  }
  if (rng.chance(0.3)) {
    const padded = new Uint8Array(payload.length + 1 + rng.int(20));
    padded.set(payload);
    payload = padded;
  }
  return emitEthernet({ dst: genMac(rng), src: genMac(rng), ethertype, payload });
}

function unfragmented(r: Ipv4Repr): Ipv4Repr {
  r.moreFragments = false;
  r.fragmentOffset = 0;
  return r;
}
