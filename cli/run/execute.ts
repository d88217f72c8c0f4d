import { setMaxListeners } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { RunConfig } from './config.js';
import { runOnSim } from './engine-sim.js';
import { runOnTap } from './engine-tap.js';
import { judgeRun, runSection, type RunVerdict } from './verdict.js';
import type { RawRun } from './raw-run.js';
import { ProgressBar } from '../progress.js';
import type { Logger } from '../../stack/log.js';
import { parseIpv4 } from '../../stack/addr.js';
import { analyzeCapture } from '../../reports/analyzer.js';
import type { AnalysisReport } from '../../reports/report.js';
import { writeReportFiles } from '../../reports/write.js';

export interface RunResult {
  cfg: RunConfig;
  raw: RawRun;
  report: AnalysisReport;
  verdict: RunVerdict;
  files: Record<string, string>;
}

/**
 * One run as data flowing (DESIGN.md): target → capture → jobs → peer socket states →
 * analysis of the run's pcap → one verdict → report files. The caller has entered the lab
 * namespace for `--link tap`. SIGINT/SIGTERM stop the jobs; the pcap stays valid and the report
 * is written, marked partial. A second signal ends the process at once.
 */
export async function executeRun(cfg: RunConfig, log: Logger): Promise<RunResult> {
  mkdirSync(cfg.outDir, { recursive: true });
  const abort = new AbortController();
  // Every running job listens for the abort: as many listeners as jobs at once is expected.
  setMaxListeners(cfg.concurrency + 16, abort.signal);
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(130);
    log.warn(`${sig}: stopping the jobs; the pcap and a partial report will be written (again to quit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const bar = new ProgressBar(`${cfg.target} jobs`, cfg.jobs);
  try {
    const ctx = { log, signal: abort.signal, onProgress: (done: number) => bar.update(done) };
    const raw = cfg.link === 'tap' ? await runOnTap(cfg, ctx) : await runOnSim(cfg, ctx);
    bar.done();
    const report = await analyzeCapture(raw.pcapPath, {
      server: { ip: parseIpv4(cfg.serverIp)!, port: cfg.port },
      thresholds: { hang_ms: cfg.hangMs, slow_handshake_ms: cfg.slowHandshakeMs, storm_count: cfg.stormCount },
      partial: true,
      // The capture ran until the run stopped, not until its last frame: a missing FIN or a hang
      // is judged against that instant.
      captureEndUnixS: raw.endedAt / 1000,
    });
    const verdict = judgeRun(cfg, raw, report);
    // Findings the injected faults explain move to the run section; the rest is the verdict.
    report.findings = verdict.findings;
    report.run = runSection(cfg, raw, verdict);
    const files = writeReportFiles(report, cfg.outDir);
    return { cfg, raw, report, verdict, files: { pcap: raw.pcapPath, trace: raw.tracePath, ...files } };
  } finally {
    bar.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
