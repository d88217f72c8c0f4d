import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeHtml } from './html.js';
import { writeJson } from './json.js';
import { writeJunit } from './junit.js';
import type { AnalysisReport } from './report.js';

/** Writes report.json, junit.xml and report.html into `dir` (created if missing); returns their paths. */
export function writeReportFiles(report: AnalysisReport, dir: string): { json: string; junit: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, 'report.json'), junit: join(dir, 'junit.xml'), html: join(dir, 'report.html') };
  writeJson(report, files.json);
  writeJunit(report, files.junit);
  writeHtml(report, files.html);
  return files;
}
