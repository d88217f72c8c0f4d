import { join } from 'node:path';
import type { LinkKind, RunPlan } from './plan.js';
import type { RunEventSink } from './events.js';
import type { FinishedJobs, JobRunner } from './jobs.js';
import { histogram, type RawRun, type TargetHealth } from './raw-run.js';
import type { RelaySection } from '../reports/run-report.js';
import { LineFile } from './line-file.js';
import { FaultLedger } from './fault-ledger.js';
import type { Logger } from '../stack/log.js';
import { ipv4ToString, type Ipv4 } from '../stack/addr.js';
import type { Clock } from '../stack/clock.js';
import type { Link } from '../stack/link/link.js';
import type { Stack } from '../stack/stack.js';
import { linuxStateName } from '../stack/tcp/state-names.js';
import type { TransitionRecord } from '../stack/tcp/trace.js';
import { FaultyLink, type FaultSpec } from '../stack/link/faults.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { LagMeterLink } from '../stack/link/lag-meter.js';
import type { HarnessSample } from './harness-load.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { Rng } from '../stack/rng.js';

/**
 * An engine runs one plan on one kind of link: it brings up the wire (a TAP in the lab
 * namespace, or the in-memory sim wire on a virtual clock), serves the target, runs the jobs,
 * and returns what the run saw before any analysis. The engines share the capture set-up and the
 * job driver below; each target kind says what it needs of them (`ServedTarget`).
 */
export interface Engine {
  readonly link: LinkKind;
  run(plan: RunPlan, ctx: EngineContext): Promise<RawRun>;
}

/** What every engine gets from the run. */
export interface EngineContext {
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: jobs stop, the capture and a partial report are kept. */
  signal: AbortSignal;
  events: RunEventSink;
}

/**
 * One trace.log line: `UNIX-SECONDS #CONN LOCAL-IP:PORT REMOTE-IP:PORT frames=N { From }  - Action ->  { To }`.
 * Times are the link clock's, as in the pcap, so `tshark -t e` lines up with the trace; the
 * 4-tuple finds the connection in the capture, and `frames` (frames captured before this tick)
 * orders the tick among the frames where the clock cannot (the sim wire's instants).
 * reports/trace-log.ts reads it.
 */
export function traceLine(r: TransitionRecord, framesBefore: number): string {
  return `${(r.timeMs / 1000).toFixed(6)} #${r.conn} ${ipv4ToString(r.localIp)}:${r.localPort} ${ipv4ToString(r.remoteIp)}:${r.remotePort} frames=${framesBefore} ${r.line}`;
}

/**
 * The capture of a run: run.pcap and trace.log, opened before the target starts so nothing is
 * lost, and the link layering that records every frame where the kernel (or the client stack)
 * sees it, with faults between that capture point and the target stack, as a lossy wire would:
 * target stack ⇄ FaultyLink ⇄ RecordingLink ⇄ TAP (or sim wire end).
 */
export class Capture {
  readonly pcapPath: string;
  readonly pcap: PcapWriter;
  readonly trace: LineFile | undefined;
  recorder: RecordingLink | undefined;
  /** How late each connection's far-side frames were read (the harness's own lag). */
  meter: LagMeterLink | undefined;
  faults: FaultyLink | undefined;
  /** Which connections the fault injector touched, keyed by the far side of the server. */
  readonly ledger: FaultLedger;

  constructor(
    files: { pcap: string; trace: string | undefined },
    private readonly faultPlan: { spec: FaultSpec; seed: number } | undefined,
    serverIp: Ipv4,
  ) {
    this.pcapPath = files.pcap;
    this.pcap = PcapWriter.open(files.pcap);
    this.trace = files.trace !== undefined ? new LineFile(files.trace) : undefined;
    this.ledger = new FaultLedger(serverIp, () => this.pcap.frames, () => this.recorder?.clock.now() ?? 0);
  }

  /** A run's capture: run.pcap and trace.log in its folder, its faults, its server. */
  static forRun(plan: RunPlan): Capture {
    const faults = plan.faults ? { spec: plan.faults.spec, seed: plan.seeds.faults } : undefined;
    return new Capture({ pcap: join(plan.outDir, 'run.pcap'), trace: join(plan.outDir, 'trace.log') }, faults, plan.server.ip);
  }

  /** The stack's transition hook, writing the trace (nothing without one). */
  readonly traceHook = (r: TransitionRecord): void => this.trace?.write(traceLine(r, this.pcap.frames));

