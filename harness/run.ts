import { setMaxListeners } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { Engine } from './engine.js';
import { simEngine } from './engine-sim.js';
import { tapEngine } from './engine-tap.js';
import type { RunEventSink } from './events.js';
import { judge } from './judge.js';
import { notCharged } from './not-charged.js';
import type { LinkKind, RunPlan } from './plan.js';
import { buildRunReport } from './run-report.js';
import type { Logger } from '../stack/log.js';
import { analyzeCapture } from '../reports/analyzer.js';
import type { Report } from '../reports/run-report.js';
import { writeReportFiles } from '../reports/write.js';

const ENGINES: Record<LinkKind, Engine> = { sim: simEngine, tap: tapEngine };

export interface ExecuteOptions {
  log: Logger;
  events: RunEventSink;
}

/**
 * One run as data flowing, where the plan's link is (the caller has entered the lab namespace
 * for `--link tap`): engine (target, capture, jobs, peer socket states) → analysis of the run's
 * pcap → judge → one report → report files. SIGINT/SIGTERM stop the jobs; the pcap stays valid
 * and the report is written, marked partial. A second signal ends the process at once.
 */
export async function executeRun(plan: RunPlan, opts: ExecuteOptions): Promise<Report> {
  mkdirSync(plan.outDir, { recursive: true });
  const abort = new AbortController();
  // Every running job listens for the abort: as many listeners as jobs at once is expected.
  setMaxListeners(plan.jobs.concurrency + 16, abort.signal);
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(130);
    opts.events({ type: 'notice', level: 'warn', message: `${sig}: stopping the jobs; the pcap and a partial report will be written (again to quit at once)` });
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const raw = await ENGINES[plan.link].run(plan, { log: opts.log, signal: abort.signal, events: opts.events });
    const analysis = await analyzeCapture(raw.pcapPath, {
      server: { ip: plan.server.ip, port: plan.server.port },
      thresholds: { hang_ms: plan.thresholds.hangMs, slow_handshake_ms: plan.thresholds.slowHandshakeMs, storm_count: plan.thresholds.stormCount },
      partial: true,
      // The capture ran until the run stopped, not until its last frame: a missing FIN or a hang
      // is judged against that instant.
      captureEndUnixS: raw.endedAt / 1000,
      peerStates: raw.peerSockets,
      setApart: notCharged(plan, raw),
    });
    const report = buildRunReport(plan, raw, analysis, judge(plan, raw, analysis));
    writeReportFiles(report, plan.outDir, { traceLog: raw.tracePath || null });
    return report;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
