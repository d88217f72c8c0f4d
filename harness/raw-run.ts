import type { JobOutcome, JobResult } from '../fuzzers/netcat/job.js';
import type { FaultLedger } from './fault-ledger.js';
import type { RelaySection } from '../reports/run-report.js';
import type { HarnessSample } from './harness-load.js';

/** What executing a run produced, before the capture is analysed. */
export interface RawRun {
  link: 'tap' | 'sim';
  /** Results of the jobs that ran (in job order; jobs never started are counted apart). */
  jobs: JobResult[];
  notStarted: number;
  interrupted: boolean;
  /** Peer sockets at the end, keyed `ip:port` of the client side → state in Linux's names. */
  peerSockets: Map<string, string>;
  /** Where the peer states came from, for the report ("kernel /proc/net/tcp in the lab namespace"). */
  peerSocketSource: string;
  pcapPath: string;
  pcapFrames: number;
  tracePath: string;
  traceLines: number;
  faultStats: Record<string, number> | undefined;
  /** Which connections the fault injector touched (with --faults). */
  faultLedger: FaultLedger | undefined;
  startedAt: number;
  endedAt: number;
  /** A kernel-side target that died during the run (exec targets), in words. */
  targetExited?: string;
  /** A foreign stack's health (`tap:` targets): a crash, a checker's report, no answer at the end. */
  targetHealth?: TargetHealth;
  /** What the relay between a foreign stack's TAP and the lab's moved and lost (`tap:` targets). */
  relay?: RelaySection;
  /** Our stack's TCP counters at the end (e.g. SYN queue drops: the harness's own limits showing). */
  stackStats: Record<string, number>;
  /** The stack's TCP connections still alive at the end, by state (our side). */
  stackStates: Record<string, number>;
  /** The harness's own lag and counters (TAP runs; null on sim). */
  harness: HarnessSample | null;
  /** The lab namespace's TCP counters that moved during the jobs (TAP runs; null on sim). */
  kernelTcp: Record<string, number> | null;
}

/** How a foreign stack's process ended, when that is a finding. */
export interface TargetCrash {
  /** `run`: it ended by itself mid-run; `exit`: its wrapper (--wrap) exited non-zero when stopped. */
  during: 'run' | 'exit';
  /** "exited (SIGSEGV)", "exited (code 99)". */
  how: string;
  /** Milliseconds from the run's start. */
  atMs: number;
  /** The last frame it sent, as run.pcap numbers it, and when (ms from the run's start). */
  lastFrame: { frame: number; atMs: number } | null;
  /** Where its stdout and stderr went, and their last lines. */
  log: string;
  logTail: string;
}

export interface TargetHealth {
  crash?: TargetCrash;
  /** Why a fresh connection at the end failed. */
  unresponsive?: string;
}

export function countOutcomes(jobs: JobResult[]): Record<JobOutcome, number> {
  const out: Record<JobOutcome, number> = { eof: 0, reset: 0, refused: 0, timeout: 0, 'connect-timeout': 0, error: 0, cancelled: 0 };
  for (const j of jobs) out[j.outcome]++;
  return out;
}

export function histogram(values: Iterable<string>): Record<string, number> {
  const h: Record<string, number> = {};
  for (const v of values) h[v] = (h[v] ?? 0) + 1;
  return h;
}
