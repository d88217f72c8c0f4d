import type { Ipv4 } from '../addr.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import { Rng, randomSeed } from '../rng.js';
import { IPPROTO_TCP, type Ipv4Repr } from '../wire/ipv4.js';
import { ACK, RST, SYN, emitTcp, parseTcp, tcpSeqLength, type TcpRepr } from '../wire/tcp.js';
import type { BugSwitches } from './bugs.js';
import type { TcpConfig } from './config.js';
import { IsnGenerator } from './isn.js';
import { Listener, type ConnectionHandler, type ListenerHost } from './listener.js';
import { seqAdd } from '../wire/seq.js';
import { TcpSocket } from './socket.js';
import type { Action, State, StateName } from './state.js';
import { newTcpStats, type TcpStats } from './stats.js';
import { Tcb, type TcbHost } from './tcb.js';
import type { TransitionTrace } from './trace.js';

/** What TCP needs from the IP layer below it (stack/iface's Interface provides it). */
export interface IpLayer {
  readonly ip: Ipv4;
  registerProtocol(protocol: number, handler: (ip: Ipv4Repr) => void): void;
  sendIpv4(dst: Ipv4, protocol: number, payload: Uint8Array): void;
}

export interface TcpLayerOptions {
  ip: IpLayer;
  clock: Clock;
  log: Logger;
  config: TcpConfig;
  bugs: BugSwitches;
  trace: TransitionTrace;
  /** Deterministic ISNs and ephemeral ports (RFC mode when absent). */
  seed?: number;
}

export interface ConnectOptions {
  /** Local port; an ephemeral one (49152–65535) when absent. */
  localPort?: number;
}

const EPHEMERAL_BASE = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_BASE;
/** Segments held behind a handshake ACK under the Minnesota Goodbye profiles (bounded). */
const MAX_HELD = 256;

/**
 * The TCP layer of one stack: demultiplexes segments to connections, runs LISTEN and the
 * no-connection rules, opens connections, and owns the pieces every connection shares
 * (clock, config, bug switches, counters, trace).
 */
export class TcpLayer implements TcbHost, ListenerHost {
  readonly stats: TcpStats = newTcpStats();
  readonly clock: Clock;
  readonly config: TcpConfig;
  readonly bugs: BugSwitches;
  private readonly ipLayer: IpLayer;
  private readonly log: Logger;
  private readonly trace: TransitionTrace;
  private readonly isn: IsnGenerator;
  /** remoteIp → (remotePort·65536 + localPort) → connection (few peers, many ports). */
  private readonly conns = new Map<number, Map<number, Tcb>>();
  private readonly listeners = new Map<number, Listener>();
  /**
   * Passive connections still owned by their listener (SYN queue or accept queue). Their
   * socket exists from the SYN on, so bytes that arrive with the handshake's final ACK are
   * buffered in it before the application gets it.
   */
  private readonly owners = new Map<Tcb, { listener: Listener; sock: TcpSocket }>();
  private readonly listenEntries = new Set<ListenEntryRetransmitter>();
  /** TSval offset per remote address (see IsnGenerator.tsOffset). */
  private readonly tsOffsets = new Map<Ipv4, number>();
  private liveCount = 0;
  private nextId = 1;
  private portCursor: number;

  constructor(opts: TcpLayerOptions) {
    this.ipLayer = opts.ip;
    this.clock = opts.clock;
    this.log = opts.log;
    this.config = opts.config;
    this.bugs = opts.bugs;
    this.trace = opts.trace;
    this.isn = new IsnGenerator(opts.clock, opts.seed);
    // RFC 6056: start the ephemeral search at a (seeded) random point.
    this.portCursor = new Rng((opts.seed ?? randomSeed()) ^ 0x5eed).int(EPHEMERAL_COUNT);
    opts.ip.registerProtocol(IPPROTO_TCP, (ip) => this.input(ip));
  }

  /** Connections the layer still holds (TIME-WAIT included). */
  get connectionCount(): number {
    return this.liveCount;
  }

  connections(): Tcb[] {
    const out: Tcb[] = [];
    for (const m of this.conns.values()) for (const t of m.values()) out.push(t);
    return out;
  }

  /**
   * Connections and listen entries whose retransmission timer is armed — a SYN, SYN,ACK, data
   * or FIN not yet acknowledged, including the Minnesota Goodbye profiles' orphaned SYN,ACK
   * retransmitter. While it is above zero the stack will still send on its own, so a capture
   * that should show everything keeps running. One pass over the connections.
   */
  retransmissionsPending(): number {
    let n = this.listenEntries.size;
    for (const m of this.conns.values()) for (const t of m.values()) if (t.retransmitting) n++;
    return n;
  }

