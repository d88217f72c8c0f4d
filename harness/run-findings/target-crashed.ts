import type { RunRule } from './rule.js';

/**
 * A foreign stack's process that died mid-run (an exit or a signal), or whose checker (--wrap,
 * e.g. valgrind --error-exitcode=99) failed it at exit: the checker's report is the finding's text.
 */
export const targetCrashed: RunRule = {
  kind: 'target-crashed',
  severity: 'error',
  summary: "A tap: target's process died during the run (an exit or a signal), or its --wrap checker failed it at exit.",
  detect(ctx) {
    const c = ctx.raw.targetHealth?.crash;
    if (!c) return undefined;
    const s = (ms: number): string => `${((ms - ctx.raw.startedAt) / 1000).toFixed(3)} s`;
    const last = c.lastFrame ? `its last frame was run.pcap frame ${c.lastFrame.frame}, ${s(c.lastFrame.atMs)} into the run` : 'it sent no frame during the run';
    const report = c.logTail ? ` Its output ends: ${c.logTail}` : '';
    if (c.during === 'exit') {
      return {
        title: `${ctx.plan.targetText}: ${c.how}`,
        explanation: `The checker the target ran under reported a failure when the run stopped it (its exit code); its report is in ${c.log}.${report}`,
        jobs: [],
      };
    }
    return {
      title: `${ctx.plan.targetText} ${c.how}, ${s(c.atMs)} into the run`,
      explanation: `The stack's process ended by itself while the jobs ran; ${last}. Whatever the kernel sent after that met a TAP nobody read. Its stdout and stderr are in ${c.log}.${report}`,
      jobs: [],
    };
  },
};
