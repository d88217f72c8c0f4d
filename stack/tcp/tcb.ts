import type { Clock, TimerHandle } from '../clock.js';
import {
  ACK,
  FIN,
  PSH,
  RST,
  SYN,
  tcpOptionsMss,
  tcpOptionsSackBlocks,
  tcpOptionsSackPermitted,
  tcpOptionsTimestamps,
  tcpOptionsWscale,
  type TcpOption,
  type TcpRepr,
} from '../wire/tcp.js';
import type { BugSwitches } from './bugs.js';
import type { TcpConfig } from './config.js';
import { Reassembly } from './reassembly.js';
import { RtoEstimator } from './rto.js';
import { SackScoreboard } from './scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt } from '../wire/seq.js';
import { CLOSED, transition, type Action, type State } from './state.js';
import type { TcpStats } from './stats.js';

/** What a connection needs from the layer that owns it. */
export interface TcbHost {
  readonly clock: Clock;
  readonly config: TcpConfig;
  readonly bugs: BugSwitches;
  readonly stats: TcpStats;
  /** Sends `seg` now; it is only valid during the call (the connection refills one object for every segment). */
  transmit(tcb: Tcb, seg: TcpRepr): void;
  traceTick(tcb: Tcb, from: State, action: Action, to: State): void;
  /** The handshake completed (after the segment that completed it was fully processed). */
  established(tcb: Tcb): void;
  /** The TCB reached CLOSED (or a passive open went back to LISTEN): forget it. */
  release(tcb: Tcb): void;
}

/** Why the application lost its connection without a FIN. */
export type ResetReason = 'peer-reset' | 'refused' | 'timeout';

/** The application side of a connection (the TcpSocket implements it). */
export interface TcbUser {
  established(): void;
  data(chunk: Uint8Array): void;
  peerFin(): void;
  reset(reason: ResetReason): void;
  /** Both directions are done (TIME-WAIT or CLOSED); nothing more will reach the application. */
  finished(): void;
  /** Bytes delivered but not yet read: they are the part of the receive buffer the window excludes. */
  unread(): number;
}

const NO_OPTIONS: TcpOption[] = [];
const EMPTY = new Uint8Array(0);
const NOP: TcpOption = { kind: 'nop' };
const SACK_PERMITTED: TcpOption = { kind: 'sackPermitted' };
/** NOP, NOP, Timestamps: the 12 bytes every segment carries once timestamps are on (RFC 7323 Appendix A). */
const TS_OPTION_BYTES = 12;
/** RFC 7323 §5.5: TS.Recent older than 24 days is no longer valid for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600_000;
/** RFC 6675 DupThresh. */
const DUP_THRESH = 3;

/** Timer slots multiplexed on one clock timer per connection (re-arming is the hot path). */
const RTX = 0;
const PERSIST = 1;
const DELACK = 2;
/** TIME-WAIT's 2×MSL or FIN-WAIT-2's idle limit. */
const LINGER = 3;
/** Tail loss probe (RFC 8985 §7). */
const TLP = 4;
const SLOTS = 5;
/** RFC 8985 §7.2 WCDelAckT: what a lone segment's ACK may wait at a delayed-ACK receiver. */
const WORST_DELAYED_ACK_MS = 200;
/** Floor of the probe timeout: below it timer and scheduling jitter would fire probes for nothing. */
const MIN_PTO_MS = 10;

export interface TcbParams {
  id: number;
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
  iss: number;
  passive: boolean;
  /** Added to the clock's milliseconds to form TSval (RFC 7323 §5.4: a random offset). */
  tsOffset: number;
}

/**
 * One connection's transmission control block and its segment processing, RFC 9293 §3.10
 * step by step. Every state change is a tick of the transition function (state.ts).
 *
 * Calls from the application that arrive while a segment or a timer is being processed
 * (a 'data' handler that writes, a 'peer-fin' handler that destroys) are queued and run when
 * that processing is done, so the event order on the wire never depends on handler timing.
 */
export class Tcb {
  readonly id: number;
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly iss: number;
  readonly passive: boolean;
  state: State = CLOSED;
  user: TcbUser | undefined;

  // Send sequence space (§3.3.1). sndMax is the highest sequence number sent: sndNxt goes back
  // to sndUna after a retransmission timeout (go-back-N) and ACK validity is checked against sndMax.
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  /** Shift applied to the peer's window field (RFC 7323). */
  private sndWscale = 0;
  /** Shift applied to the window we advertise. */
  private rcvWscale = 0;
  private wscaleOffered = false;
  sndMss = 536;
  /**
   * SACK (RFC 2018) and timestamps (RFC 7323): before the handshake completes, whether we offer
   * them; after, whether both sides did.
   */
  sackOk: boolean;
  tsOk: boolean;
  private readonly tsOffset: number;
  /** TS.Recent and when it was set (RFC 7323 §4.3, §5.5). */
  private tsRecent = 0;
  private tsRecentAt = 0;
  /** The ACK field of the last segment we sent (RFC 7323 Last.ACK.sent). */
  private lastAckSent = 0;
  /** TSecr of the segment being processed (0 when absent). */
  private segTsEcr = 0;
  /** The segment handed to the host, refilled for every send (see TcbHost.transmit): no allocation per segment. */
  private readonly out: TcpRepr;
  private readonly tsOption = { kind: 'timestamps' as const, tsval: 0, tsecr: 0 };
  private readonly tsOptions: TcpOption[] = [NOP, NOP, this.tsOption];
  /** Out-of-order runs to report, most recently changed first (RFC 2018 §4). */
  private sackList: Array<[number, number]> = [];
  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window we last advertised: never moved left (§3.8.6.2.2). */
  private rcvAdvEdge = 0;

  private readonly sendBuf = new SendBuffer();
  /** Sequence number of sendBuf's first byte. */
  private sndBufSeq: number;
  private finQueued = false;
  private finSent = false;
  private readonly reasm: Reassembly;

  // Congestion control (RFC 5681, NewReno recovery per RFC 6582).
  cwnd: number;
  ssthresh = 0x7fffffff;
  private dupAcks = 0;
  private inRecovery = false;
  /**
   * SND.MAX when recovery (or a timeout) began: RFC 6582's "recover" is the highest sequence
   * number sent, one below it, so a new recovery may start once SND.UNA has reached it.
   */
  private recover: number;
  /** What the peer SACKed; recovery with it follows RFC 6675 (pipe, NextSeg). */
  private readonly scoreboard = new SackScoreboard();
  private sackRecovery = false;
  /** RFC 6675 HighRxt: holes below it were retransmitted in this recovery. */
  private highRxt = 0;
  /** Retransmissions of this recovery as flat [seq, SND.MAX when sent] pairs (lost-retransmission check). */
  private rtxMarks: number[] = [];

  readonly rto: RtoEstimator;
  private retries = 0;
  private rttSeq = 0;
  private rttStart: number | undefined;
  private persistBackoff = 0;

  private ackNow = false;
  private ackPending = 0;
  private challengeWindowStart = -Infinity;
  private challengeCount = 0;

  nagle: boolean;
  /** A passive connection not yet handed to its listener (it counts in the SYN queue). */
  embryonic: boolean;
  /** The SYN,ACK's retransmission was handed to the listen entry (Minnesota Goodbye profiles). */
  private synHandedOff = false;
  /** minnesota-goodbye-halfway: close() in SYN-RECEIVED waits for ESTABLISHED and the flush. */
  private closeAfterEstablished = false;
  /** Segments held behind the handshake ACK while the app callback runs (Minnesota Goodbye profiles). */
  heldInput: TcpRepr[] | undefined;

