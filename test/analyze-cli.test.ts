/**
 * `fuzz analyze` as a user runs it: exit 0 / 1 / 2, one clear line for bad input (with the byte
 * offset for truncated or corrupt captures), --partial, --json and --out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { FINDING_KINDS } from '../reports/findings/registry.js';
import type { AnalysisReport } from '../reports/report.js';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH } from '../stack/wire/tcp.js';
import { Conversation, writeCapture, type TimedFrame } from './analyze-support.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-analyze-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fuzz(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'analyze', ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const C = parseIpv4('10.77.0.1')!;
const S = parseIpv4('10.77.0.2')!;

function capture(name: string, build: (frames: TimedFrame[]) => void): string {
  const frames: TimedFrame[] = [];
  build(frames);
  const file = join(dir, name);
  writeCapture(file, frames);
  return file;
}

const clean = capture('clean.pcap', (f) => {
  new Conversation(f, [C, 40000], [S, 7]).handshake().send(0, PSH | ACK, { len: 6 }).send(1, FIN | ACK).send(0, FIN | ACK).send(1, ACK);
});
const halfClosed = capture('half.pcap', (f) => {
  for (let i = 0; i < 4; i++) new Conversation(f, [C, 40000 + i], [S, 19], { t: 1000 + i }).handshake().send(0, FIN | ACK).send(1, ACK);
});

describe('fuzz analyze', () => {
  it('exit 0 and "no findings" for a clean capture', () => {
    const r = fuzz(clean);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 connection,/);
    assert.match(r.stdout, /verdicts: complete 1/);
    assert.match(r.stdout, /✓ no findings/);
  });

  it('exit 1 with the finding, its explanation and the commands that show it', () => {
    const r = fuzz(halfClosed);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /missing-fin {2}server 10\.77\.0\.2:19 sent no FIN on 4\/4 connections/);
    assert.match(r.stdout, /FIN_WAIT2/);
    assert.ok(r.stdout.includes(`tcpdump -nr ${halfClosed} 'src host 10.77.0.2 and src port 19 and tcp[tcpflags] & tcp-fin != 0'  (0 packets)`), r.stdout);
    assert.match(r.stdout, /tshark -r \S+ -Y 'ip\.src==10\.77\.0\.2 && tcp\.srcport==19 && tcp\.flags\.fin==1'/);
    assert.match(r.stdout, /worst connections:/);
  });

  it('--json prints the report; --out writes report.json, junit.xml and report.html', () => {
    const out = join(dir, 'out');
    const r = fuzz(halfClosed, '--json', '--out', out, '--server', '10.77.0.2:19');
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as AnalysisReport;
    assert.equal(report.options.server, '10.77.0.2:19');
    assert.equal(report.connections[0]!.server_from, 'option');
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')), report);
    assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), new RegExp(`<testsuite name="findings" tests="${FINDING_KINDS.length}" failures="1"`));
    assert.ok(statSync(join(out, 'report.html')).size > 1000);
  });

  it('thresholds are flags: a higher --fin-wait needs the FIN to be older', () => {
    assert.equal(fuzz(halfClosed, '--fin-wait', '2s').code, 1, 'the first FIN is 3 s before the end');
    assert.equal(fuzz(halfClosed, '--fin-wait', '10s').code, 0);
  });

  it('bad flags and bad files: exit 2 and one line', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^fuzz: analyze needs a capture file: fuzz analyze FILE\n$/],
      [[clean, '--bogus'], /^fuzz: Unknown option '--bogus'\n$/],
      [[clean, '--server', 'example.com'], /^fuzz: --server must be ADDR or ADDR:PORT \(IPv4\), got 'example\.com'\n$/],
      [[clean, '--hang', 'soon'], /^fuzz: --hang must be a duration like 500ms, 10s or 2m, got 'soon'\n$/],
      [[clean, '--storm', '1'], /^fuzz: --storm must be between 2 and 1000, got 1\n$/],
      [[join(dir, 'missing.pcap')], /^fuzz: \S+missing\.pcap: no such file\n$/],
      [[dir], /^fuzz: \S+: not a regular file\n$/],
    ];
    for (const [args, line] of cases) {
      const r = fuzz(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, line);
      assert.equal(r.stdout, '');
    }
  });

  it('empty, non-pcap and truncated files: the byte offset, exit 2; --partial analyses the records read', () => {
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'these are not packets\n'.repeat(4));
    const bytes = readFileSync(halfClosed);
    const truncated = join(dir, 'truncated.pcap');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 30));
    for (const f of [empty, text, truncated]) {
      const r = fuzz(f);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^fuzz: ${f.replace(/[.]/g, '\\.')}: .* at byte \\d+ \\(\\d+ records? read\\)`));
    }
    const t = fuzz(truncated);
    assert.match(t.stderr, /\(19 records read\); use --partial to analyse them\n$/);
    const p = fuzz(truncated, '--partial');
    assert.equal(p.code, 1, 'the records read still show the missing FINs');
    assert.match(p.stdout, /partial: .* at byte \d+/);
    assert.match(p.stderr, /^fuzz: \S+: partial analysis: .* at byte \d+\n$/);
    assert.equal(fuzz(empty, '--partial').code, 2, 'nothing readable is still bad input');
  });

  it('is registered: fuzz --help lists it', () => {
    const r = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    assert.match(r.stdout, /analyze +judge every TCP connection in a pcap/);
    assert.ok(existsSync(MAIN));
  });
});
