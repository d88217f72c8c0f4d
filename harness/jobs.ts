import type { RunPlan } from './plan.js';
import { serverHost } from './plan.js';
import { runNetcatJob, type DialedSocket, type Dialer, type JobResult } from '../fuzzers/netcat/job.js';
import { runHttpJob } from '../fuzzers/http/job.js';
import { runScheduled } from '../fuzzers/scheduler.js';
import { jobRng, payloadFor } from '../fuzzers/payload.js';

/** Jobs that have all ended; sockets of timed-out ones stay open until `release`. */
export interface FinishedJobs {
  results: JobResult[];
  notStarted: number;
  /** Closes the sockets kept open for the final socket-state reading. */
  release(): Promise<void>;
}

export interface JobsOptions {
  signal: AbortSignal;
  onDone?: (done: number, total: number) => void;
}

/** Starts the run's jobs somewhere (this thread, or a worker); resolves when all have ended. */
export type JobRunner = (opts: JobsOptions) => Promise<FinishedJobs>;

type JobStarter = (id: number, opts: { keepOpen?: (s: DialedSocket) => void; signal: AbortSignal }) => Promise<JobResult>;

/** One job of the plan's workload: a netcat-like exchange, or a pathoc-style HTTP playlist. */
function jobStarter(plan: RunPlan, dialer: Dialer): JobStarter {
  const w = plan.workload;
  const host = serverHost(plan);
  const { port } = plan.server;
  const { timeoutMs, connectTimeoutMs } = plan.jobs;
  if (w.fuzzer === 'http') {
    return (id, opts) =>
      runHttpJob(
        dialer,
        {
          id,
          host,
          port,
          requests: w.playlists[id % w.playlists.length]!,
          rng: jobRng(plan.seeds.jobs, id),
          // pathoc reads `<file` values from the working directory, unconfined.
          files: { root: process.cwd(), confined: false },
          timeoutMs,
          connectTimeoutMs,
          readTimeoutMs: w.readTimeoutMs,
        },
        opts,
      );
  }
  return (id, opts) =>
    runNetcatJob(dialer, { id, host, port, payload: payloadFor(w.payload, plan.seeds.jobs, id), halfClose: w.halfClose, timeoutMs, connectTimeoutMs }, opts);
}

/**
 * Runs the plan's jobs through `dialer` under the scheduler, bounded by the jobs' timeouts and
 * the deadline. Sockets of jobs that timed out stay open (so the peer's state can be read at the
 * end) until `release`.
 */
export async function runJobs(plan: RunPlan, dialer: Dialer, opts: JobsOptions): Promise<FinishedJobs> {
  const kept: DialedSocket[] = [];
  const start = dialer.clock.now();
  const startJob = jobStarter(plan, dialer);
  // Against a stack target (built-in or tap:) the clients' sockets are the evidence (the seed's
  // 128 clients in FIN_WAIT2): a timed-out one stays open until the states are read. Against a
  // kernel-side server our client aborts it (RST) at once: left open, it would be our own missing FIN.
  const keepOpen = plan.target.kind !== 'kernel' ? (s: DialedSocket) => kept.push(s) : undefined;
  const all = await runScheduled(plan.jobs.count, (id) => startJob(id, { ...(keepOpen ? { keepOpen } : {}), signal: opts.signal }), {
    concurrency: plan.jobs.concurrency,
    deadline: start + plan.jobs.deadlineMs,
    now: () => dialer.clock.now(),
    signal: opts.signal,
    ...(opts.onDone ? { onDone: opts.onDone } : {}),
  });
  const results = all.filter((r): r is JobResult => r !== undefined);
  return {
    results,
    notStarted: all.length - results.length,
    release: async () => {
      for (const s of kept) s.destroy();
    },
  };
}

/** The jobs in this thread, through `dialer` (the sim link's client stack, or our stack on the TAP). */
export function jobsInProcess(plan: RunPlan, dialer: Dialer): JobRunner {
  return (opts) => runJobs(plan, dialer, opts);
}
