import type { RunConfig } from './config.js';
import type { RawRun } from './raw-run.js';
import { countOutcomes, histogram } from './raw-run.js';
import type { RunTally } from '../cases.js';
import type { AnalysisReport, ConnectionRecord, Finding } from '../../reports/report.js';
import type { JobResult } from '../../fuzzers/netcat/job.js';
import type { HttpJobResult } from '../../fuzzers/http/job.js';
import { payloadFor, describePayload } from '../../fuzzers/payload.js';
import { formatFaultSpec } from '../../stack/link/faults.js';
import { BUG_PROFILES } from '../../stack/tcp/bugs.js';

/**
 * A problem only the run can see (the capture alone cannot): the service answered with the
 * wrong bytes, or a job got stuck although its connection looks fine on the wire.
 */
export interface RunFinding {
  kind: 'wrong-data' | 'job-stuck' | 'malformed-response' | 'target-exited';
  title: string;
  explanation: string;
  jobs: number[];
}

/** One job joined with its connection in the capture and its peer socket at the end. */
export interface JobRow {
  job: number;
  outcome: string;
  detail?: string;
  client: string | null;
  connect_ms: number | null;
  first_byte_ms: number | null;
  bytes_out: number;
  bytes_in: number;
  data_ok: boolean | null;
  data_problem?: string;
  peer_state_at_end: string | null;
  stream: number | null;
  verdict: string | null;
  findings: string[];
  /** HTTP jobs: each request's frozen spec (replays its exact bytes) and what came back. */
  http?: Array<{ spec: string; status: number | null; error: string | null; malformed: string | null; first_byte_ms: number | null }>;
}

/** A capture finding whose every connection the fault injector touched: expected, not the target's fault. */
export interface ExplainedFinding {
  kind: string;
  connections: number;
  title: string;
}

export interface RunVerdict {
  /** Capture findings that stand (those the injected faults explain are moved to `explained`). */
  findings: Finding[];
  explained: ExplainedFinding[];
  rows: JobRow[];
  runFindings: RunFinding[];
  tally: RunTally;
  exitCode: 0 | 1;
}

const MAX_ROWS = 20_000;

