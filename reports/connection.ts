import { ACK, FIN, RST, SYN } from '../stack/wire/tcp.js';
import type { TcpSegment } from './segment.js';
import { sideFrame, TRACE_STRIDE, type TraceArena } from './trace-arena.js';
import { seqGe, seqGt, seqLe, seqLt } from '../stack/wire/seq.js';
import {
  A_ACK_LOST_SEGMENT,
  A_ANY_RETRANSMISSION,
  A_DUPLICATE_ACK,
  A_FAST_RETRANSMISSION,
  A_KEEP_ALIVE,
  A_KEEP_ALIVE_ACK,
  A_LOST_SEGMENT,
  A_OUT_OF_ORDER,
  A_REUSED_PORTS,
  A_SPURIOUS_RETRANSMISSION,
  A_WINDOW_FULL,
  A_WINDOW_UPDATE,
  A_ZERO_WINDOW,
  A_ZERO_WINDOW_PROBE,
  A_ZERO_WINDOW_PROBE_ACK,
  ConversationAnalysis,
} from './tcp-analysis.js';

/** Most distinct retransmitted sequence numbers remembered per direction for storm counting. */
const MAX_STORM_ENTRIES = 64;
/** Frames kept per finding-relevant list (storm, after-close, dup-ACK-after-FIN). */
const MAX_FRAMES_KEPT = 32;
/** ACK advances remembered per side, to find the one that covered a retransmission. */
const MAX_ACK_ADVANCES = 16;
/**
 * Below this, a retransmission captured right after the ACK that covered it may have crossed it
 * (Wireshark's out-of-order threshold without an iRTT); a longer handshake round trip widens it.
 */
const MIN_CROSSING_NS = 3e6;
/** RFC 7323 §5.4 recommends a TSval clock of 1 ms to 1 s; Linux (and our stack) tick every millisecond. */
const TSVAL_TICK_NS = 1e6;
/** Anomalies kept per connection; the rest are counted. */
export const MAX_ANOMALIES = 200;
/** Trace points kept per connection: the first TRACE_HEAD and the last TRACE_TAIL. */
const TRACE_HEAD = 600;
const TRACE_TAIL = 400;

/** Wireshark's "Bad TCP" colouring rule: every flag except window update and keep-alive (ACK). */
const ANOMALY_MASK = ~(A_WINDOW_UPDATE | A_KEEP_ALIVE | A_KEEP_ALIVE_ACK | A_REUSED_PORTS);

export const ANALYSIS_NAMES: ReadonlyArray<readonly [number, string]> = [
  [A_SPURIOUS_RETRANSMISSION, 'spurious_retransmission'],
  [A_FAST_RETRANSMISSION, 'fast_retransmission'],
  [A_ANY_RETRANSMISSION, 'retransmission'],
  [A_OUT_OF_ORDER, 'out_of_order'],
  [A_LOST_SEGMENT, 'lost_segment'],
  [A_ACK_LOST_SEGMENT, 'ack_lost_segment'],
  [A_DUPLICATE_ACK, 'duplicate_ack'],
  [A_ZERO_WINDOW, 'zero_window'],
  [A_ZERO_WINDOW_PROBE, 'zero_window_probe'],
  [A_ZERO_WINDOW_PROBE_ACK, 'zero_window_probe_ack'],
  [A_WINDOW_FULL, 'window_full'],
  [A_WINDOW_UPDATE, 'window_update'],
  [A_KEEP_ALIVE, 'keep_alive'],
  [A_KEEP_ALIVE_ACK, 'keep_alive_ack'],
  [A_REUSED_PORTS, 'reused_ports'],
];

/** The most specific tshark name of a segment's analysis flags (spurious before generic retransmission). */
export function analysisName(flags: number): string {
  for (const [bit, name] of ANALYSIS_NAMES) if (flags & bit) return name;
  return '';
}

export interface StormEntry {
  seq: number;
  len: number;
  /** TCP flags of the first retransmission (SYN, SYN/ACK, FIN or data). */
  tcpFlags: number;
  sends: number;
  frames: number[];
  firstNs: number;
  lastNs: number;
}

