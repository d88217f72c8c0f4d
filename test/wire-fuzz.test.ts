import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../stack/rng.js';
import { emitArp, parseArp } from '../stack/wire/arp.js';
import type { Parsed, WireError } from '../stack/wire/errors.js';
import { emitEthernet, parseEthernet } from '../stack/wire/ethernet.js';
import { emitIcmp, parseIcmp } from '../stack/wire/icmp.js';
import { emitIpv4, parseIpv4 } from '../stack/wire/ipv4.js';
import { emitTcp, parseTcp } from '../stack/wire/tcp.js';
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
import { genFrame } from './helpers/wire-gen.js';

const FRAMES = 120_000;
const LAYERS = new Set(['ethernet', 'arp', 'ipv4', 'icmp', 'tcp', 'frame']);
const KINDS = new Set(['truncated', 'bad-field', 'bad-checksum', 'unsupported']);
const LINKTYPES = [LINKTYPE_NULL, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL2, 147 /* a user linktype: unsupported */];
// Fields whose edits reach the interesting checks: version/IHL, total length, fragment flags,
// data offset, flags, the first option bytes, ARP lengths.
const LENGTH_FIELDS = [14, 16, 17, 20, 46, 47, 54, 55, 56, 57, 58, 59, 60, 61, 18, 19];

/** Every rejection must be a well-formed WireError; counts which fields rejected what. */
function checked<T>(p: Parsed<T>, input: Uint8Array, seen: Map<string, number>): T | undefined {
  if (p.ok) return p.value;
  const e: WireError = p.error;
  assert.ok(LAYERS.has(e.layer), `unknown layer ${e.layer}`);
  assert.ok(KINDS.has(e.kind), `unknown kind ${e.kind}`);
  assert.ok(typeof e.field === 'string' && e.field.length > 0, 'empty field');
  assert.ok(typeof e.detail === 'string' && e.detail.length > 0, 'empty detail');
  assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= input.length, `offset ${e.offset} outside ${input.length} bytes`);
  if (e.kind === 'bad-field' || e.kind === 'bad-checksum') assert.ok(e.offset < input.length, `offset ${e.offset} of ${e.field} past the input`);
  const key = `${e.layer}/${e.kind}/${e.field}`;
  seen.set(key, (seen.get(key) ?? 0) + 1);
  return undefined;
}

/** `a` equals `b` except in the two checksum bytes at `at` (re-emitting recomputes checksums). */
function sameExceptChecksum(a: Uint8Array, b: Uint8Array, at: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && i !== at && i !== at + 1) return false;
  return true;
}

function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  const kind = rng.int(10);
  if (kind === 0) return rng.fill(new Uint8Array(rng.int(100)));
  let b = base.slice();
  if (kind <= 3) {
    for (let n = 1 + rng.int(4); n > 0; n--) {
      const i = rng.int(b.length);
      b[i] = b[i]! ^ (1 << rng.int(8));
    }
  } else if (kind <= 7) {
    for (let n = 1 + rng.int(2); n > 0; n--) {
      const i = LENGTH_FIELDS[rng.int(LENGTH_FIELDS.length)]!;
      if (i < b.length) b[i] = rng.chance(0.5) ? rng.int(256) : b[i]! + rng.int(5) - 2;
    }
  }
  if (kind >= 7 || rng.chance(0.2)) b = b.subarray(0, rng.int(b.length + 1));
  return b;
}

test(`${FRAMES} random and mutated frames: no parser throws, every rejection is a typed WireError, whatever parses re-emits to the same bytes`, (t) => {
  const rng = new Rng(20240601);
  const pool = Array.from({ length: 512 }, () => genFrame(rng));
  const seen = new Map<string, number>();
  let tcpParsed = 0;
  let icmpParsed = 0;
  let framesDecoded = 0;
  const started = performance.now();
  for (let n = 0; n < FRAMES; n++) {
    const frame = mutate(rng, pool[rng.int(pool.length)]!);
    const verify = rng.chance(0.25);
    try {
      const eth = checked(parseEthernet(frame), frame, seen);
      if (eth) assert.deepStrictEqual(emitEthernet(eth), frame);

      const arpBytes = frame.subarray(14);
      const arp = checked(parseArp(arpBytes), arpBytes, seen);
      if (arp) assert.deepStrictEqual(emitArp(arp), arpBytes.subarray(0, 28));

      const ipBytes = frame.subarray(14);
      const ip = checked(parseIpv4(ipBytes, { verifyChecksum: verify }), ipBytes, seen);
      if (ip) {
        const back = emitIpv4(ip);
        assert.ok(sameExceptChecksum(back, ipBytes.subarray(0, back.length), 10), 'ipv4 re-emit differs');
      }

      // The transport parsers get the datagram payload when the IPv4 header parsed, else the bytes after a 20-byte header.
      const l4 = ip ? ip.payload : frame.subarray(34);
      const src = ip ? ip.src : 0;
      const dst = ip ? ip.dst : 0;
      const tcp = checked(parseTcp(l4, src, dst, { verifyChecksum: verify }), l4, seen);
      if (tcp) {
        tcpParsed++;
        assert.ok(sameExceptChecksum(emitTcp(tcp, src, dst), l4, 16), 'tcp re-emit differs');
      }
      const icmp = checked(parseIcmp(l4, { verifyChecksum: verify }), l4, seen);
      if (icmp) {
        icmpParsed++;
        assert.ok(sameExceptChecksum(emitIcmp(icmp), l4, 2), 'icmp re-emit differs');
      }

      if (checked(decodeFrame(frame, LINKTYPE_ETHERNET, { verifyChecksums: verify }), frame, seen)) framesDecoded++;
      const linktype = LINKTYPES[n % LINKTYPES.length]!;
      checked(decodeFrame(frame, linktype, { verifyChecksums: verify }), frame, seen);
      const at = locateIpv4(frame, linktype);
      assert.ok(at === undefined || (at >= 0 && at <= frame.length));
    } catch (err) {
      assert.fail(`input ${n} (${Buffer.from(frame).toString('hex')}): ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  const ms = performance.now() - started;
  // The mutations must reach every check, or this test proves little.
  for (const key of [
    'ethernet/truncated/header',
    'arp/unsupported/hardware type',
    'ipv4/bad-field/version',
    'ipv4/bad-field/ihl',
    'ipv4/truncated/total length',
    'ipv4/bad-field/total length',
    'ipv4/bad-checksum/checksum',
    'tcp/bad-field/data offset',
    'tcp/truncated/data offset',
    'tcp/bad-field/option length',
    'tcp/truncated/option length',
    'tcp/bad-checksum/checksum',
    'icmp/bad-checksum/checksum',
    'frame/unsupported/linktype',
    'frame/truncated/link header',
  ]) {
    assert.ok((seen.get(key) ?? 0) > 0, `no input was rejected as ${key}`);
  }
  assert.ok(tcpParsed > FRAMES / 10 && icmpParsed > 0 && framesDecoded > FRAMES / 10, `too few accepted: tcp ${tcpParsed}, icmp ${icmpParsed}, frames ${framesDecoded}`);
  t.diagnostic(`${FRAMES} frames in ${ms.toFixed(0)} ms; tcp parsed ${tcpParsed}, frames decoded ${framesDecoded}; rejections ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
});
