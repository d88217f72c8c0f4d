import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { RunEventSink } from './events.js';
import { inLabChild, insideLab } from './lab-session.js';
import { planRun, type PlanEnv, type RunPlan, type RunSettings } from './plan.js';
import { executeRun } from './run.js';
import { serveInLab, type ServePlan, type ServeReady } from './serve.js';
import { labPrivilegeProblem } from '../stack/lab/index.js';
import { createLogger } from '../stack/log.js';
import { randomSeed } from '../stack/rng.js';
import { UsageError } from '../stack/user-error.js';
import type { Report } from '../reports/run-report.js';
import { compareRuns } from '../reports/versus.js';
import { reportFilePaths, writeReportFiles } from '../reports/write.js';

/**
 * The harness as a library: one run is `planRun(settings, env)` → `runPlan(plan)` → a Report.
 * The CLI, `fuzz reproduce`, the benchmarks and the tests call these; none of them enters the lab
 * or reads a flag twice.
 */
export type { RunEvent, RunEventSink } from './events.js';
export { planRun, type PlanEnv, type RunPlan, type RunSettings } from './plan.js';
export { replayCommand } from './replay.js';
export { planServe, type ServePlan, type ServeReady, type ServeSettings } from './serve.js';
export { LabChildInternalError } from './lab-session.js';

/** This machine as planning sees it: the TAP lab is the default link when it is possible. */
export function machinePlanEnv(opts: { netns?: string | undefined } = {}): PlanEnv {
  return {
    privileged: labPrivilegeProblem(opts.netns !== undefined ? { netns: opts.netns } : {}) === undefined,
    readFile: (path) => new Uint8Array(readFileSync(path)),
    now: new Date(),
    randomSeed,
  };
}

/** `planRun` with this machine's facts. */
export function planRunHere(settings: RunSettings): RunPlan {
  return planRun(settings, machinePlanEnv({ netns: settings.netns }));
}

/**
 * Fails unless `dir` exists and is writable, or could be created (its nearest existing parent
 * is). Probes by creating and removing a temporary folder, since permission bits say nothing
 * for root or on read-only mounts.
 */
export function checkWritableDir(dir: string, what = `--out ${dir}`): void {
  let p = resolve(dir);
  for (let i = 0; i < 64; i++) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory()) throw new UsageError(`${what}: ${p} is not a directory`);
      try {
        rmdirSync(mkdtempSync(join(p, '.tcpfuzz-probe-')));
      } catch {
        throw new UsageError(`${what}: ${p} is not writable`);
      }
      return;
    }
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  throw new UsageError(`${what}: no existing parent directory`);
}

export interface RunOptions {
  /** pino level for the run's logs (stderr). */
  logLevel?: string | undefined;
  events: RunEventSink;
  /** Called once the settings all passed their checks, before anything starts: what must survive a crash (the seed). */
  onStart?: (plan: RunPlan) => void;
}

/**
 * Runs a plan where its link is: on the sim link (and inside a lab namespace already) in this
 * process; on the TAP in the lab child, in a namespace of its own. Resolves with the report
 * (written to the plan's folder too).
 */
export async function runPlan(plan: RunPlan, opts: RunOptions): Promise<Report> {
  const report = await runOne(plan, opts);
  if (!plan.versus) return report;
  // --versus: the same jobs against the reference, then the run's report names what is the target's alone.
  opts.events({ type: 'notice', level: 'info', message: `versus: the same ${plan.jobs.count} jobs against ${plan.versus.targetText}` });
  const reference = await runOne(plan.versus, opts);
  const compared: Report = { ...report, versus: compareRuns(report, reference, reportFilePaths(plan.versus.outDir).json) };
  writeReportFiles(compared, plan.outDir, { traceLog: compared.run?.files.trace || null });
  return compared;
}

async function runOne(plan: RunPlan, opts: RunOptions): Promise<Report> {
  checkWritableDir(plan.outDir);
  opts.onStart?.(plan);
  if (plan.link === 'sim' || insideLab()) return executeRun(plan, { log: createLogger(opts.logLevel), events: opts.events });
  await inLabChild({ kind: 'run', plan, logLevel: opts.logLevel }, join(plan.outDir, 'lab-request.json'), { netns: plan.netns ?? undefined, events: opts.events });
  return JSON.parse(readFileSync(reportFilePaths(plan.outDir).json, 'utf8')) as Report;
}

/** Serves a built-in target in the lab until SIGINT/SIGTERM; `onReady` once it listens. */
export async function runServe(plan: ServePlan, opts: RunOptions & { onReady(r: ServeReady): void }): Promise<{ frames: number; signal: string }> {
  checkWritableDir(dirname(plan.pcap), `--pcap ${plan.pcap}`);
  if (plan.trace !== null) checkWritableDir(dirname(plan.trace), `--trace ${plan.trace}`);
  if (insideLab()) return serveInLab(plan, { log: createLogger(opts.logLevel), events: opts.events, ready: opts.onReady });
  const tmp = mkdtempSync(join(tmpdir(), 'tcpfuzz-serve-'));
  try {
    return (await inLabChild({ kind: 'serve', plan, logLevel: opts.logLevel }, join(tmp, 'lab-request.json'), {
      netns: plan.netns ?? undefined,
      events: opts.events,
      onReady: (r) => opts.onReady(r as ServeReady),
    })) as { frames: number; signal: string };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