/** A segment whose ACK field moved this side's acknowledgement forward. */
export interface AckAdvance {
  ack: number;
  /** Its TSval, or -1 without timestamps. */
  tsval: number;
  tNs: number;
}

/** What a retransmission of already-acknowledged sequence space was, by the segments around it. */
export type CoveredRetransmission =
  /** Sent before the covering ACK reached the sender (RFC 6298: its timer fired first): nothing wrong. */
  | 'crossed'
  /** The sender had taken the covering ACK (its TSecr echoes it) and resent anyway. */
  | 'ignored-ack'
  /** The capture saw the ACK and the sender never did: it was lost after the capture point. */
  | 'ack-lost'
  /** A SYN/ACK resent after the handshake's ACK was captured: a listener that missed it. */
  | 'handshake';

export interface StallSpan {
  startNs: number;
  endNs: number;
  startFrame: number;
  endFrame: number;
}

/** A time data stopped moving while some was outstanding: from the last progress to the next. */
export interface StallGap {
  startNs: number;
  endNs: number;
  startFrame: number;
  endFrame: number;
}

/** Gaps kept per direction (the rest are counted). */
const MAX_GAPS_KEPT = 8;

export interface RawAnomaly {
  flags: number;
  frame: number;
  tNs: number;
  side: 0 | 1;
  seq: number;
  len: number;
  dupAckNum: number;
}

/** Everything counted about the segments one side sent. */
export class SideStats {
  pkts = 0;
  pureAcks = 0;
  dataPkts = 0;
  dataBytes = 0;
  uniqueBytes = 0;
  private maxEnd = 0;
  private maxEndSet = false;
  rexmtPkts = 0;
  rexmtBytes = 0;
  fastRexmt = 0;
  spuriousRexmt = 0;
  outOfOrder = 0;
  dupAcks = 0;
  tripleDupAcks = 0;
  lostSegment = 0;
  ackLostSegment = 0;
  zeroWinAdverts = 0;
  zeroWinProbes = 0;
  zeroWinProbeAcks = 0;
  windowFull = 0;
  windowUpdates = 0;
  keepalives = 0;
  keepaliveAcks = 0;
  reusedPorts = 0;
  syn = 0;
  synAck = 0;
  finCount = 0;
  firstFinNs = -1;
  firstFinFrame = 0;
  /** Sequence number just after the first FIN: the peer acknowledges the FIN with this. */
  finEnd = 0;
  finAcked = false;
  finAckedFrame = 0;
  rstCount = 0;
  firstRstNs = -1;
  firstRstFrame = 0;
  firstPayloadNs = -1;
  lastPayloadNs = -1;
  lastPayloadFrame = 0;
  lastNs = -1;
  maxIdleNs = 0;
  ackSeen = false;
  sentDataOrFin = false;
  rttMinNs = Infinity;
  rttMaxNs = 0;
  rttSumNs = 0;
  rttN = 0;
  /** Raw window-zero packets (RST included), for the tcpdump filter `tcp[14:2] = 0`. */
  rawZeroWindow = 0;
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  timestamps = false;
  stallStartNs = -1;
  stallStartFrame = 0;
  longestStall: StallSpan | null = null;
  stallMaxNs = 0;
  stallTotalNs = 0;
  /** Retransmitted segments by sequence number (created at the first retransmission). */
  storms: Map<number, StormEntry> | undefined = undefined;
  /** Retransmissions sent after the connection was closed (see Connection.observe). */
  afterClose: number[] = [];
  afterCloseCount = 0;
  afterCloseFirstNs = -1;
  afterCloseLastNs = -1;
  /**
   * Retransmissions of data or FIN that the captured ACK covered although the sender never took
   * it (its TSecr, or no timestamps at all, says so): the ACK was lost after the capture point.
   */
  ackLostAfterCapture: number[] = [];
  ackLostAfterCaptureCount = 0;
  ackLostFirstNs = -1;
  ackLostLastNs = -1;
  /** Retransmissions that crossed the covering ACK in flight (not findings; counted for the record). */
  crossedRetransmissions = 0;
  /** This side's ACK advances, oldest first (the last MAX_ACK_ADVANCES). */
  readonly ackAdvances: AckAdvance[] = [];
  /** Smallest capture time minus TSval time of this side's segments: its clock as we stamp it. */
  tsOffsetNs = Infinity;
  /** Duplicate ACKs after FIN, each answering a retransmission of already-acknowledged data. */
  dupAckAfterFin: number[] = [];
  dupAckAfterFinCount = 0;
  dupAckAfterFinFirstNs = -1;
  dupAckAfterFinLastNs = -1;
  /** The last segment this side sent retransmitted sequence space the peer had already acknowledged. */
  lastWasCoveredRetransmission = false;
  synAckAfterPeerClose = 0;
  /**
   * Progress of this side's data: the last time a new byte was sent or the peer's ACK advanced
   * over it, and whether data was outstanding then. Gaps between progress while data was
   * outstanding longer than the stall bound are kept (RTO backoff, a lost retransmission).
   */
  progressNs = -1;
  progressFrame = 0;
  highAck = 0;
  highAckSet = false;
  outstanding = false;
  gaps: StallGap[] = [];
  gapCount = 0;
  maxGapNs = 0;

