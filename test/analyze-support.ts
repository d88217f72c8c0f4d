/**
 * Shared by the analyze tests: real-kernel captures in test-owned namespaces, a small traffic
 * program run inside them, and tshark as the oracle (per-frame analysis flags, filter counts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analyzer, type AnalyzeOptions } from '../reports/analyzer.js';
import { TSHARK_COUNTERS, type AnalysisReport, type ConnectionRecord } from '../reports/report.js';
import type { Report, RunSection } from '../reports/run-report.js';
import { finalReport } from '../reports/verdict.js';
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
} from '../reports/tcp-analysis.js';
import { parsePcapBuffer, readPcapFile, type PcapRecord } from '../stack/pcap/reader.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import type { Rng } from '../stack/rng.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../stack/wire/ethernet.js';
import { emitIpv4, IPPROTO_TCP } from '../stack/wire/ipv4.js';
import { ACK, emitTcp, FIN, PSH, RST, SYN, type TcpOption, type TcpRepr } from '../stack/wire/tcp.js';
import { run, TestNetns } from './helpers/env.js';

/** Our analysis bit → the tshark field that matches the same frames. */
export const TSHARK_FLAG_FIELDS: ReadonlyArray<readonly [number, string]> = [
  [A_ANY_RETRANSMISSION, 'tcp.analysis.retransmission'],
  [A_FAST_RETRANSMISSION, 'tcp.analysis.fast_retransmission'],
  [A_SPURIOUS_RETRANSMISSION, 'tcp.analysis.spurious_retransmission'],
  [A_OUT_OF_ORDER, 'tcp.analysis.out_of_order'],
  [A_DUPLICATE_ACK, 'tcp.analysis.duplicate_ack'],
  [A_LOST_SEGMENT, 'tcp.analysis.lost_segment'],
  [A_ACK_LOST_SEGMENT, 'tcp.analysis.ack_lost_segment'],
  [A_ZERO_WINDOW, 'tcp.analysis.zero_window'],
  [A_ZERO_WINDOW_PROBE, 'tcp.analysis.zero_window_probe'],
  [A_ZERO_WINDOW_PROBE_ACK, 'tcp.analysis.zero_window_probe_ack'],
  [A_KEEP_ALIVE, 'tcp.analysis.keep_alive'],
  [A_KEEP_ALIVE_ACK, 'tcp.analysis.keep_alive_ack'],
  [A_WINDOW_UPDATE, 'tcp.analysis.window_update'],
  [A_WINDOW_FULL, 'tcp.analysis.window_full'],
  [A_REUSED_PORTS, 'tcp.analysis.reused_ports'],
];

export interface FrameAnalysis {
  stream: number;
  flags: string[];
  /** Sender "ip:port" (tshark side only). */
  src?: string;
}

const TSHARK_BASE = ['-n', '-o', 'tcp.desegment_tcp_streams:FALSE'];

