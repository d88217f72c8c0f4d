import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchResult, type BenchResult } from './result.js';
import { planRun, runPlan } from '../harness/index.js';
import { ipv4ToString } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { setupLab } from '../stack/lab/index.js';
import { Stack } from '../stack/stack.js';
import { goodbye } from '../targets/builtin/goodbye.js';

/**
 * `fuzz run` throughput, inside the lab namespace bench/main.ts entered:
 *   run.tap_jobs — jobs/s of `fuzz run --target builtin:goodbye` (128 jobs, 128 at once, the whole
 *                  run: lab, capture, jobs, analysis, report files), vs the same 128-job batch
 *                  done the seed's way: 128 `echo "hi mom" | nc -N` processes at once against the
 *                  same target over the same TAP;
 *   run.sim_jobs — jobs/s of the same run on the sim link (10,000 jobs), vs run.tap_jobs.
 */
const BATCH = 128;
const REPEAT = 5;
const SIM_JOBS = 10_000;

function ncBatch(host: string, port: number, n: number): Promise<number> {
  const t0 = performance.now();
  const one = (): Promise<boolean> =>
    new Promise((resolve) => {
      const child = spawn('sh', ['-c', `echo "hi mom" | nc -N -w 10 ${host} ${port}`], { stdio: ['ignore', 'ignore', 'ignore'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
      child.on('error', () => resolve(false));
    });
  return Promise.all(Array.from({ length: n }, one)).then((oks) => {
    const failed = oks.filter((ok) => !ok).length;
    if (failed > 0) throw new Error(`${failed}/${n} nc jobs failed (is netcat-openbsd installed?)`);
    return (performance.now() - t0) / 1000;
  });
}

async function runSeconds(link: 'tap' | 'sim', jobs: number, out: string): Promise<number> {
  const plan = planRun(
    { target: 'builtin:goodbye', jobs, concurrency: BATCH, seed: 1, link, out, timeout: 10_000 },
    { privileged: link === 'tap', readFile: () => new Uint8Array(0), now: new Date(), randomSeed: () => 1 },
  );
  const t0 = performance.now();
  const r = await runPlan(plan, { logLevel: 'silent', events: () => {} });
  if (r.verdict.exit_code !== 0) throw new Error(`the clean goodbye run had findings (${link}): ${r.findings.map((f) => `${f.kind} ×${f.connections}`).join('; ')}`);
  return (performance.now() - t0) / 1000;
}

export async function benchRun(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-bench-run-'));
  try {
    const clock = new RealClock();
    const lab = setupLab({ clock });
    const stack = new Stack({ link: lab.link, mac: lab.stackMac, ip: lab.stackIp, prefixLen: lab.prefixLen, clock, traceLimit: 0 });
    goodbye.serve(stack);
    let ncSeconds = 0;
    try {
      for (let i = 0; i < REPEAT; i++) ncSeconds += await ncBatch(ipv4ToString(lab.stackIp), goodbye.port, BATCH);
    } finally {
      stack.close();
      lab.close();
    }
    let tapSeconds = 0;
    for (let i = 0; i < REPEAT; i++) tapSeconds += await runSeconds('tap', BATCH, join(dir, `tap-${i}`));
    const simSeconds = await runSeconds('sim', SIM_JOBS, join(dir, 'sim'));
    const tapRate = (BATCH * REPEAT) / tapSeconds;
    return [
      benchResult('run.tap_jobs', tapRate, 'jobs/s', '128 nc processes at once (the seed\'s way)', (BATCH * REPEAT) / ncSeconds),
      benchResult('run.sim_jobs', SIM_JOBS / simSeconds, 'jobs/s', 'fuzz run over TAP (run.tap_jobs)', tapRate),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