  private readonly deadlines = [Infinity, Infinity, Infinity, Infinity, Infinity];
  /** A tail loss probe went out and no ACK has advanced SND.UNA since (one probe per tail). */
  private probed = false;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private depth = 0;
  private deferred: Array<() => void> = [];
  private notifyEstablished = false;
  private writeWaiters: Array<() => void> = [];
  private closeWaiters: Array<() => void> = [];
  private released = false;

  constructor(
    private readonly host: TcbHost,
    p: TcbParams,
  ) {
    this.id = p.id;
    this.localIp = p.localIp;
    this.localPort = p.localPort;
    this.remoteIp = p.remoteIp;
    this.remotePort = p.remotePort;
    this.iss = p.iss;
    this.passive = p.passive;
    this.embryonic = p.passive;
    this.sndUna = this.sndNxt = this.sndMax = this.recover = p.iss;
    this.sndBufSeq = seqAdd(p.iss, 1);
    const cfg = host.config;
    this.nagle = cfg.nagle;
    this.sackOk = cfg.sack;
    this.tsOk = cfg.timestamps;
    this.tsOffset = p.tsOffset;
    this.out = { srcPort: p.localPort, dstPort: p.remotePort, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
    this.reasm = new Reassembly(cfg.reassemblyBlocks);
    this.rto = new RtoEstimator({ initial: cfg.initialRto, min: cfg.minRto, max: cfg.maxRto, granularity: 1 });
    this.cwnd = this.initialWindow();
  }

  get alive(): boolean {
    return !this.released;
  }

  /** The retransmission timer is armed: something we sent awaits its acknowledgment. */
  get retransmitting(): boolean {
    return !this.released && this.deadlines[RTX] !== Infinity;
  }

  // ───────────────────────────── opening ─────────────────────────────

  /** LISTEN + SYN (§3.10.7.2): record the peer, answer SYN,ACK, enter SYN-RECEIVED. */
  acceptSyn(seg: TcpRepr): void {
    this.enter();
    this.irs = seg.seq;
    this.rcvNxt = this.rcvAdvEdge = seqAdd(seg.seq, 1);
    this.negotiate(seg, this.host.config.windowScaling && tcpOptionsWscale(seg.options) !== undefined);
    this.sndWnd = this.maxSndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.sndWl2 = this.iss;
    this.tick({ kind: 'Passive_open' });
    this.tick({ kind: 'Send_synack', seq: this.iss });
    this.sendSyn();
    this.leave();
  }

  /** OPEN, active (§3.10.1): send SYN, enter SYN-SENT. */
  connect(): void {
    this.enter();
    this.wscaleOffered = this.host.config.windowScaling;
    this.tick({ kind: 'Send_syn', seq: this.iss });
    this.sendSyn();
    this.leave();
  }

  /** MSS (MUST-15/16, §3.7.1) and window scale (RFC 7323 §2.2: only when both sides offer it). */
  private negotiate(seg: TcpRepr, scale: boolean): void {
    // SACK and timestamps: on when we offer (or would) and the peer's SYN does (RFC 2018 §2, RFC 7323 §3.2).
    this.sackOk = this.sackOk && tcpOptionsSackPermitted(seg.options);
    const ts = this.tsOk ? tcpOptionsTimestamps(seg.options) : undefined;
    this.tsOk = ts !== undefined;
    if (ts) this.updateTsRecent(ts.tsval);
    const peerMss = tcpOptionsMss(seg.options) ?? 536;
    this.sndMss = Math.max(1, Math.min(peerMss, this.host.config.mss));
    this.cwnd = this.initialWindow();
    if (scale) {
      this.wscaleOffered = true;
      this.sndWscale = Math.min(14, tcpOptionsWscale(seg.options) ?? 0);
      this.rcvWscale = this.ourWscale();
    } else {
      this.wscaleOffered = false;
      this.sndWscale = this.rcvWscale = 0;
    }
  }

  private ourWscale(): number {
    let s = 0;
    while (s < 14 && this.host.config.receiveBuffer >>> s > 65535) s++;
    return s;
  }

  /** RFC 5681 §3.1: IW = min(4·SMSS, max(2·SMSS, 4380)). */
  private initialWindow(): number {
    return Math.min(4 * this.sndMss, Math.max(2 * this.sndMss, 4380));
  }

  /** MSS, SACK-permitted, timestamps, window scale, in Linux's order and padding. */
  private synOptions(): TcpOption[] {
    const opts: TcpOption[] = [{ kind: 'mss', mss: this.host.config.mss }];
    if (this.tsOk) {
      const ts: TcpOption = { kind: 'timestamps', tsval: this.tsNow(), tsecr: this.state.name === 'Syn_sent' ? 0 : this.tsRecent };
      if (this.sackOk) opts.push(SACK_PERMITTED, ts);
      else opts.push(NOP, NOP, ts);
    } else if (this.sackOk) opts.push(NOP, NOP, SACK_PERMITTED);
    if (this.wscaleOffered) opts.push(NOP, { kind: 'wscale', shift: this.ourWscale() });
    return opts;
  }

  /** TSval: milliseconds plus the connection's offset (RFC 7323 §5.4). */
  private tsNow(): number {
    return (Math.floor(this.host.clock.now()) + this.tsOffset) >>> 0;
  }

  private updateTsRecent(tsval: number): void {
    this.tsRecent = tsval;
    this.tsRecentAt = this.host.clock.now();
  }

  /** The SYN (SYN-SENT) or SYN,ACK (otherwise) at ISS, as first sent and as retransmitted. */
  synSegment(): TcpRepr {
    const synAck = this.state.name !== 'Syn_sent';
    const window = Math.min(65535, this.host.config.receiveBuffer);
    if (synAck && seqLt(this.rcvAdvEdge, seqAdd(this.rcvNxt, window))) this.rcvAdvEdge = seqAdd(this.rcvNxt, window);
    return {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq: this.iss,
      ack: synAck ? this.rcvNxt : 0,
      flags: synAck ? SYN | ACK : SYN,
      // RFC 7323 §2.2: the window field of a SYN is never scaled.
      window,
      urgent: 0,
      options: this.synOptions(),
      payload: EMPTY,
    };
  }

  private sendSyn(): void {
    const seg = this.synSegment();
    if (seqLt(this.sndMax, seqAdd(this.iss, 1))) {
      this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
      this.rttSeq = this.sndMax;
      this.rttStart = this.host.clock.now();
    }
    this.host.transmit(this, seg);
    if (seg.flags & ACK) this.ackSent();
    if (this.deadlines[RTX] === Infinity) this.arm(RTX, this.rto.rto);
  }

  /**
   * Minnesota Goodbye profiles: the listen entry takes over the SYN,ACK's retransmission
   * (see bugs.ts); this connection stops retransmitting it.
   */
  handOffSynAck(): { dueInMs: number; rto: number } {
    this.synHandedOff = true;
    const due = this.deadlines[RTX]!;
    this.deadlines[RTX] = Infinity;
    return { dueInMs: Math.max(0, due - this.host.clock.now()), rto: this.rto.rto };
  }

  /** The listen entry gave up on the SYN,ACK (see handOffSynAck). */
  timeout(): void {
    if (this.released) return;
    this.enter();
    this.host.stats.retransmitTimeouts++;
    this.tick({ kind: 'Timeout' });
    this.abandon('timeout');
    this.leave();
  }

  // ───────────────────────────── segment arrival ─────────────────────────────

  input(seg: TcpRepr): void {
    if (this.released) return;
    this.enter();
    const ts = this.tsOk ? tcpOptionsTimestamps(seg.options) : undefined;
    this.segTsEcr = ts ? ts.tsecr : 0;
    if (this.state.name === 'Syn_sent') this.synSentArrives(seg);
    else this.synchronizedArrives(seg, ts);
    this.leave();
  }

  /** §3.10.7.3. */
  private synSentArrives(seg: TcpRepr): void {
    const f = seg.flags;
    if (f & ACK && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if (!(f & RST)) this.sendReset(seg.ack);
      return;
    }
    if (f & RST) {
      // Acceptable only with an ACK of our SYN (RFC 5961 §3.2 for SYN-SENT).
      if (f & ACK) this.resetArrived();
      return;
    }
    if (!(f & SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = this.rcvAdvEdge = seqAdd(seg.seq, 1);
    this.negotiate(seg, this.wscaleOffered && tcpOptionsWscale(seg.options) !== undefined);
    this.sndWnd = this.maxSndWnd = seg.window;
    this.sndWl1 = seg.seq;
    if (f & ACK) {
      this.sndWl2 = seg.ack;
      this.ackAdvanced(seg.ack);
      this.tick({ kind: 'Recv_synack', seq: seg.ack });
      this.becameEstablished();
      this.ackNow = true;
    } else {
      // Simultaneous open (RFC 1122 §4.2.2.10): SYN-RECEIVED, answer SYN,ACK.
      this.sndWl2 = this.iss;
      this.tick({ kind: 'Recv_syn', seq: seg.seq });
      this.host.transmit(this, this.synSegment());
      this.ackSent();
    }
  }

  /** §3.10.7.4, for SYN-RECEIVED and every later state; `ts` is the segment's Timestamps option. */
  private synchronizedArrives(arrived: TcpRepr, ts: { tsval: number; tsecr: number } | undefined): void {
    let seg = arrived;
    const s0 = this.state.name;
    if (s0 === 'Syn_rcvd' && seg.flags & SYN && seg.seq === this.irs) {
      if (!(seg.flags & ACK)) {
        // A retransmitted SYN means our SYN,ACK was lost: resend it (as Linux does) rather than
        // only ACK, which a peer in SYN-SENT would drop.
        if (!this.synHandedOff) {
          this.host.stats.retransmits++;
          this.rttStart = undefined;
          this.host.transmit(this, this.synSegment());
          this.ackSent();
        }
        return;
      }
      // Simultaneous open (RFC 9293 Figure 8): the peer's SYN,ACK repeats the SYN we hold;
      // what is new is its ACK of ours.
      seg = { ...seg, seq: seqAdd(seg.seq, 1), flags: seg.flags & ~SYN };
    }
    const f = seg.flags;
    const syn = (f & SYN) !== 0;
    let fin = (f & FIN) !== 0;
    let payload = seg.payload;

    // RFC 7323 §5.3 R1 (PAWS): an older TSval marks an old duplicate: ACK it and drop it.
    if (ts && !(f & RST) && seqLt(ts.tsval, this.tsRecent) && this.host.clock.now() - this.tsRecentAt < PAWS_IDLE_MS) {
      this.host.stats.pawsDrops++;
      this.ackNow = true;
      return;
    }

    // First: sequence number acceptability (Table 6).
    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = this.rcvWnd();
    if (!this.acceptable(seg.seq, segLen, wnd)) {
      if (f & RST) return;
      if (wnd === 0 && seg.seq === this.rcvNxt && !syn) {
        // MUST-66: with a zero window, still process the ACK (and RST) of an in-order segment.
        payload = EMPTY;
        fin = false;
        this.ackNow = true;
      } else {
        if (s0 === 'Time_wait' && fin) this.timeWaitFin();
        this.ackNow = true;
        return;
      }
    }

    // RFC 7323 §4.3: TS.Recent follows the segments that reach the left window edge.
    if (ts && seqGe(ts.tsval, this.tsRecent) && seqLe(seg.seq, this.lastAckSent)) this.updateTsRecent(ts.tsval);

    // Trim to the window: bytes before RCV.NXT were received already, bytes past the right
    // edge are not ours to keep (the FIN goes with them).
    let dataSeq = syn ? seqAdd(seg.seq, 1) : seg.seq;
    if (seqLt(dataSeq, this.rcvNxt)) {
      const cut = Math.min(payload.length, seqDiff(this.rcvNxt, dataSeq));
      payload = payload.subarray(cut);
      dataSeq = seqAdd(dataSeq, cut);
      if (fin && seqLt(dataSeq, this.rcvNxt)) fin = false;
    }
    const rightEdge = seqAdd(this.rcvNxt, this.rcvWnd());
    if (seqGt(seqAdd(dataSeq, payload.length), rightEdge)) {
      payload = payload.subarray(0, Math.max(0, seqDiff(rightEdge, dataSeq)));
      fin = false;
    }

    // Second: RST (RFC 5961 §3.2: exact match resets, anything else in the window is challenged).
    // In TIME-WAIT an RST is ignored (RFC 1337: TIME-WAIT assassination).
    if (f & RST && this.state.name === 'Time_wait') return;
    if (f & RST) {
      if (seg.seq === this.rcvNxt) this.resetArrived();
      else this.challengeAck();
      return;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4.2, §3.10.7.4): challenge ACK, drop.
    if (syn) {
      this.challengeAck();
      return;
    }

    // Fifth: ACK.
    if (!(f & ACK)) return;
    if (this.state.name === 'Syn_rcvd') {
      // Only SND.UNA < SEG.ACK ≤ SND.NXT completes the handshake; anything else draws
      // <SEQ=SEG.ACK><CTL=RST> (§3.10.7.4 "Fifth").
      if (!(seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax))) {
        this.sendReset(seg.ack);
        return;
      }
      this.sndWnd = seg.window << this.sndWscale;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.tick({ kind: 'Recv_ack', seq: seg.ack });
      this.becameEstablished();
    }
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA − MAX.SND.WND, SND.NXT].
    if (seqGt(seg.ack, this.sndMax) || seqLt(seg.ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      this.challengeAck();
      return;
    }
    this.processAck(seg, payload.length === 0 && !fin);
    switch (this.state.name) {
      case 'Fin_wait_1':
      case 'Fin_wait_2':
      case 'Closing':
      case 'Last_ack': {
        const to = this.tick({ kind: 'Recv_ack', seq: seg.ack });
        if (to.name === 'Fin_wait_2' && s0 === 'Fin_wait_1') this.arm(LINGER, this.host.config.finWait2Timeout);
        else if (to.name === 'Time_wait') this.enterTimeWait();
        else if (to.name === 'Closed') {
          this.finish();
          return;
        }
        break;
      }
      default:
        break;
    }

    // Seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 only.
    const receiving = this.state.name === 'Established' || this.state.name === 'Fin_wait_1' || this.state.name === 'Fin_wait_2';
    if (!receiving) return;
    if (payload.length > 0) this.receiveText(dataSeq, payload);
    // Eighth: FIN, once every byte before it has arrived.
    if (fin) {
      const finSeq = seqAdd(dataSeq, payload.length);
      if (finSeq === this.rcvNxt) this.finArrived();
      else {
        this.reasm.finSeq = finSeq;
        this.ackNow = true;
      }
    }
  }

  /** Table 6 of §3.10.7.4. */
  private acceptable(seq: number, len: number, wnd: number): boolean {
    const end = seqAdd(this.rcvNxt, wnd);
    if (len === 0) return wnd === 0 ? seq === this.rcvNxt : seqInRange(seq, this.rcvNxt, end);
    if (wnd === 0) return false;
    return seqInRange(seq, this.rcvNxt, end) || seqInRange(seqAdd(seq, len - 1), this.rcvNxt, end);
  }

  private processAck(seg: TcpRepr, pure: boolean): void {
    const ack = seg.ack;
    const window = seg.window << this.sndWscale;
    const advanced = seqGt(ack, this.sndUna);
    const sackNews = this.sackOk && this.takeSack(seg, advanced ? ack : this.sndUna);
    if (advanced) {
      this.ackAdvanced(ack);
    } else if (ack === this.sndUna && this.sndMax !== this.sndUna && ((pure && window === this.sndWnd) || sackNews)) {
      // RFC 6675 §2: with SACK, an ACK reporting new SACKed data counts as a duplicate too.
      this.duplicateAck();
    }
    // RFC 6675 §5 IsLost(HighACK + 1): enough SACKed above SND.UNA starts recovery without waiting for the duplicates.
    if (this.sackOk && !this.inRecovery && seqGe(this.sndUna, this.recover) && this.scoreboard.sacked > (this.dupThresh() - 1) * this.sndMss) this.enterRecovery();
    // Window update, only from a segment newer than the last one used (§3.10.7.4 "Fifth").
    if (seqLe(this.sndUna, ack) && (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack)))) {
      this.sndWnd = window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (window > this.maxSndWnd) this.maxSndWnd = window;
      if (window === 0 && seqGt(this.dataEnd(), this.sndUna) && this.sndNxt !== this.sndUna && !this.finSent) {
        // The peer is alive but closed its window over data in flight: stop retransmitting
        // into it and probe instead (MUST-36/37: the connection stays open while probes are ACKed).
        this.sndNxt = this.sndUna;
        this.deadlines[RTX] = Infinity;
        this.retries = 0;
      }
      if (window > 0) {
        this.deadlines[PERSIST] = Infinity;
        this.persistBackoff = 0;
      }
    }
  }

