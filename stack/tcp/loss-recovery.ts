import { seqAdd, seqDiff, seqGe, seqGt, seqLt } from '../wire/seq.js';
import { tcpOptionsSackBlocks, type TcpOption } from '../wire/tcp.js';
import { DUP_THRESH, type CongestionController } from './congestion/controller.js';
import { SackScoreboard } from './scoreboard.js';
import type { TcpStats } from './stats.js';

/*
 * The data sender's loss recovery: duplicate ACKs and fast retransmit (RFC 5681 §3.2), recovery
 * by partial ACKs without SACK (RFC 6582) or by the SACK scoreboard (RFC 6675: IsLost, pipe,
 * NextSeg), early retransmit for small windows (RFC 5827), limited transmit (RFC 3042), lost
 * retransmissions found from later SACKs (the idea of RACK, RFC 8985), and when a tail loss
 * probe is due (RFC 8985 §7.2). It chooses what goes out again and the connection sends it;
 * the congestion window is the controller's, told of each recovery event from here.
 */

/** RFC 8985 §7.2 WCDelAckT: what a lone segment's ACK may wait at a delayed-ACK receiver. */
const WORST_DELAYED_ACK_MS = 200;
/** Floor of the probe timeout: below it timer and scheduling jitter would fire probes for nothing. */
const MIN_PTO_MS = 10;

/** What loss recovery reads of its connection's sender (RFC 9293 §3.3.1 send sequence space). */
export interface SendState {
  readonly iss: number;
  readonly sndUna: number;
  readonly sndNxt: number;
  /** The highest sequence number sent (SND.NXT goes back to SND.UNA after a timeout). */
  readonly sndMax: number;
  readonly sndWnd: number;
  readonly sndMss: number;
  /** Both sides agreed on SACK (RFC 2018). */
  readonly sackOk: boolean;
  /** Sequence number just past the data the application queued. */
  readonly dataEnd: number;
  /** Largest payload for the next segment (the MSS less its options). */
  readonly segMax: number;
}

export class LossRecovery {
  /** What the peer SACKed (RFC 6675 §3). */
  readonly scoreboard = new SackScoreboard();
  /** Duplicate ACKs since SND.UNA last advanced. */
  private dupAcks = 0;
  private inRecovery = false;
  /** Recovery follows RFC 6675 (SACK) rather than RFC 6582. */
  private sackRecovery = false;
  /**
   * SND.MAX when recovery (or a timeout) began: RFC 6582's "recover" is the highest sequence
   * number sent, one below it, so a new recovery may start once SND.UNA has reached it.
   */
  private recover: number;
  /** RFC 6675 HighRxt: holes below it were retransmitted in this recovery. */
  private highRxt = 0;
  /** Retransmissions of this recovery as flat [seq, SND.MAX when sent] pairs (lost-retransmission check). */
  private readonly rtxMarks: number[] = [];
  /** A tail loss probe went out and no ACK has advanced SND.UNA since (one probe per tail). */
  private probed = false;

  constructor(
    private readonly snd: SendState,
    private readonly cc: CongestionController,
    private readonly stats: TcpStats,
  ) {
    this.recover = snd.iss;
  }

  /** In recovery by RFC 6675: holes go out as pipe allows (see `nextSeg`). */
  get sackRecovering(): boolean {
    return this.sackRecovery;
  }

  /** Adds the segment's SACK blocks to the scoreboard (above `una`); whether any reported new bytes. */
  sackArrived(options: readonly TcpOption[], una: number): boolean {
    const blocks = tcpOptionsSackBlocks(options);
    if (!blocks) return false;
    let news = false;
    for (const [left, right] of blocks) if (this.scoreboard.add(left, right, una, this.snd.sndMax)) news = true;
    return news;
  }

  /** A duplicate ACK (RFC 5681 §2; with SACK, RFC 6675 §2). Returns whether fast recovery starts now. */
  duplicateAck(): boolean {
    this.dupAcks++;
    if (!this.inRecovery && this.dupAcks >= this.dupThresh() && seqGe(this.snd.sndUna, this.recover)) return true;
    if (this.dupAcks > DUP_THRESH && this.inRecovery && !this.sackRecovery) this.cc.duplicateAck();
    return false;
  }

