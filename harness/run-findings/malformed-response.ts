import { expectsOf, httpOf, type RunRule } from './rule.js';

/** An HTTP response that broke RFC 9112's message rules. */
export const malformedResponse: RunRule = {
  kind: 'malformed-response',
  severity: 'error',
  summary: "An HTTP response broke RFC 9112's message rules (status line, headers, framing).",
  detect(ctx) {
    // A variant whose request line may have lost its version asked for HTTP/0.9: a bare reply is valid then.
    const malformed = ctx.jobs.filter((j) => !expectsOf(ctx.plan, j.job.id).includes('bare-reply') && httpOf(j.job)?.requests.some((r) => r.malformed !== undefined));
    if (malformed.length === 0) return undefined;
    const job = malformed[0]!.job;
    const first = httpOf(job)!.requests.find((r) => r.malformed !== undefined)!;
    return {
      title: `${ctx.plan.targetText} sent malformed HTTP responses on ${malformed.length}/${ctx.raw.jobs.length} jobs`,
      explanation: `A response broke RFC 9112's message rules (job ${job.id}, request ${first.index}: ${first.malformed}; spec ${first.spec}).`,
      jobs: malformed.map((j) => j.job.id),
    };
  },
};
