import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { Rng } from '../rng.js';

/**
 * Initial sequence numbers per RFC 9293 §3.4.1 (MUST-8, MUST-9, after RFC 6528):
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is a clock ticking
 * every 4 µs and F a keyed pseudo-random function an outsider cannot compute: SipHash-2-4, as
 * Linux's secure_tcp_seq uses since 4.11 (an HMAC costs ~3 µs per connection here, SipHash a
 * tenth of that). With a seed the key comes from the run's seeded Rng, so on the virtual clock
 * every ISN is reproducible; without one the key is 16 random bytes (the RFC mode).
 */
export class IsnGenerator {
  private readonly key: Uint32Array;
  private readonly tuple = new Uint8Array(12);

  constructor(
    private readonly clock: Clock,
    seed?: number,
  ) {
    const k = seed === undefined ? new Uint8Array(randomBytes(16)) : new Rng(seed).fill(new Uint8Array(16));
    this.key = sipKey(k);
  }

  /**
   * The TSval offset for a pair of addresses (RFC 7323 §5.4 wants it random; Linux keys it on
   * the addresses, not the ports, so a new incarnation's timestamps stay above the old one's).
   */
  tsOffset(localIp: number, remoteIp: number): number {
    return this.f(localIp, remoteIp, 0xffffffff);
  }

  next(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    const f = this.f(localIp, remoteIp, ((localPort & 0xffff) << 16) | (remotePort & 0xffff));
    const m = Math.floor(this.clock.now() * 250) % 4294967296;
    return (f + m) >>> 0;
  }

  private f(a: number, b: number, c: number): number {
    const t = this.tuple;
    writeU32Le(t, 0, a);
    writeU32Le(t, 4, b);
    writeU32Le(t, 8, c);
    return siphash24Low(this.key, t);
  }
}

function writeU32Le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

function readU32Le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** A 16-byte SipHash key as four little-endian 32-bit words (k0 low, k0 high, k1 low, k1 high). */
export function sipKey(k: Uint8Array): Uint32Array {
  return Uint32Array.of(readU32Le(k, 0), readU32Le(k, 4), readU32Le(k, 8), readU32Le(k, 12));
}

// The state v0..v3 as [lo, hi] pairs of 32-bit words: JavaScript has no fast 64-bit integers.
const v = new Uint32Array(8);

/** v[a] += v[b] (mod 2^64). */
function add(a: number, b: number): void {
  const lo = (v[a]! + v[b]!) >>> 0;
  v[a + 1] = (v[a + 1]! + v[b + 1]! + (lo < v[a]! ? 1 : 0)) >>> 0;
  v[a] = lo;
}

/** v[a] = rotl(v[a], n), 0 < n < 32. */
function rotl(a: number, n: number): void {
  const lo = v[a]!;
  const hi = v[a + 1]!;
  v[a] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  v[a + 1] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
}

/** v[a] = rotl(v[a], 32). */
function swap(a: number): void {
  const lo = v[a]!;
  v[a] = v[a + 1]!;
  v[a + 1] = lo;
}

/** v[a] ^= v[b]. */
function xor(a: number, b: number): void {
  v[a] = v[a]! ^ v[b]!;
  v[a + 1] = v[a + 1]! ^ v[b + 1]!;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  swap(V0);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  swap(V2);
}

function absorb(lo: number, hi: number): void {
  v[V3] = v[V3]! ^ lo;
  v[V3 + 1] = v[V3 + 1]! ^ hi;
  sipRound();
  sipRound();
  v[V0] = v[V0]! ^ lo;
  v[V0 + 1] = v[V0 + 1]! ^ hi;
}

/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) of `msg` under `key` (see sipKey), as [low, high]
 * 32-bit halves of the 64-bit result.
 */
export function siphash24(key: Uint32Array, msg: Uint8Array): [number, number] {
  // "somepseudorandomlygeneratedbytes", XORed into the key.
  v[V0] = key[0]! ^ 0x70736575;
  v[V0 + 1] = key[1]! ^ 0x736f6d65;
  v[V1] = key[2]! ^ 0x6e646f6d;
  v[V1 + 1] = key[3]! ^ 0x646f7261;
  v[V2] = key[0]! ^ 0x6e657261;
  v[V2 + 1] = key[1]! ^ 0x6c796765;
  v[V3] = key[2]! ^ 0x79746573;
  v[V3 + 1] = key[3]! ^ 0x74656462;
  const len = msg.length;
  const whole = len - (len % 8);
  for (let i = 0; i < whole; i += 8) absorb(readU32Le(msg, i), readU32Le(msg, i + 4));
  // The last block: the remaining bytes, the length's low byte on top.
  let lo = 0;
  let hi = (len & 0xff) << 24;
  for (let i = whole; i < len; i++) {
    const shift = 8 * (i - whole);
    if (shift < 32) lo |= msg[i]! << shift;
    else hi |= msg[i]! << (shift - 32);
  }
  absorb(lo >>> 0, hi >>> 0);
  v[V2] = v[V2]! ^ 0xff;
  for (let r = 0; r < 4; r++) sipRound();
  return [(v[V0]! ^ v[V1]! ^ v[V2]! ^ v[V3]!) >>> 0, (v[V0 + 1]! ^ v[V1 + 1]! ^ v[V2 + 1]! ^ v[V3 + 1]!) >>> 0];
}

function siphash24Low(key: Uint32Array, msg: Uint8Array): number {
  return siphash24(key, msg)[0];
}
