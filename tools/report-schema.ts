import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

/**
 * docs/report.schema.json: the JSON Schema of report.json, generated from the `Report` type in
 * reports/run-report.ts, so the schema and the type cannot drift apart (a test regenerates it and
 * compares). `npm run docs:schema` rewrites the file after a change to the report's types.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCHEMA_PATH = `${ROOT}docs/report.schema.json`;

export function generateReportSchema(): string {
  const schema = createGenerator({
    path: `${ROOT}reports/run-report.ts`,
    tsconfig: `${ROOT}tsconfig.json`,
    type: 'Report',
    expose: 'export',
    topRef: true,
    jsDoc: 'extended',
    skipTypeCheck: true,
    additionalProperties: false,
  }).createSchema('Report');
  schema.$id = 'https://tcpfuzz.invalid/report.schema.json';
  schema.title = 'tcpfuzz report.json';
  return JSON.stringify(schema, null, 1) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(SCHEMA_PATH, generateReportSchema());