  /** Counts payload bytes beyond the highest sequence number seen so far (tcptrace's unique bytes). */
  countUnique(seq: number, len: number): void {
    const end = (seq + len) >>> 0;
    if (!this.maxEndSet) {
      this.maxEndSet = true;
      this.maxEnd = end;
      this.uniqueBytes += len;
    } else if (seqGt(end, this.maxEnd)) {
      this.uniqueBytes += Math.min(len, (end - this.maxEnd) >>> 0);
      this.maxEnd = end;
    }
  }

  /** Remembers a segment whose ACK field moved forward (or the first ACK). */
  noteAck(ack: number, s: TcpSegment): void {
    const last = this.ackAdvances[this.ackAdvances.length - 1];
    if (last && !seqGt(ack, last.ack)) return;
    if (this.ackAdvances.length >= MAX_ACK_ADVANCES) this.ackAdvances.shift();
    this.ackAdvances.push({ ack, tsval: s.timestamps ? s.tsval : -1, tNs: s.tNs });
  }

  /** The first remembered ACK that acknowledged everything up to `end`. */
  coveringAck(end: number): AckAdvance | undefined {
    return this.ackAdvances.find((a) => seqGe(a.ack, end));
  }

  /**
   * When this side sent the segment, on the capture's clock: its TSval mapped through the least
   * delayed segment seen so far (a frame read late by the capture point shows as capture time
   * ahead of TSval progress). Without timestamps, the capture time itself.
   */
  sentNs(s: TcpSegment): number {
    if (!s.timestamps) return s.tNs;
    const tsNs = s.tsval * TSVAL_TICK_NS;
    if (s.tNs - tsNs < this.tsOffsetNs) this.tsOffsetNs = s.tNs - tsNs;
    return tsNs + this.tsOffsetNs;
  }

  maxTransmissions(): number {
    let max = this.dataPkts > 0 || this.syn + this.synAck + this.finCount > 0 ? 1 : 0;
    for (const e of this.storms?.values() ?? []) if (e.sends > max) max = e.sends;
    return max;
  }

  /** The segment sent most often, among those `counts` accepts. */
  worstStorm(counts: (e: StormEntry) => boolean = () => true): StormEntry | undefined {
    let worst: StormEntry | undefined;
    for (const e of this.storms?.values() ?? []) if (counts(e) && (!worst || e.sends > worst.sends)) worst = e;
    return worst;
  }
}

function keepFrame(list: number[], frame: number): void {
  if (list.length < MAX_FRAMES_KEPT) list.push(frame);
}

/**
 * One TCP connection while the capture is read: Wireshark's conversation analysis plus our own
 * counters per side. Sides are Wireshark's flow1/flow2 (0/1); client and server are decided when
 * the record is built, from the handshake or the user's `--server`.
 */