/** Joins job outcomes, peer socket states and capture findings per connection; decides the exit code. */
export function judgeRun(cfg: RunConfig, raw: RawRun, report: AnalysisReport): RunVerdict {
  const byClient = new Map<string, ConnectionRecord>();
  for (const c of report.connections) byClient.set(`${c.client.ip}:${c.client.port}`, c);

  const rows: JobRow[] = [];
  const wrong: number[] = [];
  const stuck: number[] = [];
  let firstProblem: string | undefined;
  for (const j of raw.jobs) {
    const key = j.localAddress !== undefined && j.localPort !== undefined ? `${j.localAddress.replace(/^::ffff:/, '')}:${j.localPort}` : null;
    const conn = key ? byClient.get(key) : undefined;
    // Only a finished exchange can be judged by its bytes; a timeout is judged on the wire.
    const problem = j.outcome === 'eof' ? checkBytes(cfg, j) : undefined;
    if (problem !== undefined) {
      wrong.push(j.id);
      firstProblem ??= `job ${j.id}: ${problem}`;
    }
    const flagged = (conn?.findings.length ?? 0) > 0;
    if (!flagged && (j.outcome === 'timeout' || j.outcome === 'connect-timeout' || j.outcome === 'error')) stuck.push(j.id);
    if (rows.length < MAX_ROWS) {
      const row: JobRow = {
        job: j.id,
        outcome: j.outcome,
        client: key,
        connect_ms: j.connectMs ?? null,
        first_byte_ms: j.firstByteMs ?? null,
        bytes_out: j.bytesOut,
        bytes_in: j.bytesIn,
        data_ok: j.outcome === 'eof' ? problem === undefined : null,
        peer_state_at_end: key ? (raw.peerSockets.get(key) ?? null) : null,
        stream: conn?.stream ?? null,
        verdict: conn?.close.verdict ?? null,
        findings: conn?.findings ?? [],
      };
      if (j.detail !== undefined) row.detail = j.detail;
      if (problem !== undefined) row.data_problem = problem;
      const http = httpOf(j);
      if (http) {
        row.http = http.requests.map((r) => ({ spec: r.spec, status: r.status ?? null, error: r.error ?? null, malformed: r.malformed ?? null, first_byte_ms: r.firstByteMs ?? null }));
      }
      rows.push(row);
    }
  }

  const runFindings: RunFinding[] = [];
  if (wrong.length > 0) {
    runFindings.push({
      kind: 'wrong-data',
      title: `${cfg.target} answered ${wrong.length}/${raw.jobs.length} jobs with the wrong bytes`,
      explanation: `The connection closed normally but what came back is not what ${cfg.target} must send for what was sent (${firstProblem}).`,
      jobs: wrong,
    });
  }
  const malformed = raw.jobs.filter((j) => httpOf(j)?.requests.some((r) => r.malformed !== undefined));
  if (malformed.length > 0) {
    const first = httpOf(malformed[0]!)!.requests.find((r) => r.malformed !== undefined)!;
    runFindings.push({
      kind: 'malformed-response',
      title: `${cfg.target} sent malformed HTTP responses on ${malformed.length}/${raw.jobs.length} jobs`,
      explanation: `A response broke RFC 9112's message rules (job ${malformed[0]!.id}, request ${first.index}: ${first.malformed}; spec ${first.spec}).`,
      jobs: malformed.map((j) => j.id),
    });
  }
  if (raw.targetExited) {
    runFindings.push({ kind: 'target-exited', title: raw.targetExited, explanation: 'The server process ended before the run stopped it: a crash under this load, or a server that gave up.', jobs: [] });
  }
  if (stuck.length > 0) {
    runFindings.push({
      kind: 'job-stuck',
      title: `${stuck.length}/${raw.jobs.length} jobs did not finish although the capture shows nothing wrong on their connections`,
      explanation: 'The job timed out or failed, yet its connection (if any) has no capture finding: look at the job rows in report.json and at the trace.',
      jobs: stuck,
    });
  }

  const { kept, explained } = separateFaultFindings(raw, report);
  const findings: Record<string, number> = {};
  // A kind can be reported twice, once per culprit side (e.g. retransmit-storm by the server and by its clients).
  for (const f of kept) findings[f.kind] = (findings[f.kind] ?? 0) + f.connections;
  for (const f of runFindings) findings[f.kind] = f.jobs.length;
  const tally: RunTally = {
    findings,
    jobOutcomes: { ...countOutcomes(raw.jobs) },
    clientStates: histogram(raw.peerSockets.values()),
  };
  const exitCode = kept.length > 0 || runFindings.length > 0 ? 1 : 0;
  return { findings: kept, explained, rows, runFindings, tally, exitCode };
}

/**
 * Under --faults, retransmissions, duplicate ACKs and slow handshakes are what the injector is
 * for. A finding is set apart as explained only when every connection it names had frames
 * dropped, corrupted, duplicated, reordered or delayed by the injector (and every one of them is
 * in the report); a single untouched connection keeps it a finding of the target's own.
 */
function separateFaultFindings(raw: RawRun, report: AnalysisReport): { kept: Finding[]; explained: ExplainedFinding[] } {
  const ledger = raw.faultLedger;
  if (!ledger) return { kept: report.findings, explained: [] };
  const kept: Finding[] = [];
  const explained: ExplainedFinding[] = [];
  for (const f of report.findings) {
    // Only a finding whose every instance is listed can be proven explained.
    const allTouched = f.instances_omitted === 0 && f.instances.length === f.connections && f.instances.every((i) => ledger.touched(`${i.client.ip}:${i.client.port}`));
    if (allTouched) explained.push({ kind: f.kind, connections: f.connections, title: f.title });
    else kept.push(f);
  }
  return { kept, explained };
}

function httpOf(j: JobResult): HttpJobResult['http'] | undefined {
  return (j as Partial<HttpJobResult>).http;
}

/**
 * A finished netcat exchange with a built-in service is judged by its bytes (echo must echo,
 * goodbye must say its string); HTTP jobs are judged per response instead, and a kernel-side
 * server's bytes are its own business.
 */
