import { ACK, FIN, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSegment } from './segment.js';
import { seqGt, seqLe, seqLt } from '../stack/wire/seq.js';

/**
 * Wireshark's TCP sequence analysis (epan/dissectors/packet-tcp.c, `tcp_analyze_sequence_number`
 * and the lines of `dissect_tcp` around it), re-implemented so that every per-frame flag equals
 * what tshark 4.0 sets with `-o tcp.desegment_tcp_streams:FALSE`. Users check us with tshark, so
 * the rules — including their quirks — are Wireshark's, not ours. The order of the checks matters
 * and is Wireshark's order; the comments name the rule each block is.
 */

/** Analysis flags, one bit per `tcp.analysis.*` condition (the TCP_A_* values of packet-tcp.c). */
export const A_RETRANSMISSION = 0x0001;
export const A_LOST_SEGMENT = 0x0002;
export const A_ACK_LOST_SEGMENT = 0x0004;
export const A_KEEP_ALIVE = 0x0008;
export const A_DUPLICATE_ACK = 0x0010;
export const A_ZERO_WINDOW = 0x0020;
export const A_ZERO_WINDOW_PROBE = 0x0040;
export const A_ZERO_WINDOW_PROBE_ACK = 0x0080;
export const A_KEEP_ALIVE_ACK = 0x0100;
export const A_OUT_OF_ORDER = 0x0200;
export const A_FAST_RETRANSMISSION = 0x0400;
export const A_WINDOW_UPDATE = 0x0800;
export const A_WINDOW_FULL = 0x1000;
export const A_REUSED_PORTS = 0x2000;
export const A_SPURIOUS_RETRANSMISSION = 0x4000;

/** Frames that tshark's `tcp.analysis.retransmission` matches: the printer adds the generic item to all three. */
export const A_ANY_RETRANSMISSION = A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION;

/** Wireshark keeps at most this many unacknowledged segments per direction (TCP_MAX_UNACKED_SEGMENTS). */
export const MAX_UNACKED_SEGMENTS = 10_000;

/** Numbers per unacknowledged segment: seq, nextseq, time (uint32 values are exact in a double). */
const UNACKED_STRIDE = 3;
const FAST_RETRANSMISSION_WINDOW_NS = 20_000_000;
const DEFAULT_OUT_OF_ORDER_NS = 3_000_000;

/**
 * `now - then < limit` as packet-tcp.c computes it: both sides are unsigned 64-bit nanoseconds,
 * so a negative difference (timestamps going backwards) or a negative limit (a negative iRTT)
 * wraps to a huge number. Compared here as the two's-complement values would be.
 */
function elapsedBelow(now: number, then: number, limit: number): boolean {
  const d = now - then;
  return d < 0 === limit < 0 ? d < limit : d >= 0;
}

/** One direction of a conversation: Wireshark's `tcp_flow_t` plus its `tcp_analyze_seq_flow_info_t`. */
export class DirectionAnalysis {
  baseSeqSet = false;
  baseSeq = 0;
  /** Highest seq+len(+SYN/FIN) seen; 0 means unknown (Wireshark's own convention, wrap included). */
  nextseq = 0;
  nextseqTimeNs = 0;
  maxseqtobeacked = 0;
  lastack = 0;
  lastackTimeNs = 0;
  /** Raw window of the last segment; Wireshark starts it at G_MAXUINT32. */
  window = 0xffffffff;
  /** -1 unknown, -2 no scaling, 0..14 the shift. */
  winScale = -1;
  isFirstAck = false;
  /** Duplicate ACKs sent in this direction since the ACK number last changed; -1 after an ACKed-unseen report. */
  dupacknum = 0;
  lastnondupack = 0;
  lastsegmentflags = 0;

