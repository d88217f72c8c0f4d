import type { RawRun } from './raw-run.js';
import { builtinService, type RunPlan } from './plan.js';
import { RUN_RULES } from './run-findings/registry.js';
import { httpOf, runFinding, type JudgedJob, type RunRuleContext } from './run-findings/rule.js';
import type { AnalysisReport, ConnectionRecord, Finding } from '../reports/report.js';
import type { JobRow } from '../reports/run-report.js';
import type { JobResult } from '../fuzzers/netcat/job.js';
import { payloadFor } from '../fuzzers/payload.js';

/** What the judge decides: the findings that stand, those the injected faults explain, and a row per job. */
export interface RunVerdict {
  /** Capture findings that stand (those the faults explain are in `explained`), then the run's own. */
  findings: Finding[];
  explained: Finding[];
  rows: JobRow[];
}

/** Job rows kept in report.json (the rest are counted). */
const MAX_ROWS = 20_000;

/**
 * Joins job outcomes, peer socket states and the capture's findings per connection, adds the
 * run's own findings, and sets apart what the injected faults explain. Pure: the same plan, run
 * and analysis give the same verdict.
 */
export function judge(plan: RunPlan, raw: RawRun, analysis: AnalysisReport): RunVerdict {
  const byClient = new Map<string, ConnectionRecord>();
  for (const c of analysis.connections) byClient.set(`${c.client.ip}:${c.client.port}`, c);
  const jobs: JudgedJob[] = raw.jobs.map((job) => {
    const client = job.localAddress !== undefined && job.localPort !== undefined ? `${job.localAddress.replace(/^::ffff:/, '')}:${job.localPort}` : null;
    // Only a finished exchange can be judged by its bytes; a timeout is judged on the wire.
    return { job, client, conn: client ? byClient.get(client) : undefined, dataProblem: job.outcome === 'eof' ? checkBytes(plan, job) : undefined };
  });
  const ctx: RunRuleContext = { plan, raw, jobs, captureStartUnixS: analysis.capture.start_unix_s ?? 0 };
  const runFindings = RUN_RULES.flatMap((rule) => {
    const hit = rule.detect(ctx);
    return hit ? [runFinding(rule, hit, ctx, analysis)] : [];
  });
  const { kept, explained } = separateFaultFindings(raw, analysis);
  return { findings: [...kept, ...runFindings], explained, rows: jobs.slice(0, MAX_ROWS).map((j) => jobRow(j, raw)) };
}

function jobRow(j: JudgedJob, raw: RawRun): JobRow {
  const { job, client, conn } = j;
  const row: JobRow = {
    job: job.id,
    outcome: job.outcome,
    client,
    connect_ms: job.connectMs ?? null,
    first_byte_ms: job.firstByteMs ?? null,
    bytes_out: job.bytesOut,
    bytes_in: job.bytesIn,
    data_ok: job.outcome === 'eof' ? j.dataProblem === undefined : null,
    peer_state_at_end: client ? (raw.peerSockets.get(client) ?? null) : null,
    stream: conn?.stream ?? null,
    verdict: conn?.close.verdict ?? null,
    findings: conn?.findings ?? [],
  };
  if (job.detail !== undefined) row.detail = job.detail;
  if (job.abandoned) row.abandoned = true;
  if (j.dataProblem !== undefined) row.data_problem = j.dataProblem;
  const http = httpOf(job);
  if (http) row.http = http.requests.map((r) => ({ spec: r.spec, status: r.status ?? null, error: r.error ?? null, malformed: r.malformed ?? null, first_byte_ms: r.firstByteMs ?? null }));
  return row;
}

/**
 * Under --faults, retransmissions, duplicate ACKs and slow handshakes are what the injector is
 * for. A finding is set apart as explained only when every connection it names had frames
 * dropped, corrupted, duplicated, reordered or delayed by the injector (and every one of them is
 * in the report); a single untouched connection keeps it a finding of the target's own.
 */
function separateFaultFindings(raw: RawRun, analysis: AnalysisReport): { kept: Finding[]; explained: Finding[] } {
  const ledger = raw.faultLedger;
  if (!ledger) return { kept: analysis.findings, explained: [] };
  const kept: Finding[] = [];
  const explained: Finding[] = [];
  for (const f of analysis.findings) {
    // Only a finding whose every instance is listed can be proven explained.
    const allTouched = f.instances_omitted === 0 && f.instances.length === f.connections && f.instances.every((i) => ledger.touched(`${i.client.ip}:${i.client.port}`));
    (allTouched ? explained : kept).push(f);
  }
  return { kept, explained };
}

/**
 * A finished netcat exchange with a built-in service is judged by its bytes (echo must echo,
 * goodbye must say its string); HTTP jobs are judged per response instead, and a kernel-side
 * server's bytes are its own business.
 */
function checkBytes(plan: RunPlan, j: JobResult): string | undefined {
  if (plan.workload.fuzzer !== 'netcat' || plan.target.kind !== 'builtin') return undefined;
  return builtinService(plan.target).check(payloadFor(plan.workload.payload, plan.seeds.jobs, j.id), j.received);
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
