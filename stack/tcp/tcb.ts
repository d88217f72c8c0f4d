import type { Clock } from '../clock.js';
import { seqAdd, seqDiff, seqGt, seqInRange, seqLe, seqLt } from '../wire/seq.js';
import { ACK, FIN, PSH, RST, SYN, tcpOptionsMss, tcpOptionsSackPermitted, tcpOptionsWscale, type TcpRepr } from '../wire/tcp.js';
import type { BugSwitches } from './bugs.js';
import { CallQueue, type Settling } from './call-queue.js';
import type { TcpConfig } from './config.js';
import { CONTROLLERS, type CongestionController } from './congestion/index.js';
import { LossRecovery, type SendState } from './loss-recovery.js';
import { Reassembly } from './reassembly.js';
import { ReceiveWindow, windowShiftFor } from './receive-window.js';
import { RtoEstimator } from './rto.js';
import { EMPTY, NO_OPTIONS, maxPayload, resetSegment, segment, segmentOptions, synOptions, synSegment } from './segments.js';
import { SendBuffer } from './send-buffer.js';
import { CLOSED, transition, type Action, type State } from './state.js';
import type { TcpStats } from './stats.js';
import { DELACK, LINGER, PERSIST, RTX, SLOTS, TLP, TimerMux, type TimerOwner } from './timers.js';
import { Timestamps, type TimestampsOption } from './timestamps.js';

/** What a connection needs from the layer that owns it. */
export interface TcbHost {
  readonly clock: Clock;
  readonly config: TcpConfig;
  readonly bugs: BugSwitches;
  readonly stats: TcpStats;
  /** Sends `seg` now; it is only valid during the call (one object is refilled for every segment, segments.ts). */
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

/** No SACK blocks to report: a connection's list is replaced, never changed in place, so one empty list serves all. */
const NO_SACK_BLOCKS: ReadonlyArray<[number, number]> = [];

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
 * The TCB holds the sequence spaces (§3.3.1) and runs the steps: opening, the input steps
 * "first" to "eighth" (§3.10.7.4), the user calls and the output. Its parts live beside it:
 * the congestion controller (congestion/) and loss recovery (loss-recovery.ts), the timer
 * slots (timers.ts), timestamps and RTT samples (timestamps.ts), the advertised window
 * (receive-window.ts), the segment layout (segments.ts), and the queue that holds the
 * application's calls made while a segment or a timer is processed (call-queue.ts).
 */
export class Tcb implements SendState, TimerOwner, Settling {
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
  private wscaleOffered = false;
  sndMss = 536;
  /** SACK (RFC 2018): before the handshake completes, whether we offer it; after, whether both sides did. */
  sackOk: boolean;
  /** Out-of-order runs to report, most recently changed first (RFC 2018 §4); replaced, never changed in place. */
  private sackList: ReadonlyArray<[number, number]> = NO_SACK_BLOCKS;
  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  private readonly rcvWindow: ReceiveWindow;

  private readonly sendBuf = new SendBuffer();
  /** Sequence number of sendBuf's first byte. */
  private sndBufSeq: number;
  private finQueued = false;
  private finSent = false;
  private readonly reasm: Reassembly;

  readonly rto: RtoEstimator;
  private readonly ts: Timestamps;
  private readonly cc: CongestionController;
  private readonly recovery: LossRecovery;
  private readonly timers: TimerMux;
  private readonly calls: CallQueue;
  private retries = 0;
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

  private notifyEstablished = false;
  // Callbacks waiting for buffer space and for our FIN; undefined when none (most connections never have any).
  private writeWaiters: Array<() => void> | undefined;
  private closeWaiters: Array<() => void> | undefined;
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
    this.sndUna = this.sndNxt = this.sndMax = p.iss;
    this.sndBufSeq = seqAdd(p.iss, 1);
    const cfg = host.config;
    this.nagle = cfg.nagle;
    this.sackOk = cfg.sack;
    this.reasm = new Reassembly(cfg.reassemblyBlocks);
    this.rcvWindow = new ReceiveWindow(cfg);
    this.rto = new RtoEstimator({ initial: cfg.initialRto, min: cfg.minRto, max: cfg.maxRto, granularity: 1 });
    this.ts = new Timestamps(host.clock, this.rto, cfg.maxRto, cfg.timestamps, p.tsOffset);
    this.cc = CONTROLLERS[cfg.congestionControl](this.sndMss);
    this.recovery = new LossRecovery(this, this.cc, host.stats);
    this.timers = new TimerMux(host.clock, this);
    this.calls = new CallQueue(this);
  }

