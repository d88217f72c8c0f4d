import { ipv4ToString, type Ipv4 } from '../stack/addr.js';
import type { FaultKind } from '../stack/link/faults.js';
import { LINKTYPE_ETHERNET, locateIpv4 } from '../stack/wire/frame.js';
import { IPPROTO_TCP, ipv4Dst, ipv4HeaderLength, ipv4Protocol, ipv4Src } from '../stack/wire/ipv4.js';
import { tcpDstPort, tcpSrcPort } from '../stack/wire/tcp.js';

/**
 * Which connections the fault injector touched, keyed by the client side (`ip:port`, as the
 * capture's connection records name it). A capture finding on a connection the injector dropped,
 * corrupted, duplicated, reordered or delayed frames of is what the faults were meant to cause;
 * one on an untouched connection is the target's own.
 */
export class FaultLedger {
  private readonly byClient = new Map<string, number>();
  /** Faults that hit frames other than TCP (ARP, ICMP). */
  otherFrames = 0;

  constructor(private readonly targetIp: Ipv4) {}

  /** A FaultObserver for FaultyLink. */
  readonly observe = (_kind: FaultKind, frame: Uint8Array): void => {
    const ip = locateIpv4(frame, LINKTYPE_ETHERNET);
    if (ip === undefined || frame.length < ip + 20 || ipv4Protocol(frame, ip) !== IPPROTO_TCP) {
      this.otherFrames++;
      return;
    }
    const tcp = ip + ipv4HeaderLength(frame, ip);
    if (frame.length < tcp + 4) {
      this.otherFrames++;
      return;
    }
    const src = ipv4Src(frame, ip);
    const key = src === this.targetIp ? `${ipv4ToString(ipv4Dst(frame, ip))}:${tcpDstPort(frame, tcp)}` : `${ipv4ToString(src)}:${tcpSrcPort(frame, tcp)}`;
    this.byClient.set(key, (this.byClient.get(key) ?? 0) + 1);
  };

  touched(client: string): boolean {
    return this.byClient.has(client);
  }

  get connections(): number {
    return this.byClient.size;
  }
}
