import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksumFinish, checksumSum, internetChecksum, pseudoHeaderSum } from '../stack/wire/checksum.js';
import { formatWireError, type Parsed, type WireError } from '../stack/wire/errors.js';
import { emitEthernet, parseEthernet } from '../stack/wire/ethernet.js';
import { parseArp } from '../stack/wire/arp.js';
import { emitIpv4, parseIpv4 } from '../stack/wire/ipv4.js';
import { emitIcmp, parseIcmp } from '../stack/wire/icmp.js';
import {
  ACK,
  CWR,
  ECE,
  emitTcp,
  FIN,
  NS,
  parseTcp,
  PSH,
  RST,
  SYN,
  tcpFlagsShort,
  tcpFlagsToString,
  tcpOptionsMss,
  tcpOptionsSackBlocks,
  tcpOptionsSackPermitted,
  tcpOptionsTimestamps,
  tcpOptionSpan,
  tcpOptionsWscale,
  TCPOPT_SPAN_NO_LENGTH,
  TCPOPT_SPAN_PAST_HEADER,
  TCPOPT_SPAN_TOO_SHORT,
  tcpSeqLength,
  URG,
  type TcpRepr,
} from '../stack/wire/tcp.js';
import { decodeFrame, LINKTYPE_ETHERNET } from '../stack/wire/frame.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const LOCALHOST = 0x7f000001;

/**
 * A SYN built by this code whose IPv4 (0x3cb9) and TCP (0x44da) checksums tshark 4.0 reports as
 * correct: Ethernet (zero MACs) + IPv4 127.0.0.1 → 127.0.0.1 + TCP 1234 → 80 with
 * MSS 1460, SACK permitted, timestamps 1/0, NOP, window scale 7.
 */
const SYN_FRAME = hex(
  '000000000000 000000000000 0800' +
    '4500 003c 0001 4000 4006 3cb9 7f000001 7f000001' +
    '04d2 0050 00000001 00000000 a002 ffff 44da 0000 020405b4 0402 080a 00000001 00000000 01 030307',
);
const SYN_TCP = SYN_FRAME.subarray(34);

function error<T>(p: Parsed<T>): WireError {
  if (p.ok) assert.fail('expected a parse error');
  return p.error;
}

function value<T>(p: Parsed<T>): T {
  if (!p.ok) assert.fail(`unexpected parse error: ${formatWireError(p.error)}`);
  return p.value;
}

/** A copy of the SYN's TCP header with its options replaced (data offset adjusted, checksum recomputed). */
function synWithOptions(options: number[]): Uint8Array {
  const b = new Uint8Array(20 + options.length);
  b.set(SYN_TCP.subarray(0, 20));
  b.set(options, 20);
  b[12] = (b.length / 4) << 4;
  b[16] = 0;
  b[17] = 0;
  const c = checksumFinish(pseudoHeaderSum(LOCALHOST, LOCALHOST, 6, b.length) + checksumSum(b, 0, b.length));
  b[16] = c >>> 8;
  b[17] = c & 0xff;
  return b;
}

test('RFC 1071 §3 example: the words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d', () => {
  const b = hex('0001 f203 f4f5 f6f7');
  assert.equal(checksumFinish(checksumSum(b, 0, 8)), 0x220d);
  assert.equal(internetChecksum(b), 0x220d);
  // Deferred carries: split sums at an even boundary add up to the whole.
  assert.equal(checksumFinish(checksumSum(b, 4, 8, checksumSum(b, 0, 4))), 0x220d);
  // An odd trailing byte is the high byte of a zero-padded word (RFC 1071 §4.1).
  assert.equal(internetChecksum(hex('0001 f2')), ~(0x0001 + 0xf200) & 0xffff);
});

test('a well-known IPv4 header checksums to b861 and verifies', () => {
  const header = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  assert.equal(internetChecksum(header), 0);
  const datagram = new Uint8Array(0x73);
  datagram.set(header);
  const ip = value(parseIpv4(datagram));
  assert.equal(ip.ttl, 64);
  assert.equal(ip.protocol, 17);
  assert.equal(ip.dontFragment, true);
  assert.equal(ip.payload.length, 0x73 - 20);
  assert.deepStrictEqual(emitIpv4(ip), datagram);
});

