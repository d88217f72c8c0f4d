import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { planRun, runPlan, type RunSettings } from '../harness/index.js';
import { generateReportSchema, SCHEMA_PATH } from '../tools/report-schema.js';
import { fuzz } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-schema-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const validator = () => new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);

test('docs/report.schema.json is current: generated from the Report type (npm run docs:schema rewrites it)', () => {
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), generateReportSchema());
});

test('report.json of a run and of an analysed capture validate against the schema', async () => {
  const validate = validator();
  const env = { privileged: false, readFile: () => new Uint8Array(0), now: new Date(), randomSeed: () => 1 };
  const runs: Array<[string, RunSettings]> = [
    ['goodbye-bug', { bugs: ['minnesota-goodbye'], jobs: 8 }],
    ['echo-faults', { target: 'builtin:echo', jobs: 16, faults: 'drop=5%' }],
    ['http', { target: 'builtin:http', jobs: 8, mutate: 4 }],
  ];
  for (const [name, settings] of runs) {
    const out = join(dir, name);
    const report = await runPlan(planRun({ link: 'sim', seed: 3, out, ...settings }, env), { logLevel: 'silent', events: () => {} });
    const written = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as unknown;
    assert.deepEqual(written, JSON.parse(JSON.stringify(report)), `${name}: the file is the report`);
    assert.ok(validate(written), `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  }
  const analyzed = join(dir, 'analyzed');
  const r = await fuzz(['analyze', join(dir, 'goodbye-bug', 'run.pcap'), '--out', analyzed]);
  assert.equal(r.code, 1, r.stderr);
  const a = JSON.parse(readFileSync(join(analyzed, 'report.json'), 'utf8')) as { run: unknown; verdict: { exit_code: number } };
  assert.equal(a.run, null);
  assert.equal(a.verdict.exit_code, 1);
  assert.ok(validate(a), JSON.stringify(validate.errors?.slice(0, 3)));
});
