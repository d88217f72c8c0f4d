import { ipv4ToString, type Ipv4 } from '../stack/addr.js';
import type { FaultDirection, FaultKind } from '../stack/link/faults.js';
import type { FaultEvent } from '../reports/run-report.js';
import { LINKTYPE_ETHERNET, locateIpv4 } from '../stack/wire/frame.js';
import { IPPROTO_TCP, ipv4Dst, ipv4HeaderLength, ipv4Protocol, ipv4Src } from '../stack/wire/ipv4.js';
import { tcpDstPort, tcpFlags, tcpHeaderLength, tcpSrcPort } from '../stack/wire/tcp.js';
import { ipv4TotalLength } from '../stack/wire/ipv4.js';

/** Fault events kept for the ladders (the first ones; the rest are counted). */
const MAX_EVENTS = 5000;

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
  /** Each fault on a TCP frame, in order, for the ladders (at most MAX_EVENTS; `eventsOmitted` counts the rest). */
  readonly events: FaultEvent[] = [];
  eventsOmitted = 0;

  /**
   * `capturedFrames` counts the frames the capture point recorded so far, `nowMs` is the link
   * clock: a frame received for our stack was recorded just before the injector hit it.
   */
  constructor(
    private readonly targetIp: Ipv4,
    private readonly capturedFrames: () => number,
    private readonly nowMs: () => number,
  ) {}

  /** A FaultObserver for FaultyLink. */
  readonly observe = (kind: FaultKind, frame: Uint8Array, direction: FaultDirection): void => {
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
    if (this.events.length >= MAX_EVENTS) {
      this.eventsOmitted++;
      return;
    }
    const hdr = frame.length >= tcp + 14 ? tcpHeaderLength(frame, tcp) : 20;
    this.events.push({
      unix_s: Math.round(this.nowMs() * 1000) / 1e6,
      kind,
      client: key,
      from_stack: direction === 'out',
      // The capture point is on the far side of the injector: a frame received for our stack is already in the pcap.
      frame: direction === 'in' ? this.capturedFrames() : null,
      tcp_flags: frame.length >= tcp + 14 ? tcpFlags(frame, tcp) : 0,
      len: Math.max(0, ipv4TotalLength(frame, ip) - ipv4HeaderLength(frame, ip) - hdr),
    });
  };

  touched(client: string): boolean {
    return this.byClient.has(client);
  }

  get connections(): number {
    return this.byClient.size;
  }
}