test('the SYN decodes to the values tshark shows and re-emits byte for byte', () => {
  const f = value(decodeFrame(SYN_FRAME, LINKTYPE_ETHERNET));
  const tcp = f.tcp!;
  assert.equal(tcp.srcPort, 1234);
  assert.equal(tcp.dstPort, 80);
  assert.equal(tcp.flags, SYN);
  assert.equal(tcpOptionsMss(tcp.options), 1460);
  assert.equal(tcpOptionsWscale(tcp.options), 7);
  assert.equal(tcpOptionsSackPermitted(tcp.options), true);
  assert.deepStrictEqual(tcpOptionsTimestamps(tcp.options), { kind: 'timestamps', tsval: 1, tsecr: 0 });
  assert.equal(tcpOptionsSackBlocks(tcp.options), undefined);
  assert.deepStrictEqual(
    tcp.options.map((o) => o.kind),
    ['mss', 'sackPermitted', 'timestamps', 'nop', 'wscale'],
  );
  assert.deepStrictEqual(emitTcp(tcp, LOCALHOST, LOCALHOST), SYN_TCP);
  assert.deepStrictEqual(emitEthernet({ ...f.eth!, payload: emitIpv4({ ...f.ipv4!, payload: emitTcp(tcp, LOCALHOST, LOCALHOST) }) }), SYN_FRAME);
});

test('a kernel RST (tcpdump: cksum 0x4810 correct) is reproduced exactly', () => {
  const rst: TcpRepr = { srcPort: 5001, dstPort: 51802, seq: 0, ack: 327252057, flags: RST | ACK, window: 0, urgent: 0, options: [], payload: new Uint8Array(0) };
  const b = emitTcp(rst, LOCALHOST, LOCALHOST);
  assert.equal((b[16]! << 8) | b[17]!, 0x4810);
});

test('tcp: data offset below 5 is a bad-field error on "data offset" at byte 12', () => {
  const b = SYN_TCP.slice();
  b[12] = 0x40;
  const e = error(parseTcp(b, LOCALHOST, LOCALHOST));
  assert.deepStrictEqual([e.layer, e.kind, e.field, e.offset], ['tcp', 'bad-field', 'data offset', 12]);
  assert.equal(formatWireError(e), 'tcp: bad data offset 4 (must be 5..15) at byte 12');
  b[12] = 0xf0;
  const past = error(parseTcp(b, LOCALHOST, LOCALHOST, { verifyChecksum: false }));
  assert.deepStrictEqual([past.kind, past.field], ['truncated', 'data offset']);
});

test('tcp: option length 0, past the header, or missing is a typed error (RFC 9293 MUST-7)', () => {
  const zero = error(parseTcp(synWithOptions([2, 0, 0, 0]), LOCALHOST, LOCALHOST));
  assert.deepStrictEqual([zero.layer, zero.kind, zero.field, zero.offset], ['tcp', 'bad-field', 'option length', 21]);
  const one = error(parseTcp(synWithOptions([1, 8, 1, 0]), LOCALHOST, LOCALHOST));
  assert.deepStrictEqual([one.kind, one.field, one.offset], ['bad-field', 'option length', 22]);
  const past = error(parseTcp(synWithOptions([1, 8, 10, 0, 0, 0, 0, 0]), LOCALHOST, LOCALHOST));
  assert.deepStrictEqual([past.kind, past.field, past.offset], ['bad-field', 'option length', 22]);
  assert.match(past.detail, /runs 3 bytes past the header/);
  const missing = error(parseTcp(synWithOptions([1, 1, 1, 3]), LOCALHOST, LOCALHOST));
  assert.deepStrictEqual([missing.kind, missing.field, missing.offset], ['truncated', 'option length', 23]);
  // The allocation-free walk that parseTcp uses, as fast paths see it.
  const opts = new Uint8Array([1, 0, 2, 4, 5, 0xb4, 8, 0, 8, 12, 3]);
  assert.deepStrictEqual(
    [0, 1, 2, 6, 8, 10].map((i) => tcpOptionSpan(opts, i, opts.length)),
    [1, 1, 4, TCPOPT_SPAN_TOO_SHORT, TCPOPT_SPAN_PAST_HEADER, TCPOPT_SPAN_NO_LENGTH],
  );
});

