import { join } from 'node:path';
import type { RunConfig } from './config.js';
import type { RawRun } from './raw-run.js';
import { histogram } from './raw-run.js';
import { linuxStateName } from './peer-states.js';
import { LineFile } from './line-file.js';
import { FaultLedger } from './fault-ledger.js';
import { runJobs } from './jobs.js';
import type { Logger } from '../../stack/log.js';
import type { Clock } from '../../stack/clock.js';
import type { Link } from '../../stack/link/link.js';
import type { Stack } from '../../stack/stack.js';
import type { TransitionRecord } from '../../stack/tcp/trace.js';
import { FaultyLink, type FaultSpec } from '../../stack/link/faults.js';
import { RecordingLink } from '../../stack/link/recorder.js';
import { PcapWriter } from '../../stack/pcap/writer.js';
import { Rng } from '../../stack/rng.js';
import type { Dialer, JobResult } from '../../fuzzers/netcat/job.js';

/** What both engines share while a run is on. */
export interface EngineContext {
  log: Logger;
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * One trace.log line: `UNIX-SECONDS #CONN { From }  - Action ->  { To }`. Times are the link
 * clock's, as in the pcap, so `tshark -t e` lines up with the trace.
 */
export function traceLine(r: TransitionRecord): string {
  return `${(r.timeMs / 1000).toFixed(6)} #${r.conn} ${r.line}`;
}

/** The files of a run, opened before the target starts so nothing is lost. */
export class RunFiles {
  readonly pcapPath: string;
  readonly pcap: PcapWriter;
  readonly trace: LineFile;

  constructor(outDir: string) {
    this.pcapPath = join(outDir, 'run.pcap');
    this.pcap = PcapWriter.open(this.pcapPath);
    this.trace = new LineFile(join(outDir, 'trace.log'));
  }

  /** The stack's transition hook, writing trace.log. */
  traceHook(): (r: TransitionRecord) => void {
    return (r) => this.trace.write(traceLine(r));
  }

  close(): void {
    this.pcap.close();
    this.trace.close();
  }
}

/**
 * The link layering of a run. Frames are recorded where the kernel (or the client stack) sees
 * them, and faults sit between that capture point and the target stack, as a lossy wire would:
 * target stack ⇄ FaultyLink ⇄ RecordingLink ⇄ TAP (or sim wire end).
 */
export function wrapTargetLink(
  capturePoint: Link,
  pcap: PcapWriter,
  faults: { spec: FaultSpec | undefined; seed: number; ledger?: FaultLedger },
): { link: Link; recorder: RecordingLink; faults: FaultyLink | undefined } {
  const recorder = new RecordingLink(capturePoint, pcap);
  if (!faults.spec) return { link: recorder, recorder, faults: undefined };
  const injector = new FaultyLink(recorder, faults.spec, new Rng(faults.seed).fork(), faults.ledger ? { onFault: faults.ledger.observe } : {});
  return { link: injector, recorder, faults: injector };
}

/**
 * After the last job, the capture goes on while our stack still has a retransmission timer
 * armed (a FIN awaiting its ACK, or a SYN/ACK nobody will ever acknowledge), bounded by
 * `--linger`: late retransmissions are evidence too (the seed's SYN/ACKs after close come one
 * doubled RTO after the close).
 */
async function linger(cfg: RunConfig, ctx: EngineContext, stack: Stack, clock: Clock, wait: (ms: number) => Promise<void>): Promise<void> {
  const until = clock.now() + cfg.lingerMs;
  const step = 100;
  while (!ctx.signal.aborted && clock.now() < until && stack.tcp.retransmissionsPending() > 0) {
    await wait(Math.min(step, until - clock.now()));
  }
}

/** Jobs that have all ended; sockets of timed-out ones stay open until `release`. */
export interface FinishedJobs {
  results: JobResult[];
  notStarted: number;
  release(): Promise<void>;
}

/** The jobs in this thread, through `dialer` (the sim link's client stack). */
export function jobsInProcess(cfg: RunConfig, dialer: Dialer) {
  return async (opts: { signal: AbortSignal; onDone?: (done: number, total: number) => void }): Promise<FinishedJobs> => {
    const run = await runJobs(cfg, dialer, opts);
    return {
      results: run.results,
      notStarted: run.notStarted,
      release: async () => {
        for (const s of run.kept) s.destroy();
      },
    };
  };
}

/** Runs the jobs against a served target and collects what both engines report. */
export async function driveJobs(
  cfg: RunConfig,
  ctx: EngineContext,
  parts: {
    /** The run's clock (the jobs' and the stack's). */
    clock: Clock;
    /** Starts the jobs; resolves when all have ended, with a way to close what timed-out jobs kept open. */
    jobs: (opts: { signal: AbortSignal; onDone?: (done: number, total: number) => void }) => Promise<FinishedJobs>;
    target: Stack;
    files: RunFiles;
    faults: FaultyLink | undefined;
    ledger: FaultLedger;
    recorder: RecordingLink;
    /** Waits for the jobs while keeping the engine turning (the sim driver, or plain await). */
    drive: <T>(p: Promise<T>) => Promise<T>;
    /** Lets `ms` of the run's time pass (virtual on sim, real on tap). */
    wait: (ms: number) => Promise<void>;
    /** Peer socket states at the end, keyed `ip:port` of the client side. */
    peerSockets: () => Promise<Map<string, string>>;
    peerSocketSource: string;
    link: 'tap' | 'sim';
  },
): Promise<RawRun> {
  const startedAt = parts.clock.now();
  const jobs = await parts.drive(parts.jobs({ signal: ctx.signal, ...(ctx.onProgress ? { onDone: ctx.onProgress } : {}) }));
  await linger(cfg, ctx, parts.target, parts.clock, parts.wait);
  const peerSockets = await parts.peerSockets();
  const stackStates = histogram(parts.target.tcp.connections().map((t) => linuxStateName(t.state.name)));
  const endedAt = parts.clock.now();
  // The capture ends with the measurements: aborting what is left is clean-up, not traffic to judge.
  parts.recorder.stopRecording();
  await parts.drive(jobs.release());
  return {
    link: parts.link,
    jobs: jobs.results,
    notStarted: jobs.notStarted,
    interrupted: ctx.signal.aborted,
    peerSockets,
    peerSocketSource: parts.peerSocketSource,
    pcapPath: parts.files.pcapPath,
    pcapFrames: parts.files.pcap.frames,
    tracePath: parts.files.trace.path,
    traceLines: parts.files.trace.lines,
    faultStats: parts.faults ? { ...parts.faults.stats } : undefined,
    faultLedger: parts.faults ? parts.ledger : undefined,
    startedAt,
    endedAt,
    stackStates,
    stackStats: { ...parts.target.tcp.stats },
  };
}
