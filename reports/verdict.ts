import { FINDING_KINDS, type FindingKind } from './findings/registry.js';
import type { AnalysisReport, Finding } from './report.js';
import { rankFindings } from './findings/rank.js';
import { REPORT_SCHEMA_VERSION, type Report, type ReportVerdict, type RunSection } from './run-report.js';

/**
 * The final report: the analysis with the findings that stand (capture findings not explained by
 * injected faults, and the run's own findings), its totals recomputed for them, and the verdict
 * that decides the exit code. `fuzz analyze` has no run and nothing explained.
 */
export function finalReport(analysis: AnalysisReport, parts: { findings: Finding[]; explained: Finding[]; run: RunSection | null }): Report {
  const findings = rankFindings(parts.findings);
  const byKind: Record<string, number> = {};
  // A kind can stand twice, once per culprit side (e.g. retransmit-storm by the server and by its clients).
  for (const f of findings) byKind[f.kind] = (byKind[f.kind] ?? 0) + f.connections;
  const captureTotals = Object.fromEntries(FINDING_KINDS.map((k) => [k, byKind[k] ?? 0])) as Record<FindingKind, number>;
  const errors = findings.filter((f) => f.severity === 'error').length;
  const verdict: ReportVerdict = {
    exit_code: findings.length > 0 ? 1 : 0,
    status: findings.length > 0 ? 'findings' : 'clean',
    summary: verdictSummary(analysis, findings, parts.explained, parts.run?.harness?.overloaded ? parts.run.harness.summary : null),
    errors,
    warnings: findings.length - errors,
    by_kind: byKind,
    explained_by_faults: parts.explained,
  };
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    ...analysis,
    totals: { ...analysis.totals, findings: captureTotals, flagged_connections: flaggedConnections(analysis, findings, parts.explained) },
    findings,
    verdict,
    run: parts.run,
    versus: null,
  };
}

function verdictSummary(analysis: AnalysisReport, findings: Finding[], explained: Finding[], overloaded: string | null): string {
  const n = analysis.totals.connections;
  const conns = `${n} connection${n === 1 ? '' : 's'}`;
  const plural = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
  const apart = analysis.set_apart.filter((a) => a.findings.length > 0);
  const aside =
    (explained.length > 0 ? `; ${plural(explained.length, 'finding')} explained by the injected faults` : '') +
    apart.map((a) => `; ${plural(a.findings.length, 'finding')} on ${plural(a.connections, 'connection')} not charged to the target (${a.reason})`).join('') +
    (overloaded ? `; ${overloaded}` : '');
  if (findings.length === 0) return `no findings on ${conns}${aside}`;
  const shown = findings.slice(0, 3).map((f) => f.title);
  const more = findings.length > shown.length ? `; and ${findings.length - shown.length} more` : '';
  return `${shown.join('; ')}${more}${aside}`;
}

/**
 * Connections with a standing capture finding. With nothing explained that is the analysis'
 * count; otherwise it is counted from the standing findings' instances when they list every
 * connection they name, and stays the analysis' (an upper bound) when some were left out.
 */
function flaggedConnections(analysis: AnalysisReport, findings: Finding[], explained: Finding[]): number {
  const capture = findings.filter((f) => f.source === 'capture');
  const apart = analysis.set_apart.some((a) => a.findings.length > 0);
  if ((explained.length === 0 && !apart) || capture.some((f) => f.instances_omitted > 0)) return analysis.totals.flagged_connections;
  return new Set(capture.flatMap((f) => f.instances.map((i) => i.stream))).size;
}
