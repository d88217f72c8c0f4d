import type { RunRule } from './rule.js';

/** A kernel-side target's process that ended by itself before the run stopped it. */
export const targetExited: RunRule = {
  kind: 'target-exited',
  severity: 'error',
  summary: "the target's process ended by itself during the run (a crash under this load, or a server that gave up)",
  detect(ctx) {
    if (ctx.raw.targetExited === undefined) return undefined;
    return { title: ctx.raw.targetExited, explanation: 'The server process ended before the run stopped it: a crash under this load, or a server that gave up.', jobs: [] };
  },
};
