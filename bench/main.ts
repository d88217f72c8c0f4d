import type { BenchResult } from './result.js';
import { enterLabNamespace, labPrivilegeProblem } from '../stack/lab/index.js';
import { iproute } from '../stack/link/tap.js';

/**
 * `npm run bench [-- NAME...]`: every benchmark, or the named ones. Each prints ratios against a
 * baseline measured in the same run (DESIGN.md): a human-readable table, then one JSON line per
 * metric. Benchmarks that need the TAP lab run inside a private network namespace (this
 * process re-executes itself under `unshare --net`); without privileges they are skipped with
 * the reason.
 */
interface Bench {
  name: string;
  summary: string;
  lab: boolean;
  run: () => Promise<BenchResult[]>;
}

const BENCHES: Bench[] = [
  { name: 'tcp-sim', summary: 'TCP on the sim wire: connections/s and bulk MB/s', lab: false, run: async () => (await import('./tcp-sim.js')).benchTcpSim() },
  { name: 'analyze', summary: 'capture analysis MB/s vs tshark -z expert', lab: false, run: async () => (await import('./analyze.js')).benchAnalyze() },
  { name: 'tap', summary: 'raw TAP frame throughput vs kernel loopback UDP', lab: true, run: async () => (await import('./tap.js')).benchTap() },
  { name: 'lab', summary: 'TCP over TAP: bulk into discard, goodbye connections/s vs node:net', lab: true, run: async () => (await import('./lab.js')).benchLab() },
  { name: 'foreign', summary: 'the lwIP example through the tap: relay vs attached directly: goodbye conn/s, bulk in', lab: true, run: async () => (await import('./foreign.js')).benchForeign() },
  { name: 'report', summary: 'report.html of 10,000 connections: size, first paint and load in headless Chromium', lab: false, run: async () => (await import('./report.js')).benchReport() },
  { name: 'run', summary: 'fuzz run jobs/s over TAP vs 128 nc processes, and on the sim link', lab: true, run: async () => (await import('./run.js')).benchRun() },
];

function table(rows: BenchResult[]): string {
  const head = ['metric', 'value', 'unit', 'baseline', 'baseline value', 'ratio'];
  const cells = rows.map((r) => [r.metric, String(r.value), r.unit, r.baseline, String(r.baseline_value), String(r.ratio)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(w[i]!)).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...cells.map(line)].join('\n');
}

async function main(): Promise<number> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})\n`);
    return 2;
  }
  const selected = names.length > 0 ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  const problem = labPrivilegeProblem();
  if (selected.some((b) => b.lab) && problem === undefined) {
    await enterLabNamespace();
    // A new namespace starts with loopback down; the kernel baselines run over it.
    iproute(['link', 'set', 'dev', 'lo', 'up']);
  }
  const results: BenchResult[] = [];
  const failed: string[] = [];
  for (const b of selected) {
    if (b.lab && problem !== undefined) {
      process.stderr.write(`bench ${b.name}: skipped — ${problem}\n`);
      continue;
    }
    process.stderr.write(`bench ${b.name}: ${b.summary} ...\n`);
    const t0 = performance.now();
    try {
      results.push(...(await b.run()));
      process.stderr.write(`bench ${b.name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      // One failed benchmark does not hide the others' figures; the exit code still says it.
      failed.push(b.name);
      process.stderr.write(`bench ${b.name}: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  process.stdout.write(table(results) + '\n\n');
  for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