function checkBytes(cfg: RunConfig, j: JobResult): string | undefined {
  if (cfg.fuzzer !== 'netcat' || cfg.resolved.kind !== 'builtin') return undefined;
  return cfg.resolved.service.check(payloadFor(cfg.payload, cfg.seed, j.id), j.received);
}

/** HTTP statuses of every response received, e.g. { "200": 1000 }; `none` for requests that got none. */
export function httpStatuses(jobs: JobResult[]): Record<string, number> {
  const h: Record<string, number> = {};
  for (const j of jobs) {
    for (const r of httpOf(j)?.requests ?? []) {
      const key = r.status === undefined ? 'none' : String(r.status);
      h[key] = (h[key] ?? 0) + 1;
    }
  }
  return h;
}

/** The `run` section of report.json: how to replay this run, and what the run itself saw. */
export function runSection(cfg: RunConfig, raw: RawRun, v: RunVerdict): Record<string, unknown> {
  return {
    command: replayCommand(cfg),
    target: cfg.target,
    bugs: cfg.bugs.map((b) => ({ name: b, summary: BUG_PROFILES.find((p) => p.name === b)?.summary ?? '' })),
    link: raw.link,
    seed: cfg.seed,
    faults: cfg.faults ? formatFaultSpec(cfg.faults) : null,
    fault_stats: raw.faultStats ?? null,
    fault_touched_connections: raw.faultLedger?.connections ?? null,
    findings_explained_by_faults: v.explained,
    jobs: cfg.jobs,
    concurrency: cfg.concurrency,
    timeout_ms: cfg.timeoutMs,
    fuzzer: cfg.fuzzer,
    payload: cfg.fuzzer === 'netcat' ? describePayload(cfg.payload) : null,
    http: cfg.http ? { specs: cfg.http.specs, mutate: cfg.http.mutate, statuses: httpStatuses(raw.jobs), variants: cfg.http.mutate > 0 ? cfg.http.playlistSpecs.map((p) => p.join(' ')) : undefined } : null,
    half_close: cfg.halfClose,
    interrupted: raw.interrupted,
    partial: raw.interrupted || raw.notStarted > 0,
    jobs_not_started: raw.notStarted,
    duration_ms: Math.round(raw.endedAt - raw.startedAt),
    job_outcomes: v.tally.jobOutcomes,
    peer_sockets_at_end: { source: raw.peerSocketSource, states: v.tally.clientStates },
    stack_connections_at_end: raw.stackStates,
    stack_tcp_counters: raw.stackStats,
    run_findings: v.runFindings,
    files: { pcap: raw.pcapPath, frames: raw.pcapFrames, trace: raw.tracePath, trace_lines: raw.traceLines },
    job_rows: v.rows,
    job_rows_omitted: Math.max(0, raw.jobs.length - v.rows.length),
  };
}

/** The command that replays this run exactly (same seed; on sim also the same bytes). */
export function replayCommand(cfg: RunConfig): string {
  const parts = ['fuzz run', `--target ${shellWord(cfg.target)}`];
  for (const b of cfg.bugs) parts.push(`--bug ${b}`);
  parts.push(`-n ${cfg.jobs}`, `-c ${cfg.concurrency}`, `--timeout ${cfg.timeoutMs}`, `--seed ${cfg.seed}`, `--link ${cfg.link}`);
  if (cfg.faultsText) parts.push(`--faults '${cfg.faultsText}'`);
  if (cfg.fuzzer === 'http' && cfg.http) {
    parts.push('--fuzzer http', ...cfg.http.specs.map((sp) => `--spec ${shellWord(sp)}`));
    if (cfg.http.mutate > 0) parts.push(`--mutate ${cfg.http.mutate}`);
  } else if (cfg.resolved.kind !== 'builtin' || cfg.payloadText !== cfg.resolved.service.defaultPayload) parts.push(`--payload ${shellWord(cfg.payloadText)}`);
  if (!cfg.halfClose) parts.push('--no-half-close');
  return parts.join(' ');
}

/** `text` as one POSIX shell word: bare when it is safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
