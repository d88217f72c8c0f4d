/**
 * What an on-path observer learns of one live connection from captured frames: the numbers a
 * blind-injection attack needs (RFC 5961 §1.1: an attacker who can see the traffic does not
 * have to guess them). Named from the side of the *target* (the stack being attacked), in the
 * words of RFC 9293 §3.3.1, so the attack builders read like the RFC's acceptance tests.
 */
import type { Ipv4 } from '../../stack/addr.js';
import { seqAdd, seqGt } from '../../stack/wire/seq.js';
import type { Frame } from '../../stack/wire/frame.js';
import { ACK, SYN, tcpOptionsTimestamps, tcpOptionsWscale, tcpSeqLength } from '../../stack/wire/tcp.js';

export interface Endpoint {
  ip: Ipv4;
  port: number;
}

export interface ObservedConnection {
  /** The endpoint whose identity injected segments take (the target's real peer). */
  peer: Endpoint;
  /** The endpoint under attack. */
  target: Endpoint;
  /** Target's RCV.NXT: the ACK field of its latest segment. */
  rcvNxt: number;
  /**
   * Target's RCV.WND in bytes: the window field of its latest segment, scaled by its shift when
   * both SYNs were seen offering window scaling (RFC 7323 §2.2). Without the handshake in the
   * capture the field is taken unscaled: a lower bound, so offsets below it are still inside.
   */
  rcvWnd: number;
  /** Target's SND.UNA: the highest ACK its peer sent. */
  sndUna: number;
  /** Target's SND.NXT: the end of the highest sequence number it sent (SYN and FIN count). */
  sndNxt: number;
  /** The window field of the peer's latest segment: injected segments copy it. */
  peerWindow: number;
  /** The highest TSval each side sent, when both send timestamps (RFC 7323 §3.2). */
  timestamps?: { peerTsval: number; targetTsval: number };
}

interface Side {
  /** Window-scale shift this side offered in its SYN, undefined when it offered none. */
  wscale: number | undefined;
  sawSyn: boolean;
  /** End of the highest sequence number sent. */
  seqEnd: number | undefined;
  /** ACK and window field of the latest segment with ACK. */
  ack: number | undefined;
  window: number;
  /** Highest ACK sent. */
  maxAck: number | undefined;
  /** Highest TSval sent: PAWS (RFC 7323 §5.3) passes any TSval at or above TS.Recent. */
  tsval: number | undefined;
}

function newSide(): Side {
  return { wscale: undefined, sawSyn: false, seqEnd: undefined, ack: undefined, window: 0, maxAck: undefined, tsval: undefined };
}

/**
 * Reads the connection between `peer` and `target` out of frames in capture order (other
 * traffic is skipped). Undefined until both sides have sent a segment with ACK.
 *
 * The capture may hold injected segments in the peer's name, and the observer cannot tell them
 * from the peer's own, so it trusts only what they cannot fake: RCV.NXT, RCV.WND and SND.NXT
 * come from the target's own segments; SND.UNA is the highest peer ACK clamped to SND.NXT (an
 * ACK of data never sent advances nothing, RFC 9293 §3.10.7.4); and a new incarnation of the
 * 4-tuple starts only at a SYN,ACK that acknowledges the other side's latest SYN (RFC 9293 §3.5),
 * so a spoofed SYN the target answers with a challenge ACK resets nothing.
 */
export function observeConnection(frames: Iterable<Frame>, peer: Endpoint, target: Endpoint): ObservedConnection | undefined {
  let fromPeer = newSide();
  let fromTarget = newSide();
  /** The latest SYN (without ACK) of each side: its ISN and offered shift. */
  let peerSyn: { seq: number; wscale: number | undefined } | undefined;
  let targetSyn: { seq: number; wscale: number | undefined } | undefined;
  let targetWindowScaled = false;
  for (const f of frames) {
    const ip = f.ipv4;
    const tcp = f.tcp;
    if (!ip || !tcp) continue;
    const byPeer = ip.src === peer.ip && tcp.srcPort === peer.port && ip.dst === target.ip && tcp.dstPort === target.port;
    const byTarget = ip.src === target.ip && tcp.srcPort === target.port && ip.dst === peer.ip && tcp.dstPort === peer.port;
    if (!byPeer && !byTarget) continue;
    const syn = (tcp.flags & SYN) !== 0;
    const wscale = syn ? tcpOptionsWscale(tcp.options) : undefined;
    if (syn && !(tcp.flags & ACK)) {
      if (byPeer) peerSyn = { seq: tcp.seq, wscale };
      else targetSyn = { seq: tcp.seq, wscale };
    }
    const answered = byPeer ? targetSyn : peerSyn;
    if (syn && tcp.flags & ACK && answered && seqAdd(answered.seq, 1) === tcp.ack) {
      fromPeer = newSide();
      fromTarget = newSide();
      const opener = byPeer ? fromTarget : fromPeer;
      opener.sawSyn = true;
      opener.wscale = answered.wscale;
      opener.seqEnd = tcp.ack;
    }
    const side = byPeer ? fromPeer : fromTarget;
    // A bare SYN only counts once answered (above); a SYN,ACK is this side's half of a handshake.
    if (syn && tcp.flags & ACK) {
      side.sawSyn = true;
      side.wscale = wscale;
    }
    const end = seqAdd(tcp.seq, tcpSeqLength(tcp));
    if (side.seqEnd === undefined || seqGt(end, side.seqEnd)) side.seqEnd = end;
    if (tcp.flags & ACK) {
      side.ack = tcp.ack;
      side.window = tcp.window;
      if (side.maxAck === undefined || seqGt(tcp.ack, side.maxAck)) side.maxAck = tcp.ack;
    }
    const ts = tcpOptionsTimestamps(tcp.options);
    if (ts && (side.tsval === undefined || seqGt(ts.tsval, side.tsval))) side.tsval = ts.tsval;
    // RFC 7323 §2.2: the window field of a SYN is never scaled.
    if (byTarget) targetWindowScaled = !(tcp.flags & SYN);
  }
  if (fromTarget.ack === undefined || fromTarget.seqEnd === undefined || fromPeer.maxAck === undefined) return undefined;
  const bothScale = fromPeer.sawSyn && fromTarget.sawSyn && fromPeer.wscale !== undefined && fromTarget.wscale !== undefined;
  // RFC 7323 §2.3: a shift above 14 is used as 14.
  const shift = bothScale && targetWindowScaled ? Math.min(14, fromTarget.wscale!) : 0;
  const observed: ObservedConnection = {
    peer,
    target,
    rcvNxt: fromTarget.ack,
    rcvWnd: fromTarget.window * 2 ** shift,
    sndUna: seqGt(fromPeer.maxAck, fromTarget.seqEnd) ? fromTarget.seqEnd : fromPeer.maxAck,
    sndNxt: fromTarget.seqEnd,
    peerWindow: fromPeer.window,
  };
  if (fromPeer.tsval !== undefined && fromTarget.tsval !== undefined) observed.timestamps = { peerTsval: fromPeer.tsval, targetTsval: fromTarget.tsval };
  return observed;
}