  /** RFC 6675 §5 IsLost(HighACK + 1): enough SACKed above SND.UNA starts recovery without waiting for the duplicates. */
  sackShowsLoss(): boolean {
    const s = this.snd;
    return s.sackOk && !this.inRecovery && seqGe(s.sndUna, this.recover) && this.scoreboard.sacked > (this.dupThresh() - 1) * s.sndMss;
  }

  /**
   * Fast retransmit (RFC 5681 §3.2 step 2): recovery begins. With SACK the caller retransmits
   * the hole at SND.UNA (RFC 6675 §5 step 4.3, NextSeg with `first`), without it the first
   * unacknowledged segment (RFC 6582 §3.2 step 2).
   */
  begin(): void {
    const s = this.snd;
    this.cc.lossDetected(this.flightSize(), s.sackOk);
    this.recover = s.sndMax;
    this.inRecovery = true;
    this.stats.fastRetransmits++;
    if (s.sackOk) {
      this.sackRecovery = true;
      this.highRxt = s.sndUna;
      this.rtxMarks.length = 0;
    }
  }

  /**
   * SND.UNA advanced to `ack`, `bytes` of it new (`synAcked`: our SYN was among them). Returns
   * true for a partial ACK in recovery without SACK: the caller retransmits the next segment
   * (RFC 6582 §3.2 step 5).
   */
  acked(ack: number, bytes: number, synAcked: boolean): boolean {
    this.scoreboard.advance(ack);
    let partial = false;
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        this.inRecovery = false;
        this.cc.recovered(this.flightSize(), this.sackRecovery);
        this.sackRecovery = false;
        this.rtxMarks.length = 0;
      } else if (this.sackRecovery) {
        // RFC 6675: a partial ACK changes nothing but the scoreboard; the sender sends what pipe allows.
        let drop = 0;
        while (drop < this.rtxMarks.length && seqLt(this.rtxMarks[drop]!, ack)) drop += 2;
        if (drop > 0) this.rtxMarks.splice(0, drop);
      } else {
        this.cc.partialAck(bytes);
        partial = true;
      }
    } else if (!synAcked) {
      // The ACK of our SYN acknowledges no data: the window stays at IW (RFC 5681 §3.1).
      this.cc.acked(bytes);
    }
    this.dupAcks = 0;
    this.probed = false;
    return partial;
  }

  /** The retransmission timer expired (`again`: the previous one did too); go-back-N follows. */
  timedOut(again: boolean): void {
    this.cc.timedOut(this.flightSize());
    this.inRecovery = false;
    this.sackRecovery = false;
    this.rtxMarks.length = 0;
    // RFC 6675 §5.1: the go-back-N that follows skips what was SACKed. A second timeout in a
    // row forgets the SACKs instead (RFC 2018 §8: the receiver may have reneged on them).
    if (again) this.scoreboard.clear();
    this.dupAcks = 0;
    this.recover = this.snd.sndMax;
  }

  /**
   * Bytes of new data the windows let out now. RFC 3042 limited transmit: the first two
   * duplicate ACKs each let one more segment out beyond cwnd (cwnd itself is unchanged), so that
   * a small window still draws enough duplicates for a fast retransmit.
   */
  newDataAllowed(): number {
    const s = this.snd;
    const unsent = seqDiff(s.dataEnd, s.sndNxt);
    if (unsent <= 0) return 0;
    const inFlight = seqDiff(s.sndNxt, s.sndUna);
    const limited = this.inRecovery ? 0 : Math.min(this.dupAcks, DUP_THRESH - 1) * s.sndMss;
    // cwnd counts whole segments here (as Linux's does): a fraction left by the byte-counted
    // increase would otherwise be held back by SWS avoidance and strand the last segment.
    const cwnd = Math.ceil(this.cc.cwnd / s.sndMss) * s.sndMss;
    return Math.min(unsent, s.sndWnd - inFlight, cwnd + limited - this.pipe());
  }

  /**
   * RFC 6675 NextSeg rule 1: the first hole above HighRxt that IsLost (DupThresh segments'
   * worth SACKed above it) — or, `first`, the hole at SND.UNA whatever is SACKed (step 4.3) —
   * as [start, end), at most `mss` bytes of queued data. Window limits are the caller's.
   */
  nextSeg(mss: number, first: boolean): [number, number] | undefined {
    const s = this.snd;
    if (seqLt(this.highRxt, s.sndUna)) this.highRxt = s.sndUna;
    const hole: [number, number] | undefined = this.scoreboard.nextHole(this.highRxt, mss) ?? (first ? [s.sndUna, seqAdd(s.sndUna, mss)] : undefined);
    if (!hole) return undefined;
    const dataEnd = s.dataEnd;
    if (seqLt(dataEnd, hole[1])) hole[1] = dataEnd;
    if (!seqLt(hole[0], hole[1]) || (!first && this.scoreboard.sackedAbove(hole[0]) <= (this.dupThresh() - 1) * s.sndMss)) return undefined;
    return hole;
  }

  /** The hole [start, end) from `nextSeg` was sent again. */
  holeRetransmitted(start: number, end: number): void {
    this.rtxMarks.push(start, this.snd.sndMax);
    this.highRxt = end;
  }

  /**
   * A retransmission is lost too when data sent after it has been SACKed while its hole is
   * still open (the idea of RACK, RFC 8985, on sequence numbers, without a reordering window):
   * its hole becomes NextSeg's again instead of waiting for the retransmission timer.
   */
  detectLostRetransmission(): void {
    const m = this.rtxMarks;
    const una = this.snd.sndUna;
    const fack = this.scoreboard.highest(una);
    for (let i = 0; i < m.length; i += 2) {
      const seq = m[i]!;
      if (seqLt(seq, una) || this.scoreboard.isSacked(seq)) continue;
      if (seqGt(fack, m[i + 1]!)) {
        this.stats.lostRetransmits++;
        this.highRxt = seq;
        m.length = i;
      }
      return;
    }
  }

  /** RFC 6675 SetPipe, counted the FACK way: bytes past the highest SACK plus retransmitted holes. */
  pipe(): number {
    const s = this.snd;
    if (!this.sackRecovery) return seqDiff(s.sndNxt, s.sndUna);
    const fack = this.scoreboard.highest(s.sndUna);
    return seqDiff(s.sndMax, fack) + this.scoreboard.holeBytes(s.sndUna, seqLt(this.highRxt, fack) ? this.highRxt : fack);
  }

  /**
   * RFC 8985 §7.2: with SACK, data outstanding and an RTT measured (`srtt`), a probe is due
   * PTO = 2·SRTT after the last send (plus a delayed ACK's worth when one segment is in
   * flight). Unlike RFC 8985 it is due in recovery too: a lost retransmission with nothing sent
   * after it is otherwise found only by the retransmission timer. Undefined when none is due.
   */
  probeTimeout(srtt: number | undefined): number | undefined {
    const s = this.snd;
    if (!s.sackOk || this.probed || srtt === undefined || s.sndUna === s.iss || s.sndUna === s.sndMax) return undefined;
    let pto = Math.max(MIN_PTO_MS, 2 * srtt);
    if (this.flightSize() <= s.sndMss) pto += WORST_DELAYED_ACK_MS;
    return pto;
  }

  /** The probe timeout expired: whether a probe may go (one per tail, RFC 8985 §7.3). */
  probe(): boolean {
    if (this.probed) return false;
    this.probed = true;
    this.stats.tailLossProbes++;
    return true;
  }

  /**
   * Duplicates (or SACKed segments) that signal a loss: DupThresh, or with fewer than four
   * segments outstanding and nothing new allowed out, one fewer than are outstanding (RFC 5827
   * early retransmit) — a small window would otherwise never see three and wait for the timer.
   */
  private dupThresh(): number {
    const s = this.snd;
    const outstanding = Math.ceil(this.flightSize() / s.sndMss);
    if (outstanding >= DUP_THRESH + 1) return DUP_THRESH;
    // A segment can go out when the windows allow a full one or all that is left (the sender's SWS rule).
    const allowed = this.newDataAllowed();
    if (allowed > 0 && (allowed >= s.segMax || allowed >= seqDiff(s.dataEnd, s.sndNxt))) return DUP_THRESH;
    return Math.max(1, outstanding - 1);
  }

  /** FlightSize (RFC 5681 §2). */
  private flightSize(): number {
    return seqDiff(this.snd.sndMax, this.snd.sndUna);
  }
}
