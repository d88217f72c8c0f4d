import type { RunConfig } from './config.js';
import type { RawRun } from './raw-run.js';
import { countOutcomes, histogram } from './raw-run.js';
import type { RunTally } from '../cases.js';
import type { AnalysisReport, ConnectionRecord, Finding } from '../../reports/report.js';
import { payloadFor, describePayload } from '../../fuzzers/payload.js';
import { formatFaultSpec } from '../../stack/link/faults.js';
import { BUG_PROFILES } from '../../stack/tcp/bugs.js';

/**
 * A problem only the run can see (the capture alone cannot): the service answered with the
 * wrong bytes, or a job got stuck although its connection looks fine on the wire.
 */
export interface RunFinding {
  kind: 'wrong-data' | 'job-stuck';
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
    const problem = j.outcome === 'eof' ? cfg.service.check(payloadFor(cfg.payload, cfg.seed, j.id), j.received) : undefined;
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
  for (const f of kept) findings[f.kind] = f.connections;
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
    payload: describePayload(cfg.payload),
    half_close: cfg.halfClose,
    interrupted: raw.interrupted,
    partial: raw.interrupted || raw.notStarted > 0,
    jobs_not_started: raw.notStarted,
    duration_ms: Math.round(raw.endedAt - raw.startedAt),
    job_outcomes: v.tally.jobOutcomes,
    peer_sockets_at_end: { source: raw.peerSocketSource, states: v.tally.clientStates },
    stack_connections_at_end: raw.stackStates,
    run_findings: v.runFindings,
    files: { pcap: raw.pcapPath, frames: raw.pcapFrames, trace: raw.tracePath, trace_lines: raw.traceLines },
    job_rows: v.rows,
    job_rows_omitted: Math.max(0, raw.jobs.length - v.rows.length),
  };
}

/** The command that replays this run exactly (same seed; on sim also the same bytes). */
export function replayCommand(cfg: RunConfig): string {
  const parts = ['fuzz run', `--target ${cfg.target}`];
  for (const b of cfg.bugs) parts.push(`--bug ${b}`);
  parts.push(`-n ${cfg.jobs}`, `-c ${cfg.concurrency}`, `--timeout ${cfg.timeoutMs}`, `--seed ${cfg.seed}`, `--link ${cfg.link}`);
  if (cfg.faultsText) parts.push(`--faults '${cfg.faultsText}'`);
  if (cfg.payloadText !== cfg.service.defaultPayload) parts.push(`--payload '${cfg.payloadText.replace(/'/g, "'\\''")}'`);
  if (!cfg.halfClose) parts.push('--no-half-close');
  return parts.join(' ');
}