export class Connection {
  readonly analysis = new ConversationAnalysis();
  readonly stats: [SideStats, SideStats] = [new SideStats(), new SideStats()];
  readonly ip: [number, number];
  readonly port: [number, number];
  firstNs: number;
  lastNs: number;
  firstFrame: number;
  lastFrame: number;
  pkts = 0;
  /** Side that received the first packet (fallback for deciding the server). */
  readonly firstDstSide: 0 | 1;
  synSide = -1;
  synAckSide = -1;
  firstSynNs = -1;
  firstSynAckNs = -1;
  private synAckSeq = 0;
  /**
   * Bare ACKs (no SYN/ACK yet) answering the SYN side: a TIME_WAIT ACK (RFC 9293 §3.10.7.4) or
   * a challenge ACK (RFC 5961 §4); and the RSTs the SYN side sent back before any SYN/ACK, which
   * RFC 9293 §3.10.7.3 asks of a SYN-SENT that gets an unacceptable ACK: part of the handshake.
   */
  ackToSyn = 0;
  ackToSynFrame = 0;
  ackToSynNs = -1;
  handshakeRsts = 0;
  /** The client's first ACK of the server's ISN: the handshake's third segment on the wire. */
  handshakeAckNs = -1;
  handshakeAckFrame = 0;
  /**
   * SYN/ACKs the server resent after the handshake ACK was captured and before it sent anything
   * else: it had not taken that ACK (RFC 9293 §3.10.7.4: an acceptable ACK in SYN-RECEIVED moves
   * the connection to ESTABLISHED, and nothing is left to resend).
   */
  synAckAfterAck = 0;
  firstSynAckAfterAckNs = -1;
  firstSynAckAfterAckFrame = 0;
  /** The client's first ACK of the server's ISN after the latest such SYN/ACK. */
  private answerNs = -1;
  private answerFrame = 0;
  /** The server's first segment that is not SYN/ACK or RST: it is past SYN-RECEIVED by then. */
  serverSpokeNs = -1;
  /**
   * When the server took the client's ACK, once it resent its SYN/ACK after the handshake ACK:
   * the ACK answering its last SYN/ACK (or its own first segment when that answer was not
   * captured); -1 while the server never showed it left SYN-RECEIVED.
   */
  acceptAfterResendNs = -1;
  acceptAfterResendFrame = 0;
  /** The accept time is the client's captured answer (not the server's own next segment). */
  acceptAnswered = false;
  /** The next connection in the same FlowTable hash bucket. */
  nextInBucket: Connection | undefined = undefined;
  /** Set when both sides sent FIN or anyone sent RST: the connection may be finalised once idle. */
  closed = false;
  /** Its record was built (a replaced 4-tuple may still sit in the analyzer's closed queue). */
  finalized = false;
  anomalies: RawAnomaly[] = [];
  anomaliesOmitted = 0;
  /**
   * Trace rows (TRACE_STRIDE numbers each) in the arena's blocks: the first TRACE_HEAD rows, then
   * a ring of the last TRACE_TAIL.
   */
  private readonly traceBlocks: number[] = [];
  private traceCount = 0;

  constructor(
    readonly stream: number,
    s: TcpSegment,
    fromSide: 0 | 1,
    private readonly arena: TraceArena,
    /** Data not moving for longer than this while outstanding is a stall gap. */
    private readonly stallNs: number,
  ) {
    this.ip = fromSide === 0 ? [s.src, s.dst] : [s.dst, s.src];
    this.port = fromSide === 0 ? [s.srcPort, s.dstPort] : [s.dstPort, s.srcPort];
    this.firstNs = s.tNs;
    this.lastNs = s.tNs;
    this.firstFrame = s.frame;
    this.lastFrame = s.frame;
    this.firstDstSide = (fromSide ^ 1) as 0 | 1;
  }

