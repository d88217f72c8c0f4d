import { setMaxListeners } from 'node:events';
import { connect } from 'node:net';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { runJobs, type FinishedJobs, type JobRunner } from './jobs.js';
import type { RunPlan } from './plan.js';
import { RealClock } from '../stack/clock.js';
import type { Dialer, JobResult } from '../fuzzers/netcat/job.js';

/**
 * Kernel-socket jobs in a worker thread. On the TAP the target stack and the client sockets
 * would otherwise share one event loop, and a thousand busy clients delay the stack's reads by
 * tens of milliseconds: late enough for Linux's tail-loss probes to fire and for the run to
 * judge the harness's own lag. A worker gives the load its own loop and core; it is in the same
 * network namespace (the process's). The plan is plain data, so it crosses as it is.
 */

type ToWorker = { type: 'abort' } | { type: 'release' };
type FromWorker = { type: 'progress'; done: number; total: number } | { type: 'done'; results: JobResult[]; notStarted: number } | { type: 'released' };

/** Runs the plan's jobs on kernel sockets in a worker. */
export function jobsInWorker(plan: RunPlan): JobRunner {
  return (opts) => {
    const worker = new Worker(new URL('./job-worker.js', import.meta.url), { workerData: plan });
    const send = (m: ToWorker): void => worker.postMessage(m);
    const onAbort = (): void => send({ type: 'abort' });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    let released: (() => void) | undefined;
    return new Promise<FinishedJobs>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'progress') opts.onDone?.(m.done, m.total);
        else if (m.type === 'released') released?.();
        else if (m.type === 'done') {
          opts.signal.removeEventListener('abort', onAbort);
          resolve({
            results: m.results,
            notStarted: m.notStarted,
            release: () =>
              new Promise<void>((done) => {
                released = done;
                // Bounded: a worker that does not answer is ended.
                const t = setTimeout(() => void worker.terminate().then(() => done()), 5_000);
                worker.once('exit', () => {
                  clearTimeout(t);
                  done();
                });
                send({ type: 'release' });
              }),
          });
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        if (code !== 0) reject(new Error(`job worker exited with code ${code}`));
      });
    });
  };
}

/** The worker's side. */
async function workerMain(plan: RunPlan): Promise<void> {
  const port = parentPort!;
  const abort = new AbortController();
  // Every running job listens for the abort: as many listeners as jobs at once is expected.
  setMaxListeners(plan.jobs.concurrency + 16, abort.signal);
  let jobs: FinishedJobs | undefined;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'abort') abort.abort();
    else if (m.type === 'release') {
      void jobs?.release().then(() => {
        port.postMessage({ type: 'released' } satisfies FromWorker);
        port.close();
      });
    }
  });
  const clock = new RealClock();
  const dialer: Dialer = { clock, dial: (host, p) => connect({ host, port: p, allowHalfOpen: true }) };
  let last = 0;
  jobs = await runJobs(plan, dialer, {
    signal: abort.signal,
    onDone: (done, total) => {
      // Throttled: one message per 1% of the jobs is plenty for a progress bar.
      if (done === total || done - last >= Math.max(1, total / 100)) {
        last = done;
        port.postMessage({ type: 'progress', done, total } satisfies FromWorker);
      }
    },
  });
  port.postMessage({ type: 'done', results: jobs.results, notStarted: jobs.notStarted } satisfies FromWorker);
}

if (parentPort && workerData) void workerMain(workerData as RunPlan);
