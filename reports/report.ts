/**
 * The analysis report: plain data, snake_case like the JSON it is written as (report.json), so
 * the object the writers render and the file a user greps are the same thing. Times `*_t` are
 * seconds since the first frame of the capture (Wireshark's "relative time"); `*_ms` are
 * durations in milliseconds.
 */
import type { FindingKind } from './findings/kinds.js';

/**
 * How a connection ended. `answered-by-ack`: the SYN got a bare ACK and no SYN/ACK (a TIME_WAIT or
 * challenge ACK); `undetermined`: one side closed, its FIN is unacknowledged, and the capture ended
 * before a retransmission could show whether the peer got it (and no socket table says).
 */
export const VERDICTS = ['complete', 'reset', 'refused', 'answered-by-ack', 'unanswered', 'half-closed', 'undetermined', 'hang', 'open'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The capture's finding kinds (reports/findings/kinds.ts, one rule each in the registry). */
export type { FindingKind };

export interface Endpoint {
  ip: string;
  port: number;
}

/** How the server side of a connection was decided. */
export type ServerEvidence = 'option' | 'syn' | 'syn-ack' | 'port';

export interface Thresholds {
  /** A connection with no payload for this long at the end, and a side still waiting, hangs. */
  hang_ms: number;
  /**
   * A FIN left unanswered this long before the end is a missing FIN. 0: any half-close still
   * open at the end (the end is often the last packet, so waiting for more can't be observed).
   */
  fin_wait_ms: number;
  /** One segment sent this many times (original included) is a retransmit storm. */
  storm_count: number;
  /**
   * SYN → SYN/ACK, SYN → handshake ACK, or SYN → the ACK the server took, slower than this is a
   * slow handshake; so is a pause this long between the client's ACK and the ACK the server took.
   */
  slow_handshake_ms: number;
  /** A zero window held this long is a stall. */
  zero_window_ms: number;
  /** This many retransmissions after close make a finding (one can be an ACK lost past the capture point). */
  after_close_count: number;
  /** This many duplicate ACKs after FIN, each answering a retransmission of acknowledged data, make a finding. */
  dup_ack_after_fin_count: number;
  /** Data outstanding and not moving (no new byte, no ACK advance) for longer than this is a stall. */
  stall_ms: number;
  /** This many connections to one server at least before their ISNs are judged (RFC 6528). */
  isn_min_connections: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  hang_ms: 5000,
  fin_wait_ms: 0,
  storm_count: 4,
  slow_handshake_ms: 1000,
  zero_window_ms: 1000,
  after_close_count: 2,
  dup_ack_after_fin_count: 2,
  stall_ms: 1000,
  isn_min_connections: 8,
};

/** Per-direction counters; the `tshark` column of TSHARK_COUNTERS says which ones equal tshark's. */
export interface DirectionRecord {
  pkts: number;
  pure_acks: number;
  data_pkts: number;
  data_bytes: number;
  unique_bytes: number;
  rexmt_pkts: number;
  rexmt_bytes: number;
  fast_rexmt: number;
  spurious_rexmt: number;
  out_of_order: number;
  max_tx_of_same_seq: number;
  dup_acks: number;
  triple_dupacks: number;
  lost_segment: number;
  ack_lost_segment: number;
  zero_win_adverts: number;
  zero_win_probes: number;
  zero_win_probe_acks: number;
  zero_win_stall_ms: { max: number; total: number; open_at_end: boolean };
  window_full: number;
  window_updates: number;
  keepalives: number;
  keepalive_acks: number;
  reused_ports: number;
  syn: number;
  fin: { count: number; first_t: number | null; first_frame: number | null; acked: boolean };
  rst: { count: number; first_t: number | null; first_frame: number | null };
  first_payload_t: number | null;
  last_payload_t: number | null;
  rtt_ms: { min: number; avg: number; max: number; n: number } | null;
  max_idle_ms: number;
}

/** Record counters that equal tshark's `tcp.analysis.*` frame counts, per direction. */
export const TSHARK_COUNTERS = [
  ['rexmt_pkts', 'tcp.analysis.retransmission'],
  ['fast_rexmt', 'tcp.analysis.fast_retransmission'],
  ['spurious_rexmt', 'tcp.analysis.spurious_retransmission'],
  ['out_of_order', 'tcp.analysis.out_of_order'],
  ['dup_acks', 'tcp.analysis.duplicate_ack'],
  ['lost_segment', 'tcp.analysis.lost_segment'],
  ['ack_lost_segment', 'tcp.analysis.ack_lost_segment'],
  ['zero_win_adverts', 'tcp.analysis.zero_window'],
  ['zero_win_probes', 'tcp.analysis.zero_window_probe'],
  ['zero_win_probe_acks', 'tcp.analysis.zero_window_probe_ack'],
  ['window_full', 'tcp.analysis.window_full'],
  ['window_updates', 'tcp.analysis.window_update'],
  ['keepalives', 'tcp.analysis.keep_alive'],
  ['keepalive_acks', 'tcp.analysis.keep_alive_ack'],
  ['reused_ports', 'tcp.analysis.reused_ports'],
] as const satisfies ReadonlyArray<readonly [keyof DirectionRecord, string]>;

export type TsharkCounter = (typeof TSHARK_COUNTERS)[number][0];

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'CLOSING'
  | 'TIME_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'unknown';

export type WaitReason = 'unacked-data' | 'zero-window' | 'no-response';

export interface Anomaly {
  type: string;
  frame: number;
  t: number;
  dir: 'c2s' | 's2c';
  /** Sequence number relative to the sender's ISN (Wireshark's relative numbering). */
  seq: number;
  len: number;
  detail: string;
}

export interface ConnectionRecord {
  /** Wireshark's `tcp.stream` for the same file. */
  stream: number;
  client: Endpoint;
  server: Endpoint;
  server_from: ServerEvidence;
  t_first: number;
  t_last: number;
  duration_ms: number;
  frames: { first: number; last: number; count: number };
  handshake: {
    syn_count: number;
    synack_count: number;
    ack_seen: boolean;
    syn_to_synack_ms: number | null;
    connect_ms: number | null;
    /**
     * SYN/ACKs the server resent after the client's handshake ACK was captured, before it sent
     * anything else: it had not taken that ACK (processed it late, or it was lost past the capture point).
     */
    synack_after_ack: number;
    /**
     * SYN → the ACK the server took: `connect_ms`, unless it resent its SYN/ACK after that ACK;
     * then the client's answer to its last SYN/ACK (or its own next segment when that answer was
     * not captured). Null when the server never showed it took one.
     */
    server_accept_ms: number | null;
    irtt_ms: number | null;
    mss: { c: number | null; s: number | null };
    wscale: { c: number | null; s: number | null };
    sack_ok: boolean;
    ts_ok: boolean;
  };
  c2s: DirectionRecord;
  s2c: DirectionRecord;
  close: {
    verdict: Verdict;
    who_closed_first: 'client' | 'server' | null;
    fin_both_acked: boolean;
    rst_after_fin: boolean;
    synack_after_close: boolean;
    rexmt_after_close: number;
    dup_acks_after_fin: number;
    idle_at_end_ms: number | null;
    waiting: WaitReason[];
    state_guess: { client: TcpState; server: TcpState };
  };
  anomalies: Anomaly[];
  anomalies_omitted: number;
  findings: FindingKind[];
  /** Its ConnectionCluster's id; null when its shape was past the clusters kept. */
  cluster: number | null;
}

/**
 * A filter a user can paste, and how many packets it shows in this capture (exact unless a
 * server's host:port also appears as a client's, see FindingCollector.add).
 */
export interface ShowFilter {
  tcpdump: string;
  tcpdump_packets: number;
  tshark: string;
  tshark_packets: number;
}

export interface FindingInstance {
  stream: number;
  client: Endpoint;
  server: Endpoint;
  frames: number[];
  t: number;
  t_end: number | null;
  detail: string;
}

export interface Finding {
  /** `capture`: a rule read it off the pcap; `run`: only the run could see it (wrong bytes, a stuck job, a crashed target). */
  source: 'capture' | 'run';
  /** A capture rule's FindingKind, or a run rule's kind. */
  kind: string;
  severity: 'error' | 'warning';
  /** Who the finding is about: the server endpoint, or the clients of it. */
  culprit: 'server' | 'client';
  server: Endpoint;
  /** One line: "server 10.77.0.2:19 sent no FIN on 128/128 connections". */
  title: string;
  /** What happened and what it means, for someone new to TCP. */
  explanation: string;
  connections: number;
  of_connections: number;
  instances: FindingInstance[];
  instances_omitted: number;
  show: ShowFilter;
  /** Run findings: the jobs it names (a job is not always a captured connection). */
  jobs?: number[];
}

/** One bar of the all-connections timeline. */
export interface TimelineEntry {
  stream: number;
  t_first: number;
  t_last: number;
  verdict: Verdict;
  findings: FindingKind[];
  label: string;
  /** Its ConnectionCluster's id; null when its shape was past the clusters kept. */
  cluster: number | null;
}

/**
 * Points of a time–sequence (Stevens) graph and of a ladder diagram: one row per segment,
 * relative seq/ack. Kept for the representative of each connection cluster.
 */
export interface SequenceTrace {
  stream: number;
  label: string;
  client: Endpoint;
  server: Endpoint;
  findings: FindingKind[];
  /**
   * Per segment: [t (s), dir (0 c2s / 1 s2c), seq, len, tcp flags, analysis flags, ack, window
   * edge, frame]; seq relative to the sender's ISN, ack and window edge (ack + scaled window)
   * relative to the receiver's; frame is Wireshark's `frame.number`.
   */
  points: Array<[number, 0 | 1, number, number, number, number, number, number, number]>;
  points_omitted: number;
}

/** One step of a connection's shape: who sent what (see reports/shape.ts). */
export interface ShapeStep {
  dir: 'c2s' | 's2c';
  /** `SYN`, `SYN/ACK`, `ACK` (of the handshake or of a FIN), `data`, `FIN`, `data/FIN`, `RST`, `zero window`. */
  what: string;
  /** A retransmission (Wireshark's `tcp.analysis.retransmission` family). */
  again: boolean;
  /** 0 once; 1 this step came several times in a row; 2 this step and the one before it did, as a pair. */
  repeat: 0 | 1 | 2;
}

/**
 * Connections of one shape: the same sequence of directions and flags (runs collapsed, plain
 * ACKs of data left out), the same verdict and the same findings.
 */
export interface ConnectionCluster {
  /** Stable within the report (connection records and timeline bars name it). */
  id: number;
  /** The shape in one line, e.g. `→ SYN ← SYN/ACK → ACK → data → FIN ← data ← ACK`. */
  signature: string;
  shape: ShapeStep[];
  verdict: Verdict;
  findings: FindingKind[];
  connections: number;
  /** The connection whose ladder and time–sequence graph stand for the cluster (its trace, when kept). */
  representative: number;
  /** Streams of the members, at most 1,000; `members_omitted` counts the rest. */
  members: number[];
  members_omitted: number;
  t_first: number;
  t_last: number;
}

export interface CaptureInfo {
  file: string | null;
  bytes: number;
  records: number;
  tcp_segments: number;
  skipped: { not_ipv4: number; not_tcp: number; ip_fragments: number; malformed: number };
  /** Unix time of the first record, seconds. */
  start_unix_s: number | null;
  /** From the first record to the capture's end. */
  duration_s: number;
  /** The end is the last record, or when the caller said the capture stopped. */
  end_from: 'last-record' | 'option';
  /** A read error after which the rest of the file was not analysed (only with partial reads). */
  error: string | null;
}

/** The findings on connections set apart for one reason: not charged to the target. */
export interface SetApartFindings {
  /** A short key, e.g. "harness-overloaded", "listen-queue-overflow", "abandoned-by-harness". */
  reason: string;
  /** Why these findings are not the target's, in words. */
  explanation: string;
  /** Connections set apart for this reason (with or without findings). */
  connections: number;
  findings: Finding[];
}

export interface AnalysisReport {
  tool: 'tcpfuzz analyze';
  capture: CaptureInfo;
  options: { server: string | null; thresholds: Thresholds };
  totals: {
    connections: number;
    /** Connections with at least one finding. */
    flagged_connections: number;
    by_verdict: Record<Verdict, number>;
    findings: Record<FindingKind, number>;
    c2s: Record<TsharkCounter, number>;
    s2c: Record<TsharkCounter, number>;
  };
  findings: Finding[];
  /**
   * Findings on connections the caller set apart before grouping (AnalyzeOptions.setApart: e.g.
   * a run whose harness fell behind, or whose server's listen queue overflowed), grouped as the
   * standing ones are, one entry per reason; empty for `fuzz analyze`.
   */
  set_apart: SetApartFindings[];
  connections: ConnectionRecord[];
  /** Connection records not kept (the report keeps every flagged one and at most `max_records` in all). */
  connections_omitted: number;
  timeline: TimelineEntry[];
  timeline_omitted: number;
  /** Connections by shape, most members first (at most 1,000 shapes; `unclustered_connections` counts the connections of the rest). */
  clusters: ConnectionCluster[];
  unclustered_connections: number;
  /** One per cluster representative (at most 40). */
  traces: SequenceTrace[];
}
