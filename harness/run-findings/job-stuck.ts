import { expectsOf, type RunRule } from './rule.js';
import { HARNESS_OVERLOADED } from '../harness-load.js';
import { notCharged } from '../not-charged.js';

/** Jobs that did not finish although the capture shows nothing wrong on their connections. */
export const jobStuck: RunRule = {
  kind: 'job-stuck',
  severity: 'error',
  summary: 'A job timed out or failed although the capture shows nothing wrong on its connection.',
  detect(ctx) {
    // A job the harness itself fell behind on timed out because of the harness (run.harness).
    const apart = notCharged(ctx.plan, ctx.raw);
    const ours = (conn: NonNullable<(typeof ctx.jobs)[number]['conn']>): boolean => apart.reasonOf(conn, 'server', 'hang', ctx.captureStartUnixS) === HARNESS_OVERLOADED;
    // The reset a timed-out job sent when it gave up is its own (not-charged.ts), not a finding that explains it.
    const standing = (j: (typeof ctx.jobs)[number]): number => (j.conn?.findings ?? []).filter((k) => !(j.job.abandoned && k === 'reset')).length;
    const stuck = ctx.jobs.filter(
      // A variant left incomplete on purpose may rightly leave the server waiting for the rest.
      (j) => standing(j) === 0 && !(j.conn && ours(j.conn)) && !expectsOf(ctx.plan, j.job.id).includes('no-reply') && (j.job.outcome === 'timeout' || j.job.outcome === 'connect-timeout' || j.job.outcome === 'error'),
    );
    if (stuck.length === 0) return undefined;
    return {
      title: `${stuck.length}/${ctx.raw.jobs.length} jobs did not finish although the capture shows nothing wrong on their connections`,
      explanation: 'The job timed out or failed, yet its connection (if any) has no capture finding: look at the job rows in report.json and at the trace.',
      jobs: stuck.map((j) => j.job.id),
    };
  },
};