  /** Accounts one analysed segment sent by `side` with analysis flags `f`. */
  observe(s: TcpSegment, side: 0 | 1, f: number): void {
    const d = this.stats[side];
    const p = this.stats[side ^ 1]!;
    const { seq, ack, len, flags: fl, tNs: t } = s;
    const synFin = fl & (SYN | FIN) ? 1 : 0;
    this.pkts++;
    this.lastNs = t;
    this.lastFrame = s.frame;
    d.pkts++;
    if (d.lastNs >= 0 && t - d.lastNs > d.maxIdleNs) d.maxIdleNs = t - d.lastNs;
    d.lastNs = t;
    if (s.window === 0) d.rawZeroWindow++;

    if (len > 0) {
      d.dataPkts++;
      d.dataBytes += len;
      if (d.firstPayloadNs < 0) d.firstPayloadNs = t;
      d.lastPayloadNs = t;
      d.lastPayloadFrame = s.frame;
      d.countUnique(seq, len);
      d.sentDataOrFin = true;
    } else if (fl & ACK && (fl & (SYN | FIN | RST)) === 0) {
      d.pureAcks++;
    }
    if (fl & ACK) {
      d.ackSeen = true;
      d.noteAck(ack, s);
    }
    const sentNs = d.sentNs(s);

    if (f !== 0) this.countFlags(s, side, f);

    if (fl & SYN) {
      if (s.mss >= 0) d.mss = s.mss;
      if (s.wscale >= 0) d.wscale = s.wscale;
      d.sackPermitted ||= s.sackPermitted;
      d.timestamps ||= s.timestamps;
      if (fl & ACK) {
        d.synAck++;
        if (this.synAckSide < 0) {
          this.synAckSide = side;
          this.firstSynAckNs = t;
          this.synAckSeq = seq;
        } else if (side === this.synAckSide && seq === this.synAckSeq && this.handshakeAckNs >= 0 && this.serverSpokeNs < 0) {
          if (this.synAckAfterAck++ === 0) {
            this.firstSynAckAfterAckNs = t;
            this.firstSynAckAfterAckFrame = s.frame;
          }
          this.answerNs = -1;
        }
        if (p.finCount > 0 || p.rstCount > 0) d.synAckAfterPeerClose++;
      } else {
        d.syn++;
        if (this.synSide < 0) {
          this.synSide = side;
          this.firstSynNs = t;
        }
      }
    } else if (fl & ACK && side === this.synSide && this.firstSynAckNs >= 0 && ack === ((this.synAckSeq + 1) >>> 0)) {
      if (this.handshakeAckNs < 0) {
        this.handshakeAckNs = t;
        this.handshakeAckFrame = s.frame;
      } else if (this.synAckAfterAck > 0 && this.answerNs < 0 && this.serverSpokeNs < 0) {
        this.answerNs = t;
        this.answerFrame = s.frame;
      }
    } else if (fl & ACK && (fl & RST) === 0 && side === this.synAckSide && this.serverSpokeNs < 0) {
      this.serverSpokeNs = t;
      if (this.synAckAfterAck > 0) {
        this.acceptAnswered = this.answerNs >= 0;
        this.acceptAfterResendNs = this.acceptAnswered ? this.answerNs : t;
        this.acceptAfterResendFrame = this.acceptAnswered ? this.answerFrame : s.frame;
      }
    }

    if (this.synSide >= 0 && this.synAckSide < 0) {
      if (side !== this.synSide && (fl & (SYN | RST | ACK)) === ACK) {
        if (this.ackToSyn++ === 0) {
          this.ackToSynFrame = s.frame;
          this.ackToSynNs = t;
        }
      } else if (side === this.synSide && fl & RST && this.ackToSyn > 0) {
        this.handshakeRsts++;
      }
    }

    if (fl & FIN) {
      d.finCount++;
      d.sentDataOrFin = true;
      if (d.firstFinNs < 0) {
        d.firstFinNs = t;
        d.firstFinFrame = s.frame;
        d.finEnd = (seq + len + 1) >>> 0;
      }
    }
    if (fl & RST) {
      d.rstCount++;
      if (d.firstRstNs < 0) {
        d.firstRstNs = t;
        d.firstRstFrame = s.frame;
      }
    }
    if (fl & ACK && p.finCount > 0 && !p.finAcked && !seqGt(p.finEnd, ack)) {
      p.finAcked = true;
      p.finAckedFrame = s.frame;
    }

    // Zero-window stall: from the first zero-window advert until this side opens its window again.
    if (f & A_ZERO_WINDOW && d.stallStartNs < 0) {
      d.stallStartNs = t;
      d.stallStartFrame = s.frame;
    } else if (d.stallStartNs >= 0 && s.window !== 0 && (fl & RST) === 0) {
      this.endStall(d, t, s.frame);
    }

    const rtt = this.analysis.lastAckRttNs;
    if (rtt >= 0) {
      p.rttN++;
      p.rttSumNs += rtt;
      if (rtt < p.rttMinNs) p.rttMinNs = rtt;
      if (rtt > p.rttMaxNs) p.rttMaxNs = rtt;
    }

    const retransmitted = (f & (A_ANY_RETRANSMISSION | A_OUT_OF_ORDER)) !== 0;
    // The peer had already acknowledged all of this segment's sequence space (its latest ACK covers it).
    const covered = retransmitted && p.ackSeen && seqLe((seq + len + synFin) >>> 0, this.analysis.sides[side ^ 1]!.lastack);
    const kind = covered ? this.coveredKind(s, p, (seq + len + synFin) >>> 0, sentNs) : undefined;
    if (retransmitted) this.countStorm(d, s, synFin);
    if (kind === 'crossed') d.crossedRetransmissions++;
    // Retransmission after close: after our own RST or the peer's (unless it crossed it), or of sequence space the peer
    // acknowledged after it sent its FIN, once the sender had taken that ACK. A correct stack has
    // nothing left to resend in any of these cases. A SYN is never one: on a 4-tuple whose
    // connection closed or was reset it starts a new one (Wireshark's reused-ports rule), e.g.
    // Linux's SYN again after the RST it sent to a TIME_WAIT ACK.
    const afterClose = p.finCount > 0 && (kind === 'ignored-ack' || kind === 'handshake');
    const afterRst = d.rstCount > 0 || (p.rstCount > 0 && !this.crossed(sentNs, p.firstRstNs));
    if (retransmitted && (fl & (SYN | ACK)) !== SYN && (afterRst || afterClose)) {
      if (d.afterCloseCount++ === 0) d.afterCloseFirstNs = t;
      d.afterCloseLastNs = t;
      keepFrame(d.afterClose, s.frame);
    } else if (p.finCount > 0 && kind === 'ack-lost') {
      if (d.ackLostAfterCaptureCount++ === 0) d.ackLostFirstNs = t;
      d.ackLostLastNs = t;
      keepFrame(d.ackLostAfterCapture, s.frame);
    }
    // Acknowledging a retransmission that crossed the ACK, or whose ACK was lost, is what RFC 9293
    // §3.10.7.4 requires of the receiver: only a sender that ignores ACKs makes these repeats findings.
    if (f & A_DUPLICATE_ACK && (d.finCount > 0 || p.finCount > 0) && p.lastWasCoveredRetransmission) {
      if (d.dupAckAfterFinCount++ === 0) d.dupAckAfterFinFirstNs = t;
      d.dupAckAfterFinLastNs = t;
      keepFrame(d.dupAckAfterFin, s.frame);
    }
    d.lastWasCoveredRetransmission = kind === 'ignored-ack' || kind === 'handshake';

    this.trackProgress(s, side, f);
    if ((d.finCount > 0 && p.finCount > 0) || d.rstCount > 0 || p.rstCount > 0) this.closed = true;
    this.recordTrace(s, side, f);
  }