  /** How many connections are in each state (absent states omitted). */
  countByState(): Partial<Record<StateName, number>> {
    const out: Partial<Record<StateName, number>> = {};
    for (const t of this.connections()) out[t.state.name] = (out[t.state.name] ?? 0) + 1;
    return out;
  }

  listen(port: number, onConnection: ConnectionHandler, opts: { backlog?: number } = {}): Listener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad TCP port ${port}`);
    if (this.listeners.has(port)) throw new Error(`TCP port ${port} is already listening`);
    const l = new Listener(this, port, onConnection, Math.max(1, opts.backlog ?? 511));
    this.listeners.set(port, l);
    return l;
  }

  connect(remoteIp: Ipv4, remotePort: number, opts: ConnectOptions = {}): TcpSocket {
    if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw new RangeError(`bad TCP port ${remotePort}`);
    const localPort = opts.localPort ?? this.ephemeralPort(remoteIp, remotePort);
    if (this.lookup(remoteIp, remotePort, localPort)) throw new Error(`connection ${localPort} -> ${remotePort} already exists`);
    const tcb = this.newTcb(remoteIp, remotePort, localPort, false);
    const sock = new TcpSocket(tcb);
    this.stats.activeOpens++;
    tcb.connect();
    return sock;
  }

  /** Aborts every connection and listener and stops every timer (the stack is going away). */
  close(): void {
    for (const l of [...this.listeners.values()]) l.close();
    for (const e of this.listenEntries) e.cancel();
    for (const t of this.connections()) t.abort();
  }

  // ───────────────────────────── input ─────────────────────────────

  private input(ip: Ipv4Repr): void {
    this.stats.segmentsIn++;
    // MUST-57/MUST-63: nothing addressed to broadcast/multicast, nothing from an invalid source.
    if (ip.dst !== this.ipLayer.ip || !validSource(ip.src)) {
      this.stats.martians++;
      return;
    }
    const parsed = parseTcp(ip.payload, ip.src, ip.dst);
    if (!parsed.ok) {
      this.stats.badSegments++;
      return;
    }
    const seg = parsed.value;
    const tcb = this.lookup(ip.src, seg.srcPort, seg.dstPort);
    if (tcb) this.toConnection(tcb, seg);
    else {
      const l = this.listeners.get(seg.dstPort);
      if (l) this.listenArrives(l, ip.src, seg);
      else this.noConnectionArrives(ip.src, seg);
    }
  }

  private toConnection(tcb: Tcb, seg: TcpRepr): void {
    if ((seg.flags & (SYN | RST | ACK)) === SYN && tcb.timeWaitAcceptsSyn(seg)) {
      // RFC 1122 §4.2.2.13: a new incarnation reopens a connection in TIME-WAIT. Peers that
      // reuse ports quickly (Linux clients against a server that closes first) would otherwise
      // get a challenge ACK, answer it with an RST that TIME-WAIT ignores (RFC 1337), and wait
      // out 2×MSL with their SYNs unanswered.
      const l = this.listeners.get(seg.dstPort);
      if (l) {
        this.listenArrives(l, tcb.remoteIp, seg, tcb.yieldToSyn(seg));
        return;
      }
    }
    if (tcb.heldInput) {
      // Minnesota Goodbye profiles: the handshake ACK is waiting for the app callback. The
      // ACK path still runs (a duplicate ACK completes the handshake), but data and control
      // segments queue behind the held ACK, in order, as they did behind mirage's Rx.input.
      if ((seg.flags & (SYN | RST | ACK)) === ACK && seg.payload.length === 0 && tcpSeqLength(seg) === 0) tcb.input(seg);
      else if (tcb.heldInput.length < MAX_HELD) tcb.heldInput.push(seg);
      return;
    }
    const owner = this.owners.get(tcb);
    if (owner && tcb.embryonic && (seg.flags & (SYN | RST | ACK)) === ACK) {
      if (this.bugs.callbackBeforeHandshakeAck && seg.ack === seqAdd(tcb.iss, 1)) {
        this.promoteEarly(owner.listener, owner.sock, tcb, seg);
        return;
      }
      if (owner.listener.acceptQueue.length >= owner.listener.backlog) {
        this.stats.acceptQueueDrops++;
        return;
      }
    }
    tcb.input(seg);
  }

  /** LISTEN (§3.10.7.2); `iss` is imposed when the SYN reopens a connection in TIME-WAIT. */
  private listenArrives(l: Listener, src: Ipv4, seg: TcpRepr, iss?: number): void {
    if (seg.flags & RST) return;
    if (seg.flags & ACK) {
      this.sendReset(src, seg, seg.ack, 0, RST);
      return;
    }
    if (!(seg.flags & SYN)) return;
    if (l.embryonic.size >= l.backlog) {
      this.stats.synQueueDrops++;
      return;
    }
    const tcb = this.newTcb(src, seg.srcPort, seg.dstPort, true, iss);
    l.embryonic.add(tcb);
    this.owners.set(tcb, { listener: l, sock: new TcpSocket(tcb) });
    this.stats.passiveOpens++;
    tcb.acceptSyn(seg);
  }

  /** CLOSED, no TCB (§3.10.7.1): an RST is dropped, anything else is answered with an RST. */
  private noConnectionArrives(src: Ipv4, seg: TcpRepr): void {
    if (seg.flags & RST) return;
    if (seg.flags & ACK) this.sendReset(src, seg, seg.ack, 0, RST);
    else this.sendReset(src, seg, 0, seqAdd(seg.seq, tcpSeqLength(seg)), RST | ACK);
  }

  private sendReset(dst: Ipv4, to: TcpRepr, seq: number, ack: number, flags: number): void {
    this.stats.resetsSent++;
    this.sendSegment(dst, { srcPort: to.dstPort, dstPort: to.srcPort, seq, ack, flags, window: 0, urgent: 0, options: [], payload: new Uint8Array(0) });
  }

  // ───────────────────────────── handing connections out ─────────────────────────────

  /** TcbHost: the handshake completed and its segment was fully processed. */
  established(tcb: Tcb): void {
    const owner = this.owners.get(tcb);
    if (!owner) {
      if (!tcb.passive) tcb.user?.established();
      return;
    }
    this.owners.delete(tcb);
    const l = owner.listener;
    l.embryonic.delete(tcb);
    if (l.closed) {
      tcb.abort();
      return;
    }
    l.acceptQueue.push(owner.sock);
    this.drainAccepted(l);
  }

  drainAccepted(l: Listener): void {
    for (let i = 0; i < 1_000_000 && !l.paused && l.acceptQueue.length > 0; i++) {
      const sock = l.acceptQueue.shift()!;
      if (!sock.destroyed) this.handToApp(l, sock);
    }
  }

  unlisten(l: Listener): void {
    if (this.listeners.get(l.port) === l) this.listeners.delete(l.port);
    for (const t of l.embryonic) t.abort();
    for (const s of l.acceptQueue) s.destroy();
    l.acceptQueue.length = 0;
  }

  private handToApp(l: Listener, sock: TcpSocket): unknown {
    try {
      return l.onConnection(sock);
    } catch (err) {
      this.log.error({ err, conn: sock.id }, 'connection handler threw; aborting the connection');
      sock.destroy();
      return undefined;
    }
  }

  /**
   * The pre-PR #51 order (bugs.ts): on the ACK that matches the listen entry, the entry is
   * removed and the app's callback runs while the connection is still in SYN-RECEIVED; the ACK
   * is processed once the callback completes. The listen entry keeps retransmitting the
   * SYN,ACK until that ACK, processed, acknowledges it.
   */
  private promoteEarly(l: Listener, sock: TcpSocket, tcb: Tcb, ack: TcpRepr): void {
    this.owners.delete(tcb);
    l.embryonic.delete(tcb);
    tcb.embryonic = false;
    tcb.heldInput = [];
    const entry = new ListenEntryRetransmitter(this, tcb, tcb.handOffSynAck());
    this.listenEntries.add(entry);
    const callback = Promise.resolve(this.handToApp(l, sock)).then(
      () => callbackCompleted(sock),
      () => callbackCompleted(sock),
    );
    void callback.then(() => {
      const held = tcb.heldInput ?? [];
      tcb.heldInput = undefined;
      const synOutstanding = tcb.sndUna === tcb.iss;
      tcb.input(ack);
      if (synOutstanding && tcb.sndUna !== tcb.iss) entry.cancel();
      for (const seg of held) tcb.input(seg);
    });
  }

  // ───────────────────────────── TcbHost ─────────────────────────────

  transmit(tcb: Tcb, seg: TcpRepr): void {
    this.sendSegment(tcb.remoteIp, seg);
  }

  sendSegment(dst: Ipv4, seg: TcpRepr): void {
    this.stats.segmentsOut++;
    this.ipLayer.sendIpv4(dst, IPPROTO_TCP, emitTcp(seg, this.ipLayer.ip, dst));
  }

  traceTick(tcb: Tcb, from: State, action: Action, to: State): void {
    this.trace.record(this.clock.now(), tcb, from, action, to);
  }

  release(tcb: Tcb): void {
    const m = this.conns.get(tcb.remoteIp);
    const key = tcb.remotePort * 65536 + tcb.localPort;
    if (m?.get(key) === tcb) {
      m.delete(key);
      if (m.size === 0) this.conns.delete(tcb.remoteIp);
      this.liveCount--;
    }
    const owner = this.owners.get(tcb);
    if (owner) {
      owner.listener.embryonic.delete(tcb);
      this.owners.delete(tcb);
    }
  }

  forgetListenEntry(e: ListenEntryRetransmitter): void {
    this.listenEntries.delete(e);
  }

  // ───────────────────────────── tables ─────────────────────────────

  private lookup(remoteIp: Ipv4, remotePort: number, localPort: number): Tcb | undefined {
    return this.conns.get(remoteIp)?.get(remotePort * 65536 + localPort);
  }

  private newTcb(remoteIp: Ipv4, remotePort: number, localPort: number, passive: boolean, iss?: number): Tcb {
    const localIp = this.ipLayer.ip;
    const tcb = new Tcb(this, {
      id: this.nextId++,
      localIp,
      localPort,
      remoteIp,
      remotePort,
      iss: iss ?? this.isn.next(localIp, localPort, remoteIp, remotePort),
      passive,
      tsOffset: this.tsOffset(remoteIp),
    });
    let m = this.conns.get(remoteIp);
    if (!m) this.conns.set(remoteIp, (m = new Map()));
    m.set(remotePort * 65536 + localPort, tcb);
    this.liveCount++;
    return tcb;
  }

  private tsOffset(remoteIp: Ipv4): number {
    let off = this.tsOffsets.get(remoteIp);
    if (off === undefined) {
      off = this.isn.tsOffset(this.ipLayer.ip, remoteIp);
      this.tsOffsets.set(remoteIp, off);
    }
    return off;
  }

  /** RFC 6056-style search of 49152–65535 for a 4-tuple not in use (bounded; mirage #462 looped forever). */
  private ephemeralPort(remoteIp: Ipv4, remotePort: number): number {
    for (let i = 0; i < EPHEMERAL_COUNT; i++) {
      const port = EPHEMERAL_BASE + (this.portCursor++ % EPHEMERAL_COUNT);
      if (!this.listeners.has(port) && !this.lookup(remoteIp, remotePort, port)) return port;
    }
    throw new Error('no free ephemeral port for this destination');
  }

  debug(msg: string, fields: Record<string, unknown>): void {
    this.log.debug(fields, msg);
  }
}

/** Resolves when the connection handler's work is over: its end(), if it called one, has finished. */
function callbackCompleted(sock: TcpSocket): Promise<void> {
  if (!sock.writableEnded || sock.writableFinished || sock.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    sock.once('finish', () => resolve());
    sock.once('close', () => resolve());
  });
}

/** RFC 1122 §3.2.1.3 / RFC 9293 MUST-63: 0.0.0.0, broadcast, multicast and class E are not valid sources. */
function validSource(ip: Ipv4): boolean {
  const first = ip >>> 24;
  return ip !== 0 && ip !== 0xffffffff && first < 224 && first !== 0 && first !== 127;
}

/**
 * The SYN,ACK retransmission owned by a listen entry (Minnesota Goodbye profiles only; see
 * bugs.ts): it continues the connection's retransmission timer where it stood, doubles it each
 * time (RFC 6298 §5.5), and stops at the SYN retry limit — or when the ACK that matched the
 * entry, once processed, acknowledges the SYN. At the limit a connection still in SYN-RECEIVED
 * times out, as mirage's `Timeout` tick did.
 */
class ListenEntryRetransmitter {
  private timer: TimerHandle | undefined;
  private retries = 0;
  private rto: number;
  private readonly seg: TcpRepr;

  constructor(
    private readonly layer: TcpLayer,
    private readonly tcb: Tcb,
    handoff: { dueInMs: number; rto: number },
  ) {
    this.seg = tcb.synSegment();
    this.rto = handoff.rto;
    this.timer = layer.clock.setTimer(handoff.dueInMs, this.fire);
  }

  cancel(): void {
    this.layer.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.layer.forgetListenEntry(this);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (++this.retries > this.layer.config.maxSynRetries) {
      this.layer.forgetListenEntry(this);
      if (this.tcb.alive && this.tcb.state.name === 'Syn_rcvd') this.tcb.timeout();
      return;
    }
    this.layer.debug('TCP retransmission on timer', { conn: this.tcb.id, seq: this.seg.seq });
    this.layer.stats.retransmits++;
    this.layer.sendSegment(this.tcb.remoteIp, this.seg);
    this.rto = Math.min(this.layer.config.maxRto, this.rto * 2);
    this.timer = this.layer.clock.setTimer(this.rto, this.fire);
  };
}
