import type { RunConfig } from './config.js';
import { runNetcatJob, type DialedSocket, type Dialer, type JobResult } from '../../fuzzers/netcat/job.js';
import { runScheduled } from '../../fuzzers/scheduler.js';
import { payloadFor } from '../../fuzzers/payload.js';

export interface JobsRun {
  results: JobResult[];
  notStarted: number;
  /** Sockets of jobs that timed out, still open so the peer's state can be read; the caller destroys them. */
  kept: DialedSocket[];
}

/** Runs the configured netcat jobs through `dialer` under the scheduler; bounded by the jobs' timeouts. */
export async function runJobs(cfg: RunConfig, dialer: Dialer, opts: { signal: AbortSignal; onDone?: (done: number, total: number) => void }): Promise<JobsRun> {
  const kept: DialedSocket[] = [];
  const start = dialer.clock.now();
  const all = await runScheduled(
    cfg.jobs,
    (id) =>
      runNetcatJob(
        dialer,
        {
          id,
          host: cfg.stackIp,
          port: cfg.service.port,
          payload: payloadFor(cfg.payload, cfg.seed, id),
          halfClose: cfg.halfClose,
          timeoutMs: cfg.timeoutMs,
          connectTimeoutMs: cfg.connectTimeoutMs,
        },
        { keepOpen: (s) => kept.push(s), signal: opts.signal },
      ),
    {
      concurrency: cfg.concurrency,
      deadline: start + cfg.deadlineMs,
      now: () => dialer.clock.now(),
      signal: opts.signal,
      ...(opts.onDone ? { onDone: opts.onDone } : {}),
    },
  );
  const results = all.filter((r): r is JobResult => r !== undefined);
  return { results, notStarted: all.length - results.length, kept };
}
