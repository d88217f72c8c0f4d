import { DUP_THRESH, type CongestionController } from './controller.js';

/*
 * NewReno: RFC 5681's slow start and congestion avoidance (§3.1) with fast retransmit and fast
 * recovery (§3.2); in recovery without SACK the window follows RFC 6582 §3.2 (inflated by each
 * further duplicate ACK, deflated by partial ACKs), with SACK it follows RFC 6675 §5 (cwnd =
 * ssthresh for the whole recovery; pipe, counted by loss recovery, limits the sending).
 */

/** RFC 5681 §3.1: IW = min(4·SMSS, max(2·SMSS, 4380)). */
function initialWindow(smss: number): number {
  return Math.min(4 * smss, Math.max(2 * smss, 4380));
}

export class NewReno implements CongestionController {
  cwnd: number;
  private ssthresh = 0x7fffffff;
  private smss: number;

  constructor(smss: number) {
    this.smss = smss;
    this.cwnd = initialWindow(smss);
  }

  start(smss: number): void {
    this.smss = smss;
    this.cwnd = initialWindow(smss);
  }

  acked(bytes: number): void {
    if (this.cwnd < this.ssthresh) this.cwnd += Math.min(bytes, this.smss);
    else this.cwnd += Math.max(1, Math.floor((this.smss * this.smss) / this.cwnd));
  }

  lossDetected(flight: number, sack: boolean): void {
    this.ssthresh = this.halved(flight);
    // RFC 6675 §5 step 4.2; RFC 5681 §3.2 step 3 (the DupThresh segments that left the network).
    this.cwnd = sack ? this.ssthresh : this.ssthresh + DUP_THRESH * this.smss;
  }

  duplicateAck(): void {
    this.cwnd += this.smss;
  }

  partialAck(bytes: number): void {
    this.cwnd = Math.max(this.smss, this.cwnd - bytes + this.smss);
  }

  recovered(flight: number, sack: boolean): void {
    // RFC 6675 §5 leaves cwnd at ssthresh; RFC 6582 §3.2 step 6 for NewReno.
    this.cwnd = sack ? this.ssthresh : Math.min(this.ssthresh, Math.max(flight, this.smss) + this.smss);
  }

  timedOut(flight: number): void {
    // RFC 5681 §3.1 eq. (4) and the loss window.
    this.ssthresh = this.halved(flight);
    this.cwnd = this.smss;
  }

  /** RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2·SMSS). */
  private halved(flight: number): number {
    return Math.max(Math.floor(flight / 2), 2 * this.smss);
  }
}
