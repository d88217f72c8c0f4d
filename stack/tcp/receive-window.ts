import { seqAdd, seqDiff, seqGt, seqLt } from '../wire/seq.js';
import type { TcpConfig } from './config.js';

/*
 * The window we advertise (RFC 9293 §3.8.6.2.2): what is left of the receive buffer, its right
 * edge never moved left (shrinking is discouraged) and not moved right by less than
 * min(buffer/2, MSS) (receiver-side SWS avoidance, MUST-39); carried in the window field
 * scaled by our shift once both SYNs offered window scaling (RFC 7323 §2), unscaled in a SYN
 * (§2.2). RCV.NXT stays the connection's; every method takes it.
 */

/** The smallest shift (at most 14, RFC 7323 §2.3) that lets the window field cover `buffer`. */
export function windowShiftFor(buffer: number): number {
  let s = 0;
  while (s < 14 && buffer >>> s > 65535) s++;
  return s;
}

export class ReceiveWindow {
  /** Right edge of the window we last advertised (RCV.NXT + RCV.WND as sent). */
  private edge = 0;
  /** Shift applied to the window we advertise (RFC 7323 Rcv.Wind.Shift). */
  shift = 0;

  constructor(private readonly config: TcpConfig) {}

  /** The peer's SYN arrived: nothing is advertised beyond RCV.NXT yet. */
  start(rcvNxt: number): void {
    this.edge = rcvNxt;
  }

  /** RCV.WND: what is left of the advertised window. */
  wnd(rcvNxt: number): number {
    return Math.max(0, seqDiff(this.edge, rcvNxt));
  }

  /**
   * The window field of a SYN or SYN,ACK (never scaled, RFC 7323 §2.2). A SYN,ACK advertises it,
   * so the edge moves to it if that is further; a SYN (RCV.NXT unknown) only carries it.
   */
  syn(rcvNxt: number, synAck: boolean): number {
    const window = Math.min(65535, this.config.receiveBuffer);
    if (synAck && seqLt(this.edge, seqAdd(rcvNxt, window))) this.edge = seqAdd(rcvNxt, window);
    return window;
  }

  /** The window field of the segment being sent; the advertised edge moves with it. `unread`: bytes delivered, not yet read. */
  field(rcvNxt: number, unread: number): number {
    const wnd = seqDiff(this.nextEdge(rcvNxt, unread), rcvNxt);
    const shift = this.shift;
    const field = Math.min(65535, Math.ceil(wnd / 2 ** shift));
    this.edge = seqAdd(rcvNxt, field * 2 ** shift);
    return field;
  }

  /** Whether the next segment would move the advertised edge right. */
  wouldOpen(rcvNxt: number, unread: number): boolean {
    return seqGt(this.nextEdge(rcvNxt, unread), this.edge);
  }

  /** The advertised window is too small for the sender to use: below min(buffer/2, MSS), where sender-side SWS avoidance stops it. */
  tooSmall(rcvNxt: number): boolean {
    const cfg = this.config;
    return this.wnd(rcvNxt) < Math.min(cfg.receiveBuffer >>> 1, cfg.mss);
  }

  /** Where the right edge would go now: the free buffer, but never left of the advertised edge, and only by a useful step. */
  private nextEdge(rcvNxt: number, unread: number): number {
    const cfg = this.config;
    const free = Math.max(0, cfg.receiveBuffer - unread);
    const edge = seqAdd(rcvNxt, free);
    const floor = seqGt(this.edge, rcvNxt) ? this.edge : rcvNxt;
    return seqDiff(edge, floor) >= Math.min(cfg.receiveBuffer >>> 1, cfg.mss) ? edge : floor;
  }
}
