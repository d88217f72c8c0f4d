import type { RunPlan } from '../plan.js';
import type { RawRun } from '../raw-run.js';
import { ipv4ToString } from '../../stack/addr.js';
import type { AnalysisReport, ConnectionRecord, Finding, FindingInstance } from '../../reports/report.js';
import type { FindingRuleInfo } from '../../reports/findings/rule.js';
import type { JobResult } from '../../fuzzers/netcat/job.js';
import type { HttpJobResult } from '../../fuzzers/http/job.js';
import type { Expectation } from '../../fuzzers/http/mutate.js';

/**
 * A run-level finding rule: a problem only the run can see, not the capture alone (the service
 * answered with the wrong bytes, a job got stuck on a connection that looks fine on the wire, a
 * malformed HTTP response, the target's process died). One file per rule, like the capture
 * rules in reports/findings/; the result is the same `Finding`, with `source: 'run'`.
 */
export interface RunRule extends FindingRuleInfo {
  detect(ctx: RunRuleContext): RunRuleHit | undefined;
}

export interface RunRuleHit {
  title: string;
  explanation: string;
  /** The jobs it names (each job's connection, when captured, becomes an instance). */
  jobs: number[];
}

/** One job as the judge sees it: its result, its client address and its connection in the capture. */
export interface JudgedJob {
  job: JobResult;
  /** `ip:port` of the job's socket, as the capture's records name clients. */
  client: string | null;
  conn: ConnectionRecord | undefined;
  /** For a finished exchange with a built-in service: how its bytes differ from what it must send. */
  dataProblem: string | undefined;
}

export interface RunRuleContext {
  plan: RunPlan;
  raw: RawRun;
  jobs: JudgedJob[];
  /** The capture's first record (Unix s): the connection records' times count from it. */
  captureStartUnixS: number;
}

/** What job `id`'s mutated variant allows the server to do without a finding (it plays playlist id mod n). */
export function expectsOf(plan: RunPlan, id: number): readonly Expectation[] {
  const w = plan.workload;
  return w.fuzzer === 'http' ? (w.playlistExpects[id % w.playlistExpects.length] ?? []) : [];
}

/** The HTTP side of a job's result, when it was an HTTP job. */
export function httpOf(j: JobResult): HttpJobResult['http'] | undefined {
  return (j as Partial<HttpJobResult>).http;
}

/** Connections named in one tshark filter (as the capture rules do). */
const MAX_FILTER_ITEMS = 20;
const MAX_INSTANCES = 100;

/**
 * The Finding for a rule's hit: the jobs' captured connections as instances, and a filter that
 * shows them (their streams in tshark, their client ports in tcpdump) with exact packet counts;
 * with no captured connection, the filter shows all of the target's traffic.
 */
export function runFinding(rule: RunRule, hit: RunRuleHit, ctx: RunRuleContext, analysis: AnalysisReport): Finding {
  const byJob = new Map(ctx.jobs.map((j) => [j.job.id, j]));
  const captured = hit.jobs.flatMap((id) => {
    const conn = byJob.get(id)?.conn;
    return conn ? [{ id, conn }] : [];
  });
  const conns = captured.map((c) => c.conn);
  const server = { ip: ipv4ToString(ctx.plan.server.ip), port: ctx.plan.server.port };
  const instances: FindingInstance[] = captured.slice(0, MAX_INSTANCES).map(({ id, conn: c }) => ({
    stream: c.stream,
    client: c.client,
    server: c.server,
    frames: [c.frames.first, c.frames.last],
    t: c.t_first,
    t_end: c.t_last,
    detail: `job ${id} (${byJob.get(id)!.job.outcome}): connection ${c.close.verdict}`,
  }));
  const shown = conns.slice(0, MAX_FILTER_ITEMS);
  const serverTcpdump = `host ${server.ip} and port ${server.port}`;
  const show =
    shown.length > 0
      ? {
          tcpdump: `${serverTcpdump} and (${shown.map((c) => `port ${c.client.port}`).join(' or ')})`,
          tcpdump_packets: shown.reduce((n, c) => n + c.frames.count, 0),
          tshark: `tcp.stream in {${shown.map((c) => c.stream).join(',')}}`,
          tshark_packets: shown.reduce((n, c) => n + c.frames.count, 0),
        }
      : // A run's capture holds only the target's traffic: every TCP segment in it matches.
        { tcpdump: serverTcpdump, tcpdump_packets: analysis.capture.tcp_segments, tshark: `ip.addr==${server.ip} && tcp.port==${server.port}`, tshark_packets: analysis.capture.tcp_segments };
  return {
    source: 'run',
    kind: rule.kind,
    severity: rule.severity,
    culprit: 'server',
    server,
    title: hit.title,
    explanation: hit.explanation,
    connections: hit.jobs.length,
    of_connections: ctx.raw.jobs.length,
    instances,
    instances_omitted: hit.jobs.length - instances.length,
    show,
    jobs: hit.jobs,
  };
}
