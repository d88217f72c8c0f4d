import type { Clock } from '../clock.js';
import { seqDiff, seqGe, seqLe, seqLt } from '../wire/seq.js';
import { tcpOptionsTimestamps, type TcpOption } from '../wire/tcp.js';
import type { RtoEstimator } from './rto.js';

/*
 * RFC 7323 timestamps of one connection: TSval (the clock in milliseconds plus a per-peer
 * offset, §5.4), TS.Recent and Last.ACK.sent (§4.3), PAWS (§5.3 R1, with §5.5's 24-day limit);
 * and the RTT samples fed to the RTO estimator — from the echoed TSval, one per flight (§4.1,
 * Appendix G), or without timestamps from one timed segment per flight, skipping retransmitted
 * ones (RFC 6298 §3, Karn's rule).
 */

/** RFC 7323 §5.5: TS.Recent older than 24 days is no longer valid for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600_000;

export type TimestampsOption = { tsval: number; tsecr: number };

export class Timestamps {
  /** Before the handshake completes, whether we offer timestamps; after, whether both sides did (§3.2). */
  on: boolean;
  /** TS.Recent. */
  recent = 0;
  /** When TS.Recent was set (§5.5). */
  private recentAt = 0;
  /** Last.ACK.sent: the ACK field of the last segment we sent. */
  lastAckSent = 0;
  /** TSecr of the segment being processed (0 when absent). */
  private echoed = 0;
  /** The RTT sample waits for SND.UNA to reach this (one sample per flight). */
  private rttSeq = 0;
  /** When the timed segment went out; undefined when a retransmission voided it (Karn). */
  private rttStart: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly rto: RtoEstimator,
    /** Samples above this are discarded (an echo of a TSval we never sent). */
    private readonly maxRtt: number,
    offered: boolean,
    private readonly offset: number,
  ) {
    this.on = offered;
  }

  /** TSval now (§5.4). */
  tsval(): number {
    return (Math.floor(this.clock.now()) + this.offset) >>> 0;
  }

  /** The peer's SYN (or SYN,ACK): timestamps stay on only if it carries them too, and TS.Recent starts from it. */
  negotiate(options: readonly TcpOption[]): void {
    const ts = this.read(options);
    this.on = ts !== undefined;
    if (ts) this.setRecent(ts.tsval);
  }

  /** The segment's Timestamps option; undefined when timestamps are off or it carries none. */
  read(options: readonly TcpOption[]): TimestampsOption | undefined {
    return this.on ? tcpOptionsTimestamps(options) : undefined;
  }

  /** The Timestamps option of the segment about to be processed (see `read`); its TSecr is kept for `acked`. */
  arriving(options: readonly TcpOption[]): TimestampsOption | undefined {
    const ts = this.read(options);
    this.echoed = ts ? ts.tsecr : 0;
    return ts;
  }

  /** §5.3 R1: an older TSval marks an old duplicate (unless TS.Recent has idled past §5.5's limit). */
  pawsRejects(tsval: number): boolean {
    return seqLt(tsval, this.recent) && this.clock.now() - this.recentAt < PAWS_IDLE_MS;
  }

  /** §4.3: TS.Recent follows the acceptable segments that reach the left window edge. */
  accepted(tsval: number, seq: number): void {
    if (seqGe(tsval, this.recent) && seqLe(seq, this.lastAckSent)) this.setRecent(tsval);
  }

  /** The first SYN (or SYN,ACK) went out: it is the first timed segment, ending at `end`. */
  synSent(end: number): void {
    this.rttSeq = end;
    this.rttStart = this.clock.now();
  }

  /** New data ending at `end` went out for the first time: it is timed unless a timed segment is in flight. */
  sentNew(end: number): void {
    if (this.rttStart !== undefined) return;
    this.rttSeq = end;
    this.rttStart = this.clock.now();
  }

  /** Something was retransmitted (or the retransmission timer expired): the timed segment gives no sample (Karn). */
  retransmitted(): void {
    this.rttStart = undefined;
  }

  /** SND.UNA advanced to `ack` with SND.MAX at `sndMax`: feed the RTO estimator one sample per flight. */
  acked(ack: number, sndMax: number): void {
    if (this.on) {
      // §4.1: RTTM from the echoed timestamp; it holds for retransmitted segments too, so
      // Karn's rule is not needed.
      if (this.echoed !== 0 && seqGe(ack, this.rttSeq)) {
        const r = seqDiff(this.tsval(), this.echoed);
        if (r >= 0 && r <= this.maxRtt) this.rto.sample(r);
        this.rttSeq = sndMax;
      }
    } else if (this.rttStart !== undefined && seqGe(ack, this.rttSeq)) {
      this.rto.sample(this.clock.now() - this.rttStart);
      this.rttStart = undefined;
    }
  }

  private setRecent(tsval: number): void {
    this.recent = tsval;
    this.recentAt = this.clock.now();
  }
}