  /**
   * Unacknowledged segments sent in this direction, oldest first, as a ring (for ack RTT and the
   * cap): UNACKED_STRIDE numbers each (seq, nextseq, time). One typed array per direction keeps a
   * new connection's allocations few.
   */
  private unacked = new Float64Array(8 * UNACKED_STRIDE);
  /** Ring capacity in segments (a power of two). */
  private unCap = 8;
  private unHead = 0;
  unackedCount = 0;

  pushUnacked(seq: number, nextseq: number, tNs: number): void {
    if (this.unackedCount === this.unCap) this.growUnacked();
    const i = ((this.unHead + this.unackedCount) & (this.unCap - 1)) * UNACKED_STRIDE;
    this.unacked[i] = seq;
    this.unacked[i + 1] = nextseq;
    this.unacked[i + 2] = tNs;
    this.unackedCount++;
  }

  /**
   * Drops the segments `ack` covers and returns the RTT (ns) of the oldest segment it acknowledges
   * exactly (Wireshark's `tcp.analysis.ack_rtt`), or -1. Walks from the oldest entry and stops at the
   * first one not yet covered: segments are stored in sending order, so this is Wireshark's full scan
   * except for a retransmission stored behind newer data, which is dropped once the walk reaches it.
   */
  ackUnacked(ack: number, tNs: number): number {
    let rtt = -1;
    const u = this.unacked;
    const mask = this.unCap - 1;
    while (this.unackedCount > 0) {
      const i = this.unHead * UNACKED_STRIDE;
      const next = u[i + 1]!;
      if (ack === next) {
        if (rtt < 0) rtt = tNs - u[i + 2]!;
      } else if (seqGt(ack, u[i]!) && seqLe(ack, next)) {
        u[i] = ack;
        break;
      } else if (seqGt(next, ack)) {
        break;
      }
      this.unHead = (this.unHead + 1) & mask;
      this.unackedCount--;
    }
    return rtt;
  }

  private growUnacked(): void {
    const grown = new Float64Array(this.unCap * 2 * UNACKED_STRIDE);
    const mask = this.unCap - 1;
    for (let k = 0; k < this.unackedCount; k++) {
      const from = ((this.unHead + k) & mask) * UNACKED_STRIDE;
      grown.set(this.unacked.subarray(from, from + UNACKED_STRIDE), k * UNACKED_STRIDE);
    }
    this.unacked = grown;
    this.unCap *= 2;
    this.unHead = 0;
  }
}

/**
 * One Wireshark TCP conversation: two directions plus the conversation-wide handshake timing.
 * `sides[0]` is Wireshark's flow1 (the greater address, or the greater port when the addresses are
 * equal); a segment's forward direction is chosen with `sideOf`.
 */
export class ConversationAnalysis {
  readonly sides: [DirectionAnalysis, DirectionAnalysis] = [new DirectionAnalysis(), new DirectionAnalysis()];
  /** Time of the most recent SYN without ACK (`ts_mru_syn`), valid once `mruSynSeen`. */
  mruSynNs = 0;
  mruSynSeen = false;
  /** `tcp.analysis.initial_rtt` in ns; 0 = not known yet (Wireshark tests for a zero nstime). */
  irttNs = 0;
  /** Duplicate-ACK number of the last analysed segment (`tcp.analysis.duplicate_ack_num`), 0 if none. */
  lastDupAckNum = 0;
  /** ACK RTT produced by the last analysed segment (ns), or -1. */
  lastAckRttNs = -1;