  /** Adds the segment's SACK blocks to the scoreboard; whether any reported new bytes. */
  private takeSack(seg: TcpRepr, una: number): boolean {
    const blocks = tcpOptionsSackBlocks(seg.options);
    if (!blocks) return false;
    let news = false;
    for (const [left, right] of blocks) if (this.scoreboard.add(left, right, una, this.sndMax)) news = true;
    return news;
  }

  /** SND.UNA < SEG.ACK ≤ SND.MAX. */
  private ackAdvanced(ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    const synAcked = this.sndUna === this.iss;
    if (this.tsOk) {
      // RFC 7323 §4.1: RTTM from the echoed timestamp, one sample per flight (Appendix G); it
      // holds for retransmitted segments too, so Karn's rule is not needed.
      if (this.segTsEcr !== 0 && seqGe(ack, this.rttSeq)) {
        const r = seqDiff(this.tsNow(), this.segTsEcr);
        if (r >= 0 && r <= this.host.config.maxRto) this.rto.sample(r);
        this.rttSeq = this.sndMax;
      }
    } else if (this.rttStart !== undefined && seqGe(ack, this.rttSeq)) {
      this.rto.sample(this.host.clock.now() - this.rttStart);
      this.rttStart = undefined;
    }
    const dataAcked = Math.max(0, Math.min(this.sendBuf.length, seqDiff(ack, this.sndBufSeq)));
    if (dataAcked > 0) {
      this.sendBuf.consume(dataAcked);
      this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
    }
    if (this.sndUna === this.iss && this.retries > 0) this.rto.synTimedOut();
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.scoreboard.advance(ack);
    this.retries = 0;
    this.rto.resetBackoff();
    // Congestion control.
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        this.inRecovery = false;
        // RFC 6675 §5 leaves cwnd at ssthresh; RFC 6582 §3.2 step 6 for NewReno.
        this.cwnd = this.sackRecovery ? this.ssthresh : Math.min(this.ssthresh, Math.max(this.flightSize(), this.sndMss) + this.sndMss);
        this.sackRecovery = false;
        this.rtxMarks.length = 0;
      } else if (this.sackRecovery) {
        // RFC 6675: a partial ACK changes nothing but the scoreboard; output() sends what pipe allows.
        let drop = 0;
        while (drop < this.rtxMarks.length && seqLt(this.rtxMarks[drop]!, ack)) drop += 2;
        if (drop > 0) this.rtxMarks.splice(0, drop);
      } else {
        // RFC 6582 §3.2 step 5: a partial ACK retransmits the next hole and deflates.
        this.retransmitFirst();
        this.cwnd = Math.max(this.sndMss, this.cwnd - acked + this.sndMss);
      }
    } else if (synAcked) {
      // The ACK of our SYN acknowledges no data: the window stays at IW (RFC 5681 §3.1).
    } else if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, this.sndMss);
    } else {
      this.cwnd += Math.max(1, Math.floor((this.sndMss * this.sndMss) / this.cwnd));
    }
    this.dupAcks = 0;
    // RFC 6298 §5.2/5.3.
    this.probed = false;
    this.deadlines[TLP] = Infinity;
    if (this.sndUna === this.sndMax) this.deadlines[RTX] = Infinity;
    else {
      this.arm(RTX, this.rto.rto);
      this.armProbe();
    }
    this.wakeWriters();
  }

  /** RFC 5681 §3.2 fast retransmit; recovery per RFC 6675 with SACK, RFC 6582 without. */
  private duplicateAck(): void {
    this.dupAcks++;
    if (!this.inRecovery && this.dupAcks >= this.dupThresh() && seqGe(this.sndUna, this.recover)) this.enterRecovery();
    else if (this.dupAcks > DUP_THRESH && this.inRecovery && !this.sackRecovery) this.cwnd += this.sndMss;
  }

  /**
   * Duplicates (or SACKed segments) that signal a loss: DupThresh, or with fewer than four
   * segments outstanding and nothing new allowed out, one fewer than are outstanding (RFC 5827
   * early retransmit) — a small window would otherwise never see three and wait for the timer.
   */
  private dupThresh(): number {
    const outstanding = Math.ceil(this.flightSize() / this.sndMss);
    if (outstanding >= DUP_THRESH + 1) return DUP_THRESH;
    // A segment can go out when the windows allow a full one or all that is left (output()'s SWS rule).
    const allowed = this.newDataAllowed();
    if (allowed > 0 && (allowed >= this.segMax() || allowed >= seqDiff(this.dataEnd(), this.sndNxt))) return DUP_THRESH;
    return Math.max(1, outstanding - 1);
  }

  /**
   * Bytes of new data the windows let out now. RFC 3042 limited transmit: the first two
   * duplicate ACKs each let one more segment out beyond cwnd (cwnd itself is unchanged), so that
   * a small window still draws enough duplicates for a fast retransmit.
   */
  private newDataAllowed(): number {
    const unsent = seqDiff(this.dataEnd(), this.sndNxt);
    if (unsent <= 0) return 0;
    const inFlight = seqDiff(this.sndNxt, this.sndUna);
    const limited = this.inRecovery ? 0 : Math.min(this.dupAcks, DUP_THRESH - 1) * this.sndMss;
    // cwnd counts whole segments here (as Linux's does): a fraction left by the byte-counted
    // increase would otherwise be held back by SWS avoidance and strand the last segment.
    const cwnd = Math.ceil(this.cwnd / this.sndMss) * this.sndMss;
    return Math.min(unsent, this.sndWnd - inFlight, cwnd + limited - this.pipe());
  }

  private enterRecovery(): void {
    this.ssthresh = Math.max(Math.floor(this.flightSize() / 2), 2 * this.sndMss);
    this.recover = this.sndMax;
    this.inRecovery = true;
    this.host.stats.fastRetransmits++;
    if (this.sackOk) {
      // RFC 6675 §5 steps 4.2–4.3: cwnd = ssthresh, the first hole goes at once, the rest as pipe allows.
      this.sackRecovery = true;
      this.cwnd = this.ssthresh;
      this.highRxt = this.sndUna;
      this.rtxMarks.length = 0;
      this.retransmitHole(this.segMax(), true);
    } else {
      this.retransmitFirst();
      this.cwnd = this.ssthresh + DUP_THRESH * this.sndMss;
    }
  }

  /**
   * RFC 6675 NextSeg rule 1: the first hole above HighRxt that IsLost (DupThresh segments'
   * worth SACKed above it) — or, `first`, the hole at SND.UNA whatever is SACKed (step 4.3).
   * Window limits are the caller's. Returns whether one was sent.
   */
  private retransmitHole(mss: number, first = false): boolean {
    if (seqLt(this.highRxt, this.sndUna)) this.highRxt = this.sndUna;
    const hole = this.scoreboard.nextHole(this.highRxt, mss) ?? (first ? [this.sndUna, seqAdd(this.sndUna, mss)] : undefined);
    if (!hole) return false;
    const end = seqLt(this.dataEnd(), hole[1]) ? this.dataEnd() : hole[1];
    if (!seqLt(hole[0], end) || (!first && this.scoreboard.sackedAbove(hole[0]) <= (this.dupThresh() - 1) * this.sndMss)) return false;
    this.sendData(hole[0], seqDiff(end, hole[0]), false);
    this.rtxMarks.push(hole[0], this.sndMax);
    this.highRxt = end;
    return true;
  }

  /**
   * A retransmission is lost too when data sent after it has been SACKed while its hole is
   * still open (the idea of RACK, RFC 8985, on sequence numbers, without a reordering window):
   * send it again instead of waiting for the retransmission timer.
   */
  private detectLostRetransmission(): void {
    const m = this.rtxMarks;
    const fack = this.scoreboard.highest(this.sndUna);
    for (let i = 0; i < m.length; i += 2) {
      const seq = m[i]!;
      if (seqLt(seq, this.sndUna) || this.scoreboard.isSacked(seq)) continue;
      if (seqGt(fack, m[i + 1]!)) {
        this.host.stats.lostRetransmits++;
        this.highRxt = seq;
        m.length = i;
      }
      return;
    }
  }

  /** RFC 6675 SetPipe, counted the FACK way: bytes past the highest SACK plus retransmitted holes. */
  private pipe(): number {
    if (!this.sackRecovery) return seqDiff(this.sndNxt, this.sndUna);
    const fack = this.scoreboard.highest(this.sndUna);
    return seqDiff(this.sndMax, fack) + this.scoreboard.holeBytes(this.sndUna, seqLt(this.highRxt, fack) ? this.highRxt : fack);
  }

  private flightSize(): number {
    return seqDiff(this.sndMax, this.sndUna);
  }

  private receiveText(seq: number, payload: Uint8Array): void {
    if (this.state.name === 'Fin_wait_2') this.arm(LINGER, this.host.config.finWait2Timeout);
    if (seq !== this.rcvNxt) {
      // Out of order: keep it (bounded) and send a duplicate ACK at once (RFC 5681 §4.2), its
      // SACK block first (RFC 2018 §4).
      this.reasm.insert(seq, payload);
      if (this.sackOk) this.noteSack(seq);
      this.ackNow = true;
      return;
    }
    this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
    this.user?.data(payload);
    if (this.reasm.size > 0) {
      for (const chunk of this.reasm.takeFrom(this.rcvNxt)) {
        this.rcvNxt = seqAdd(this.rcvNxt, chunk.length);
        this.user?.data(chunk);
      }
      const nxt = this.rcvNxt;
      if (this.sackList.length > 0) this.sackList = this.sackList.filter((b) => seqGt(b[0], nxt));
      // A segment that fills a gap is acknowledged immediately (RFC 5681 §4.2).
      this.ackNow = true;
      if (this.reasm.finSeq === this.rcvNxt) this.finArrived();
    }
    // Delayed ACK: at least every second segment, otherwise within delayedAckMs (MUST-40).
    // Once our FIN is out no data of ours can carry the ACK, so delaying it saves nothing
    // (RFC 1122 §4.2.3.2 delays to piggyback) and only slows the peer's loss detection: a
    // peer with data and its FIN in flight probes after 2·SRTT (RFC 8985 §7.2, Linux
    // with SACK), and a probed FIN that our late ACK crosses ends in its RST.
    if (++this.ackPending >= 2 || this.finSent || this.host.config.delayedAckMs <= 0) this.ackNow = true;
  }

  /** The out-of-order run holding `seq` becomes the first SACK block; older ones it absorbed go. */
  private noteSack(seq: number): void {
    const run = this.reasm.rangeAround(seq);
    if (!run) return;
    const list: Array<[number, number]> = [run];
    for (const b of this.sackList) if (list.length < 4 && (seqGt(b[0], run[1]) || seqLt(b[1], run[0]))) list.push(b);
    this.sackList = list;
  }

  /** §3.10.7.4 "Eighth". */
  private finArrived(): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackNow = true;
    this.reasm.clear();
    this.sackList = [];
    this.user?.peerFin();
    const to = this.tick({ kind: 'Recv_fin' });
    if (to.name === 'Time_wait') this.enterTimeWait();
  }

  /**
   * RFC 1122 §4.2.2.13: a SYN in TIME-WAIT may open a new incarnation of the connection when it
   * cannot belong to the old one — its sequence number lies beyond the old RCV.NXT or, with
   * timestamps, its TSval is newer than TS.Recent (RFC 6191); PAWS rejects an older TSval.
   * Linux's tcp_timewait_state_process applies the same tests.
   */
  timeWaitAcceptsSyn(seg: TcpRepr): boolean {
    if (this.state.name !== 'Time_wait' || this.released) return false;
    const ts = this.tsOk ? tcpOptionsTimestamps(seg.options) : undefined;
    if (ts && seqLt(ts.tsval, this.tsRecent)) return false;
    return seqGt(seg.seq, this.rcvNxt) || (ts !== undefined && seqGt(ts.tsval, this.tsRecent));
  }

  /**
   * Ends TIME-WAIT for the new incarnation a SYN opens (see timeWaitAcceptsSyn). Returns the
   * ISS the new incarnation must use: beyond every sequence number the old one used and the
   * window the peer may still accept for it (Linux: SND.NXT + 65535 + 2).
   */
  yieldToSyn(seg: TcpRepr): number {
    this.enter();
    this.tick({ kind: 'Recv_syn', seq: seg.seq });
    this.releaseAll();
    this.leave();
    return seqAdd(this.sndMax, 65535 + 2);
  }

  /** A retransmitted FIN in TIME-WAIT: ACK it and restart 2×MSL (§3.10.7.4 "Eighth"). */
  private timeWaitFin(): void {
    this.tick({ kind: 'Recv_fin' });
    this.arm(LINGER, 2 * this.host.config.msl);
  }

  private enterTimeWait(): void {
    // Every path into TIME-WAIT arms the 2×MSL timer (MUST-13; compare mirage #489).
    this.deadlines[RTX] = this.deadlines[PERSIST] = Infinity;
    this.arm(LINGER, 2 * this.host.config.msl);
    this.user?.finished();
  }

  private becameEstablished(): void {
    this.embryonic = false;
    this.notifyEstablished = true;
    if (this.closeAfterEstablished) {
      this.closeAfterEstablished = false;
      this.finQueued = true;
    }
  }

  private resetArrived(): void {
    this.host.stats.resetsReceived++;
    const from = this.state;
    this.tick({ kind: 'Recv_rst' });
    const reason: ResetReason = from.name === 'Syn_sent' || (from.name === 'Syn_rcvd' && !from.passive) ? 'refused' : 'peer-reset';
    this.abandon(reason);
  }

  /** RFC 5961 §7: at most challengeAcksPerSecond per connection (never a global counter: CVE-2016-5696). */
  private challengeAck(): void {
    const now = this.host.clock.now();
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.host.config.challengeAcksPerSecond) {
      this.host.stats.challengeAcksLimited++;
      return;
    }
    this.challengeCount++;
    this.host.stats.challengeAcks++;
    this.sendAck();
  }

  // ───────────────────────────── user calls ─────────────────────────────

  /** SEND (§3.10.2). `done` runs once the bytes fit in the send buffer (back-pressure). */
  send(data: Uint8Array, done: () => void): void {
    if (this.depth > 0) {
      this.deferred.push(() => this.send(data, done));
      return;
    }
    if (this.released || this.finQueued || this.closeAfterEstablished) {
      done();
      return;
    }
    this.enter();
    this.sendBuf.append(data);
    if (this.sendBuf.length <= this.host.config.sendBuffer) done();
    else this.writeWaiters.push(done);
    this.leave();
  }

  /**
   * CLOSE (§3.10.4), i.e. half-close: the FIN follows the queued data. `done` runs when the FIN
   * has been sent. In SYN-RECEIVED with nothing queued the FIN goes at once (→ FIN-WAIT-1);
   * the Minnesota Goodbye profiles replace exactly this case with mirage's 2014 behaviour.
   */
  close(done: () => void): void {
    if (this.depth > 0) {
      this.deferred.push(() => this.close(done));
      return;
    }
    const s = this.state.name;
    if (this.released || this.finQueued || this.closeAfterEstablished || !(s === 'Syn_sent' || s === 'Syn_rcvd' || s === 'Established' || s === 'Close_wait')) {
      done();
      return;
    }
    if (s === 'Syn_rcvd' && this.host.bugs.closeInSynRcvd === 'noop') {
      // mirage 2014 Tx.close: `| _ -> return ()`.
      done();
      return;
    }
    this.enter();
    this.closeWaiters.push(done);
    if (s === 'Syn_rcvd' && this.host.bugs.closeInSynRcvd === 'wait-for-flush') this.closeAfterEstablished = true;
    else this.finQueued = true;
    this.leave();
  }

  /** ABORT (§3.10.5): RST (<SEQ=SND.MAX>, see sendAck) where the peer has state to lose, then CLOSED. */
  abort(): void {
    if (this.depth > 0) {
      this.deferred.push(() => this.abort());
      return;
    }
    if (this.released) return;
    this.enter();
    const s = this.state.name;
    if (s === 'Syn_rcvd' || s === 'Established' || s === 'Fin_wait_1' || s === 'Fin_wait_2' || s === 'Close_wait') {
      this.host.transmit(this, this.segment(RST, this.sndMax, EMPTY));
      this.host.stats.resetsSent++;
      this.tick({ kind: 'Send_rst' });
    } else {
      this.tick({ kind: 'Abort' });
    }
    this.abandon(undefined);
    this.leave();
  }

  /**
   * The application read from its buffer. If the advertised window had become too small for
   * the sender to use (below min(buffer/2, MSS), where sender-side SWS avoidance stops it),
   * announce the reopened window at once instead of waiting for its probe (compare mirage #340,
   * where no update was ever sent). Larger windows are refreshed by the ACKs that data draws.
   */
  readDrained(): void {
    if (this.depth > 0 || this.released) return;
    const s = this.state.name;
    if (s !== 'Established' && s !== 'Fin_wait_1' && s !== 'Fin_wait_2') return;
    if (this.windowNeedsUpdate() && seqGt(this.nextRcvEdge(), this.rcvAdvEdge)) {
      this.enter();
      this.ackNow = true;
      this.leave();
    }
  }

  /** The advertised window is too small for the sender to use (see readDrained). */
  windowNeedsUpdate(): boolean {
    const cfg = this.host.config;
    return this.rcvWnd() < Math.min(cfg.receiveBuffer >>> 1, cfg.mss);
  }

  // ───────────────────────────── output ─────────────────────────────

  private dataEnd(): number {
    return seqAdd(this.sndBufSeq, this.sendBuf.length);
  }

  /** Sends what the windows allow: data cut to the MSS, then the FIN after the last byte. */
  private output(): void {
    const s = this.state.name;
    const sending = s === 'Established' || s === 'Close_wait' || s === 'Fin_wait_1' || s === 'Closing' || s === 'Last_ack';
    const dataEnd = this.dataEnd();
    if (!sending) {
      // §3.10.4: CLOSE in SYN-RECEIVED with nothing queued sends the FIN now.
      if (s === 'Syn_rcvd' && this.finQueued && this.sendBuf.length === 0 && this.sndNxt === dataEnd) this.sendFin(dataEnd);
      return;
    }
    const mss = this.segMax();
    if (this.sackRecovery) {
      this.detectLostRetransmission();
      for (let i = 0; i < 10_000 && this.pipe() < this.cwnd && this.retransmitHole(mss); i++);
    }
    for (;;) {
      // After a timeout (go-back-N) what the peer SACKed is not sent again (RFC 6675 §5.1).
      if (seqLt(this.sndNxt, this.sndMax) && !this.scoreboard.empty) this.sndNxt = this.scoreboard.skipSacked(this.sndNxt);
      const unsent = seqDiff(dataEnd, this.sndNxt);
      if (unsent > 0) {
        const inFlight = seqDiff(this.sndNxt, this.sndUna);
        let len = Math.min(mss, this.newDataAllowed());
        if (seqLt(this.sndNxt, this.sndMax) && !this.scoreboard.empty) len = Math.min(len, this.scoreboard.holeBytes(this.sndNxt, seqAdd(this.sndNxt, len)));
        if (len <= 0) {
          this.maybePersist(inFlight);
          return;
        }
        if (len < mss && len < unsent && len < this.maxSndWnd / 2) {
          // Sender-side SWS avoidance (§3.8.6.2.1): wait for a useful window.
          this.maybePersist(inFlight);
          return;
        }
        if (len < mss && len === unsent && this.nagle && inFlight > 0) return;
        this.sendData(this.sndNxt, len, this.finQueued && len === unsent);
        continue;
      }
      if (this.finQueued && this.sndNxt === dataEnd) this.sendFin(dataEnd);
      return;
    }
  }

  private maybePersist(inFlight: number): void {
    if (inFlight === 0 && this.deadlines[RTX] === Infinity && this.deadlines[PERSIST] === Infinity) {
      this.arm(PERSIST, Math.min(this.host.config.maxRto, this.rto.rto * 2 ** this.persistBackoff));
    }
  }

  private sendData(seq: number, len: number, withFin: boolean): void {
    const payload = this.sendBuf.read(seqDiff(seq, this.sndBufSeq), len);
    let flags = ACK;
    if (seqAdd(seq, len) === this.dataEnd()) flags |= PSH;
    if (withFin) flags |= FIN;
    this.transmitSequenced(flags, seq, payload);
  }

  private sendFin(seq: number): void {
    this.transmitSequenced(ACK | FIN, seq, EMPTY);
  }

  /** Sends a segment that occupies sequence space and does the bookkeeping (timers, Karn, FIN tick). */
  private transmitSequenced(flags: number, seq: number, payload: Uint8Array): void {
    const end = seqAdd(seq, payload.length + (flags & FIN ? 1 : 0));
    const retransmission = seqLt(seq, this.sndMax);
    if (retransmission) {
      this.host.stats.retransmits++;
      this.rttStart = undefined; // Karn (RFC 6298 §3)
    }
    this.host.transmit(this, this.segment(flags, seq, payload));
    this.ackSent();
    if (seqGt(end, this.sndNxt)) this.sndNxt = end;
    if (seqGt(end, this.sndMax)) {
      if (this.rttStart === undefined && !retransmission) {
        this.rttSeq = end;
        this.rttStart = this.host.clock.now();
      }
      this.sndMax = end;
    }
    this.deadlines[PERSIST] = Infinity;
    if (this.deadlines[RTX] === Infinity) this.arm(RTX, this.rto.rto);
    if (!retransmission) this.armProbe();
    if (flags & FIN && !this.finSent) {
      this.finSent = true;
      this.tick({ kind: 'Send_fin', seq: seqAdd(end, -1) });
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** RFC 6298 §5.4 / RFC 5681 §3.2: resend the earliest unacknowledged segment. */
  private retransmitFirst(): void {
    if (this.sndUna === this.iss) {
      if (!this.synHandedOff) {
        this.host.stats.retransmits++;
        this.rttStart = undefined;
        this.host.transmit(this, this.synSegment());
        if (this.state.name !== 'Syn_sent') this.ackSent();
      }
      return;
    }
    const dataEnd = this.dataEnd();
    const len = Math.min(this.segMax(), Math.max(0, seqDiff(dataEnd, this.sndUna)));
    if (len > 0) this.sendData(this.sndUna, len, this.finSent && seqAdd(this.sndUna, len) === dataEnd);
    else if (this.finSent) this.sendFin(dataEnd);
  }

  private segment(flags: number, seq: number, payload: Uint8Array): TcpRepr {
    const out = this.out;
    out.seq = seq;
    out.ack = flags & ACK ? this.rcvNxt : 0;
    out.flags = flags;
    out.window = flags & RST ? 0 : this.windowField();
    out.options = flags & RST ? NO_OPTIONS : this.segmentOptions();
    out.payload = payload;
    return out;
  }

  /** Timestamps on every segment once negotiated (RFC 7323 §3.2), then the SACK blocks (at most 3 beside timestamps, 4 alone). */
  private segmentOptions(): TcpOption[] {
    const sack = this.sackList.length > 0;
    if (!this.tsOk && !sack) return NO_OPTIONS;
    if (this.tsOk) {
      this.tsOption.tsval = this.tsNow();
      this.tsOption.tsecr = this.tsRecent;
      if (!sack) return this.tsOptions;
    }
    const opts: TcpOption[] = this.tsOk ? [...this.tsOptions] : [];
    opts.push(NOP, NOP, { kind: 'sack', blocks: this.sackList.slice(0, this.tsOk ? 3 : 4) });
    return opts;
  }

  /** Largest payload for the next segment: the MSS less the options it carries (RFC 6691). */
  private segMax(): number {
    const blocks = Math.min(this.sackList.length, this.tsOk ? 3 : 4);
    const opts = (this.tsOk ? TS_OPTION_BYTES : 0) + (blocks > 0 ? 4 + 8 * blocks : 0);
    return Math.max(1, this.sndMss - opts);
  }

  /**
   * A segment without data carries SND.MAX, not SND.NXT: after a timeout SND.NXT has gone
   * back to SND.UNA, and an ACK numbered below what the peer already received would be
   * unacceptable to it — answered by its own ACK, numbered below what we received, and so on
   * (BSD's tcp_output uses snd_max for the same reason). But never past the right edge of the
   * peer's window (Linux's tcp_acceptable_seq): with its window closed over data it did not
   * take, only SEG.SEQ = RCV.NXT is acceptable to it (MUST-66), and an ACK it cannot accept
   * would leave both sides waiting — the peer for this ACK, we for the peer to read.
   */
  private sendAck(): void {
    const edge = seqAdd(this.sndUna, this.sndWnd);
    this.host.transmit(this, this.segment(ACK, seqLt(edge, this.sndMax) ? edge : this.sndMax, EMPTY));
    this.ackSent();
  }

  /** <SEQ=SEG.ACK><CTL=RST> for an unacceptable ACK in SYN-SENT / SYN-RECEIVED. */
  private sendReset(seq: number): void {
    this.host.stats.resetsSent++;
    this.host.transmit(this, { srcPort: this.localPort, dstPort: this.remotePort, seq, ack: 0, flags: RST, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY });
  }

  private ackSent(): void {
    this.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    this.ackPending = 0;
    this.deadlines[DELACK] = Infinity;
  }

  private rcvWnd(): number {
    return Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
  }

  /**
   * Where the window's right edge would go now: the free receive buffer, but never left of the
   * edge already advertised (§3.8.6.2.2 discourages shrinking) and not moved right by less than
   * min(buffer/2, MSS) (receiver-side SWS avoidance, MUST-39).
   */
  private nextRcvEdge(): number {
    const cfg = this.host.config;
    const free = Math.max(0, cfg.receiveBuffer - (this.user ? this.user.unread() : 0));
    const edge = seqAdd(this.rcvNxt, free);
    const floor = seqGt(this.rcvAdvEdge, this.rcvNxt) ? this.rcvAdvEdge : this.rcvNxt;
    return seqDiff(edge, floor) >= Math.min(cfg.receiveBuffer >>> 1, cfg.mss) ? edge : floor;
  }

  private windowField(): number {
    const wnd = seqDiff(this.nextRcvEdge(), this.rcvNxt);
    const shift = this.rcvWscale;
    const field = Math.min(65535, Math.ceil(wnd / 2 ** shift));
    this.rcvAdvEdge = seqAdd(this.rcvNxt, field * 2 ** shift);
    return field;
  }

  // ───────────────────────────── timers ─────────────────────────────

  private arm(slot: number, delayMs: number): void {
    const at = this.host.clock.now() + delayMs;
    this.deadlines[slot] = at;
    if (at < this.timerAt) {
      this.host.clock.clearTimer(this.timer);
      this.timerAt = at;
      this.timer = this.host.clock.setTimer(delayMs, this.onTimer);
    }
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.released) return;
    const now = this.host.clock.now();
    this.enter();
    for (let slot = 0; slot < SLOTS && !this.released; slot++) {
      if (this.deadlines[slot]! <= now) {
        this.deadlines[slot] = Infinity;
        this.fire(slot);
      }
    }
    this.leave();
  };

  private fire(slot: number): void {
    switch (slot) {
      case RTX:
        return this.retransmitTimeout();
      case PERSIST:
        return this.persistTimeout();
      case DELACK:
        if (this.ackPending > 0) this.ackNow = true;
        return;
      case TLP:
        return this.tailLossProbe();
      case LINGER:
        // TIME-WAIT's 2×MSL, or FIN-WAIT-2's idle limit.
        if (this.state.name === 'Time_wait' || this.state.name === 'Fin_wait_2') {
          this.tick({ kind: 'Timeout' });
          this.finish();
        }
        return;
    }
  }

  /**
   * RFC 8985 §7.2: with SACK, data outstanding and an RTT measured, a probe goes out after
   * PTO = 2·SRTT (plus a delayed ACK's worth when one segment is in flight) unless the
   * retransmission timer comes first. Unlike RFC 8985 it is armed in recovery too: a lost
   * retransmission with nothing sent after it is otherwise found only by the timer.
   */
  private armProbe(): void {
    const srtt = this.rto.srtt;
    if (!this.sackOk || this.probed || srtt === undefined || this.sndUna === this.iss || this.sndUna === this.sndMax) return;
    let pto = Math.max(MIN_PTO_MS, 2 * srtt);
    if (this.flightSize() <= this.sndMss) pto += WORST_DELAYED_ACK_MS;
    if (this.host.clock.now() + pto < this.deadlines[RTX]!) this.arm(TLP, pto);
    else this.deadlines[TLP] = Infinity;
  }

  /**
   * RFC 8985 §7.3: one new segment if the peer's window has room (cwnd is not consulted), else
   * the first hole in recovery or the last segment sent; its ACK (with SACK) lets recovery find
   * what the tail lost. The retransmission timer restarts.
   */
  private tailLossProbe(): void {
    if (this.sndUna === this.sndMax || this.probed) return;
    this.probed = true;
    this.host.stats.tailLossProbes++;
    const mss = this.segMax();
    const dataEnd = this.dataEnd();
    const unsent = seqDiff(dataEnd, this.sndNxt);
    const room = this.sndWnd - seqDiff(this.sndNxt, this.sndUna);
    if (unsent > 0 && room >= Math.min(mss, unsent)) {
      const len = Math.min(mss, unsent);
      this.sendData(this.sndNxt, len, this.finQueued && len === unsent);
    } else if (this.sackRecovery) {
      this.retransmitHole(mss, true);
    } else {
      const sentEnd = seqLt(this.sndMax, dataEnd) ? this.sndMax : dataEnd;
      const start = seqLt(seqAdd(sentEnd, -mss), this.sndUna) ? this.sndUna : seqAdd(sentEnd, -mss);
      if (seqLt(start, sentEnd)) this.sendData(start, seqDiff(sentEnd, start), this.finSent && sentEnd === dataEnd);
      else if (this.finSent) this.sendFin(dataEnd);
    }
    this.arm(RTX, this.rto.rto);
  }

  /** RFC 6298 §5.4–5.6, R2 of §3.8.3. */
  private retransmitTimeout(): void {
    if (this.sndUna === this.sndMax) return;
    const synPhase = this.sndUna === this.iss;
    const limit = synPhase ? this.host.config.maxSynRetries : this.host.config.maxRetries;
    if (++this.retries > limit) {
      this.host.stats.retransmitTimeouts++;
      this.tick({ kind: 'Timeout' });
      this.abandon('timeout');
      return;
    }
    this.host.stats.rtoExpiries++;
    this.rto.backoff();
    this.rttStart = undefined;
    this.arm(RTX, this.rto.rto);
    if (synPhase) {
      this.retransmitFirst();
      return;
    }
    // RFC 5681 §3.1 eq. (4) and loss window; then go back to SND.UNA.
    this.ssthresh = Math.max(Math.floor(this.flightSize() / 2), 2 * this.sndMss);
    this.cwnd = this.sndMss;
    this.inRecovery = false;
    this.sackRecovery = false;
    this.rtxMarks.length = 0;
    this.deadlines[TLP] = Infinity;
    // RFC 6675 §5.1: the go-back-N that follows skips what was SACKed. A second timeout in a
    // row forgets the SACKs instead (RFC 2018 §8: the receiver may have reneged on them).
    if (this.retries > 1) this.scoreboard.clear();
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.sndNxt = this.sndUna;
    this.retransmitFirst();
  }

  /** Zero-window probe (MUST-35/36), or a forced send when SWS avoidance held back a small window. */
  private persistTimeout(): void {
    const inFlight = seqDiff(this.sndNxt, this.sndUna);
    const unsent = seqDiff(this.dataEnd(), this.sndNxt);
    if (inFlight > 0 || unsent <= 0) return;
    const usable = Math.min(this.sndWnd, this.cwnd);
    if (usable > 0) {
      const len = Math.min(usable, unsent, this.segMax());
      this.sendData(this.sndNxt, len, this.finQueued && len === unsent);
    } else {
      // <SEQ=SND.UNA−1>: outside the peer's window, so it must answer with an ACK carrying its
      // current window, and it consumes no sequence space (what Linux sends).
      this.host.stats.windowProbes++;
      this.host.transmit(this, this.segment(ACK, seqAdd(this.sndUna, -1), EMPTY));
      this.ackSent();
    }
    this.persistBackoff++;
    this.arm(PERSIST, Math.min(this.host.config.maxRto, this.rto.rto * 2 ** this.persistBackoff));
  }

  // ───────────────────────────── bookkeeping ─────────────────────────────

  private tick(action: Action): State {
    const from = this.state;
    const to = transition(from, action);
    this.state = to;
    this.host.traceTick(this, from, action, to);
    return to;
  }

  /** Normal end: LAST-ACK acknowledged, or TIME-WAIT / FIN-WAIT-2 timed out. */
  private finish(): void {
    this.user?.finished();
    this.releaseAll();
  }

  /** Reset or abort: flush the queues, cancel the timers, tell the application (§3.10.7.4; mirage #107). */
  private abandon(reason: ResetReason | undefined): void {
    this.sendBuf.clear();
    this.reasm.clear();
    this.sackList = [];
    if (reason) this.user?.reset(reason);
    this.releaseAll();
  }

  private releaseAll(): void {
    if (this.released) return;
    this.released = true;
    this.host.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.deadlines.fill(Infinity);
    this.host.release(this);
    const waiters = this.writeWaiters.concat(this.closeWaiters);
    this.writeWaiters = [];
    this.closeWaiters = [];
    for (const w of waiters) w();
  }

  private wakeWriters(): void {
    if (this.writeWaiters.length === 0 || this.sendBuf.length > this.host.config.sendBuffer) return;
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const w of waiters) w();
  }

  private enter(): void {
    this.depth++;
  }

  /**
   * Leaving the outermost call: run the application calls queued meanwhile (each as its own
   * call, so a reply written in a 'data' handler carries the pending ACK), send what is due,
   * then report a completed handshake.
   */
  private leave(): void {
    if (this.depth > 1) {
      this.depth--;
      return;
    }
    for (let round = 0; round < 1000; round++) {
      this.depth = 0;
      for (let i = 0; i < 10_000 && this.deferred.length > 0; i++) this.deferred.shift()!();
      if (this.released) break;
      this.depth = 1;
      this.output();
      if (this.ackNow) this.sendAck();
      else if (this.ackPending > 0 && this.deadlines[DELACK] === Infinity) this.arm(DELACK, this.host.config.delayedAckMs);
      this.reschedule();
      this.depth = 0;
      if (this.deferred.length === 0) break;
    }
    this.depth = 0;
    if (this.notifyEstablished && !this.released) {
      this.notifyEstablished = false;
      this.host.established(this);
    }
  }

  /** Re-arms the clock timer for the earliest deadline when an earlier one was cleared. */
  private reschedule(): void {
    const d = this.deadlines;
    const next = Math.min(d[0]!, d[1]!, d[2]!, d[3]!, d[4]!);
    if (next === Infinity || next >= this.timerAt) return;
    this.host.clock.clearTimer(this.timer);
    this.timerAt = next;
    this.timer = this.host.clock.setTimer(next - this.host.clock.now(), this.onTimer);
  }
}
