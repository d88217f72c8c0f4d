import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../stack/rng.js';
import { emitArp, parseArp } from '../stack/wire/arp.js';
import { emitEthernet, ETHERTYPE_IPV4, parseEthernet } from '../stack/wire/ethernet.js';
import { emitIcmp, parseIcmp } from '../stack/wire/icmp.js';
import { emitIpv4, emitIpv4Into, IPPROTO_TCP, ipv4ReprLength, parseIpv4 } from '../stack/wire/ipv4.js';
import { emitTcp, emitTcpInto, parseTcp, tcpReprLength } from '../stack/wire/tcp.js';
import { ETHERNET_HEADER_LEN, emitEthernetInto } from '../stack/wire/ethernet.js';
import {
  decodeFrame,
  locateIpv4,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../stack/wire/frame.js';
import type { Parsed } from '../stack/wire/errors.js';
import { genArp, genEthernet, genIcmp, genIpv4, genTcp } from './helpers/wire-gen.js';

const N = 3000;

function value<T>(p: Parsed<T>): T {
  if (!p.ok) assert.fail(`unexpected parse error: ${JSON.stringify(p.error)}`);
  return p.value;
}

/** parse(emit(x)) deep-equals x, and emit(parse(bytes)) reproduces the bytes. */
function roundTrip<T>(gen: (rng: Rng) => T, emit: (x: T) => Uint8Array, parse: (b: Uint8Array) => Parsed<T>, seed: number): void {
  const rng = new Rng(seed);
  for (let i = 0; i < N; i++) {
    const x = gen(rng);
    const bytes = emit(x);
    const back = value(parse(bytes));
    assert.deepStrictEqual(back, x, `value ${i} of seed ${seed}`);
    assert.deepStrictEqual(emit(back), bytes);
  }
}

test('ethernet round-trips', () => roundTrip(genEthernet, emitEthernet, parseEthernet, 1));
test('arp round-trips', () => roundTrip(genArp, emitArp, parseArp, 2));
test('ipv4 round-trips (options, fragments, the reserved flag)', () => roundTrip((r) => genIpv4(r), emitIpv4, (b) => parseIpv4(b), 3));
test('icmp round-trips', () => roundTrip(genIcmp, emitIcmp, (b) => parseIcmp(b), 4));

test('tcp round-trips with every flag and option (checksum over the pseudo-header)', () => {
  const src = 0x0a4d0001;
  const dst = 0x0a4d0002;
  roundTrip((r) => genTcp(r), (x) => emitTcp(x, src, dst), (b) => parseTcp(b, src, dst), 5);
});

test('emitting a header in front of a payload emitted in place gives the same bytes as separate emits', () => {
  const rng = new Rng(6);
  for (let i = 0; i < 200; i++) {
    const tcp = genTcp(rng);
    const ip = genIpv4(rng, new Uint8Array(0), IPPROTO_TCP);
    const seg = emitTcp(tcp, ip.src, ip.dst);
    const expected = emitEthernet({ dst: 1, src: 2, ethertype: ETHERTYPE_IPV4, payload: emitIpv4({ ...ip, payload: seg }) });
    // One buffer: TCP written at its final offset, then IPv4 and Ethernet around it without copies.
    const ipLen = ipv4ReprLength({ ...ip, payload: seg });
    const buf = new Uint8Array(ETHERNET_HEADER_LEN + ipLen);
    const tcpOff = ETHERNET_HEADER_LEN + ipLen - tcpReprLength(tcp);
    emitTcpInto(tcp, ip.src, ip.dst, buf, tcpOff);
    emitIpv4Into({ ...ip, payload: buf.subarray(tcpOff) }, buf, ETHERNET_HEADER_LEN);
    emitEthernetInto({ dst: 1, src: 2, ethertype: ETHERTYPE_IPV4, payload: buf.subarray(ETHERNET_HEADER_LEN) }, buf, 0);
    assert.deepStrictEqual(buf, expected);
  }
});

test('decodeFrame finds the same IPv4 and TCP under every supported linktype', () => {
  const rng = new Rng(7);
  const ip = genIpv4(rng, new Uint8Array(0), IPPROTO_TCP);
  ip.moreFragments = false;
  ip.fragmentOffset = 0;
  const tcp = genTcp(rng);
  ip.payload = emitTcp(tcp, ip.src, ip.dst);
  const datagram = emitIpv4(ip);
  const withHeader = (h: number[]): Uint8Array => new Uint8Array([...h, ...datagram]);
  const cases: Array<[string, number, Uint8Array, number]> = [
    ['ethernet', LINKTYPE_ETHERNET, emitEthernet({ dst: 1, src: 2, ethertype: ETHERTYPE_IPV4, payload: datagram }), 14],
    ['ethernet + 802.1Q', LINKTYPE_ETHERNET, withHeader([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00]), 18],
    ['raw', LINKTYPE_RAW, datagram, 0],
    ['ipv4', LINKTYPE_IPV4, datagram, 0],
    ['sll', LINKTYPE_LINUX_SLL, withHeader([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]), 16],
    ['sll2', LINKTYPE_LINUX_SLL2, withHeader([0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]), 20],
    ['null, little-endian AF_INET', LINKTYPE_NULL, withHeader([2, 0, 0, 0]), 4],
    ['null, big-endian AF_INET', LINKTYPE_NULL, withHeader([0, 0, 0, 2]), 4],
  ];
  for (const [name, linktype, bytes, off] of cases) {
    assert.equal(locateIpv4(bytes, linktype), off, name);
    const f = value(decodeFrame(bytes, linktype));
    assert.deepStrictEqual(f.ipv4, ip, name);
    assert.deepStrictEqual(f.tcp, tcp, name);
    assert.equal(f.padding, undefined, name);
  }
  assert.equal(locateIpv4(withHeader([24, 0, 0, 0]), LINKTYPE_NULL), undefined, 'AF_INET6 on BSD loopback is not IPv4');
  assert.equal(locateIpv4(datagram, 999), undefined);
});

test('decodeFrame reports a fragment by its IPv4 header only and keeps Ethernet padding apart', () => {
  const rng = new Rng(8);
  const ip = genIpv4(rng, rng.fill(new Uint8Array(24)), IPPROTO_TCP);
  ip.moreFragments = true;
  ip.fragmentOffset = 0;
  const padding = new Uint8Array([0, 0, 0, 0, 0, 0]);
  const frame = emitEthernet({ dst: 3, src: 4, ethertype: ETHERTYPE_IPV4, payload: new Uint8Array([...emitIpv4(ip), ...padding]) });
  const f = value(decodeFrame(frame, LINKTYPE_ETHERNET));
  assert.deepStrictEqual(f.ipv4, ip);
  assert.equal(f.tcp, undefined);
  assert.deepStrictEqual(f.padding, padding);
});
