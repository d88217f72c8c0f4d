import type { Finding } from '../report.js';

/** Errors first, then the findings naming most connections, then by kind: the order every writer shows. */
export function rankFindings(findings: Finding[]): Finding[] {
  const rank = (f: Finding): number => (f.severity === 'error' ? 0 : 1);
  return [...findings].sort((a, b) => rank(a) - rank(b) || b.connections - a.connections || a.kind.localeCompare(b.kind));
}