  get alive(): boolean {
    return !this.released;
  }

  /** The retransmission timer is armed: something we sent awaits its acknowledgment. */
  get retransmitting(): boolean {
    return !this.released && this.timers.armed(RTX);
  }

  // ───────────────────────────── opening ─────────────────────────────

  /** LISTEN + SYN (§3.10.7.2): record the peer, answer SYN,ACK, enter SYN-RECEIVED. */
  acceptSyn(seg: TcpRepr): void {
    this.enter();
    this.synArrived(seg, this.host.config.windowScaling && tcpOptionsWscale(seg.options) !== undefined);
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

  /** The peer's SYN: its ISN, the options both sides agree on, its window; `scale` when both offered window scaling. */
  private synArrived(seg: TcpRepr, scale: boolean): void {
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvWindow.start(this.rcvNxt);
    this.negotiate(seg, scale);
    this.sndWnd = this.maxSndWnd = seg.window;
    this.sndWl1 = seg.seq;
  }

  /** MSS (MUST-15/16, §3.7.1) and window scale (RFC 7323 §2.2: only when both sides offer it). */
  private negotiate(seg: TcpRepr, scale: boolean): void {
    // SACK and timestamps: on when we offer (or would) and the peer's SYN does (RFC 2018 §2, RFC 7323 §3.2).
    this.sackOk = this.sackOk && tcpOptionsSackPermitted(seg.options);
    this.ts.negotiate(seg.options);
    const peerMss = tcpOptionsMss(seg.options) ?? 536;
    this.sndMss = Math.max(1, Math.min(peerMss, this.host.config.mss));
    this.cc.start(this.sndMss);
    if (scale) {
      this.wscaleOffered = true;
      this.sndWscale = Math.min(14, tcpOptionsWscale(seg.options) ?? 0);
      this.rcvWindow.shift = windowShiftFor(this.host.config.receiveBuffer);
    } else {
      this.wscaleOffered = false;
      this.sndWscale = this.rcvWindow.shift = 0;
    }
  }

  /** The SYN (SYN-SENT) or SYN,ACK (otherwise) at ISS, as first sent and as retransmitted. */
  synSegment(): TcpRepr {
    const synAck = this.state.name !== 'Syn_sent';
    const cfg = this.host.config;
    const window = this.rcvWindow.syn(this.rcvNxt, synAck);
    const wscale = this.wscaleOffered ? windowShiftFor(cfg.receiveBuffer) : undefined;
    const options = synOptions(cfg.mss, this.sackOk, this.ts, synAck ? this.ts.recent : 0, wscale);
    return synSegment(this.localPort, this.remotePort, this.iss, synAck ? this.rcvNxt : undefined, window, options);
  }

  private sendSyn(): void {
    const seg = this.synSegment();
    if (seqLt(this.sndMax, seqAdd(this.iss, 1))) {
      this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
      this.ts.synSent(this.sndMax);
    }
    this.host.transmit(this, seg);
    if (seg.flags & ACK) this.ackSent();
    if (!this.timers.armed(RTX)) this.timers.arm(RTX, this.rto.rto);
  }

  /**
   * Minnesota Goodbye profiles: the listen entry takes over the SYN,ACK's retransmission
   * (see bugs.ts); this connection stops retransmitting it.
   */
  handOffSynAck(): { dueInMs: number; rto: number } {
    this.synHandedOff = true;
    const due = this.timers.deadline(RTX);
    this.timers.clear(RTX);
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
    const ts = this.ts.arriving(seg.options);
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
    this.synArrived(seg, this.wscaleOffered && tcpOptionsWscale(seg.options) !== undefined);
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
  private synchronizedArrives(arrived: TcpRepr, ts: TimestampsOption | undefined): void {
    let seg = arrived;
    const s0 = this.state.name;
    if (s0 === 'Syn_rcvd' && seg.flags & SYN && seg.seq === this.irs) {
      if (!(seg.flags & ACK)) {
        // A retransmitted SYN means our SYN,ACK was lost: resend it (as Linux does) rather than
        // only ACK, which a peer in SYN-SENT would drop.
        if (!this.synHandedOff) {
          this.host.stats.retransmits++;
          this.ts.retransmitted();
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
    if (ts && !(f & RST) && this.ts.pawsRejects(ts.tsval)) {
      this.host.stats.pawsDrops++;
      this.ackNow = true;
      return;
    }

    // First: sequence number acceptability (Table 6).
    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = this.rcvWindow.wnd(this.rcvNxt);
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
    if (ts) this.ts.accepted(ts.tsval, seg.seq);

    // Trim to the window: bytes before RCV.NXT were received already, bytes past the right
    // edge are not ours to keep (the FIN goes with them).
    let dataSeq = syn ? seqAdd(seg.seq, 1) : seg.seq;
    if (seqLt(dataSeq, this.rcvNxt)) {
      const cut = Math.min(payload.length, seqDiff(this.rcvNxt, dataSeq));
      payload = payload.subarray(cut);
      dataSeq = seqAdd(dataSeq, cut);
      if (fin && seqLt(dataSeq, this.rcvNxt)) fin = false;
    }
    const rightEdge = seqAdd(this.rcvNxt, this.rcvWindow.wnd(this.rcvNxt));
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
        if (to.name === 'Fin_wait_2' && s0 === 'Fin_wait_1') this.timers.arm(LINGER, this.host.config.finWait2Timeout);
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

  /** §3.10.7.4 "Fifth", past the acceptability checks: SND.UNA, duplicates, the send window. */
  private processAck(seg: TcpRepr, pure: boolean): void {
    const ack = seg.ack;
    const window = seg.window << this.sndWscale;
    const advanced = seqGt(ack, this.sndUna);
    const sackNews = this.sackOk && this.recovery.sackArrived(seg.options, advanced ? ack : this.sndUna);
    if (advanced) {
      this.ackAdvanced(ack);
    } else if (ack === this.sndUna && this.sndMax !== this.sndUna && ((pure && window === this.sndWnd) || sackNews)) {
      // RFC 6675 §2: with SACK, an ACK reporting new SACKed data counts as a duplicate too.
      if (this.recovery.duplicateAck()) this.enterRecovery();
    }
    if (this.recovery.sackShowsLoss()) this.enterRecovery();
    // Window update, only from a segment newer than the last one used (§3.10.7.4 "Fifth").
    if (seqLe(this.sndUna, ack) && (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack)))) {
      this.sndWnd = window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (window > this.maxSndWnd) this.maxSndWnd = window;
      if (window === 0 && seqGt(this.dataEnd, this.sndUna) && this.sndNxt !== this.sndUna && !this.finSent) {
        // The peer is alive but closed its window over data in flight: stop retransmitting
        // into it and probe instead (MUST-36/37: the connection stays open while probes are ACKed).
        this.sndNxt = this.sndUna;
        this.timers.clear(RTX);
        this.retries = 0;
      }
      if (window > 0) {
        this.timers.clear(PERSIST);
        this.persistBackoff = 0;
      }
    }
  }

  /** SND.UNA < SEG.ACK ≤ SND.MAX. */
  private ackAdvanced(ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    const synAcked = this.sndUna === this.iss;
    this.ts.acked(ack, this.sndMax);
    const dataAcked = Math.max(0, Math.min(this.sendBuf.length, seqDiff(ack, this.sndBufSeq)));
    if (dataAcked > 0) {
      this.sendBuf.consume(dataAcked);
      this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
    }
    if (this.sndUna === this.iss && this.retries > 0) this.rto.synTimedOut();
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.retries = 0;
    this.rto.resetBackoff();
    // RFC 6582 §3.2 step 5: a partial ACK in recovery without SACK retransmits the next segment.
    if (this.recovery.acked(ack, acked, synAcked)) this.retransmitFirst();
    // RFC 6298 §5.2/5.3.
    this.timers.clear(TLP);
    if (this.sndUna === this.sndMax) this.timers.clear(RTX);
    else {
      this.timers.arm(RTX, this.rto.rto);
      this.armProbe();
    }
    this.wakeWriters();
  }

  /** RFC 5681 §3.2 fast retransmit; recovery per RFC 6675 with SACK, RFC 6582 without. */
  private enterRecovery(): void {
    this.recovery.begin();
    if (this.sackOk) this.retransmitHole(this.segMax, true);
    else this.retransmitFirst();
  }

  /** Retransmits loss recovery's next hole (RFC 6675 NextSeg; `first`: the one at SND.UNA); whether one was sent. */
  private retransmitHole(mss: number, first: boolean): boolean {
    const hole = this.recovery.nextSeg(mss, first);
    if (!hole) return false;
    this.sendData(hole[0], seqDiff(hole[1], hole[0]), false);
    this.recovery.holeRetransmitted(hole[0], hole[1]);
    return true;
  }

  private receiveText(seq: number, payload: Uint8Array): void {
    if (this.state.name === 'Fin_wait_2') this.timers.arm(LINGER, this.host.config.finWait2Timeout);
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
    this.sackList = NO_SACK_BLOCKS;
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
    const ts = this.ts.read(seg.options);
    if (ts && seqLt(ts.tsval, this.ts.recent)) return false;
    return seqGt(seg.seq, this.rcvNxt) || (ts !== undefined && seqGt(ts.tsval, this.ts.recent));
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
    this.timers.arm(LINGER, 2 * this.host.config.msl);
  }

  private enterTimeWait(): void {
    // Every path into TIME-WAIT arms the 2×MSL timer (MUST-13; compare mirage #489).
    this.timers.clear(RTX);
    this.timers.clear(PERSIST);
    this.timers.arm(LINGER, 2 * this.host.config.msl);
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
    if (this.calls.busy) {
      this.calls.defer(() => this.send(data, done));
      return;
    }
    if (this.released || this.finQueued || this.closeAfterEstablished) {
      done();
      return;
    }
    this.enter();
    this.sendBuf.append(data);
    if (this.sendBuf.length <= this.host.config.sendBuffer) done();
    else (this.writeWaiters ??= []).push(done);
    this.leave();
  }

  /**
   * CLOSE (§3.10.4), i.e. half-close: the FIN follows the queued data. `done` runs when the FIN
   * has been sent. In SYN-RECEIVED with nothing queued the FIN goes at once (→ FIN-WAIT-1);
   * the Minnesota Goodbye profiles replace exactly this case with mirage's 2014 behaviour.
   */
  close(done: () => void): void {
    if (this.calls.busy) {
      this.calls.defer(() => this.close(done));
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
    (this.closeWaiters ??= []).push(done);
    if (s === 'Syn_rcvd' && this.host.bugs.closeInSynRcvd === 'wait-for-flush') this.closeAfterEstablished = true;
    else this.finQueued = true;
    this.leave();
  }

  /** ABORT (§3.10.5): RST (<SEQ=SND.MAX>, see sendAck) where the peer has state to lose, then CLOSED. */
  abort(): void {
    if (this.calls.busy) {
      this.calls.defer(() => this.abort());
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
    if (this.calls.busy || this.released) return;
    const s = this.state.name;
    if (s !== 'Established' && s !== 'Fin_wait_1' && s !== 'Fin_wait_2') return;
    if (this.windowNeedsUpdate() && this.rcvWindow.wouldOpen(this.rcvNxt, this.unread())) {
      this.enter();
      this.ackNow = true;
      this.leave();
    }
  }

  /** The advertised window is too small for the sender to use (see readDrained). */
  windowNeedsUpdate(): boolean {
    return this.rcvWindow.tooSmall(this.rcvNxt);
  }

  /** Bytes delivered to the application and not yet read: the part of the buffer the window excludes. */
  private unread(): number {
    return this.user ? this.user.unread() : 0;
  }

  // ───────────────────────────── output ─────────────────────────────

  /** Sequence number just past the data the application queued. */
  get dataEnd(): number {
    return seqAdd(this.sndBufSeq, this.sendBuf.length);
  }

  /** Largest payload for the next segment: the MSS less the options it carries (RFC 6691). */
  get segMax(): number {
    return maxPayload(this.sndMss, this.ts.on, this.sackList.length);
  }

  /** Sends what the windows allow: data cut to the MSS, then the FIN after the last byte. */
  private output(): void {
    const s = this.state.name;
    const sending = s === 'Established' || s === 'Close_wait' || s === 'Fin_wait_1' || s === 'Closing' || s === 'Last_ack';
    const dataEnd = this.dataEnd;
    if (!sending) {
      // §3.10.4: CLOSE in SYN-RECEIVED with nothing queued sends the FIN now.
      if (s === 'Syn_rcvd' && this.finQueued && this.sendBuf.length === 0 && this.sndNxt === dataEnd) this.sendFin(dataEnd);
      return;
    }
    const mss = this.segMax;
    const recovery = this.recovery;
    if (recovery.sackRecovering) {
      // RFC 6675 §5 step (C): holes go out while pipe is below cwnd.
      recovery.detectLostRetransmission();
      for (let i = 0; i < 10_000 && recovery.pipe() < this.cc.cwnd && this.retransmitHole(mss, false); i++);
    }
    const sacked = recovery.scoreboard;
    for (;;) {
      // After a timeout (go-back-N) what the peer SACKed is not sent again (RFC 6675 §5.1).
      if (seqLt(this.sndNxt, this.sndMax) && !sacked.empty) this.sndNxt = sacked.skipSacked(this.sndNxt);
      const unsent = seqDiff(dataEnd, this.sndNxt);
      if (unsent > 0) {
        const inFlight = seqDiff(this.sndNxt, this.sndUna);
        let len = Math.min(mss, recovery.newDataAllowed());
        if (seqLt(this.sndNxt, this.sndMax) && !sacked.empty) len = Math.min(len, sacked.holeBytes(this.sndNxt, seqAdd(this.sndNxt, len)));
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
    if (inFlight === 0 && !this.timers.armed(RTX) && !this.timers.armed(PERSIST)) this.timers.arm(PERSIST, this.persistDelay());
  }

  /** The persist timer backs off like the RTO (RFC 9293 §3.8.6.1), up to the RTO's ceiling. */
  private persistDelay(): number {
    return Math.min(this.host.config.maxRto, this.rto.rto * 2 ** this.persistBackoff);
  }

  private sendData(seq: number, len: number, withFin: boolean): void {
    const payload = this.sendBuf.read(seqDiff(seq, this.sndBufSeq), len);
    let flags = ACK;
    if (seqAdd(seq, len) === this.dataEnd) flags |= PSH;
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
      this.ts.retransmitted();
    }
    this.host.transmit(this, this.segment(flags, seq, payload));
    this.ackSent();
    if (seqGt(end, this.sndNxt)) this.sndNxt = end;
    if (seqGt(end, this.sndMax)) {
      if (!retransmission) this.ts.sentNew(end);
      this.sndMax = end;
    }
    this.timers.clear(PERSIST);
    if (!this.timers.armed(RTX)) this.timers.arm(RTX, this.rto.rto);
    if (!retransmission) this.armProbe();
    if (flags & FIN && !this.finSent) {
      this.finSent = true;
      this.tick({ kind: 'Send_fin', seq: seqAdd(end, -1) });
      const waiters = this.closeWaiters;
      this.closeWaiters = undefined;
      if (waiters) for (const w of waiters) w();
    }
  }

  /** RFC 6298 §5.4 / RFC 5681 §3.2: resend the earliest unacknowledged segment. */
  private retransmitFirst(): void {
    if (this.sndUna === this.iss) {
      if (!this.synHandedOff) {
        this.host.stats.retransmits++;
        this.ts.retransmitted();
        this.host.transmit(this, this.synSegment());
        if (this.state.name !== 'Syn_sent') this.ackSent();
      }
      return;
    }
    const dataEnd = this.dataEnd;
    const len = Math.min(this.segMax, Math.max(0, seqDiff(dataEnd, this.sndUna)));
    if (len > 0) this.sendData(this.sndUna, len, this.finSent && seqAdd(this.sndUna, len) === dataEnd);
    else if (this.finSent) this.sendFin(dataEnd);
  }

  /** The shared segment (segments.ts) with our ACK, window and options; an RST carries neither window nor options. */
  private segment(flags: number, seq: number, payload: Uint8Array): TcpRepr {
    const rst = (flags & RST) !== 0;
    const ack = flags & ACK ? this.rcvNxt : 0;
    const window = rst ? 0 : this.rcvWindow.field(this.rcvNxt, this.unread());
    const options = rst ? NO_OPTIONS : segmentOptions(this.ts, this.sackList);
    return segment(this.localPort, this.remotePort, flags, seq, ack, window, options, payload);
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
    this.host.transmit(this, resetSegment(this.localPort, this.remotePort, seq));
  }

  private ackSent(): void {
    this.ts.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    this.ackPending = 0;
    this.timers.clear(DELACK);
  }

  // ───────────────────────────── timers ─────────────────────────────

  /** TimerOwner: the clock timer fired; every slot that is due fires, in slot order. */
  timersExpired(): void {
    if (this.released) return;
    const now = this.host.clock.now();
    this.enter();
    for (let slot = 0; slot < SLOTS && !this.released; slot++) if (this.timers.due(slot, now)) this.fire(slot);
    this.leave();
  }

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

  /** Arms the tail loss probe when loss recovery says one is due and it would come before the retransmission timer. */
  private armProbe(): void {
    const pto = this.recovery.probeTimeout(this.rto.srtt);
    if (pto === undefined) return;
    if (this.host.clock.now() + pto < this.timers.deadline(RTX)) this.timers.arm(TLP, pto);
    else this.timers.clear(TLP);
  }

  /**
   * RFC 8985 §7.3: one new segment if the peer's window has room (cwnd is not consulted), else
   * the first hole in recovery or the last segment sent; its ACK (with SACK) lets recovery find
   * what the tail lost. The retransmission timer restarts.
   */
  private tailLossProbe(): void {
    if (this.sndUna === this.sndMax || !this.recovery.probe()) return;
    const mss = this.segMax;
    const dataEnd = this.dataEnd;
    const unsent = seqDiff(dataEnd, this.sndNxt);
    const room = this.sndWnd - seqDiff(this.sndNxt, this.sndUna);
    if (unsent > 0 && room >= Math.min(mss, unsent)) {
      const len = Math.min(mss, unsent);
      this.sendData(this.sndNxt, len, this.finQueued && len === unsent);
    } else if (this.recovery.sackRecovering) {
      this.retransmitHole(mss, true);
    } else {
      const sentEnd = seqLt(this.sndMax, dataEnd) ? this.sndMax : dataEnd;
      const start = seqLt(seqAdd(sentEnd, -mss), this.sndUna) ? this.sndUna : seqAdd(sentEnd, -mss);
      if (seqLt(start, sentEnd)) this.sendData(start, seqDiff(sentEnd, start), this.finSent && sentEnd === dataEnd);
      else if (this.finSent) this.sendFin(dataEnd);
    }
    this.timers.arm(RTX, this.rto.rto);
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
    this.ts.retransmitted();
    this.timers.arm(RTX, this.rto.rto);
    if (synPhase) {
      this.retransmitFirst();
      return;
    }
    // RFC 5681 §3.1: the loss window, then go back to SND.UNA.
    this.recovery.timedOut(this.retries > 1);
    this.timers.clear(TLP);
    this.sndNxt = this.sndUna;
    this.retransmitFirst();
  }

  /** Zero-window probe (MUST-35/36), or a forced send when SWS avoidance held back a small window. */
  private persistTimeout(): void {
    const inFlight = seqDiff(this.sndNxt, this.sndUna);
    const unsent = seqDiff(this.dataEnd, this.sndNxt);
    if (inFlight > 0 || unsent <= 0) return;
    const usable = Math.min(this.sndWnd, this.cc.cwnd);
    if (usable > 0) {
      const len = Math.min(usable, unsent, this.segMax);
      this.sendData(this.sndNxt, len, this.finQueued && len === unsent);
    } else {
      // <SEQ=SND.UNA−1>: outside the peer's window, so it must answer with an ACK carrying its
      // current window, and it consumes no sequence space (what Linux sends).
      this.host.stats.windowProbes++;
      this.host.transmit(this, this.segment(ACK, seqAdd(this.sndUna, -1), EMPTY));
      this.ackSent();
    }
    this.persistBackoff++;
    this.timers.arm(PERSIST, this.persistDelay());
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
    this.sackList = NO_SACK_BLOCKS;
    if (reason) this.user?.reset(reason);
    this.releaseAll();
  }

  private releaseAll(): void {
    if (this.released) return;
    this.released = true;
    this.timers.stop();
    this.host.release(this);
    const writers = this.writeWaiters;
    const closers = this.closeWaiters;
    this.writeWaiters = this.closeWaiters = undefined;
    if (writers) for (const w of writers) w();
    if (closers) for (const w of closers) w();
  }

  private wakeWriters(): void {
    const waiters = this.writeWaiters;
    if (!waiters || this.sendBuf.length > this.host.config.sendBuffer) return;
    this.writeWaiters = undefined;
    for (const w of waiters) w();
  }

  private enter(): void {
    this.calls.enter();
  }

  /** Leaving the outermost call runs the queued application calls and `settle` (call-queue.ts), then reports a completed handshake. */
  private leave(): void {
    if (!this.calls.leave()) return;
    if (this.notifyEstablished && !this.released) {
      this.notifyEstablished = false;
      this.host.established(this);
    }
  }

  /**
   * Settling (CallQueue): after a step, sends what is due — data and FIN, then the ACK now or
   * the delayed-ACK timer — and sets the clock timer for the earliest slot.
   */
  settle(): boolean {
    if (this.released) return false;
    this.output();
    if (this.ackNow) this.sendAck();
    else if (this.ackPending > 0 && !this.timers.armed(DELACK)) this.timers.arm(DELACK, this.host.config.delayedAckMs);
    this.timers.reschedule();
    return true;
  }
}
