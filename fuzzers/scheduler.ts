import pLimit from 'p-limit';

/**
 * Runs N jobs at most C at a time (p-limit) under one global deadline. When the deadline passes
 * or the signal aborts, no further job starts; the jobs already running are bounded by their own
 * timeouts (and see the same signal). Results come back in job order; jobs never started are
 * reported as `undefined` so a partial report can say how many ran.
 */
export interface ScheduleOptions {
  concurrency: number;
  /** Absolute time (the jobs' clock) after which no job starts. */
  deadline?: number;
  now?: () => number;
  signal?: AbortSignal;
  onDone?: (done: number, total: number) => void;
}

export async function runScheduled<T>(total: number, runOne: (index: number) => Promise<T>, opts: ScheduleOptions): Promise<Array<T | undefined>> {
  const limit = pLimit(Math.max(1, opts.concurrency));
  const now = opts.now ?? Date.now;
  const results: Array<T | undefined> = new Array<T | undefined>(total).fill(undefined);
  let done = 0;
  const tasks: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    tasks.push(
      limit(async () => {
        if (opts.signal?.aborted) return;
        if (opts.deadline !== undefined && now() >= opts.deadline) return;
        results[i] = await runOne(i);
        done++;
        opts.onDone?.(done, total);
      }),
    );
  }
  await Promise.all(tasks);
  return results;
}