test('tcp: a known option with the wrong length is kept raw; bytes after EOL are kept when not padding', () => {
  const odd = value(parseTcp(synWithOptions([2, 3, 7, 1]), LOCALHOST, LOCALHOST));
  assert.deepStrictEqual(odd.options, [{ kind: 'unknown', type: 2, data: new Uint8Array([7]) }, { kind: 'nop' }]);
  assert.equal(tcpOptionsMss(odd.options), undefined);
  const cases: Array<[number[], unknown[]]> = [
    [[2, 4, 5, 0xb4, 0, 0, 0, 0], [{ kind: 'mss', mss: 1460 }, { kind: 'eol' }]],
    [[2, 4, 5, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0], [{ kind: 'mss', mss: 1460 }, { kind: 'eol' }, { kind: 'padding', data: new Uint8Array(7) }]],
    [[3, 3, 7, 0], [{ kind: 'wscale', shift: 7 }, { kind: 'eol' }]],
    [[0, 1, 0, 0], [{ kind: 'eol' }, { kind: 'padding', data: new Uint8Array([1, 0, 0]) }]],
    [[0, 0, 0, 0, 0, 0, 0, 0], [{ kind: 'eol' }, { kind: 'padding', data: new Uint8Array(7) }]],
    [[5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1], [{ kind: 'sack', blocks: [[1, 2]] }, { kind: 'nop' }, { kind: 'nop' }]],
    [[5, 2, 1, 1], [{ kind: 'unknown', type: 5, data: new Uint8Array(0) }, { kind: 'nop' }, { kind: 'nop' }]],
  ];
  for (const [bytes, options] of cases) {
    const seg = synWithOptions(bytes);
    const tcp = value(parseTcp(seg, LOCALHOST, LOCALHOST));
    assert.deepStrictEqual(tcp.options, options, bytes.join(','));
    assert.deepStrictEqual(emitTcp(tcp, LOCALHOST, LOCALHOST), seg, bytes.join(','));
  }
});

test('tcp: a corrupted segment fails its checksum, naming the value that would verify', () => {
  const b = SYN_TCP.slice();
  b[4] = b[4]! ^ 0x01;
  const e = error(parseTcp(b, LOCALHOST, LOCALHOST));
  assert.deepStrictEqual([e.layer, e.kind, e.field, e.offset], ['tcp', 'bad-checksum', 'checksum', 16]);
  assert.match(e.detail, /^bad checksum 0x44da \(expected 0x43da\)$/);
  assert.equal(value(parseTcp(b, LOCALHOST, LOCALHOST, { verifyChecksum: false })).seq, 0x01000001);
  // The pseudo-header counts: the same bytes between other addresses do not verify.
  assert.equal(error(parseTcp(SYN_TCP, LOCALHOST, LOCALHOST + 1)).kind, 'bad-checksum');
});

