import { ipv4ToString, type Ipv4 } from '../stack/addr.js';
import { ARP_REPLY } from '../stack/wire/arp.js';
import { decodeFrame, LINKTYPE_ETHERNET } from '../stack/wire/frame.js';

/**
 * Whether a foreign stack is ready, and in one line why not. A run starts when the TAP has
 * carrier (the program opened it), the stack answers ARP for its address and a TCP connect to its
 * port succeeds. Until then every frame the stack sends is watched (`ReadinessWatch`), so that a
 * stack that never gets there is told the first-hour mistake it made: the device never opened,
 * opened but silent, the wrong address, checksums left to an offload that is not there, nothing on
 * the port, or the process gone.
 */

/** How the readiness probe's last connect ended. */
export type ConnectOutcome = 'connected' | 'refused' | 'timeout' | { error: string };

/** What the readiness phase saw. */
export interface ReadinessFacts {
  /** The device's carrier came up (a program attached to it). */
  carrier: boolean;
  /** Frames the stack sent. */
  frames: number;
  /** It sent an ARP reply (or announcement) for its expected address. */
  arpForStack: boolean;
  /** The first other address it claimed in ARP (sender of a reply or announcement). */
  arpForOther: Ipv4 | undefined;
  /** IPv4 frames whose IPv4, TCP or ICMP checksum does not verify, and the first such layer. */
  badChecksums: number;
  badChecksumLayer: string | undefined;
  connect: ConnectOutcome | undefined;
  /** The process ended before it was ready, in words ("exited (code 1)"). */
  exited: string | undefined;
}

/** Watches the frames a foreign stack sends while it comes up. */
export class ReadinessWatch {
  readonly facts: ReadinessFacts = {
    carrier: false,
    frames: 0,
    arpForStack: false,
    arpForOther: undefined,
    badChecksums: 0,
    badChecksumLayer: undefined,
    connect: undefined,
    exited: undefined,
  };

  constructor(private readonly stackIp: Ipv4) {}

  /** One frame from the stack. */
  observe(frame: Uint8Array): void {
    const f = this.facts;
    f.frames++;
    const d = decodeFrame(frame, LINKTYPE_ETHERNET);
    if (!d.ok) {
      if (d.error.kind === 'bad-checksum') {
        if (f.badChecksums++ === 0) f.badChecksumLayer = d.error.layer;
      }
      return;
    }
    const arp = d.value.arp;
    // A reply names the sender's address; so does an announcement (gratuitous ARP: sender = target).
    if (arp && (arp.op === ARP_REPLY || arp.senderIp === arp.targetIp)) {
      if (arp.senderIp === this.stackIp) f.arpForStack = true;
      else if (arp.senderIp !== 0) f.arpForOther ??= arp.senderIp;
    }
  }
}

export interface ReadinessExpectation {
  tap: string;
  stackIp: Ipv4;
  port: number;
  waitedMs: number;
}

/** True when the facts say the stack is ready. */
export function isReady(f: ReadinessFacts): boolean {
  return f.carrier && f.connect === 'connected';
}

/** Why a stack is not ready, in one line (what the user reads before exit 2). */
export function notReadyReason(f: ReadinessFacts, e: ReadinessExpectation): string {
  const ip = ipv4ToString(e.stackIp);
  const after = `after ${e.waitedMs} ms`;
  if (f.exited !== undefined) return `${f.exited} before it was ready`;
  if (!f.carrier) return `never opened the TAP device ${e.tap} (no carrier ${after}): pass it {tap} or read TCPFUZZ_TAP`;
  if (f.frames === 0) return `opened ${e.tap} but sent nothing ${after} (no answer to ARP for ${ip})`;
  if (!f.arpForStack && f.arpForOther !== undefined) {
    const other = ipv4ToString(f.arpForOther);
    return `answers ARP for ${other}, not ${ip}: give it {ip} or TCPFUZZ_STACK_IP, or run with --stack-ip ${other}`;
  }
  if (f.badChecksums > 0) {
    return `sends IPv4 with bad ${f.badChecksumLayer} checksums (${f.badChecksums} frames), which the kernel drops: it assumes a checksum offload the TAP does not do`;
  }
  if (f.connect === 'refused') return `answered the SYN to ${ip}:${e.port} with RST: nothing listens on port ${e.port}`;
  if (!f.arpForStack) return `sent ${f.frames} frames but never answered ARP for ${ip} ${after}`;
  return connectWords(f, e);
}

/** Why the fresh connection at the end of a run failed, in one line. */
export function unresponsiveReason(f: ReadinessFacts, e: ReadinessExpectation): string {
  if (f.exited !== undefined) return `${f.exited} when a fresh connection was tried at the end`;
  if (f.connect === 'refused') return `a fresh connection to ${ipv4ToString(e.stackIp)}:${e.port} at the end was answered with RST: the stack no longer listens`;
  return connectWords(f, e);
}

function connectWords(f: ReadinessFacts, e: ReadinessExpectation): string {
  const to = `${ipv4ToString(e.stackIp)}:${e.port}`;
  if (typeof f.connect === 'object') return `a TCP connect to ${to} failed: ${f.connect.error}`;
  return `did not accept a TCP connection to ${to} after ${e.waitedMs} ms`;
}
