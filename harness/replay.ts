import type { RunPlan } from './plan.js';
import { builtinService } from './plan.js';
import { shellQuote } from '../reports/commands.js';

/** The command that replays a planned run exactly (same seed; on sim also the same bytes). */
export function replayCommand(plan: RunPlan): string {
  const parts = ['fuzz run', `--target ${shellQuote(plan.targetText)}`];
  for (const b of plan.bugs) parts.push(`--bug ${b}`);
  parts.push(`-n ${plan.jobs.count}`, `-c ${plan.jobs.concurrency}`, `--timeout ${plan.jobs.timeoutMs}`, `--seed ${plan.seed}`, `--link ${plan.link}`);
  if (plan.faults) parts.push(`--faults ${shellQuote(plan.faults.text)}`);
  const w = plan.workload;
  if (w.fuzzer === 'http') {
    parts.push('--fuzzer http', ...w.specs.map((sp) => `--spec ${shellQuote(sp)}`));
    if (w.mutate > 0) parts.push(`--mutate ${w.mutate}`);
  } else {
    if (plan.target.kind !== 'builtin' || w.payloadText !== builtinService(plan.target).defaultPayload) parts.push(`--payload ${shellQuote(w.payloadText)}`);
    if (!w.halfClose) parts.push('--no-half-close');
  }
  return parts.join(' ');
}
