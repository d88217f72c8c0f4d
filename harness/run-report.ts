import type { RunPlan } from './plan.js';
import type { RawRun } from './raw-run.js';
import { countOutcomes, histogram } from './raw-run.js';
import { httpStatuses, type RunVerdict } from './judge.js';
import { replayCommand } from './replay.js';
import { harnessLoad } from './harness-load.js';
import { ipv4ToString } from '../stack/addr.js';
import { formatFaultSpec } from '../stack/link/faults.js';
import { BUG_PROFILES } from '../stack/tcp/bugs.js';
import { describePayload } from '../fuzzers/payload.js';
import type { AnalysisReport } from '../reports/report.js';
import type { Report, RunSection } from '../reports/run-report.js';
import { finalReport } from '../reports/verdict.js';
import { reportFilePaths } from '../reports/write.js';

/** The run's one report: the analysis, the run section and the verdict, built once. Pure. */
export function buildRunReport(plan: RunPlan, raw: RawRun, analysis: AnalysisReport, verdict: RunVerdict): Report {
  return finalReport(analysis, { findings: verdict.findings, explained: verdict.explained, run: runSection(plan, raw, verdict) });
}

function runSection(plan: RunPlan, raw: RawRun, v: RunVerdict): RunSection {
  const w = plan.workload;
  return {
    command: replayCommand(plan),
    target: plan.targetText,
    target_kind: plan.target.kind,
    server: `${ipv4ToString(plan.server.ip)}:${plan.server.port}`,
    bugs: plan.bugs.map((b) => ({ name: b, summary: BUG_PROFILES.find((p) => p.name === b)?.summary ?? '' })),
    link: raw.link,
    seed: plan.seed,
    seeds: { ...plan.seeds },
    fuzzer: w.fuzzer,
    jobs: plan.jobs.count,
    concurrency: plan.jobs.concurrency,
    timeout_ms: plan.jobs.timeoutMs,
    payload: w.fuzzer === 'netcat' ? describePayload(w.payload) : null,
    half_close: w.fuzzer === 'netcat' ? w.halfClose : null,
    http: w.fuzzer === 'http' ? { specs: w.specs, mutate: w.mutate, statuses: httpStatuses(raw.jobs), variants: w.mutate > 0 ? w.playlistSpecs.map((p) => p.join(' ')) : null } : null,
    faults: plan.faults ? formatFaultSpec(plan.faults.spec) : null,
    fault_stats: raw.faultStats ?? null,
    fault_touched_connections: raw.faultLedger?.connections ?? null,
    fault_events: raw.faultLedger?.events ?? [],
    fault_events_omitted: raw.faultLedger?.eventsOmitted ?? 0,
    interrupted: raw.interrupted,
    partial: raw.interrupted || raw.notStarted > 0,
    jobs_not_started: raw.notStarted,
    duration_ms: Math.round(raw.endedAt - raw.startedAt),
    job_outcomes: { ...countOutcomes(raw.jobs) },
    peer_sockets_at_end: { source: raw.peerSocketSource, states: histogram(raw.peerSockets.values()) },
    stack_connections_at_end: raw.stackStates,
    stack_side: plan.target.kind === 'kernel' ? 'client' : plan.target.kind === 'foreign' ? 'none' : 'target',
    stack_tcp_counters: raw.stackStats,
    target_exited: raw.targetExited ?? null,
    relay: raw.relay ?? null,
    harness: raw.harness ? harnessLoad(raw.harness) : null,
    kernel_tcp_counters: raw.kernelTcp,
    files: { pcap: raw.pcapPath, frames: raw.pcapFrames, trace: raw.tracePath, trace_lines: raw.traceLines, ...reportFiles(plan) },
    job_rows: v.rows,
    job_rows_omitted: Math.max(0, raw.jobs.length - v.rows.length),
  };
}

function reportFiles(plan: RunPlan): { report: string; junit: string; html: string } {
  const f = reportFilePaths(plan.outDir);
  return { report: f.json, junit: f.junit, html: f.html };
}
