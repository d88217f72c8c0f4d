import { statSync } from 'node:fs';
import { UsageError } from '../stack/user-error.js';
import { ipv4ToString, parseIpv4 } from '../stack/addr.js';
import { PcapFormatError, visitPcapFile, type PcapRecord, type PcapVisitor } from '../stack/pcap/reader.js';
import type { Connection } from './connection.js';
import { decodeTcpSegment, SKIP_NOT_IPV4, SKIP_NOT_TCP, SKIP_FRAGMENT, SKIP_OK } from './decode.js';
import { ClusterTable } from './clusters.js';
import { FindingCollector, type ConnectionFinding } from './findings/collector.js';
import { CAPTURE_WIDE_RULES, FINDING_KINDS, FINDING_RULES, type CaptureFindingRule, type FindingKind } from './findings/registry.js';
import { rankFindings } from './findings/rank.js';
import type { CaptureWideCheck, CaptureWideRule, Culprit } from './findings/rule.js';
import { FlowTable } from './flows.js';
import { buildConnection, buildTrace, orient, type ServerHint } from './record.js';
import {
  DEFAULT_THRESHOLDS,
  TSHARK_COUNTERS,
  VERDICTS,
  type AnalysisReport,
  type CaptureInfo,
  type ConnectionRecord,
  type SequenceTrace,
  type Thresholds,
  type TimelineEntry,
  type TsharkCounter,
  type Verdict,
} from './report.js';
import { emptySegment, TIME_BASE_NS, type TcpSegment } from './segment.js';
import { connectionShape } from './shape.js';
import { sec } from './time.js';
import { TraceArena } from './trace-arena.js';

export interface AnalyzeOptions {
  /** Which side is the server (`--server ADDR[:PORT]`); otherwise inferred from the SYN. */
  server?: ServerHint | null;
  thresholds?: Partial<Thresholds>;
  /** The finding rules run on every connection (default: the whole registry, FINDING_RULES). */
  rules?: readonly CaptureFindingRule[];
  /** The rules about a server's connections together (default: CAPTURE_WIDE_RULES; none when `rules` is given). */
  wideRules?: readonly CaptureWideRule[];
  /** Connection records kept in the report (flagged ones first); the rest are counted only. */
  maxRecords?: number;
  /** Time–sequence traces kept: one per cluster representative, the first clusters found. */
  maxTraces?: number;
  /** Timeline bars kept (flagged connections first). */
  maxTimeline?: number;
  /**
   * A closed connection (FIN both ways, or RST) is finalised once no segment arrived for this
   * long (capture time), which bounds memory by live connections. Linux TIME_WAIT is 60 s, so a
   * late retransmission still lands in its connection.
   */
  lingerMs?: number;
  /**
   * When the capture stopped (Unix seconds), if the caller knows (e.g. `fuzz run`). Hangs and
   * missing FINs are judged against the capture's end; without this it is the last record.
   */
  captureEndUnixS?: number;
  /**
   * Client socket states at the end (`ip:port` → Linux's state name), when the caller read a
   * socket table (`fuzz run`): evidence the capture alone does not have.
   */
  peerStates?: ReadonlyMap<string, string>;
  /**
   * Sets a connection apart before its findings are grouped: the reason it is not the target's
   * doing (undefined: it stands). Its findings are grouped per reason in `set_apart`, with the
   * explanation `explain` gives.
   */
  setApart?: {
    /** `startUnixS`: the capture's first record, which the record's t_first/t_last count from. */
    reasonOf(record: ConnectionRecord, culprit: Culprit, kind: FindingKind, startUnixS: number): string | undefined;
    explain(reason: string): string;
  };
  /** Receives every connection record as it is finalised (streaming consumers). */
  onConnection?: (record: ConnectionRecord) => void;
  /**
   * Sees every analysed segment with its `tcp.stream` and analysis flags (A_* bits): for
   * debugging and for frame-by-frame comparison with tshark. The segment object is reused.
   */
  onSegment?: (segment: TcpSegment, stream: number, flags: number) => void;
}

export const DEFAULT_MAX_RECORDS = 20_000;
export const DEFAULT_MAX_TRACES = 40;
export const DEFAULT_MAX_TIMELINE = 2_000;
const DEFAULT_LINGER_MS = 60_000;
/** Read size: a 1 MiB chunk (reused, see visitPcapFile) stays in the CPU caches while its records are analysed. */
const READ_CHUNK_BYTES = 1 << 20;
/** Closed connections that trigger a sweep (at least; twice the survivors of the last one). */
const SWEEP_MIN = 1024;

