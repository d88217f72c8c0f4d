import type { RunConfig } from './config.js';
import type { RequestSpec } from '../../fuzzers/http/spec/index.js';
import { runNetcatJob, type DialedSocket, type Dialer, type JobResult } from '../../fuzzers/netcat/job.js';
import { runHttpJob } from '../../fuzzers/http/job.js';
import { runScheduled } from '../../fuzzers/scheduler.js';
import { jobRng, payloadFor } from '../../fuzzers/payload.js';

export interface JobsRun {
  results: JobResult[];
  notStarted: number;
  /** Sockets of jobs that timed out, still open so the peer's state can be read; the caller destroys them. */
  kept: DialedSocket[];
}

/** What running the jobs needs of a run's config (plain data, so a worker thread can get it). */
export type JobPlan = Pick<RunConfig, 'fuzzer' | 'serverIp' | 'port' | 'jobs' | 'concurrency' | 'timeoutMs' | 'connectTimeoutMs' | 'deadlineMs' | 'seed' | 'payload' | 'halfClose'> & {
  http: { playlists: RequestSpec[][]; readTimeoutMs: number } | undefined;
};

type JobStarter = (id: number, opts: { keepOpen: (s: DialedSocket) => void; signal: AbortSignal }) => Promise<JobResult>;

/** One job of the configured fuzzer: a netcat-like exchange, or a pathoc-style HTTP playlist. */
function jobStarter(cfg: JobPlan, dialer: Dialer): JobStarter {
  const http = cfg.http;
  if (cfg.fuzzer === 'http' && http) {
    return (id, opts) =>
      runHttpJob(
        dialer,
        {
          id,
          host: cfg.serverIp,
          port: cfg.port,
          requests: http.playlists[id % http.playlists.length]!,
          rng: jobRng(cfg.seed, id),
          // pathoc reads `<file` values from the working directory, unconfined.
          files: { root: process.cwd(), confined: false },
          timeoutMs: cfg.timeoutMs,
          connectTimeoutMs: cfg.connectTimeoutMs,
          readTimeoutMs: http.readTimeoutMs,
        },
        opts,
      );
  }
  return (id, opts) =>
    runNetcatJob(
      dialer,
      {
        id,
        host: cfg.serverIp,
        port: cfg.port,
        payload: payloadFor(cfg.payload, cfg.seed, id),
        halfClose: cfg.halfClose,
        timeoutMs: cfg.timeoutMs,
        connectTimeoutMs: cfg.connectTimeoutMs,
      },
      opts,
    );
}

/** Runs the configured jobs through `dialer` under the scheduler; bounded by the jobs' timeouts. */
export async function runJobs(cfg: JobPlan, dialer: Dialer, opts: { signal: AbortSignal; onDone?: (done: number, total: number) => void }): Promise<JobsRun> {
  const kept: DialedSocket[] = [];
  const start = dialer.clock.now();
  const startJob = jobStarter(cfg, dialer);
  const all = await runScheduled(cfg.jobs, (id) => startJob(id, { keepOpen: (s) => kept.push(s), signal: opts.signal }), {
    concurrency: cfg.concurrency,
    deadline: start + cfg.deadlineMs,
    now: () => dialer.clock.now(),
    signal: opts.signal,
    ...(opts.onDone ? { onDone: opts.onDone } : {}),
  });
  const results = all.filter((r): r is JobResult => r !== undefined);
  return { results, notStarted: all.length - results.length, kept };
}
