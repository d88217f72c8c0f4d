/**
 * The analyzer's frame decoder reads frames in place inside a reused chunk: a frame at any offset
 * of a larger buffer decodes exactly as the same frame alone, for every linktype, and nothing
 * beyond the frame's captured length is read (neighbouring bytes are junk).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTcpSegment, SKIP_MALFORMED, SKIP_NOT_IPV4, SKIP_OK } from '../reports/decode.js';
import { emptySegment } from '../reports/segment.js';
import { Rng } from '../stack/rng.js';
import { ETHERTYPE_IPV4 } from '../stack/wire/ethernet.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_RAW } from '../stack/wire/frame.js';
import { ACK, PSH, SYN } from '../stack/wire/tcp.js';
import { tcpFrame } from './analyze-support.js';

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;

/** One TCP segment with options, framed for each linktype (the IPv4 datagram after its link header). */
function framings(): Array<[string, number, Uint8Array]> {
  const eth = tcpFrame(SRC, DST, {
    srcPort: 40000,
    dstPort: 80,
    seq: 0xfffffff0,
    ack: 77,
    flags: SYN | ACK,
    window: 512,
    urgent: 0,
    options: [{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }, { kind: 'wscale', shift: 7 }],
    payload: new Uint8Array(0),
  });
  const ip = eth.subarray(14);
  const vlan = Uint8Array.from([...eth.subarray(0, 12), 0x81, 0x00, 0x00, 0x05, ...eth.subarray(12)]);
  const sll = Uint8Array.from([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ETHERTYPE_IPV4 >> 8, ETHERTYPE_IPV4 & 0xff, ...ip]);
  const sll2 = Uint8Array.from([ETHERTYPE_IPV4 >> 8, ETHERTYPE_IPV4 & 0xff, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...ip]);
  const nul = Uint8Array.from([2, 0, 0, 0, ...ip]);
  return [
    ['ethernet', LINKTYPE_ETHERNET, eth],
    ['ethernet + 802.1Q', LINKTYPE_ETHERNET, vlan],
    ['linux cooked', LINKTYPE_LINUX_SLL, sll],
    ['linux cooked v2', LINKTYPE_LINUX_SLL2, sll2],
    ['raw ip', LINKTYPE_RAW, Uint8Array.from(ip)],
    ['bsd loopback', LINKTYPE_NULL, nul],
  ];
}

/** The frame at `off` of a buffer of random junk. */
function embed(frame: Uint8Array, off: number, rng: Rng): Uint8Array {
  const buf = rng.fill(new Uint8Array(off + frame.length + 64));
  buf.set(frame, off);
  return buf;
}

test('a frame inside a larger buffer decodes as the frame alone, for every linktype', () => {
  const rng = new Rng(9);
  for (const [name, linktype, frame] of framings()) {
    const alone = emptySegment();
    assert.equal(decodeTcpSegment(frame, 0, frame.length, linktype, frame.length, alone), SKIP_OK, name);
    assert.deepEqual([alone.seq, alone.ack, alone.flags, alone.window, alone.mss, alone.wscale, alone.sackPermitted], [0xfffffff0, 77, SYN | ACK, 512, 1460, 7, true], name);
    for (const off of [1, 7, 4093]) {
      const inside = emptySegment();
      assert.equal(decodeTcpSegment(embed(frame, off, rng), off, frame.length, linktype, frame.length, inside), SKIP_OK, `${name} at ${off}`);
      assert.deepEqual(inside, alone, `${name} at ${off}`);
    }
  }
});

test('only the captured bytes count: a cut TCP header is malformed, a frame shorter than its link header is no IPv4', () => {
  const rng = new Rng(10);
  const frame = tcpFrame(SRC, DST, { srcPort: 1, dstPort: 2, seq: 5, ack: 6, flags: PSH | ACK, window: 9, urgent: 0, options: [], payload: new Uint8Array(100) });
  const s = emptySegment();
  // Junk after a frame cut inside its TCP header must not complete it.
  assert.equal(decodeTcpSegment(embed(frame, 3, rng), 3, 14 + 20 + 10, LINKTYPE_ETHERNET, frame.length, s), SKIP_MALFORMED);
  for (const caplen of [0, 10, 13]) assert.equal(decodeTcpSegment(embed(frame, 5, rng), 5, caplen, LINKTYPE_ETHERNET, frame.length, s), SKIP_NOT_IPV4, `caplen ${caplen}`);
  // A snaplen cut after the TCP header still counts the payload from the IP total length.
  assert.equal(decodeTcpSegment(embed(frame, 5, rng), 5, 14 + 20 + 20, LINKTYPE_ETHERNET, frame.length, s), SKIP_OK);
  assert.equal(s.len, 100);
});
