import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatHtml, ladderFileName, Representatives, traceLadder, type PageInputs } from './html/index.js';
import { writeJson } from './json.js';
import { writeJunit } from './junit.js';
import type { Report } from './run-report.js';
import { readLaneTransitions } from './trace-log.js';

export interface ReportFiles {
  json: string;
  junit: string;
  html: string;
}

/** Where writeReportFiles puts the files in `dir`. */
export function reportFilePaths(dir: string): ReportFiles {
  return { json: join(dir, 'report.json'), junit: join(dir, 'junit.xml'), html: join(dir, 'report.html') };
}

/** The page's inputs besides the report: our stack's lanes, read from a run's trace.log (none without one). */
export function pageInputs(report: Report, traceLog: string | null): PageInputs {
  return { lanes: traceLog !== null && existsSync(traceLog) ? readLaneTransitions(traceLog, report.traces) : [] };
}

/**
 * Writes report.html (the page, from the report and the lanes of `traceLog`) and beside it one
 * standalone ladder per finding that has a representative (`ladder-<kind>.svg`); returns the
 * SVGs' paths.
 */
export function writePage(report: Report, htmlPath: string, traceLog: string | null): string[] {
  const inputs = pageInputs(report, traceLog);
  writeFileSync(htmlPath, formatHtml(report, inputs));
  const reps = new Representatives(report);
  const written: string[] = [];
  for (const f of [...report.findings, ...report.verdict.explained_by_faults]) {
    const c = reps.forFinding(f);
    const trace = c && reps.clusterTrace(c);
    if (!trace) continue;
    const path = join(dirname(htmlPath), ladderFileName(report.findings, f));
    writeFileSync(path, `<?xml version="1.0" encoding="UTF-8"?>\n${traceLadder(report, inputs, trace, true)}\n`);
    written.push(path);
  }
  return written;
}

/**
 * Writes report.json, junit.xml, report.html and the findings' ladder SVGs into `dir` (created
 * if missing); a run passes its trace.log for our stack's lane in the ladders.
 */
export function writeReportFiles(report: Report, dir: string, opts: { traceLog?: string | null } = {}): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const files = reportFilePaths(dir);
  writeJson(report, files.json);
  writeJunit(report, files.junit);
  writePage(report, files.html, opts.traceLog ?? null);
  return files;
}
