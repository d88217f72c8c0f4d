import type { RunRule } from './rule.js';

/**
 * A foreign stack that, once the jobs were over, no longer accepted a fresh connection: a capture
 * that merely stops must never read as "open, no findings".
 */
export const targetUnresponsive: RunRule = {
  kind: 'target-unresponsive',
  severity: 'error',
  summary: 'After the jobs, a fresh connection to the tap: target failed: the stack stopped answering (wedged, out of memory, or no longer listening).',
  detect(ctx) {
    const why = ctx.raw.targetHealth?.unresponsive;
    if (why === undefined) return undefined;
    return {
      title: `${ctx.plan.targetText} no longer answers: ${why}`,
      explanation: 'Once the jobs had ended, the harness opened one more connection (recorded apart in probes.pcap, not judged) and it failed: the stack is wedged, out of memory, or stopped listening. What the jobs saw before that is in the findings around this one.',
      jobs: [],
    };
  },
};
