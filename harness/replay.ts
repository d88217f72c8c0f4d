import type { RunPlan } from './plan.js';
import { builtinService } from './plan.js';
import { ipv4ToString } from '../stack/addr.js';
import { LAB_KERNEL_IP, LAB_STACK_IP } from '../stack/lab/setup.js';
import { shellQuote } from '../reports/commands.js';

/** The command that replays a planned run exactly (same seed; on sim also the same bytes). */
export function replayCommand(plan: RunPlan): string {
  const parts = ['fuzz run', `--target ${shellQuote(plan.targetText)}`];
  for (const b of plan.bugs) parts.push(`--bug ${b}`);
  parts.push(`-n ${plan.jobs.count}`, `-c ${plan.jobs.concurrency}`, `--timeout ${plan.jobs.timeoutMs}`, `--seed ${plan.seed}`, `--link ${plan.link}`);
  if (plan.faults) parts.push(`--faults ${shellQuote(plan.faults.text)}`);
  if (plan.lab.kernelIp !== LAB_KERNEL_IP) parts.push(`--kernel-ip ${ipv4ToString(plan.lab.kernelIp)}`);
  if (plan.lab.stackIp !== LAB_STACK_IP) parts.push(`--stack-ip ${ipv4ToString(plan.lab.stackIp)}`);
  if (plan.target.kind === 'foreign') {
    if (plan.target.wrap !== null) parts.push(`--wrap ${shellQuote(plan.target.wrap)}`);
    parts.push(`--ready-timeout ${plan.target.readyTimeoutMs}`);
  }
  if (plan.versus) parts.push(`--versus ${shellQuote(plan.versus.targetText)}`);
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
