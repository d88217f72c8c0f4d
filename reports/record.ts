import { ipv4ToString, type Ipv4 } from '../stack/addr.js';
import { analysisName, MAX_ANOMALIES, type Connection, type SideStats } from './connection.js';
import type { ConnectionFinding } from './findings/collector.js';
import type { CaptureFindingRule } from './findings/registry.js';
import type { Closing, EndpointCounts, FindingContext, FindingDraft } from './findings/rule.js';
import type {
  Anomaly,
  ConnectionRecord,
  DirectionRecord,
  Endpoint,
  SequenceTrace,
  ServerEvidence,
  TcpState,
  Thresholds,
  Verdict,
  WaitReason,
} from './report.js';
import { SYN } from '../stack/wire/tcp.js';
import { seqGt } from '../stack/wire/seq.js';
import { A_DUPLICATE_ACK } from './tcp-analysis.js';
import { at, msec } from './time.js';
import { rowFrame, rowSide, TRACE_STRIDE } from './trace-arena.js';

/** `--server ADDR[:PORT]`: which side of each connection is the server. */
export interface ServerHint {
  ip: Ipv4;
  port: number | null;
}

export interface BuiltConnection {
  record: ConnectionRecord;
  findings: ConnectionFinding[];
  /** Packets per server endpoint role, for the counts shown next to tcpdump filters. */
  counts: EndpointCounts;
}

const atOrNull = (ns: number): number | null => (ns < 0 ? null : at(ns));

/** The earlier of two times, -1 meaning "never"; Infinity when both are never. */
function earliest(a: number, b: number): number {
  return Math.min(a < 0 ? Infinity : a, b < 0 ? Infinity : b);
}

/** Decides the client side (0/1) of a connection and how. */
export function orient(conn: Connection, hint: ServerHint | null): { client: 0 | 1; from: ServerEvidence } {
  if (hint) {
    const matches = [0, 1].filter((k) => conn.ip[k] === hint.ip && (hint.port === null || conn.port[k] === hint.port));
    if (matches.length === 1) return { client: (matches[0]! ^ 1) as 0 | 1, from: 'option' };
  }
  if (conn.synSide >= 0) return { client: conn.synSide as 0 | 1, from: 'syn' };
  if (conn.synAckSide >= 0) return { client: (conn.synAckSide ^ 1) as 0 | 1, from: 'syn-ack' };
  // No handshake seen: the lower port is the service (well-known/registered vs. ephemeral).
  const server = conn.port[0] !== conn.port[1] ? (conn.port[0] < conn.port[1] ? 0 : 1) : conn.firstDstSide;
  return { client: (server ^ 1) as 0 | 1, from: 'port' };
}

function endpoint(conn: Connection, side: 0 | 1): Endpoint {
  return { ip: ipv4ToString(conn.ip[side]), port: conn.port[side] };
}

function directionRecord(d: SideStats): DirectionRecord {
  return {
    pkts: d.pkts,
    pure_acks: d.pureAcks,
    data_pkts: d.dataPkts,
    data_bytes: d.dataBytes,
    unique_bytes: d.uniqueBytes,
    rexmt_pkts: d.rexmtPkts,
    rexmt_bytes: d.rexmtBytes,
    fast_rexmt: d.fastRexmt,
    spurious_rexmt: d.spuriousRexmt,
    out_of_order: d.outOfOrder,
    max_tx_of_same_seq: d.maxTransmissions(),
    dup_acks: d.dupAcks,
    triple_dupacks: d.tripleDupAcks,
    lost_segment: d.lostSegment,
    ack_lost_segment: d.ackLostSegment,
    zero_win_adverts: d.zeroWinAdverts,
    zero_win_probes: d.zeroWinProbes,
    zero_win_probe_acks: d.zeroWinProbeAcks,
    zero_win_stall_ms: { max: msec(d.stallMaxNs), total: msec(d.stallTotalNs), open_at_end: false },
    window_full: d.windowFull,
    window_updates: d.windowUpdates,
    keepalives: d.keepalives,
    keepalive_acks: d.keepaliveAcks,
    reused_ports: d.reusedPorts,
    syn: d.syn + d.synAck,
    fin: {
      count: d.finCount,
      first_t: atOrNull(d.firstFinNs),
      first_frame: d.finCount > 0 ? d.firstFinFrame : null,
      acked: d.finAcked,
    },
    rst: { count: d.rstCount, first_t: atOrNull(d.firstRstNs), first_frame: d.rstCount > 0 ? d.firstRstFrame : null },
    first_payload_t: atOrNull(d.firstPayloadNs),
    last_payload_t: atOrNull(d.lastPayloadNs),
    rtt_ms:
      d.rttN > 0 ? { min: msec(d.rttMinNs), avg: msec(d.rttSumNs / d.rttN), max: msec(d.rttMaxNs), n: d.rttN } : null,
    max_idle_ms: msec(d.maxIdleNs),
  };
}

