import type { RunRule } from './rule.js';

/** Jobs that did not finish although the capture shows nothing wrong on their connections. */
export const jobStuck: RunRule = {
  kind: 'job-stuck',
  severity: 'error',
  summary: 'a job timed out or failed although the capture shows nothing wrong on its connection',
  detect(ctx) {
    const stuck = ctx.jobs.filter((j) => (j.conn?.findings.length ?? 0) === 0 && (j.job.outcome === 'timeout' || j.job.outcome === 'connect-timeout' || j.job.outcome === 'error'));
    if (stuck.length === 0) return undefined;
    return {
      title: `${stuck.length}/${ctx.raw.jobs.length} jobs did not finish although the capture shows nothing wrong on their connections`,
      explanation: 'The job timed out or failed, yet its connection (if any) has no capture finding: look at the job rows in report.json and at the trace.',
      jobs: stuck.map((j) => j.job.id),
    };
  },
};