  /**
   * Data progress per direction: new bytes from `side`, or its peer's ACK moving forward over
   * them. A gap between two progress events while data was outstanding, longer than the stall
   * bound, is kept: the sender waited on a timer (RTO backoff) or a retransmission was lost.
   */
  private trackProgress(s: TcpSegment, side: 0 | 1, f: number): void {
    const d = this.stats[side];
    const p = this.stats[side ^ 1]!;
    if (s.len > 0 && (f & (A_ANY_RETRANSMISSION | A_OUT_OF_ORDER)) === 0) this.progress(d, s);
    if (s.flags & ACK && (!p.highAckSet || seqGt(s.ack, p.highAck))) {
      p.highAck = s.ack;
      p.highAckSet = true;
      this.progress(p, s);
    }
    for (const k of [0, 1] as const) {
      const me = this.stats[k];
      me.outstanding = me.dataPkts > 0 && (!me.highAckSet || seqGt(this.analysis.sides[k].nextseq, me.highAck));
    }
  }

  /** A progress event for `d`'s data at segment `s`; `d.outstanding` is still the state before it. */
  private progress(d: SideStats, s: TcpSegment): void {
    const gap = s.tNs - d.progressNs;
    if (d.outstanding && d.progressNs >= 0 && gap > this.stallNs) {
      d.gapCount++;
      if (gap > d.maxGapNs) d.maxGapNs = gap;
      if (d.gaps.length < MAX_GAPS_KEPT) d.gaps.push({ startNs: d.progressNs, endNs: s.tNs, startFrame: d.progressFrame, endFrame: s.frame });
    }
    d.progressNs = s.tNs;
    d.progressFrame = s.frame;
  }