test('ipv4: version, IHL, total length and checksum errors name their field', () => {
  const dg = SYN_FRAME.slice(14);
  const mutate = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = dg.slice();
    f(b);
    return b;
  };
  const cases: Array<[Uint8Array, string, string, number]> = [
    [mutate((b) => (b[0] = 0x65)), 'bad-field', 'version', 0],
    [mutate((b) => (b[0] = 0x44)), 'bad-field', 'ihl', 0],
    [mutate((b) => (b[0] = 0x4f)), 'bad-checksum', 'checksum', 10],
    [dg.subarray(0, 40), 'truncated', 'total length', 2],
    [mutate((b) => (b[3] = 19)), 'bad-field', 'total length', 2],
    [mutate((b) => (b[8] = 63)), 'bad-checksum', 'checksum', 10],
    [dg.subarray(0, 19), 'truncated', 'header', 0],
    [dg.subarray(0, 22).map((x, i) => (i === 0 ? 0x46 : x)), 'truncated', 'ihl', 0],
  ];
  for (const [b, kind, field, offset] of cases) {
    const e = error(parseIpv4(b));
    assert.deepStrictEqual([e.layer, e.kind, e.field, e.offset], ['ipv4', kind, field, offset], formatWireError(e));
  }
  assert.equal(formatWireError(error(parseIpv4(cases[1]![0]))), 'ipv4: bad IHL 4 (must be 5..15) at byte 0');
  assert.equal(formatWireError(error(parseIpv4(cases[3]![0]))), 'ipv4: total length 60 exceeds the 40 bytes present at byte 2');
  assert.equal(error(parseIpv4(cases[5]![0])).detail, 'bad header checksum 0x3cb9 (expected 0x3db9)');
  assert.equal(value(parseIpv4(cases[5]![0], { verifyChecksum: false })).ttl, 63);
});

test('icmp, arp, ethernet and frame errors are typed too', () => {
  const echo = emitIcmp({ kind: 'echo-request', ident: 7, seq: 1, data: new Uint8Array([1, 2, 3]) });
  echo[9] = echo[9]! ^ 0xff;
  assert.deepStrictEqual(
    (({ layer, kind, field, offset }) => [layer, kind, field, offset])(error(parseIcmp(echo))),
    ['icmp', 'bad-checksum', 'checksum', 2],
  );
  assert.equal(error(parseIcmp(new Uint8Array(7))).field, 'header');
  const arp = hex('0006 0800 0604 0001 000000000001 0a000001 000000000000 0a000002');
  assert.deepStrictEqual([error(parseArp(arp)).kind, error(parseArp(arp)).field], ['unsupported', 'hardware type']);
  assert.equal(error(parseArp(arp.subarray(0, 27))).kind, 'truncated');
  assert.equal(error(parseEthernet(new Uint8Array(13))).field, 'header');
  // Inside a frame the offset counts from the frame's first byte: 14 + 20 + 12.
  const bad = SYN_FRAME.slice();
  bad[46] = 0x30;
  assert.equal(formatWireError(error(decodeFrame(bad, LINKTYPE_ETHERNET))), 'tcp: bad data offset 3 (must be 5..15) at byte 46');
  assert.deepStrictEqual(
    (({ layer, kind, field }) => [layer, kind, field])(error(decodeFrame(SYN_FRAME, 12345))),
    ['frame', 'unsupported', 'linktype'],
  );
  assert.equal(error(decodeFrame(new Uint8Array(10), 113)).field, 'link header');
});

test('flag names match Wireshark 4.0 and tcpdump 4.99; sequence length counts SYN and FIN', () => {
  const cases: Array<[number, string, string]> = [
    [SYN, 'SYN', 'S'],
    [SYN | ACK, 'SYN, ACK', 'S.'],
    [FIN | PSH | ACK, 'FIN, PSH, ACK', 'FP.'],
    [RST, 'RST', 'R'],
    [SYN | ECE | CWR, 'SYN, ECE, CWR', 'SEW'],
    [0xfff, 'FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE, Reserved', 'FSRP.UEW'],
    [URG | NS, 'URG, AE', 'U'],
    [0, '<None>', 'none'],
  ];
  for (const [flags, long, short] of cases) {
    assert.equal(tcpFlagsToString(flags), long);
    assert.equal(tcpFlagsShort(flags), short);
  }
  const seg = (flags: number, n: number): TcpRepr => ({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags, window: 0, urgent: 0, options: [], payload: new Uint8Array(n) });
  assert.equal(tcpSeqLength(seg(SYN | FIN, 5)), 7);
  assert.equal(tcpSeqLength(seg(ACK, 5)), 5);
});
