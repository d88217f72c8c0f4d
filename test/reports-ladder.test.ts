/**
 * The ladder agrees with `tshark -z flow,tcp` on every segment it shows: time since the first
 * frame, direction, flags as tshark names them, relative seq and ack, length — for each kept
 * representative of a real run: the seed's goodbye (and its standalone ladder-missing-fin.svg),
 * and an echo run under injected loss, whose long connections are drawn head and tail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { traceLadder } from '../reports/html/index.js';
import { readJson } from '../reports/json.js';
import type { Report } from '../reports/run-report.js';
import { pageInputs } from '../reports/write.js';
import { fuzz } from './helpers/cli.js';
import { hasCommand, run } from './helpers/env.js';

const skip = hasCommand('tshark') ? undefined : "needs 'tshark' on PATH (.ci/run installs it)";
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-ladder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Arrow {
  t: number;
  dir: 'c2s' | 's2c';
  flags: string;
  seq: number;
  ack: number | null;
  /** null: tshark's label was cut before the number. */
  len: number | null;
}

/** The arrows of a ladder SVG, from their data attributes, in drawing order. */
function ladderArrows(svg: string): Arrow[] {
  return [...svg.matchAll(/<g class="lseg" data-frame="\d+" data-t="([^"]+)" data-dir="(c2s|s2c)" data-flags="([^"]*)" data-seq="(\d+)"(?: data-ack="(\d+)")? data-len="(\d+)">/g)].map((m) => ({
    t: Number(m[1]),
    dir: m[2] as Arrow['dir'],
    flags: m[3]!,
    seq: Number(m[4]),
    ack: m[5] === undefined ? null : Number(m[5]),
    len: Number(m[6]),
  }));
}

/** tshark's flow graph by conversation (tcp.stream): two lines per packet, the left node's address first in the header. */
async function tsharkFlow(pcap: string, clientIp: string): Promise<Map<number, Arrow[]>> {
  const r = await run('tshark', ['-r', pcap, '-q', '-z', 'flow,tcp,network'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const header = lines.findIndex((l) => l.startsWith('Conv.|'));
  const leftIp = /^Conv\.\|[^|]*\|\s*(\S+)/.exec(lines[header]!)![1]!;
  const out = new Map<number, Arrow[]>();
  for (let i = header + 2; i + 1 < lines.length; i++) {
    const parts = lines[i]!.split('|');
    if (!/^\d+$/.test(parts[0]!.trim())) continue;
    const label = parts[2]!.trim();
    const comment = parts.at(-1)!.trim();
    const right = lines[i + 1]!.includes('->');
    const fromLeft = right;
    const fromClient = fromLeft === (leftIp === clientIp);
    // tshark cuts a long label at its column's width ("FIN, PSH, ACK - Len:"): the length is then unknown (null).
    const len = / - Len:(?: (\d+))?$/.exec(label);
    const nums = /^Seq = (\d+)(?: Ack = (\d+))?/.exec(comment)!;
    const stream = Number(parts[0]!.trim());
    if (!out.has(stream)) out.set(stream, []);
    out.get(stream)!.push({
      t: Number(parts[1]!.trim()),
      dir: fromClient ? 'c2s' : 's2c',
      flags: label.replace(/ - Len:.*$/, ''),
      seq: Number(nums[1]),
      ack: nums[2] === undefined ? null : Number(nums[2]),
      len: len ? (len[1] === undefined ? null : Number(len[1])) : 0,
    });
    i++;
  }
  return out;
}

/** Every kept trace's ladder against tshark's rows of its stream: the head rows in order, and the tail rows from the end. */
async function agree(report: Report, pcap: string, traceLog: string | null): Promise<number> {
  const flows = await tsharkFlow(pcap, report.traces[0]!.client.ip);
  const inputs = pageInputs(report, traceLog);
  let compared = 0;
  for (const trace of report.traces) {
    const ours = ladderArrows(traceLadder(report, inputs, trace, true));
    const theirs = flows.get(trace.stream) ?? [];
    assert.ok(ours.length > 0 && theirs.length >= ours.length, `stream ${trace.stream}: ${ours.length} arrows, ${theirs.length} tshark rows`);
    const head = ours.length === theirs.length ? ours.length : 100;
    ours.forEach((a, i) => {
      const b = i < head ? theirs[i]! : theirs[theirs.length - (ours.length - i)]!;
      const where = `stream ${trace.stream}, arrow ${i}`;
      assert.ok(Math.abs(a.t - b.t) < 1.5e-6, `${where}: time ${a.t} vs tshark ${b.t}`);
      assert.deepEqual({ ...a, t: 0 }, { ...b, t: 0, len: b.len ?? a.len }, where);
      compared++;
    });
  }
  return compared;
}

describe('the ladder agrees with tshark -z flow,tcp', { skip }, () => {
  it("on the seed's goodbye connection, the standalone SVG included", async () => {
    const out = join(dir, 'seed');
    const r = await fuzz(['run', '--bug', 'minnesota-goodbye', '--link', 'sim', '--seed', '19', '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    const report = readJson(join(out, 'report.json'));
    assert.equal(await agree(report, join(out, 'run.pcap'), join(out, 'trace.log')), 8);
    const file = ladderArrows(readFileSync(join(out, 'ladder-missing-fin.svg'), 'utf8'));
    const flows = await tsharkFlow(join(out, 'run.pcap'), report.traces[0]!.client.ip);
    assert.deepEqual(
      file.map((a) => ({ ...a, t: 0 })),
      flows.get(report.traces[0]!.stream)!.map((a) => ({ ...a, t: 0 })),
    );
  });

  it('on every shape of an echo run under injected loss (retransmissions, long connections drawn head and tail)', async () => {
    const out = join(dir, 'loss');
    const r = await fuzz(['run', '--target', 'builtin:echo', '--faults', 'drop=5%', '--payload', 'gen:200000', '-n', '12', '--seed', '5', '--link', 'sim', '--out', out], { timeoutMs: 300_000 });
    assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
    const report = readJson(join(out, 'report.json'));
    assert.ok(report.traces.length >= 2, `${report.traces.length} shapes`);
    assert.ok((await agree(report, join(out, 'run.pcap'), join(out, 'trace.log'))) > 300);
  });
});
