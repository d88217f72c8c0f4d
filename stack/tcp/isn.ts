import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { Rng } from '../rng.js';

/**
 * Initial sequence numbers per RFC 9293 §3.4.1 (MUST-8, MUST-9, after RFC 6528):
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is a clock ticking
 * every 4 µs and F a keyed hash (HMAC-SHA-256, truncated to 32 bits) that an outsider cannot
 * compute. With a seed the key comes from the run's seeded Rng, so on the virtual clock every
 * ISN is reproducible; without one the key is 32 random bytes (the RFC mode).
 */
export class IsnGenerator {
  private readonly key: Uint8Array;
  private readonly tuple = Buffer.alloc(12);

  constructor(
    private readonly clock: Clock,
    seed?: number,
  ) {
    this.key = seed === undefined ? randomBytes(32) : new Rng(seed).fill(new Uint8Array(32));
  }

  /**
   * The TSval offset for a pair of addresses (RFC 7323 §5.4 wants it random; Linux keys it on
   * the addresses, not the ports, so a new incarnation's timestamps stay above the old one's).
   */
  tsOffset(localIp: number, remoteIp: number): number {
    const t = this.tuple;
    t.writeUInt32BE(localIp >>> 0, 0);
    t.writeUInt32BE(remoteIp >>> 0, 4);
    t.writeUInt32BE(0xffffffff, 8);
    return createHmac('sha256', this.key).update(t).digest().readUInt32BE(0);
  }

  next(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    const t = this.tuple;
    t.writeUInt32BE(localIp >>> 0, 0);
    t.writeUInt32BE(remoteIp >>> 0, 4);
    t.writeUInt16BE(localPort, 8);
    t.writeUInt16BE(remotePort, 10);
    const f = createHmac('sha256', this.key).update(t).digest().readUInt32BE(0);
    const m = Math.floor(this.clock.now() * 250) % 4294967296;
    return (f + m) >>> 0;
  }
}