  /**
   * Analyses one segment sent by side `from` (0 or 1) and returns its analysis flags. `preFlags`
   * carries what the conversation lookup decided before the analysis (reused ports).
   */
  analyze(s: TcpSegment, from: 0 | 1, preFlags: number): number {
    const fwd = this.sides[from];
    const rev = this.sides[from ^ 1]!;
    const { seq, ack, len, flags: fl, window: win, tNs: t } = s;
    const sfr = fl & (SYN | FIN | RST);
    let f = preFlags;
    this.lastDupAckNum = 0;

    if (!fwd.baseSeqSet) {
      fwd.baseSeq = fl & SYN ? seq : (seq - 1) >>> 0;
      fwd.baseSeqSet = true;
    }
    if (!rev.baseSeqSet && fl & ACK) {
      rev.baseSeq = (ack - 1) >>> 0;
      rev.baseSeqSet = true;
    }

    classify: {
      // ZERO WINDOW PROBE: one byte at the next expected seq while the peer's window is 0.
      if (len === 1 && seq === fwd.nextseq && rev.window === 0) {
        f |= A_ZERO_WINDOW_PROBE;
        break classify;
      }
      // ZERO WINDOW: window 0 on a segment without SYN/FIN/RST.
      if (win === 0 && sfr === 0) f |= A_ZERO_WINDOW;
      // LOST SEGMENT: starts beyond the highest seq seen, so something before it was not captured.
      if (fwd.nextseq !== 0 && seqGt(seq, fwd.nextseq) && (fl & RST) === 0) f |= A_LOST_SEGMENT;
      // KEEP ALIVE: 0 or 1 byte starting one byte before the next expected seq.
      if ((len === 0 || len === 1) && seq === ((fwd.nextseq - 1) >>> 0) && sfr === 0) f |= A_KEEP_ALIVE;
      const sameSeqAck = len === 0 && seq === fwd.nextseq && ack === fwd.lastack && sfr === 0;
      // WINDOW UPDATE: empty segment repeating seq/ack with a new non-zero window.
      if (sameSeqAck && win !== 0 && win !== fwd.window) f |= A_WINDOW_UPDATE;
      // WINDOW FULL: data ending exactly at the right edge of the peer's advertised window.
      if (len > 0 && rev.winScale !== -1 && sfr === 0) {
        const shift = rev.isFirstAck ? 0 : rev.winScale === -2 ? 0 : rev.winScale;
        if (((seq + len) >>> 0) === ((rev.lastack + ((rev.window << shift) >>> 0)) >>> 0)) f |= A_WINDOW_FULL;
      }
      // KEEP ALIVE ACK: repeats the last ACK right after the peer's keep-alive.
      if (sameSeqAck && win !== 0 && win === fwd.window && rev.lastsegmentflags & A_KEEP_ALIVE) {
        f |= A_KEEP_ALIVE_ACK;
        break classify;
      }
      // ZERO WINDOW PROBE ACK: repeats the last ACK and the zero window right after the peer's probe.
      if (sameSeqAck && win === 0 && win === fwd.window && rev.lastsegmentflags & A_ZERO_WINDOW_PROBE) {
        f |= A_ZERO_WINDOW_PROBE_ACK;
        break classify;
      }
      // DUPLICATE ACK: empty segment repeating seq, ack and window.
      if (sameSeqAck && win !== 0 && win === fwd.window) {
        fwd.dupacknum = fwd.dupacknum === -1 ? 1 : fwd.dupacknum + 1;
        f |= A_DUPLICATE_ACK;
        this.lastDupAckNum = fwd.dupacknum;
      }
    }

    if (ack !== fwd.lastack) {
      fwd.lastnondupack = s.frame;
      fwd.dupacknum = 0;
    }

    // ACKED UNSEEN SEGMENT: acknowledges beyond what was seen of the peer's data.
    if (rev.maxseqtobeacked !== 0 && seqGt(ack, rev.maxseqtobeacked) && fl & ACK) {
      if (seqLt(rev.maxseqtobeacked, rev.nextseq)) {
        rev.maxseqtobeacked = rev.nextseq;
        f |= A_ACK_LOST_SEGMENT;
      } else {
        // Report one hole once, until the peer sends a duplicate ACK again.
        if (rev.dupacknum === 0) f |= A_ACK_LOST_SEGMENT;
        rev.dupacknum = -1;
      }
    }

    // RETRANSMISSION family: data, SYN or FIN that does not advance the sequence space.
    const synFin = fl & (SYN | FIN) ? 1 : 0;
    if ((len > 0 || synFin) && (f & A_KEEP_ALIVE) === 0) {
      let notAdvanced = fwd.nextseq !== 0 && seqLt(seq, fwd.nextseq);
      // New data right after a zero-window-probe byte the receiver dropped is not a retransmission.
      if (len > 1 && ((fwd.nextseq - 1) >>> 0) === seq) notAdvanced = false;
      if (len > 0 && rev.lastack !== 0 && seqLe((seq + len) >>> 0, rev.lastack)) {
        f |= A_SPURIOUS_RETRANSMISSION;
      } else if (
        notAdvanced &&
        // dupacknum is unsigned in Wireshark 4.0: the -1 left by an ACKed-unseen report counts as >= 2.
        (rev.dupacknum >>> 0) >= 2 &&
        rev.lastack === seq &&
        elapsedBelow(t, rev.lastackTimeNs, FAST_RETRANSMISSION_WINDOW_NS)
      ) {
        f |= A_FAST_RETRANSMISSION;
      } else if (
        notAdvanced &&
        elapsedBelow(t, fwd.nextseqTimeNs, this.outOfOrderThresholdNs()) &&
        fwd.nextseq !== ((seq + len + synFin) >>> 0)
      ) {
        f |= A_OUT_OF_ORDER;
      } else if (notAdvanced) {
        f |= A_RETRANSMISSION;
      }
    }

    // State update, for every segment.
    let nextseq = (seq + len) >>> 0;
    if ((len > 0 || synFin) && fwd.unackedCount < MAX_UNACKED_SEGMENTS) {
      // Wireshark adds the SYN/FIN octet only when it stores the segment (a quirk kept on purpose).
      nextseq = (nextseq + synFin) >>> 0;
      fwd.pushUnacked(seq, nextseq, t);
    }
    const probe = (f & A_ZERO_WINDOW_PROBE) !== 0;
    if ((seqGt(nextseq, fwd.nextseq) || fwd.nextseq === 0) && !probe) {
      fwd.nextseq = nextseq;
      fwd.nextseqTimeNs = t;
    }
    if ((seq === fwd.maxseqtobeacked || fwd.maxseqtobeacked === 0) && !probe) {
      fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = win;
    fwd.lastack = ack;
    fwd.lastackTimeNs = t;
    fwd.lastsegmentflags = f;
    this.lastAckRttNs = rev.ackUnacked(ack, t);
    return f;
  }

  /**
   * What `dissect_tcp` does after the analysis of the same segment: handshake timing, the
   * first-ACK marker and window scaling. Skipped for a data offset below 20 bytes, where
   * Wireshark stops dissecting right after the analysis.
   */
  afterAnalysis(s: TcpSegment, from: 0 | 1): void {
    if (s.hdrLen < 20) return;
    const fwd = this.sides[from];
    const rev = this.sides[from ^ 1]!;
    const fl = s.flags;
    if (fl & SYN) {
      if ((fl & ACK) === 0) {
        this.mruSynNs = s.tNs;
        this.mruSynSeen = true;
      }
      fwd.isFirstAck = true;
    }
    if ((fl & (SYN | ACK)) === ACK) {
      if (this.mruSynSeen && this.irttNs === 0) this.irttNs = s.tNs - this.mruSynNs;
      fwd.isFirstAck = false;
    }
    if (s.wscale >= 0) fwd.winScale = s.wscale;
    if (fl & SYN) {
      // verify_tcp_window_scaling: scaling is used only when both SYNs carry the option.
      if (fwd.winScale === -1) {
        fwd.winScale = -2;
        rev.winScale = -2;
      } else if (fl & ACK && rev.winScale === -2) {
        fwd.winScale = -2;
      }
    }
  }

  private outOfOrderThresholdNs(): number {
    return this.irttNs === 0 ? DEFAULT_OUT_OF_ORDER_NS : this.irttNs;
  }
}
