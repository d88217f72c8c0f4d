import type { Report, VersusSection } from './run-report.js';

/**
 * A differential run's comparison: which finding kinds the target shows and the reference (the
 * same jobs, seed and workload against another target: the kernel, our stack) does not, which
 * both show, and which only the reference shows. A kind both show is the workload's or the
 * link's doing as much as the target's. Pure.
 */
export function compareRuns(target: Report, reference: Report, referenceReport: string): VersusSection {
  const kinds = (r: Report): Set<string> => new Set(r.findings.map((f) => f.kind));
  const mine = kinds(target);
  const theirs = kinds(reference);
  return {
    target: reference.run?.target ?? '',
    report: referenceReport,
    summary: reference.verdict.summary,
    exit_code: reference.verdict.exit_code,
    target_only: [...mine].filter((k) => !theirs.has(k)).sort(),
    shared: [...mine].filter((k) => theirs.has(k)).sort(),
    versus_only: [...theirs].filter((k) => !mine.has(k)).sort(),
  };
}
