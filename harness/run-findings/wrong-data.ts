import type { RunRule } from './rule.js';

/** A finished exchange whose bytes are not what the built-in service must send for what was sent. */
export const wrongData: RunRule = {
  kind: 'wrong-data',
  severity: 'error',
  summary: 'a connection closed normally but the built-in service answered with the wrong bytes (echo must echo, goodbye must say its string)',
  detect(ctx) {
    const wrong = ctx.jobs.filter((j) => j.dataProblem !== undefined);
    if (wrong.length === 0) return undefined;
    const first = wrong[0]!;
    return {
      title: `${ctx.plan.targetText} answered ${wrong.length}/${ctx.raw.jobs.length} jobs with the wrong bytes`,
      explanation: `The connection closed normally but what came back is not what ${ctx.plan.targetText} must send for what was sent (job ${first.job.id}: ${first.dataProblem}).`,
      jobs: wrong.map((j) => j.job.id),
    };
  },
};