/** Parses `ADDR[:PORT]`; undefined when it is not an IPv4 address with an optional port 1..65535. */
export function parseServerHint(text: string): ServerHint | undefined {
  const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const ip = parseIpv4(m[1]!);
  const port = m[2] === undefined ? null : Number(m[2]);
  if (ip === undefined || (port !== null && (port < 1 || port > 65535))) return undefined;
  return { ip, port };
}

export function formatServerHint(h: ServerHint): string {
  return h.port === null ? ipv4ToString(h.ip) : `${ipv4ToString(h.ip)}:${h.port}`;
}

const zeroCounters = (): Record<TsharkCounter, number> =>
  Object.fromEntries(TSHARK_COUNTERS.map(([k]) => [k, 0])) as Record<TsharkCounter, number>;

/**
 * Streaming capture analysis: push every pcap record in file order, then finish() for the
 * report. Memory holds the live connections, the kept records/graphs (bounded by the options)
 * and one aggregate per server endpoint — not the capture.
 */
export class Analyzer {
  readonly thresholds: Thresholds;
  private readonly rules: readonly CaptureFindingRule[];
  private readonly hint: ServerHint | null;
  private readonly maxRecords: number;
  private readonly maxTraces: number;
  private readonly maxTimeline: number;
  private readonly lingerNs: number;
  private readonly onConnection: ((r: ConnectionRecord) => void) | undefined;
  private readonly onSegment: ((s: TcpSegment, stream: number, flags: number) => void) | undefined;
  private readonly captureEndUnixS: number | undefined;
  private readonly flows: FlowTable;
  private readonly peerStates: ReadonlyMap<string, string> | undefined;
  private readonly wide: CaptureWideCheck[];
  private readonly seg = emptySegment();
  private readonly collector = new FindingCollector();
  private readonly setApart: AnalyzeOptions['setApart'];
  /** Per reason: the collector of the findings set apart, and how many connections. */
  private readonly apart = new Map<string, { collector: FindingCollector; connections: number }>();
  private closedQueue: Connection[] = [];
  private sweepAt = SWEEP_MIN;
  private epochSec = -1;
  /** The first record's nanoseconds within its second: times count from the first record itself, as tshark's relative time does. */
  private epochNsec = 0;
  private startUnix: number | null = null;
  private endNs = TIME_BASE_NS;
  records = 0;
  private recordBytes = 0;
  private tcpSegments = 0;
  private readonly skipped = { not_ipv4: 0, not_tcp: 0, ip_fragments: 0, malformed: 0 };
  private connections = 0;
  private flaggedConnections = 0;
  private readonly byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  private readonly byFinding = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  private readonly c2s = zeroCounters();
  private readonly s2c = zeroCounters();
  private readonly flaggedRecords: ConnectionRecord[] = [];
  private readonly otherRecords: ConnectionRecord[] = [];
  private readonly flaggedTimeline: TimelineEntry[] = [];
  private readonly otherTimeline: TimelineEntry[] = [];
  private readonly traces: SequenceTrace[] = [];
  private readonly clusters = new ClusterTable();

