/*
 * The congestion controller interface (RFC 5681 §3): the congestion window and every change to
 * it. Loss recovery (../loss-recovery.ts) decides when duplicate ACKs or SACKs signal a loss,
 * what is retransmitted and when recovery is over, and tells the controller; the sender reads
 * `cwnd`. A controller is one file implementing CongestionController plus its entry in
 * CONTROLLERS (index.ts), chosen per stack by TcpConfig.congestionControl.
 */

/** RFC 5681 §3.2 / RFC 6675 DupThresh: the duplicate ACKs that signal a loss. */
export const DUP_THRESH = 3;

export interface CongestionController {
  /** Bytes the connection may have in flight (RFC 5681 cwnd). */
  readonly cwnd: number;
  /** The handshake set the sender's MSS: the window starts over at the initial window. */
  start(smss: number): void;
  /** `bytes` of new data were acknowledged outside recovery (not the SYN). */
  acked(bytes: number): void;
  /**
   * Duplicate ACKs or SACKs signalled a loss with `flight` bytes outstanding (FlightSize): fast
   * recovery begins, per RFC 6675 when `sack`, else RFC 6582.
   */
  lossDetected(flight: number, sack: boolean): void;
  /** Another duplicate ACK beyond DupThresh in fast recovery without SACK (RFC 5681 §3.2 step 4). */
  duplicateAck(): void;
  /** A partial ACK of `bytes` in fast recovery without SACK (RFC 6582 §3.2 step 5). */
  partialAck(bytes: number): void;
  /** SND.UNA reached the recovery point with `flight` bytes outstanding: fast recovery is over. */
  recovered(flight: number, sack: boolean): void;
  /** The retransmission timer expired with `flight` bytes outstanding (RFC 5681 §3.1). */
  timedOut(flight: number): void;
}
