import { writeFileSync } from 'node:fs';
import type { Report } from './run-report.js';

/** report.json: the whole report (every kept connection record and every finding), as data. */
export function writeJson(report: Report, path: string): void {
  writeFileSync(path, JSON.stringify(report, null, 1) + '\n');
}