  constructor(opts: AnalyzeOptions = {}) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    this.rules = opts.rules ?? FINDING_RULES;
    this.hint = opts.server ?? null;
    this.maxRecords = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
    this.maxTraces = opts.maxTraces ?? DEFAULT_MAX_TRACES;
    this.maxTimeline = opts.maxTimeline ?? DEFAULT_MAX_TIMELINE;
    this.lingerNs = (opts.lingerMs ?? DEFAULT_LINGER_MS) * 1e6;
    this.onConnection = opts.onConnection;
    this.onSegment = opts.onSegment;
    this.captureEndUnixS = opts.captureEndUnixS;
    this.peerStates = opts.peerStates;
    this.wide = (opts.wideRules ?? (opts.rules ? [] : CAPTURE_WIDE_RULES)).map((r) => r.start(this.thresholds));
    this.flows = new FlowTable((c) => this.finalize(c, c.lastNs), new TraceArena(), this.thresholds.stall_ms * 1e6);
    this.setApart = opts.setApart;
  }

  push(r: PcapRecord): void {
    this.visit(r.data, 0, r.caplen, r.origLen, r.tsSec, r.tsNsec, r.linktype, r.index, r.iface, r.offset);
  }

  /** Analyses one record where it lies (a PcapVisitor, for visitPcapFile); keeps nothing of `buf`. */
  readonly visit: PcapVisitor = (buf, off, caplen, origLen, tsSec, tsNsec, linktype, index) => {
    this.records++;
    this.recordBytes += 16 + caplen;
    if (this.epochSec < 0) {
      this.epochSec = tsSec;
      this.epochNsec = tsNsec;
      this.startUnix = tsSec + tsNsec / 1e9;
    }
    const tNs = (tsSec - this.epochSec) * 1e9 + (tsNsec - this.epochNsec) + TIME_BASE_NS;
    if (tNs > this.endNs) this.endNs = tNs;
    const s = this.seg;
    const why = decodeTcpSegment(buf, off, caplen, linktype, origLen, s);
    if (why !== SKIP_OK) {
      if (why === SKIP_NOT_IPV4) this.skipped.not_ipv4++;
      else if (why === SKIP_NOT_TCP) this.skipped.not_tcp++;
      else if (why === SKIP_FRAGMENT) this.skipped.ip_fragments++;
      else this.skipped.malformed++;
      return;
    }
    this.tcpSegments++;
    s.frame = index + 1;
    s.tNs = tNs;
    const flows = this.flows;
    const conn = flows.lookup(s);
    const side = flows.side;
    const f = conn.analysis.analyze(s, side, flows.preFlags);
    conn.analysis.afterAnalysis(s, side);
    const wasClosed = conn.closed;
    conn.observe(s, side, f);
    if (!wasClosed && conn.closed && this.closedQueue.push(conn) >= this.sweepAt) this.sweep();
    this.onSegment?.(s, conn.stream, f);
  };

  /** Connections currently held in memory. */
  get liveConnections(): number {
    return this.flows.size;
  }

  /**
   * Finalises every live connection at the capture's end and returns the report. `file`/`bytes`
   * describe the input; `error` records a read error after which nothing more was read.
   */
  finish(input: { file?: string | null; bytes?: number; error?: string | null } = {}): AnalysisReport {
    let endFrom: CaptureInfo['end_from'] = 'last-record';
    if (this.captureEndUnixS !== undefined && this.epochSec >= 0) {
      const stated = Math.round((this.captureEndUnixS - this.epochSec) * 1e9) - this.epochNsec + TIME_BASE_NS;
      if (stated > this.endNs) {
        this.endNs = stated;
        endFrom = 'option';
      }
    }
    for (const conn of [...this.flows.connections()]) {
      this.flows.remove(conn);
      this.finalize(conn, this.endNs);
    }
    this.closedQueue = [];
    const byStream = (a: { stream: number }, b: { stream: number }): number => a.stream - b.stream;
    const records = [...this.flaggedRecords, ...this.otherRecords.slice(0, Math.max(0, this.maxRecords - this.flaggedRecords.length))];
    const timeline = [...this.flaggedTimeline, ...this.otherTimeline.slice(0, Math.max(0, this.maxTimeline - this.flaggedTimeline.length))];
    return {
      tool: 'tcpfuzz analyze',
      capture: {
        file: input.file ?? null,
        bytes: input.bytes ?? this.recordBytes,
        records: this.records,
        tcp_segments: this.tcpSegments,
        skipped: { ...this.skipped },
        start_unix_s: this.startUnix,
        duration_s: sec(this.endNs - TIME_BASE_NS),
        end_from: endFrom,
        error: input.error ?? null,
      },
      options: { server: this.hint ? formatServerHint(this.hint) : null, thresholds: { ...this.thresholds } },
      totals: {
        connections: this.connections,
        flagged_connections: this.flaggedConnections,
        by_verdict: { ...this.byVerdict },
        findings: { ...this.byFinding },
        c2s: { ...this.c2s },
        s2c: { ...this.s2c },
      },
      findings: rankFindings([...this.collector.build(this.thresholds), ...this.wide.flatMap((w) => w.findings())]),
      set_apart: [...this.apart].map(([reason, a]) => ({
        reason,
        explanation: this.setApart!.explain(reason),
        connections: a.connections,
        findings: a.collector.build(this.thresholds),
      })),
      connections: records.sort(byStream),
      connections_omitted: this.connections - records.length,
      timeline: timeline.sort(byStream),
      timeline_omitted: this.connections - timeline.length,
      clusters: this.clusters.build(),
      unclustered_connections: this.clusters.unclustered,
      traces: this.traces.sort(byStream),
    };
  }

  /**
   * Retires closed connections that have been quiet for the linger time. Runs when the queue
   * doubles, so each closed connection is looked at a constant number of times on average.
   */
  private sweep(): void {
    const keep: Connection[] = [];
    for (const conn of this.closedQueue) {
      if (conn.finalized) continue;
      if (this.endNs - conn.lastNs >= this.lingerNs) {
        this.flows.remove(conn);
        this.finalize(conn, conn.lastNs);
      } else {
        keep.push(conn);
      }
    }
    this.closedQueue = keep;
    this.sweepAt = Math.max(SWEEP_MIN, 2 * keep.length);
  }

  /** The collector of the findings set apart for `reason`; counts one more connection. */
  private apartCollector(reason: string): FindingCollector {
    let a = this.apart.get(reason);
    if (!a) {
      a = { collector: new FindingCollector(), connections: 0 };
      this.apart.set(reason, a);
    }
    a.connections++;
    return a.collector;
  }

  private finalize(conn: Connection, endNs: number): void {
    conn.finalized = true;
    const built = buildConnection(conn, endNs, this.thresholds, this.hint, this.rules, this.peerStates);
    const r = built.record;
    if (this.wide.length > 0) {
      const client = orient(conn, this.hint).client;
      for (const w of this.wide) w.add(conn, r, client);
    }
    this.connections++;
    this.byVerdict[r.close.verdict]++;
    for (const k of r.findings) this.byFinding[k]++;
    for (const [key] of TSHARK_COUNTERS) {
      this.c2s[key] += r.c2s[key];
      this.s2c[key] += r.s2c[key];
    }
    // A connection whose findings are set apart still counts among its server's connections; each
    // finding set apart goes to its reason's group.
    const standing: ConnectionFinding[] = [];
    const apart = new Map<string, ConnectionFinding[]>();
    for (const f of built.findings) {
      const reason = this.setApart?.reasonOf(r, f.culprit, f.rule.kind, this.startUnix ?? 0);
      if (reason === undefined) standing.push(f);
      else apart.set(reason, [...(apart.get(reason) ?? []), f]);
    }
    this.collector.add(r.server, r.client, built.counts, standing);
    for (const [reason, findings] of apart) this.apartCollector(reason).add(r.server, r.client, built.counts, findings);
    const flagged = r.findings.length > 0;
    if (flagged) this.flaggedConnections++;
    const label = (): string => `#${r.stream} ${r.client.ip}:${r.client.port} → ${r.server.ip}:${r.server.port}`;
    if (flagged) {
      if (this.flaggedRecords.length < this.maxRecords) this.flaggedRecords.push(r);
    } else if (this.otherRecords.length < this.maxRecords) {
      this.otherRecords.push(r);
    }
    // Trace selection: the first connection of each shape stands for its cluster (flagged or not).
    const client = orient(conn, this.hint).client;
    const cluster = this.clusters.add(r, connectionShape(conn, client));
    r.cluster = cluster?.id ?? null;
    if (cluster?.isNew && this.traces.length < this.maxTraces) this.traces.push(buildTrace(conn, conn.traceRows(), client, r, label()));
    const timeline = flagged ? this.flaggedTimeline : this.otherTimeline;
    if (timeline.length < this.maxTimeline) {
      timeline.push({ stream: r.stream, t_first: r.t_first, t_last: r.t_last, verdict: r.close.verdict, findings: r.findings, label: label(), cluster: r.cluster });
    }
    conn.releaseTrace();
    this.onConnection?.(r);
  }
}

/** A capture that could not be read to its end; `records` were read before `offset`. */
export class CaptureReadError extends UsageError {
  override readonly name = 'CaptureReadError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly records: number,
    readonly reason: string,
  ) {
    super(`${file}: ${reason} (${records} record${records === 1 ? '' : 's'} read)${records > 0 ? '; use --partial to analyse them' : ''}`);
  }
}

/**
 * Analyses a pcap/pcapng file. On a truncated or corrupt file it throws CaptureReadError,
 * unless `partial` is set: then the records read so far are analysed and the report names the
 * error (`capture.error`).
 */
export async function analyzeCapture(path: string, opts: AnalyzeOptions & { partial?: boolean } = {}): Promise<AnalysisReport> {
  const analyzer = new Analyzer(opts);
  let error: string | null = null;
  try {
    await visitPcapFile(path, analyzer.visit, { chunkBytes: READ_CHUNK_BYTES });
  } catch (e) {
    if (!(e instanceof PcapFormatError)) throw e;
    if (!opts.partial) throw new CaptureReadError(path, e.offset, analyzer.records, e.message);
    error = e.message;
  }
  return analyzer.finish({ file: path, bytes: statSync(path).size, error });
}