  /**
   * Why a side resent sequence space up to `end` that `p` had acknowledged. It crossed the ACK
   * when it left the sender before that ACK could reach it: sent (by its TSval, mapped to the
   * capture's clock; by its capture time without timestamps) less than the handshake's round trip
   * after the ACK passed, and, with timestamps, echoing a TSval older than the ACK's (RFC 7323
   * §4.3: TS.Recent had not yet seen it).
   */
  private coveredKind(s: TcpSegment, p: SideStats, end: number, sentNs: number): CoveredRetransmission {
    if (s.flags & SYN) return 'handshake';
    const cover = p.coveringAck(end);
    const echoedCover = cover !== undefined && cover.tsval >= 0 && s.timestamps && !seqLt(s.tsecr, cover.tsval);
    if (echoedCover) return 'ignored-ack';
    if (cover !== undefined && this.crossed(sentNs, cover.tNs)) return 'crossed';
    return 'ack-lost';
  }

  /**
   * A segment of `d` sent at `sentNs` left before what `p` sent at `peerNs` could reach it: within
   * one round trip as the capture point saw the handshake (Wireshark's iRTT; later ACK times are
   * stretched by the very retransmissions being judged).
   */
  private crossed(sentNs: number, peerNs: number): boolean {
    return sentNs - peerNs < Math.max(MIN_CROSSING_NS, this.analysis.irttNs);
  }

  /**
   * When the server took the client's handshake ACK: the ACK itself, unless the server resent its
   * SYN/ACK after it (then the answer to its last SYN/ACK; -1 if it never showed it took one).
   */
  get serverAcceptNs(): number {
    return this.synAckAfterAck > 0 ? this.acceptAfterResendNs : this.handshakeAckNs;
  }

  /** Closes the zero-window stall of side `d` at `endNs`. */
  endStall(d: SideStats, endNs: number, endFrame: number): void {
    const dur = endNs - d.stallStartNs;
    d.stallTotalNs += dur;
    if (dur > d.stallMaxNs || !d.longestStall) {
      d.stallMaxNs = dur;
      d.longestStall = { startNs: d.stallStartNs, endNs, startFrame: d.stallStartFrame, endFrame };
    }
    d.stallStartNs = -1;
  }