  /** Wraps the capture point (the TAP, or the target's end of the sim wire) for the target stack. */
  wrap(capturePoint: Link): Link {
    this.meter = new LagMeterLink(capturePoint);
    this.recorder = new RecordingLink(this.meter, this.pcap);
    if (!this.faultPlan) return this.recorder;
    this.faults = new FaultyLink(this.recorder, this.faultPlan.spec, new Rng(this.faultPlan.seed), { onFault: this.ledger.observe });
    return this.faults;
  }

  close(): void {
    this.pcap.close();
    this.trace?.close();
  }
}

/** How an engine's time passes: virtual on sim, real on the TAP. */
export interface EngineLoop {
  clock: Clock;
  /** Waits for `p` while keeping the engine turning (the sim driver, or plain await). */
  drive<T>(p: Promise<T>): Promise<T>;
  /** Lets `ms` of the run's time pass. */
  wait(ms: number): Promise<void>;
}

/** A target brought up on an engine: what the job driver needs of it. */
export interface ServedTarget {
  /** Our stack in this run (the target's, or the client's for a kernel-side server); none for a foreign stack. */
  stack: Stack | undefined;
  /** Whether a retransmission is still pending somewhere in the run (the linger waits for it). */
  retransmitting(): Promise<boolean>;
  jobs: JobRunner;
  /** Peer socket states at the end, keyed `ip:port` of the client side, in Linux's names. */
  peerSockets(): Promise<Map<string, string>>;
  peerSocketSource: string;
  /** Set when the target's process ended by itself during the run, in words. */
  exited?(): string | undefined;
  /**
   * A foreign stack's end, once the capture has stopped: a fresh connection must still succeed,
   * the relay's counts are read, then the process is stopped and its --wrap checker (if any)
   * must not fail it.
   */
  finish?(): Promise<{ health: TargetHealth; relay: RelaySection }>;
}

/** `retransmitting` for a run whose timers are our stack's. */
export function stackRetransmitting(stack: Stack): () => Promise<boolean> {
  return async () => stack.tcp.retransmissionsPending() > 0;
}

/**
 * After the last job, the capture goes on while our stack still has a retransmission timer
 * armed (a FIN awaiting its ACK, or a SYN/ACK nobody will ever acknowledge), bounded by
 * `--linger`: late retransmissions are evidence too (the seed's SYN/ACKs after close come one
 * doubled RTO after the close).
 */
async function linger(plan: RunPlan, ctx: EngineContext, served: ServedTarget, loop: EngineLoop): Promise<void> {
  const until = loop.clock.now() + plan.lingerMs;
  const step = 100;
  while (!ctx.signal.aborted && loop.clock.now() < until && (await served.retransmitting())) {
    await loop.wait(Math.min(step, until - loop.clock.now()));
  }
}

/**
 * Runs the jobs against a served target and collects what every engine reports; `probe` (TAP
 * runs) measures the harness itself while the jobs run.
 */
export async function driveJobs(
  plan: RunPlan,
  ctx: EngineContext,
  link: LinkKind,
  loop: EngineLoop,
  capture: Capture,
  served: ServedTarget,
  probe?: { finish(): HarnessSample },
): Promise<RawRun> {
  const startedAt = loop.clock.now();
  const onDone = (done: number, total: number): void => ctx.events({ type: 'progress', done, total });
  const jobs: FinishedJobs = await loop.drive(served.jobs({ signal: ctx.signal, onDone }));
  await linger(plan, ctx, served, loop);
  const peerSockets = await served.peerSockets();
  const stackStates = histogram((served.stack?.tcp.connections() ?? []).map((t) => linuxStateName(t.state.name)));
  const endedAt = loop.clock.now();
  const harness = probe?.finish() ?? null;
  // The capture ends with the measurements: aborting what is left is clean-up, not traffic to judge.
  capture.recorder?.stopRecording();
  await loop.drive(jobs.release());
  const exited = served.exited?.();
  const end = await served.finish?.();
  return {
    link,
    jobs: jobs.results,
    notStarted: jobs.notStarted,
    interrupted: ctx.signal.aborted,
    peerSockets,
    peerSocketSource: served.peerSocketSource,
    pcapPath: capture.pcapPath,
    pcapFrames: capture.pcap.frames,
    tracePath: capture.trace?.path ?? '',
    traceLines: capture.trace?.lines ?? 0,
    faultStats: capture.faults ? { ...capture.faults.stats } : undefined,
    faultLedger: capture.faults ? capture.ledger : undefined,
    startedAt,
    endedAt,
    ...(exited !== undefined ? { targetExited: exited } : {}),
    ...(end !== undefined ? { targetHealth: end.health, relay: end.relay } : {}),
    stackStats: { ...served.stack?.tcp.stats },
    stackStates,
    harness,
    kernelTcp: null,
  };
}
