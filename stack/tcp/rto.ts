/**
 * The retransmission timeout estimator of RFC 6298. Times in milliseconds.
 * Karn's rule (§3) is the caller's part: it only feeds samples from segments that were never
 * retransmitted.
 */
export interface RtoLimits {
  /** Initial RTO before any sample (§2.1: 1 s). */
  initial: number;
  /** Lower bound (§2.4: 1 s; tests lower it). */
  min: number;
  /** Upper bound (§2.5: at least 60 s). */
  max: number;
  /** Clock granularity G (§2.3). */
  granularity: number;
}

export class RtoEstimator {
  srtt: number | undefined;
  rttvar = 0;
  private base: number;
  /** Exponent of the current back-off (§5.5: ×2 per expiry). */
  backoffs = 0;

  constructor(private readonly limits: RtoLimits) {
    this.base = limits.initial;
  }

  /** The timeout to arm now, back-off included. */
  get rto(): number {
    return Math.min(this.limits.max, this.base * 2 ** this.backoffs);
  }

  /** §2.2 and §2.3: feed one round-trip measurement R. */
  sample(r: number): void {
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    const rto = this.srtt + Math.max(this.limits.granularity, 4 * this.rttvar);
    this.base = Math.min(this.limits.max, Math.max(this.limits.min, rto));
    this.backoffs = 0;
  }

  /** §5.5: the timer expired. */
  backoff(): void {
    if (this.rto < this.limits.max) this.backoffs++;
  }

  /** New data was acknowledged: the back-off ends (the RTO is recomputed from SRTT/RTTVAR). */
  resetBackoff(): void {
    this.backoffs = 0;
  }

  /**
   * §5.7: if the SYN (or SYN,ACK) timed out and no sample was taken, the RTO for data is 3 s —
   * three times the §2.1 initial value, scaled along when a test lowers the initial RTO.
   */
  synTimedOut(): void {
    this.backoffs = 0;
    if (this.srtt === undefined) this.base = Math.min(this.limits.max, Math.max(this.base, 3 * this.limits.initial));
  }
}
