import type { RunRule } from './rule.js';
import { CAPTURE_WIDE_RULES, FINDING_RULES } from '../../reports/findings/registry.js';
import type { FindingRuleInfo } from '../../reports/findings/rule.js';
import { wrongData } from './wrong-data.js';
import { malformedResponse } from './malformed-response.js';
import { targetExited } from './target-exited.js';
import { jobStuck } from './job-stuck.js';
import { targetCrashed } from './target-crashed.js';
import { targetUnresponsive } from './target-unresponsive.js';
import { listenQueueOverflow } from './listen-queue-overflow.js';

/** Every run-level rule, in the order their findings are reported. */
export const RUN_RULES: readonly RunRule[] = [wrongData, malformedResponse, targetExited, targetCrashed, targetUnresponsive, listenQueueOverflow, jobStuck];

/**
 * Every finding kind a run can report, the capture's rules first, then the run's own, as
 * `fuzz list --findings` and the README's table show them.
 */
export const ALL_FINDING_RULES: readonly (FindingRuleInfo & { source: 'capture' | 'run' })[] = [
  ...[...FINDING_RULES, ...CAPTURE_WIDE_RULES].map((r) => ({ kind: r.kind, severity: r.severity, summary: r.summary, source: 'capture' as const })),
  ...RUN_RULES.map((r) => ({ kind: r.kind, severity: r.severity, summary: r.summary, source: 'run' as const })),
];
