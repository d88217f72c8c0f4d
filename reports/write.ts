import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeHtml } from './html.js';
import { writeJson } from './json.js';
import { writeJunit } from './junit.js';
import type { Report } from './run-report.js';

export interface ReportFiles {
  json: string;
  junit: string;
  html: string;
}

/** Where writeReportFiles puts the files in `dir`. */
export function reportFilePaths(dir: string): ReportFiles {
  return { json: join(dir, 'report.json'), junit: join(dir, 'junit.xml'), html: join(dir, 'report.html') };
}

/** Writes report.json, junit.xml and report.html into `dir` (created if missing); returns their paths. */
export function writeReportFiles(report: Report, dir: string): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const files = reportFilePaths(dir);
  writeJson(report, files.json);
  writeJunit(report, files.junit);
  writeHtml(report, files.html);
  return files;
}
