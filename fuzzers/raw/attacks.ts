/**
 * RFC 5961 ("Improving TCP's Robustness to Blind In-Window Attacks") as segment builders: given
 * what was observed of a live connection, each returns the TcpRepr an attacker spoofing the
 * target's peer would send. Pure: no I/O, no randomness (offsets are the caller's choice, from
 * its seeded Rng). Each names the section it probes and what a correct stack does:
 *
 * | builder            | RFC 5961 | a correct stack                                        |
 * |--------------------|----------|--------------------------------------------------------|
 * | blindInWindowRst   | §3.2     | challenge ACK, connection kept                         |
 * | exactRst           | §3.2     | connection reset, nothing sent                         |
 * | inWindowSyn        | §4.2     | challenge ACK, SYN dropped, connection kept            |
 * | outOfWindowAck     | §5.2     | challenge ACK, segment dropped                         |
 * | dataBeyondSndNxt   | §5.2     | challenge ACK, data dropped (RFC 9293 §3.10.7.4 too)   |
 *
 * A challenge ACK is `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, and §7 limits how many a connection
 * sends (RFC 5961 suggests a per-system limit; per connection avoids CVE-2016-5696's side channel).
 *
 * Injected segments carry the peer's latest window field and, when both sides use timestamps,
 * TSval = the peer's latest TSval (equal to the target's TS.Recent, so PAWS, RFC 7323 §5.3,
 * passes) and TSecr = the target's latest TSval: otherwise a stack that drops timestamp-less
 * segments (RFC 7323 §3.2) would never reach the RFC 5961 checks being probed.
 */
import { seqAdd } from '../../stack/wire/seq.js';
import { ACK, PSH, RST, SYN, type TcpOption, type TcpRepr } from '../../stack/wire/tcp.js';
import type { TcpInjection } from './kernel-injector.js';
import type { ObservedConnection } from './observe.js';

/**
 * How far below SND.UNA an ACK must be to be too old whatever the window: RFC 5961 §5.2 accepts
 * SEG.ACK ≥ SND.UNA − MAX.SND.WND, and no window exceeds 65535 × 2^14 < 2^30 (RFC 7323 §2.3);
 * 2^30 is also well under 2^31, so the ACK still compares as *before* SND.UNA, not after.
 */
export const TOO_OLD_ACK_DISTANCE = 2 ** 30;

const EMPTY = new Uint8Array(0);

/** RFC 5961 §3.2: an RST inside the window but not at RCV.NXT. `offset` in 1..RCV.WND−1. */
export function blindInWindowRst(c: ObservedConnection, offset: number): TcpRepr {
  checkOffset(c, offset, 1);
  return segment(c, seqAdd(c.rcvNxt, offset), 0, RST);
}

/** RFC 5961 §3.2: the one RST that may reset: SEG.SEQ = RCV.NXT exactly. */
export function exactRst(c: ObservedConnection): TcpRepr {
  return segment(c, c.rcvNxt, 0, RST);
}

/** RFC 5961 §4.2: a SYN in a synchronized state; `offset` in 0..RCV.WND−1 (§4.2 answers any SYN alike). */
export function inWindowSyn(c: ObservedConnection, offset: number): TcpRepr {
  checkOffset(c, offset, 0);
  return segment(c, seqAdd(c.rcvNxt, offset), 0, SYN);
}

/** RFC 5961 §5.2: an in-window pure ACK whose SEG.ACK is older than SND.UNA − MAX.SND.WND. */
export function outOfWindowAck(c: ObservedConnection): TcpRepr {
  return segment(c, c.rcvNxt, seqAdd(c.sndUna, -TOO_OLD_ACK_DISTANCE), ACK);
}

/** RFC 5961 §5.2: data at RCV.NXT acknowledging one byte never sent (SEG.ACK = SND.NXT + 1). */
export function dataBeyondSndNxt(c: ObservedConnection, payload: Uint8Array): TcpRepr {
  return segment(c, c.rcvNxt, seqAdd(c.sndNxt, 1), ACK | PSH, payload);
}

/** The segment as the peer would send it: from the peer's address to the target's. */
export function asPeer(c: ObservedConnection, repr: TcpRepr): TcpInjection {
  return { src: c.peer.ip, dst: c.target.ip, repr };
}

function segment(c: ObservedConnection, seq: number, ack: number, flags: number, payload: Uint8Array = EMPTY): TcpRepr {
  const options: TcpOption[] = c.timestamps
    ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval: c.timestamps.peerTsval, tsecr: c.timestamps.targetTsval }]
    : [];
  return { srcPort: c.peer.port, dstPort: c.target.port, seq, ack, flags, window: c.peerWindow, urgent: 0, options, payload };
}

/** The caller picks the offset; one outside the window would probe something else entirely. */
function checkOffset(c: ObservedConnection, offset: number, min: number): void {
  if (!Number.isInteger(offset) || offset < min || offset >= c.rcvWnd) {
    throw new RangeError(`offset ${offset} is not inside the window (${min}..${c.rcvWnd - 1})`);
  }
}