/** tshark's verdict per TCP frame: stream and the analysis fields present. */
export async function tsharkFrames(file: string): Promise<Map<number, FrameAnalysis>> {
  const fields = TSHARK_FLAG_FIELDS.map(([, f]) => f);
  const args = ['-r', file, ...TSHARK_BASE, '-Y', 'tcp', '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'tcp.srcport'];
  for (const f of fields) args.push('-e', f);
  const r = await run('tshark', args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  const out = new Map<number, FrameAnalysis>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const cols = line.split('\t');
    const flags = fields.filter((_, i) => (cols[i + 4] ?? '') !== '');
    out.set(Number(cols[0]), { stream: Number(cols[1]), flags, src: `${cols[2]}:${cols[3]}` });
  }
  return out;
}

/** Our analysis per TCP frame, plus the report. */
export async function ourFrames(file: string, opts: AnalyzeOptions = {}): Promise<{ frames: Map<number, FrameAnalysis>; report: AnalysisReport }> {
  const frames = new Map<number, FrameAnalysis>();
  const analyzer = new Analyzer({
    ...opts,
    onSegment: (s, stream, f) => {
      frames.set(s.frame, { stream, flags: TSHARK_FLAG_FIELDS.filter(([bit]) => f & bit).map(([, name]) => name) });
    },
  });
  for await (const r of readPcapFile(file)) analyzer.push(r);
  return { frames, report: analyzer.finish({ file }) };
}

/** Every frame where we and tshark disagree, as readable lines (empty when equal). */
export function frameDiff(ours: Map<number, FrameAnalysis>, theirs: Map<number, FrameAnalysis>): string[] {
  const diff: string[] = [];
  const frames = new Set([...ours.keys(), ...theirs.keys()]);
  for (const n of [...frames].sort((a, b) => a - b)) {
    const a = ours.get(n);
    const b = theirs.get(n);
    const fa = a ? `stream ${a.stream} [${a.flags.join(' ')}]` : 'missing';
    const fb = b ? `stream ${b.stream} [${b.flags.join(' ')}]` : 'missing';
    if (fa !== fb) diff.push(`frame ${n}: ours ${fa}, tshark ${fb}`);
  }
  return diff;
}

/**
 * Per connection and direction, every record counter that mirrors a tshark field against the
 * number of frames tshark flags with it; returns the mismatches (empty when all are equal).
 */
export function directionCountDiff(report: AnalysisReport, theirs: Map<number, FrameAnalysis>): string[] {
  const diff: string[] = [];
  for (const r of report.connections) {
    const frames = [...theirs.values()].filter((f) => f.stream === r.stream);
    const client = `${r.client.ip}:${r.client.port}`;
    for (const [key, field] of TSHARK_COUNTERS) {
      const c2s = frames.filter((f) => f.src === client && f.flags.includes(field)).length;
      const s2c = frames.filter((f) => f.src !== client && f.flags.includes(field)).length;
      if (r.c2s[key] !== c2s) diff.push(`stream ${r.stream} c2s ${key}: ours ${r.c2s[key]}, tshark ${field} ${c2s}`);
      if (r.s2c[key] !== s2c) diff.push(`stream ${r.stream} s2c ${key}: ours ${r.s2c[key]}, tshark ${field} ${s2c}`);
    }
  }
  return diff;
}

/** Number of packets a tcpdump BPF filter / a tshark display filter shows. */
export async function countTcpdump(file: string, filter: string): Promise<number> {
  const r = await run('tcpdump', ['-n', '-r', file, filter], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`tcpdump '${filter}': ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

export async function countTshark(file: string, filter: string): Promise<number> {
  const r = await run('tshark', ['-r', file, ...TSHARK_BASE, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`tshark '${filter}': ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/**
 * Traffic program run inside a namespace with the kernel's own sockets. Servers print "ready"
 * once listening, clients "started" once every connection is established or has failed. Modes
 * are the connection lifecycles the tests capture.
 */
const TRAFFIC = String.raw`
const net = require('node:net');
const [role, port, mode, arg] = process.argv.slice(2);
const host = '127.0.0.1';
if (role === 'server') {
  const srv = net.createServer({ allowHalfOpen: true, pauseOnConnect: mode === 'stall' }, (s) => {
    s.on('error', () => {});
    if (mode === 'echo') { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); }
    else if (mode === 'halfclose' || mode === 'silent') s.resume();
    else if (mode === 'reset') s.once('data', () => s.resetAndDestroy());
    else if (mode === 'sink') { s.resume(); s.on('end', () => s.end()); }
  });
  srv.listen(Number(port), host, () => process.stdout.write('ready\n'));
} else {
  const n = Number(arg || 1);
  const size = Number(process.env.SIZE || 6);
  let settled = 0;
  const settle = () => { if (++settled === n) process.stdout.write('started\n'); };
  const one = () => {
    const s = net.connect({ port: Number(port), host, allowHalfOpen: false });
    s.on('error', settle);
    s.on('data', () => {});
    s.on('connect', () => {
      settle();
      if (mode === 'keepalive') { s.setKeepAlive(true, 1000); s.write('hello\n'); return; }
      if (mode === 'flood') { const chunk = Buffer.alloc(1 << 16, 120); const pump = () => { while (s.write(chunk)) {} }; s.on('drain', pump); pump(); return; }
      s.end(Buffer.alloc(size, 104));
    });
  };
  for (let i = 0; i < n; i++) setTimeout(one, 20 * i);
}
`;

export interface KernelCapture {
  ns: TestNetns;
  file: string;
  dir: string;
  /** Starts the traffic program in the namespace; resolves once the server listens / every client connection started. */
  start(role: 'server' | 'client', port: number, mode: string, arg?: string, env?: Record<string, string>): Promise<ChildProcess>;
  /** Installs nftables rules (the body of `table inet t { … }`). */
  nft(body: string): Promise<void>;
  /** Stops tcpdump after `ms`; returns the capture file and when the capture stopped (Unix seconds). */
  finish(ms: number): Promise<{ file: string; endUnixS: number }>;
  close(): Promise<void>;
}

/** A namespace with `lo` up (MTU 1500, so bulk transfers make many segments) and tcpdump on it. */
export async function kernelCapture(name: string): Promise<KernelCapture> {
  const ns = await TestNetns.create('tcpfuzz-an');
  const dir = mkdtempSync(join(tmpdir(), `tcpfuzz-${name}-`));
  const file = join(dir, `${name}.pcap`);
  const script = join(dir, 'traffic.cjs');
  writeFileSync(script, TRAFFIC);
  await ns.exec('ip', ['link', 'set', 'lo', 'mtu', '1500']);
  // Immediate mode: without it packets wait in the ring until a block fills or a 1 s timer fires,
  // and a tcpdump stopped before that loses the last second of the capture. Headers only (the
  // analysis takes lengths from the IP header) and a 32 MB buffer, so that a busy machine does
  // not make the kernel drop packets before tcpdump reads them.
  const tcpdump = ns.spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-s', '200', '-B', '32768', '-w', file, 'tcp']);
  await waitFor(tcpdump, 'stderr', 'listening on', 5000);
  return {
    ns,
    file,
    dir,
    async start(role, port, mode, arg, env) {
      const args = [script, role, String(port), mode];
      if (arg !== undefined) args.push(arg);
      const envArgs = Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`);
      const child = ns.spawn('env', [...envArgs, process.execPath, ...args]);
      await waitFor(child, 'stdout', role === 'server' ? 'ready' : 'started', 10_000);
      return child;
    },
    async nft(body) {
      const r = await ns.exec('nft', ['-f', '-'], { input: `table inet t {\n${body}\n}\n` });
      if (r.code !== 0) throw new Error(`nft: ${r.stderr}`);
    },
    async finish(ms) {
      await new Promise((r) => setTimeout(r, ms));
      const endUnixS = Date.now() / 1000;
      await ns.stop(tcpdump);
      return { file, endUnixS };
    },
    async close() {
      await ns.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${text}' (${seen.trim()})`)), timeoutMs);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        child[stream]!.off('data', onData);
        resolve();
      }
    };
    child[stream]!.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited before '${text}': ${seen.trim()}`));
    });
  });
}

/** One generated frame with an exact timestamp. */
export interface TimedFrame {
  tsSec: number;
  tsNsec: number;
  frame: Uint8Array;
}

/** An Ethernet/IPv4/TCP frame around one segment. */
export function tcpFrame(src: number, dst: number, tcp: TcpRepr): Uint8Array {
  const segment = emitTcp(tcp, src, dst);
  const ip = emitIpv4({
    src,
    dst,
    protocol: IPPROTO_TCP,
    ttl: 64,
    tos: 0,
    ident: 0,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    options: new Uint8Array(0),
    payload: segment,
  });
  return emitEthernet({ dst: 0x020000000002, src: 0x020000000001, ethertype: ETHERTYPE_IPV4, payload: ip });
}

interface FuzzConversation {
  ep: [[number, number], [number, number]];
  isn: [number, number];
  nxt: [number, number];
  ack: [number, number];
  win: [number, number];
  sent: [Array<[number, number]>, Array<[number, number]>];
}

/**
 * Random segment sequences over a few 4-tuples that hit every rule of Wireshark's analysis:
 * SYNs with new and old ISNs (port reuse), SYN/ACKs, FIN, RST, retransmissions, keep-alives,
 * gaps, ACKs of unseen data, zero and changing windows, window-scale options (15 included),
 * sequence numbers near 2^32, and timestamps that sometimes go backwards.
 */
export function randomTcpCapture(rng: Rng, conversations: number, segments: number): TimedFrame[] {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const convs: FuzzConversation[] = [];
  for (let c = 0; c < conversations; c++) {
    const a = 0x0a000001 + rng.int(3);
    const b = 0x0a000001 + rng.int(3);
    const port = (): number => pick([80, 1234, 40000 + rng.int(3)]);
    const isn0 = pick([rng.u32(), (2 ** 32 - 1 - rng.int(3000)) >>> 0, rng.int(100)]);
    const isn1 = rng.u32();
    convs.push({
      ep: [
        [a, port()],
        [b, port()],
      ],
      isn: [isn0, isn1],
      nxt: [isn0, isn1],
      ack: [isn1, isn0],
      win: [pick([0, 100, 65535, 512]), pick([0, 100, 65535, 512])],
      sent: [[], []],
    });
  }
  const out: TimedFrame[] = [];
  let tNs = 1_000_000 * 1e9;
  for (let i = 0; i < segments; i++) {
    const cv = pick(convs);
    const d = rng.int(2) as 0 | 1;
    const e = (d ^ 1) as 0 | 1;
    const r = rng.float();
    let flags = ACK;
    const options: TcpOption[] = [];
    let len = pick([0, 0, 0, 1, 10, 100, 1000]);
    let seq = cv.nxt[d];
    let ack = cv.ack[d];
    let win = cv.win[d];
    if (r < 0.06) {
      flags = SYN;
      len = 0;
      ack = 0;
      seq = rng.chance(0.6) ? cv.isn[d] : rng.u32();
      if (rng.chance(0.7)) options.push({ kind: 'wscale', shift: pick([0, 2, 7, 14, 15]) });
      if (rng.chance(0.5)) options.push({ kind: 'mss', mss: 1460 });
      if (seq !== cv.isn[d] && rng.chance(0.5)) cv.isn[d] = cv.nxt[d] = seq;
    } else if (r < 0.1) {
      flags = SYN | ACK;
      len = 0;
      seq = rng.chance(0.7) ? cv.isn[d] : rng.u32();
      ack = (cv.isn[e] + 1) >>> 0;
      if (rng.chance(0.7)) options.push({ kind: 'wscale', shift: pick([0, 3, 14]) });
    } else if (r < 0.14) {
      flags = FIN | ACK;
      len = pick([0, 0, 5]);
    } else if (r < 0.17) {
      flags = pick([RST, RST | ACK]);
      len = 0;
      seq = pick([seq, (seq + 5) >>> 0, 0]);
    } else if (r < 0.32) {
      if (cv.sent[d].length > 0) [seq, len] = pick(cv.sent[d]);
    } else if (r < 0.37) {
      seq = (cv.nxt[d] - 1) >>> 0;
      len = pick([0, 1]);
    } else if (r < 0.42) {
      seq = (cv.nxt[d] + pick([1, 100, 1000])) >>> 0;
    } else if (r < 0.47) {
      ack = (ack + pick([1, 500, 5000])) >>> 0;
    } else if (r < 0.5) {
      ack = (ack - pick([1, 100])) >>> 0;
    }
    if (rng.chance(0.2)) win = pick([0, 0, 1, 100, 65535, 512, 7]);
    if (rng.chance(0.1)) flags |= PSH;
    if (rng.chance(0.03)) flags &= ~ACK;
    if (rng.chance(0.05) && (flags & SYN) === 0) options.push({ kind: 'wscale', shift: pick([1, 5]) });
    if (rng.chance(0.4)) options.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval: rng.u32(), tsecr: 0 });
    cv.win[d] = win;
    const [src, srcPort] = cv.ep[d];
    const [dst, dstPort] = cv.ep[e];
    const frame = tcpFrame(src, dst, { srcPort, dstPort, seq, ack, flags, window: win, urgent: 0, options, payload: new Uint8Array(len) });
    out.push({ tsSec: Math.floor(tNs / 1e9), tsNsec: tNs % 1e9, frame });
    const synFin = flags & (SYN | FIN) ? 1 : 0;
    const end = (seq + len + synFin) >>> 0;
    if (len > 0 || synFin) {
      cv.sent[d].push([seq, len]);
      if (((end - cv.nxt[d]) >>> 0) < 2 ** 31) cv.nxt[d] = end;
    }
    if (rng.chance(0.8)) cv.ack[e] = cv.nxt[d];
    tNs += pick([0, 1_000, 500_000, 2_000_000, 4_000_000, 15_000_000, 25_000_000, 300_000_000, 1_200_000_000, -1_000_000]);
  }
  return out;
}

/** Writes frames to a nanosecond pcap file. */
export function writeCapture(path: string, frames: readonly TimedFrame[]): void {
  const w = PcapWriter.open(path, { nanos: true });
  for (const f of frames) w.writeExact(f.tsSec, f.tsNsec, f.frame);
  w.close();
}

/**
 * Builds one TCP conversation segment by segment with correct sequence numbers, for tests that
 * need exact scenarios (a half-close, a storm, a stall) without a kernel. Times are seconds.
 */
export class Conversation {
  readonly frames: TimedFrame[];
  private readonly nxt: [number, number];
  private readonly ep: [[number, number], [number, number]];
  t: number;

  constructor(
    frames: TimedFrame[],
    client: [number, number],
    server: [number, number],
    opts: { t?: number; isn?: [number, number] } = {},
  ) {
    this.frames = frames;
    this.ep = [client, server];
    this.nxt = opts.isn ? [...opts.isn] : [1000, 5000];
    this.t = opts.t ?? 1000;
  }

  /** Sends one segment from the client (0) or the server (1) at the current time, then advances time by `dt`. */
  send(
    from: 0 | 1,
    flags: number,
    opts: { len?: number; seq?: number; ack?: number; window?: number; dt?: number; options?: TcpOption[] } = {},
  ): this {
    const len = opts.len ?? 0;
    const seq = opts.seq ?? this.nxt[from];
    const ack = opts.ack ?? (flags & ACK ? this.nxt[from ^ 1]! : 0);
    const [src, srcPort] = this.ep[from];
    const [dst, dstPort] = this.ep[from ^ 1]!;
    const frame = tcpFrame(src, dst, {
      srcPort,
      dstPort,
      seq,
      ack,
      flags,
      window: opts.window ?? 65535,
      urgent: 0,
      options: opts.options ?? [],
      payload: new Uint8Array(len),
    });
    const ns = Math.round(this.t * 1e9);
    this.frames.push({ tsSec: Math.floor(ns / 1e9), tsNsec: ns % 1e9, frame });
    const end = (seq + len + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
    if (((end - this.nxt[from]) >>> 0) < 2 ** 31) this.nxt[from] = end;
    this.t += opts.dt ?? 0.001;
    return this;
  }

  /** SYN, SYN/ACK, ACK. */
  handshake(): this {
    return this.send(0, SYN).send(1, SYN | ACK).send(0, ACK);
  }

  /** Sequence number the side will send next. */
  next(from: 0 | 1): number {
    return this.nxt[from];
  }
}

/** Frames sorted by time (several conversations interleaved), as records of one capture. */
export function captureRecords(frames: TimedFrame[]): PcapRecord[] {
  const sorted = [...frames].sort((a, b) => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec);
  const w = PcapWriter.memory({ nanos: true });
  for (const f of sorted) w.writeExact(f.tsSec, f.tsNsec, f.frame);
  const parsed = parsePcapBuffer(w.bytes());
  if (parsed.error) throw parsed.error;
  return parsed.records;
}

/** Analyses in-memory frames. */
export function analyzeFrames(frames: TimedFrame[], opts: AnalyzeOptions = {}): AnalysisReport {
  const a = new Analyzer(opts);
  for (const r of captureRecords(frames)) a.push(r);
  return a.finish({ file: 'test.pcap' });
}

/** A run section for writer tests: a small seed run, with `overrides` on top. */
export function sampleRunSection(overrides: Partial<RunSection> = {}): RunSection {
  return {
    command: 'fuzz run --target builtin:goodbye -n 3 -c 3 --timeout 10000 --seed 7 --link sim',
    target: 'builtin:goodbye',
    target_kind: 'builtin',
    server: '10.77.0.2:19',
    bugs: [],
    link: 'sim',
    seed: 7,
    seeds: {},
    fuzzer: 'netcat',
    jobs: 3,
    concurrency: 3,
    timeout_ms: 10_000,
    payload: '"hi mom\\n"',
    half_close: true,
    http: null,
    faults: null,
    fault_stats: null,
    fault_touched_connections: null,
    fault_events: [],
    fault_events_omitted: 0,
    interrupted: false,
    partial: false,
    jobs_not_started: 0,
    duration_ms: 1234,
    job_outcomes: { eof: 3 },
    peer_sockets_at_end: { source: 'test', states: { TIME_WAIT: 3 } },
    harness: null,
    kernel_tcp_counters: null,
    stack_connections_at_end: {},
    stack_side: 'target',
    stack_tcp_counters: {},
    target_exited: null,
    relay: null,
    files: { pcap: 'run.pcap', frames: 30, trace: 'trace.log', trace_lines: 12, report: 'report.json', junit: 'junit.xml', html: 'report.html' },
    job_rows: [],
    job_rows_omitted: 0,
    ...overrides,
  };
}

/** The final report of an analysis (no faults explained), with an optional run section. */
export function asReport(analysis: AnalysisReport, run: RunSection | null = null): Report {
  return finalReport(analysis, { findings: analysis.findings, explained: [], run });
}

/** The report's one connection record (asserts there is exactly one). */
export function only(report: AnalysisReport): ConnectionRecord {
  assert.equal(report.connections.length, 1);
  return report.connections[0]!;
}
