import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../stack/user-error.js';
import { REPORT_SCHEMA_VERSION, type Report } from './run-report.js';

/** report.json: the whole report (every kept connection record and every finding), as data. */
export function writeJson(report: Report, path: string): void {
  writeFileSync(path, JSON.stringify(report, null, 1) + '\n');
}

/** A report.json read back (`fuzz report DIR`): one line when it is missing, not JSON, or of another schema version. */
export function readJson(path: string): Report {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path}: not JSON (${(e as Error).message})`);
  }
  const version = (value as { schema_version?: unknown } | null)?.schema_version;
  if (typeof value !== 'object' || value === null || (value as { tool?: unknown }).tool !== 'tcpfuzz analyze') throw new UsageError(`${path}: not a tcpfuzz report.json`);
  if (version !== REPORT_SCHEMA_VERSION) {
    throw new UsageError(`${path}: report schema version ${String(version)}, this tcpfuzz reads ${REPORT_SCHEMA_VERSION}; rebuild it with fuzz analyze on the run's pcap`);
  }
  return value as Report;
}