/**
 * How long after an unacknowledged FIN the capture must go on before the FIN's fate is known: its
 * sender retransmits it by then if the peer never got it (RFC 6298 §2.4's 1 s lower bound on the
 * RTO; Linux's is 200 ms).
 */
export const FIN_RETRANSMIT_WAIT_NS = 1000e6;

/** Socket states (Linux's names) in which a client's socket shows a close not finished. */
const HALF_CLOSED_STATES = new Set(['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'CLOSE_WAIT', 'LAST_ACK']);

/**
 * The verdict rules (shared notes §2.2), in order: a SYN answered by a bare ACK, refused,
 * unanswered, reset, complete, half-closed (or undetermined, when the capture cannot tell), then
 * hang or open for connections nobody closed. `peerState` is the client socket's state at the
 * end when a socket table was read (a run), else undefined.
 */
function decideVerdict(conn: Connection, c: 0 | 1, endNs: number, t: Thresholds, stallOpen: [boolean, boolean], peerState: string | undefined): Closing {
  const cs = conn.stats[c];
  const ss = conn.stats[c ^ 1]!;
  const idleNs = endNs - Math.max(cs.lastPayloadNs, ss.lastPayloadNs, conn.handshakeAckNs, conn.firstNs);
  const none: WaitReason[] = [];
  if (cs.syn > 0 && ss.synAck === 0 && conn.ackToSyn > 0) return { verdict: 'answered-by-ack', waiting: none, idleNs };
  if (cs.syn > 0 && ss.synAck === 0 && ss.rstCount > 0) return { verdict: 'refused', waiting: none, idleNs };
  if (cs.syn > 0 && ss.synAck === 0) return { verdict: 'unanswered', waiting: none, idleNs };
  // The SYN side's RSTs to a bare ACK before the handshake are the handshake's, not an abort.
  const clientRsts = cs.rstCount - (conn.synSide === c ? conn.handshakeRsts : 0);
  if (clientRsts + ss.rstCount > 0 && !resetAfterClose(cs, ss)) return { verdict: 'reset', waiting: none, idleNs };
  if (cs.finCount > 0 && ss.finCount > 0) return { verdict: 'complete', waiting: none, idleNs };
  if (cs.finCount > 0 || ss.finCount > 0) {
    const closer = cs.finCount > 0 ? cs : ss;
    // An acknowledged FIN put the peer in CLOSE_WAIT; an unacknowledged one is known lost or
    // ignored only once its sender had time to resend it, or when the socket table says so.
    const known = closer.finAcked || closer.finCount > 1 || endNs - closer.firstFinNs >= FIN_RETRANSMIT_WAIT_NS || (peerState !== undefined && HALF_CLOSED_STATES.has(peerState));
    return { verdict: known ? 'half-closed' : 'undetermined', waiting: none, idleNs };
  }
  const waiting = waitReasons(conn, c, stallOpen);
  const hang = idleNs >= t.hang_ms * 1e6 && waiting.length > 0;
  return { verdict: hang ? 'hang' : 'open', waiting, idleNs };
}

/**
 * An RST that comes after both FINs were sent and acknowledged ends nothing: the connection had
 * already closed, and a host that has forgotten it answers a late segment (e.g. a FIN its peer
 * retransmitted before our ACK arrived) with RST, as RFC 9293 §3.10.7.1 says it must. The
 * connection is complete; the RST stays in the record's counts.
 */
function resetAfterClose(cs: SideStats, ss: SideStats): boolean {
  if (!cs.finAcked || !ss.finAcked) return false;
  const closedAt = Math.max(cs.finAckedFrame, ss.finAckedFrame);
  const firstRst = Math.min(cs.rstCount > 0 ? cs.firstRstFrame : Infinity, ss.rstCount > 0 ? ss.firstRstFrame : Infinity);
  return firstRst > closedAt;
}

/**
 * Why an idle connection that nobody closed is stuck rather than legitimately idle (an idle
 * HTTP/1.1 keep-alive connection is not a bug): data nobody acknowledged, a zero window still
 * closed, or a client request the server never answered.
 */
function waitReasons(conn: Connection, c: 0 | 1, stallOpen: [boolean, boolean]): WaitReason[] {
  const reasons: WaitReason[] = [];
  const unacked = ([0, 1] as const).some((k) => {
    const me = conn.stats[k];
    const peer = conn.stats[k ^ 1]!;
    return me.sentDataOrFin && (!peer.ackSeen || seqGt(conn.analysis.sides[k].nextseq, conn.analysis.sides[k ^ 1]!.lastack));
  });
  if (unacked) reasons.push('unacked-data');
  if (stallOpen[0] || stallOpen[1]) reasons.push('zero-window');
  const cs = conn.stats[c];
  const ss = conn.stats[c ^ 1]!;
  if (cs.lastPayloadNs >= 0 && cs.lastPayloadNs > ss.lastPayloadNs) reasons.push('no-response');
  return reasons;
}

function stateGuess(conn: Connection, c: 0 | 1, v: Verdict): { client: TcpState; server: TcpState } {
  const cs = conn.stats[c];
  const ss = conn.stats[c ^ 1]!;
  switch (v) {
    case 'refused':
      return { client: 'CLOSED', server: 'LISTEN' };
    case 'answered-by-ack':
      return { client: 'SYN_SENT', server: 'unknown' };
    case 'undetermined':
      return cs.finCount > 0 ? { client: 'FIN_WAIT1', server: 'unknown' } : { client: 'unknown', server: 'FIN_WAIT1' };
    case 'unanswered':
      return { client: 'SYN_SENT', server: 'unknown' };
    case 'reset':
      return { client: 'CLOSED', server: 'CLOSED' };
    case 'complete': {
      const clientFirst = cs.firstFinNs <= ss.firstFinNs;
      const first = clientFirst ? cs : ss;
      const second = clientFirst ? ss : cs;
      const active: TcpState = second.finAcked ? 'TIME_WAIT' : first.finAcked ? 'FIN_WAIT2' : 'CLOSING';
      const passive: TcpState = second.finAcked ? 'CLOSED' : 'LAST_ACK';
      return clientFirst ? { client: active, server: passive } : { client: passive, server: active };
    }
    case 'half-closed': {
      const closer = cs.finCount > 0 ? cs : ss;
      const closerState: TcpState = closer.finAcked ? 'FIN_WAIT2' : 'FIN_WAIT1';
      const otherState: TcpState = closer.finAcked ? 'CLOSE_WAIT' : 'ESTABLISHED';
      return cs.finCount > 0 ? { client: closerState, server: otherState } : { client: otherState, server: closerState };
    }
    case 'hang':
    case 'open': {
      const server: TcpState = ss.synAck > 0 && conn.handshakeAckNs < 0 && cs.pkts <= cs.syn ? 'SYN_RECV' : 'ESTABLISHED';
      return { client: 'ESTABLISHED', server };
    }
  }
}

/**
 * Finalises a connection: its record, its verdict and the findings `rules` find in it. `endNs` is
 * the end of the capture (or of the connection, when it is retired early after closing).
 */
export function buildConnection(
  conn: Connection,
  endNs: number,
  t: Thresholds,
  hint: ServerHint | null,
  rules: readonly CaptureFindingRule[],
  peerStates?: ReadonlyMap<string, string>,
): BuiltConnection {
  const { client: c, from } = orient(conn, hint);
  const s = (c ^ 1) as 0 | 1;
  const cs = conn.stats[c];
  const ss = conn.stats[s];
  const stallOpen: [boolean, boolean] = [false, false];
  for (const k of [0, 1] as const) {
    if (conn.stats[k].stallStartNs >= 0) {
      stallOpen[k] = true;
      conn.endStall(conn.stats[k], endNs, conn.lastFrame);
    }
  }
  const clientEp = endpoint(conn, c);
  const peerState = peerStates?.get(`${clientEp.ip}:${clientEp.port}`);
  const closing = decideVerdict(conn, c, endNs, t, stallOpen, peerState);
  const serverEp = endpoint(conn, s);
  const c2s = directionRecord(cs);
  const s2c = directionRecord(ss);
  c2s.zero_win_stall_ms.open_at_end = stallOpen[c];
  s2c.zero_win_stall_ms.open_at_end = stallOpen[s];

  const cClose = earliest(cs.firstFinNs, cs.firstRstNs);
  const sClose = earliest(ss.firstFinNs, ss.firstRstNs);
  const synToSynAck = conn.firstSynNs >= 0 && conn.firstSynAckNs >= 0 ? conn.firstSynAckNs - conn.firstSynNs : -1;
  const connect = conn.firstSynNs >= 0 && conn.handshakeAckNs >= 0 ? conn.handshakeAckNs - conn.firstSynNs : -1;
  const acceptNs = conn.serverAcceptNs;
  const accept = conn.firstSynNs >= 0 && acceptNs >= 0 ? acceptNs - conn.firstSynNs : -1;
  const firstFin = earliest(cs.firstFinNs, ss.firstFinNs);
  const firstRst = earliest(cs.firstRstNs, ss.firstRstNs);

  const record: ConnectionRecord = {
    stream: conn.stream,
    client: clientEp,
    server: serverEp,
    server_from: from,
    t_first: at(conn.firstNs),
    t_last: at(conn.lastNs),
    duration_ms: msec(conn.lastNs - conn.firstNs),
    frames: { first: conn.firstFrame, last: conn.lastFrame, count: conn.pkts },
    handshake: {
      syn_count: cs.syn,
      synack_count: ss.synAck,
      ack_seen: conn.handshakeAckNs >= 0,
      syn_to_synack_ms: synToSynAck >= 0 ? msec(synToSynAck) : null,
      connect_ms: connect >= 0 ? msec(connect) : null,
      synack_after_ack: conn.synAckAfterAck,
      server_accept_ms: accept >= 0 ? msec(accept) : null,
      irtt_ms: conn.analysis.irttNs !== 0 ? msec(conn.analysis.irttNs) : null,
      mss: { c: cs.mss >= 0 ? cs.mss : null, s: ss.mss >= 0 ? ss.mss : null },
      wscale: { c: cs.wscale >= 0 ? cs.wscale : null, s: ss.wscale >= 0 ? ss.wscale : null },
      sack_ok: cs.sackPermitted && ss.sackPermitted,
      ts_ok: cs.timestamps && ss.timestamps,
    },
    c2s,
    s2c,
    close: {
      verdict: closing.verdict,
      who_closed_first: cClose === Infinity && sClose === Infinity ? null : cClose <= sClose ? 'client' : 'server',
      fin_both_acked: cs.finAcked && ss.finAcked,
      rst_after_fin: firstRst !== Infinity && firstFin < firstRst,
      synack_after_close: ss.synAckAfterPeerClose > 0,
      rexmt_after_close: cs.afterCloseCount + ss.afterCloseCount,
      dup_acks_after_fin: cs.dupAckAfterFinCount + ss.dupAckAfterFinCount,
      idle_at_end_ms: closing.verdict === 'open' || closing.verdict === 'hang' ? msec(closing.idleNs) : null,
      waiting: closing.waiting,
      state_guess: stateGuess(conn, c, closing.verdict),
    },
    anomalies: anomalies(conn, c),
    anomalies_omitted: conn.anomaliesOmitted,
    findings: [],
    cluster: null,
  };

  const findings = detectFindings({ conn, client: c, server: s, record, closing, endNs, thresholds: t, peerState }, rules);
  record.findings = [...new Set(findings.map((f) => f.rule.kind))];
  const pair = (k: (d: SideStats) => number): [number, number] => [k(cs), k(ss)];
  const counts: EndpointCounts = {
    pkts: pair((d) => d.pkts),
    fin: pair((d) => d.finCount),
    rst: pair((d) => d.rstCount),
    syn: pair((d) => d.syn),
    synAck: pair((d) => d.synAck),
    zeroWindow: pair((d) => d.rawZeroWindow),
  };
  return { record, findings, counts };
}

function anomalies(conn: Connection, c: 0 | 1): Anomaly[] {
  return conn.anomalies.slice(0, MAX_ANOMALIES).map((a) => {
    const base = conn.analysis.sides[a.side].baseSeq;
    const name = analysisName(a.flags);
    return {
      type: name,
      frame: a.frame,
      t: at(a.tNs),
      dir: a.side === c ? 'c2s' : 's2c',
      seq: (a.seq - base) >>> 0,
      len: a.len,
      detail: a.flags & A_DUPLICATE_ACK ? `duplicate ACK #${a.dupAckNum}` : name.replace(/_/g, ' '),
    };
  });
}

/** Runs the rules on a finalised connection; its findings come in the rules' order. */
function detectFindings(ctx: FindingContext, rules: readonly CaptureFindingRule[]): ConnectionFinding[] {
  const out: ConnectionFinding[] = [];
  const r = ctx.record;
  // One `add` for all the rules (not a closure per rule and connection): it files under the rule being run.
  let rule: CaptureFindingRule;
  const add = (d: FindingDraft): void => {
    out.push({
      rule,
      culprit: d.culprit,
      instance: {
        stream: r.stream,
        client: r.client,
        server: r.server,
        frames: d.frames,
        t: at(d.tNs),
        t_end: d.tEndNs >= 0 ? at(d.tEndNs) : null,
        detail: d.detail,
      },
      packets: d.packets ?? 0,
      tag: d.tag ?? '',
      cause: d.cause,
      ms: d.ms,
    });
  };
  for (rule of rules) rule.detect(ctx, add);
  return out;
}

/** The Stevens-graph and ladder points of a connection, sequence numbers relative to each side's ISN. */
export function buildTrace(conn: Connection, rows: readonly number[], c: 0 | 1, record: ConnectionRecord, label: string): SequenceTrace {
  const points: SequenceTrace['points'] = [];
  for (let i = 0; i < rows.length; i += TRACE_STRIDE) {
    const side = rowSide(rows[i + 1]!);
    const me = conn.analysis.sides[side];
    const peerBase = conn.analysis.sides[side ^ 1]!.baseSeq;
    const flags = rows[i + 4]!;
    // Windows in SYNs are never scaled (RFC 7323 §2.2); the others use the negotiated shift.
    const shift = flags & SYN || me.winScale < 0 ? 0 : me.winScale;
    const ack = (rows[i + 6]! - peerBase) >>> 0;
    points.push([
      at(rows[i]!),
      side === c ? 0 : 1,
      (rows[i + 2]! - me.baseSeq) >>> 0,
      rows[i + 3]!,
      flags,
      rows[i + 5]!,
      ack,
      (ack + rows[i + 7]! * 2 ** shift) >>> 0,
      rowFrame(rows[i + 1]!),
    ]);
  }
  return { stream: conn.stream, label, client: record.client, server: record.server, findings: record.findings, points, points_omitted: conn.traceOmitted };
}
