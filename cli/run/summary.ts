import type { RunResult } from './execute.js';
import { formatSummary } from '../../reports/summary.js';
import { httpStatuses } from './verdict.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function counts(h: Record<string, number>): string {
  const parts = Object.entries(h)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/**
 * The terminal summary of a run: what ran, how the jobs ended, what the peers' sockets and our
 * stack hold at the end, then the capture analysis' own summary (findings with the
 * tcpdump/tshark filter that shows each), then where the files are.
 */
export function formatRunSummary(r: RunResult, opts: { color: boolean }): string {
  const { cfg, raw, verdict } = r;
  const bug = cfg.bugs.length > 0 ? ` with bug ${cfg.bugs.join(', ')}` : '';
  const faults = cfg.faultsText ? `, faults ${cfg.faultsText}` : '';
  const lines = [
    `fuzz run: ${cfg.target}${bug}: ${plural(raw.jobs.length, 'job')} (${cfg.concurrency} at once) over ${raw.link}, seed ${cfg.seed}${faults}`,
  ];
  if (raw.interrupted || raw.notStarted > 0) {
    lines.push(`PARTIAL RUN: ${raw.interrupted ? 'interrupted; ' : ''}${raw.notStarted} of ${cfg.jobs} jobs never started`);
  }
  lines.push(`jobs ended: ${counts(verdict.tally.jobOutcomes)}`);
  if (cfg.fuzzer === 'http') lines.push(`HTTP responses: ${counts(httpStatuses(raw.jobs))}  (spec${cfg.http!.specs.length > 1 ? 's' : ''} ${cfg.http!.specs.join(' ')}${cfg.http!.mutate > 0 ? `, ${cfg.http!.mutate} mutated variants` : ''})`);
  lines.push(`peer sockets at the end: ${counts(verdict.tally.clientStates)}  (${raw.peerSocketSource})`);
  lines.push(`${cfg.resolved.kind === 'kernel' ? 'our client stack' : 'target stack'} connections at the end: ${counts(raw.stackStates)}`);
  if (raw.targetExited) lines.push(`target: ${raw.targetExited}`);
  if (raw.faultStats) {
    lines.push(`injected faults: ${counts(raw.faultStats)} on ${raw.faultLedger?.connections ?? 0} connections`);
    for (const e of verdict.explained) {
      lines.push(`  explained by the injected faults (not counted): ${e.kind} on ${e.connections} connections, every one of them hit by the injector`);
    }
  }
  for (const f of verdict.runFindings) lines.push(`RUN FINDING ${f.kind}: ${f.title}`, `  ${f.explanation}`);
  // The run section is summarised above in the run's own words; the analysis part prints the rest.
  const { run: _run, ...analysis } = r.report;
  lines.push('', formatSummary(analysis, opts), '');
  lines.push(`files: ${Object.values(r.files).join('  ')}`);
  lines.push(`replay: ${r.report.run?.['command'] as string}`);
  return lines.join('\n');
}
