/**
 * The writers: the terminal summary (readable without colour, coloured on a TTY), junit.xml
 * (well-formed, counts that add up, everything escaped), report.html (self-contained, escaped,
 * says what it left out) and report.json (the report itself).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatHtml } from '../reports/html/index.js';
import { writeJson } from '../reports/json.js';
import { formatJunit } from '../reports/junit.js';
import { FINDING_KINDS } from '../reports/findings/registry.js';
import type { Report } from '../reports/run-report.js';
import { formatRunSummary, formatSummary } from '../reports/summary.js';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, RST } from '../stack/wire/tcp.js';
import { analyzeFrames, asReport, Conversation, sampleRunSection, type TimedFrame } from './analyze-support.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-writers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const C = parseIpv4('10.77.0.1')!;
const S = parseIpv4('10.77.0.2')!;
const HOSTILE = `<script>alert("x")</script> & 'quotes'`;

function flaggedReport(): Report {
  const frames: TimedFrame[] = [];
  for (let i = 0; i < 3; i++) new Conversation(frames, [C, 40000 + i], [S, 19], { t: 1000 + i }).handshake().send(0, FIN | ACK).send(1, ACK);
  new Conversation(frames, [C, 41000], [S, 80], { t: 1000 }).handshake().send(0, PSH | ACK, { len: 5 }).send(1, RST | ACK);
  for (let i = 0; i < 5; i++) {
    new Conversation(frames, [C, 42000 + i], [S, 7], { t: 1000 + i / 10 }).handshake().send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
  }
  return asReport(analyzeFrames(frames, { maxTimeline: 6 }), sampleRunSection({ target: HOSTILE, job_outcomes: { eof: 5, timeout: 3 } }));
}

function cleanReport(): Report {
  const frames: TimedFrame[] = [];
  new Conversation(frames, [C, 40000], [S, 7]).handshake().send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
  return asReport(analyzeFrames(frames));
}

describe('terminal summary', () => {
  it('plain: verdicts, findings with commands, worst connections; a run adds what ran and how to replay it', () => {
    const text = formatSummary(flaggedReport());
    assert.doesNotMatch(text, /\x1b\[/);
    assert.match(text, /^tcpfuzz analyze test\.pcap: 50 frames, 50 TCP, 9 connections, /);
    assert.match(text, /verdicts: complete 5 · reset 1 · half-closed 3/);
    assert.match(text, /FINDINGS: 2 \(1 error\)/);
    assert.match(text, /✗ missing-fin {2}server 10\.77\.0\.2:19 sent no FIN on 3\/3 connections/);
    assert.match(text, /! reset {2}server 10\.77\.0\.2:80 reset 1\/1 connections/);
    assert.match(text, /show: tcpdump -nr test\.pcap 'src host 10\.77\.0\.2 and src port 80 and tcp\[tcpflags\] & tcp-rst != 0' {2}\(1 packet\)/);
    assert.match(text, /worst connections:\n {2}#\d+ 10\.77\.0\.1:\d+ → 10\.77\.0\.2:\d+/);
    const run = formatRunSummary(flaggedReport());
    assert.match(run, /^fuzz run: <script>alert\("x"\)<\/script> & 'quotes': 3 jobs \(3 at once\) over sim, seed 7\n/);
    assert.match(run, /jobs ended: 5 eof, 3 timeout\n/);
    assert.ok(run.includes(text.trimEnd()), 'the analysis summary is part of the run summary');
    assert.match(run, /\nreplay: fuzz run --target builtin:goodbye .*--seed 7 --link sim$/);
  });

  it('coloured for a TTY; a clean capture says so', () => {
    assert.match(formatSummary(flaggedReport(), { color: true }), /\x1b\[31m✗\x1b\[0m/);
    assert.match(formatSummary(cleanReport(), { color: true }), /\x1b\[32m✓ no findings\x1b\[0m/);
  });
});

describe('junit.xml', () => {
  const xml = formatJunit(flaggedReport());

  it('counts add up: a case per finding kind or group and per connection, failures for findings', () => {
    const suites = [...xml.matchAll(/<testsuite name="(\w+)" tests="(\d+)" failures="(\d+)"[^>]*>([\s\S]*?)<\/testsuite>/g)];
    assert.deepEqual(
      suites.map((m) => [m[1], Number(m[2]), Number(m[3])]),
      [
        // One case per capture finding kind (the registry's, FINDING_KINDS) plus none extra here.
        ['findings', FINDING_KINDS.length, 2],
        ['connections', 9, 4],
      ],
    );
    for (const m of suites) {
      assert.equal((m[4]!.match(/<testcase /g) ?? []).length, Number(m[2]));
      assert.equal((m[4]!.match(/<failure /g) ?? []).length, Number(m[3]));
    }
    assert.match(xml, new RegExp(`<testsuites name="tcpfuzz run &#60;script&#62;[^"]*" tests="${FINDING_KINDS.length + 9}" failures="6">`));
    assert.match(formatJunit(cleanReport()), /<testsuites name="tcpfuzz analyze test\.pcap" tests="\d+" failures="0">/);
    assert.match(xml, /<testcase classname="findings" name="no hang" time="0\.000"\/>/);
  });

  it('escapes everything and carries only the replay, target, link and seed as properties (the data stays in report.json)', () => {
    assert.ok(xml.includes('<property name="target" value="&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;quotes&#39;"/>'));
    assert.ok(xml.includes('<property name="seed" value="7"/>'));
    assert.deepEqual([...new Set([...xml.matchAll(/<property name="(\w+)"/g)].map((m) => m[1]))], ['command', 'target', 'link', 'seed', 'exit_code']);
    assert.ok(!xml.includes('<script>'));
    const text = xml.replace(/<[^>]*>/g, '');
    assert.doesNotMatch(text, /[<>]|&(?!#\d+;)/, 'no raw markup characters outside tags');
  });
});

describe('report.html', () => {
  const html = formatHtml(flaggedReport());

  it('is self-contained and escapes what it shows', () => {
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    // Its scripts are inline: none is loaded from anywhere, and the hostile target stays text.
    assert.doesNotMatch(html, /<script[^>]*\ssrc=/);
    assert.doesNotMatch(html, /<script>alert/);
    assert.ok(html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'));
  });

  it('draws every kept connection on the timeline and one graph per shape', () => {
    const data = JSON.parse(/<script type="application\/json" id="tl-data">(.*?)<\/script>/.exec(html)![1]!) as { bars: unknown[] };
    assert.equal(data.bars.length, 9, 'the connection records give bars beyond the 6 timeline entries');
    assert.equal((html.match(/<svg[^>]*class="stevens"/g) ?? []).length, 3);
    assert.match(html, /href="#cluster-\d+"/);
  });
});

describe('report.json', () => {
  it('is the report', () => {
    const report = flaggedReport();
    const path = join(dir, 'report.json');
    writeJson(report, path);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), report);
  });
});
