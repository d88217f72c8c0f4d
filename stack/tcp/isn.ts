import { hash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { Rng } from '../rng.js';

/**
 * Initial sequence numbers per RFC 9293 §3.4.1 (MUST-8, MUST-9, after RFC 6528):
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is a clock ticking
 * every 4 µs and F a keyed hash that an outsider cannot compute: SHA-256 over the secret key
 * followed by the fixed-length 12-byte 4-tuple, truncated to 32 bits (with fixed-length input
 * the key-prefix construction has no length-extension weakness; one-shot `hash` keeps the
 * per-connection cost low).
 * With a seed the key comes from the run's seeded Rng, so on the virtual clock every ISN is
 * reproducible; without one the key is 32 random bytes (the RFC mode).
 */
export class IsnGenerator {
  /** The 32-byte key followed by the 12-byte 4-tuple, rewritten per call. */
  private readonly input = Buffer.alloc(44);

  constructor(
    private readonly clock: Clock,
    seed?: number,
  ) {
    const key = seed === undefined ? randomBytes(32) : new Rng(seed).fill(new Uint8Array(32));
    this.input.set(key, 0);
  }

  next(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    const t = this.input;
    t.writeUInt32BE(localIp >>> 0, 32);
    t.writeUInt32BE(remoteIp >>> 0, 36);
    t.writeUInt16BE(localPort, 40);
    t.writeUInt16BE(remotePort, 42);
    const f = (hash('sha256', t, 'buffer') as Buffer).readUInt32BE(0);
    const m = Math.floor(this.clock.now() * 250) % 4294967296;
    return (f + m) >>> 0;
  }
}