  private countFlags(s: TcpSegment, side: 0 | 1, f: number): void {
    const d = this.stats[side];
    if (f & A_ANY_RETRANSMISSION) {
      d.rexmtPkts++;
      d.rexmtBytes += s.len;
    }
    if (f & A_FAST_RETRANSMISSION) d.fastRexmt++;
    if (f & A_SPURIOUS_RETRANSMISSION) d.spuriousRexmt++;
    if (f & A_OUT_OF_ORDER) d.outOfOrder++;
    if (f & A_DUPLICATE_ACK) {
      d.dupAcks++;
      if (this.analysis.lastDupAckNum === 3) d.tripleDupAcks++;
    }
    if (f & A_LOST_SEGMENT) d.lostSegment++;
    if (f & A_ACK_LOST_SEGMENT) d.ackLostSegment++;
    if (f & A_ZERO_WINDOW) d.zeroWinAdverts++;
    if (f & A_ZERO_WINDOW_PROBE) d.zeroWinProbes++;
    if (f & A_ZERO_WINDOW_PROBE_ACK) d.zeroWinProbeAcks++;
    if (f & A_WINDOW_FULL) d.windowFull++;
    if (f & A_WINDOW_UPDATE) d.windowUpdates++;
    if (f & A_KEEP_ALIVE) d.keepalives++;
    if (f & A_KEEP_ALIVE_ACK) d.keepaliveAcks++;
    if (f & A_REUSED_PORTS) d.reusedPorts++;
    if (f & ANOMALY_MASK) {
      if (this.anomalies.length < MAX_ANOMALIES) {
        this.anomalies.push({
          flags: f,
          frame: s.frame,
          tNs: s.tNs,
          side,
          seq: s.seq,
          len: s.len,
          dupAckNum: this.analysis.lastDupAckNum,
        });
      } else {
        this.anomaliesOmitted++;
      }
    }
  }

  private countStorm(d: SideStats, s: TcpSegment, synFin: number): void {
    // Keyed by sequence number and the SYN/FIN bit: a SYN/ACK resent after its ISN was acknowledged
    // keeps counting, which is exactly the storm a stuck handshake produces.
    const key = s.seq * 2 + synFin;
    d.storms ??= new Map();
    const e = d.storms.get(key);
    if (e) {
      e.sends++;
      e.lastNs = s.tNs;
      keepFrame(e.frames, s.frame);
    } else if (d.storms.size < MAX_STORM_ENTRIES) {
      d.storms.set(key, { seq: s.seq, len: s.len, tcpFlags: s.flags, sends: 2, frames: [s.frame], firstNs: s.tNs, lastNs: s.tNs });
    }
  }

  private recordTrace(s: TcpSegment, side: 0 | 1, f: number): void {
    const n = this.traceCount++;
    const row = n < TRACE_HEAD + TRACE_TAIL ? n : TRACE_HEAD + ((n - TRACE_HEAD) % TRACE_TAIL);
    const where = this.arena.rowAt(this.traceBlocks, row);
    const t = this.arena.slab(where);
    let at = this.arena.offset(where);
    t[at++] = s.tNs;
    t[at++] = sideFrame(side, s.frame);
    t[at++] = s.seq;
    t[at++] = s.len;
    t[at++] = s.flags;
    t[at++] = f;
    t[at++] = s.ack;
    t[at] = s.window;
  }

  /** Segments left out of the trace (the middle of a long connection). */
  get traceOmitted(): number {
    return Math.max(0, this.traceCount - TRACE_HEAD - TRACE_TAIL);
  }

  /**
   * Visits the trace rows in capture order (the tail ring unrolled), where they lie: one row is
   * `slab[at]` to `slab[at + TRACE_STRIDE - 1]`. Nothing is copied (every connection's shape is read this way).
   */
  forEachTraceRow(visit: (slab: Float64Array, at: number) => void): void {
    const kept = Math.min(this.traceCount, TRACE_HEAD + TRACE_TAIL);
    // Past the head, the ring's oldest row is the next one to be overwritten.
    const oldest = this.traceCount > kept ? (this.traceCount - TRACE_HEAD) % TRACE_TAIL : 0;
    for (let k = 0; k < kept; k++) {
      const row = k < TRACE_HEAD ? k : TRACE_HEAD + ((k - TRACE_HEAD + oldest) % TRACE_TAIL);
      const where = this.arena.rowAt(this.traceBlocks, row);
      visit(this.arena.slab(where), this.arena.offset(where));
    }
  }

  /** Trace rows in capture order, TRACE_STRIDE numbers each, copied out. */
  traceRows(): number[] {
    const out: number[] = [];
    this.forEachTraceRow((slab, at) => {
      for (let j = 0; j < TRACE_STRIDE; j++) out.push(slab[at + j]!);
    });
    return out;
  }

  /** Gives the trace's storage back once the connection is finalised. */
  releaseTrace(): void {
    this.arena.release(this.traceBlocks);
  }

}
