/**
 * `fuzz report DIR` redraws a run folder's page and ladders from its report.json and trace.log
 * (nothing run again) and exits with the report's verdict; a folder without a readable report is
 * one line and exit 2. `fuzz analyze FILE --html OUT` writes the page alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fuzz } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-cli-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('fuzz report DIR redraws the page and the ladder of a run and prints its summary; analyze --html writes the page alone', async () => {
  const out = join(dir, 'seed');
  assert.equal((await fuzz(['run', '--bug', 'minnesota-goodbye', '--link', 'sim', '--seed', '19', '--out', out])).code, 1);
  const page = readFileSync(join(out, 'report.html'), 'utf8');
  const ladder = readFileSync(join(out, 'ladder-missing-fin.svg'), 'utf8');
  rmSync(join(out, 'report.html'));
  rmSync(join(out, 'ladder-missing-fin.svg'));
  const r = await fuzz(['report', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /1 shape, 128 connections: → SYN ← SYN\/ACK → ACK → data → FIN ← data ← ACK … no FIN from the server/);
  assert.match(r.stderr, /wrote \S+report\.html {2}\S+ladder-missing-fin\.svg/);
  assert.equal(readFileSync(join(out, 'report.html'), 'utf8'), page, 'the same page as the run wrote');
  assert.equal(readFileSync(join(out, 'ladder-missing-fin.svg'), 'utf8'), ladder);
  assert.match(ladder, /Recv_ack/, "the ladder has our stack's transitions");

  const html = join(dir, 'capture.html');
  assert.equal((await fuzz(['analyze', join(out, 'run.pcap'), '--html', html])).code, 1);
  assert.ok(statSync(html).size > 10_000);
  assert.doesNotMatch(readFileSync(html, 'utf8'), /Recv_ack/, 'no trace lane for a capture alone');
});

test('fuzz report: no folder, no report.json, another schema version: one line, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['report'], /^fuzz: report needs a run folder: fuzz report DIR\n$/],
    [['report', join(dir, 'none')], /no such folder\n$/],
    [['report', dir], /report\.json: no such file\n$/],
  ];
  const old = join(dir, 'old');
  rmSync(old, { recursive: true, force: true });
  await fuzz(['run', '--link', 'sim', '-n', '2', '--seed', '1', '--out', old]);
  const json = JSON.parse(readFileSync(join(old, 'report.json'), 'utf8')) as { schema_version: number };
  json.schema_version = 2;
  writeFileSync(join(old, 'report.json'), JSON.stringify(json));
  cases.push([['report', old], /report schema version 2, this tcpfuzz reads 3; rebuild it with fuzz analyze on the run's pcap\n$/]);
  for (const [args, msg] of cases) {
    const r = await fuzz(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  }
});
