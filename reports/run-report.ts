import type { AnalysisReport, Finding } from './report.js';

/**
 * report.json: the one typed report of a run or of an analysed capture. Built once — the
 * capture analysis, the run section (what ran and what the run itself saw, for `fuzz run`), and
 * an explicit verdict — and every writer (JSON, JUnit, HTML, the terminal summary) is a pure
 * function of it. docs/report-schema.md documents it; docs/report.schema.json is its JSON Schema.
 * `schema_version` goes up whenever a field changes meaning or goes away.
 */
export const REPORT_SCHEMA_VERSION = 3;

export interface Report extends AnalysisReport {
  schema_version: typeof REPORT_SCHEMA_VERSION;
  verdict: ReportVerdict;
  /** What ran (`fuzz run`, `fuzz reproduce`); null for `fuzz analyze`. */
  run: RunSection | null;
  /** `--versus TARGET`: the same run against a reference target, compared; null otherwise. */
  versus: VersusSection | null;
}

/** A differential run (`--versus`): the reference run's verdict and the finding kinds split three ways. */
export interface VersusSection {
  /** The reference target, and its own report (in the run folder's versus/). */
  target: string;
  report: string;
  summary: string;
  exit_code: 0 | 1;
  /** Finding kinds only this run's target shows: the target's own. */
  target_only: string[];
  /** Finding kinds both show. */
  shared: string[];
  /** Finding kinds only the reference shows. */
  versus_only: string[];
}

/** The decision, spelled out: the exit code a command gives for this report, and why. */
export interface ReportVerdict {
  /** 0 clean, 1 findings. */
  exit_code: 0 | 1;
  status: 'clean' | 'findings';
  /** One line in words and numbers. */
  summary: string;
  /** Standing findings (capture and run) by severity. */
  errors: number;
  warnings: number;
  /** Finding kind → connections (capture findings) or jobs (run findings) it names; standing findings only. */
  by_kind: Record<string, number>;
  /**
   * Capture findings whose every connection the fault injector touched: what `--faults` was
   * meant to cause, so they are reported here and fail nothing.
   */
  explained_by_faults: Finding[];
}

/** One fault the injector (`--faults`) applied to a TCP frame. */
export interface FaultEvent {
  /** When, on the link clock (Unix seconds, as the pcap's times). */
  unix_s: number;
  /** `dropped`, `duplicated`, `reordered`, `corrupted`, `delayed`, `oversize`, `rateLimited`. */
  kind: string;
  /** The connection's client side, `ip:port`. */
  client: string;
  /** Sent by our stack (hit before the capture point, so it is not in the pcap as it was sent), or received for it. */
  from_stack: boolean;
  /** The captured frame it hit (a frame received for our stack is recorded before the injector); null for one our stack sent. */
  frame: number | null;
  tcp_flags: number;
  len: number;
}

/**
 * The harness's own lag and counters over a TAP run. A frame that waited in the device because
 * our event loop was busy is our delay, not the peer's: past `bound_ms` on a connection (the
 * kernel's minimum RTO, 200 ms, after which its retransmissions and their echoes are our doing)
 * the connection's findings are set apart (report.set_apart, reason "harness-overloaded").
 */
export interface HarnessLoad {
  bound_ms: number;
  overloaded: boolean;
  /** In words: what went past the bound, or that nothing did. */
  summary: string;
  /** Per connection, how much later than its sender's TSval progress we read its frames (RFC 7323). */
  lag_ms: { max: number; p99: number; connections_measured: number; connections_over_bound: number };
  /** How late the frame thread's timers fired (perf_hooks.monitorEventLoopDelay), over the jobs. */
  event_loop_delay_ms: { max: number; p99: number; mean: number };
  /** The TAP addon's counters (native/tap.cc): reads, read batches, deferred and dropped writes. */
  device: Record<string, number>;
  /** The kernel's counters for the TAP (`ip -s link`): frames it dropped towards us (tx) and from us (rx). */
  kernel_link: { tx_dropped: number; rx_dropped: number } | null;
}

/** One job joined with its connection in the capture and its peer socket at the end. */
export interface JobRow {
  job: number;
  outcome: string;
  detail?: string;
  /** The job timed out and the harness gave up on its connection (aborted it, or kept it open to read the peer's state). */
  abandoned?: true;
  client: string | null;
  connect_ms: number | null;
  first_byte_ms: number | null;
  bytes_out: number;
  bytes_in: number;
  data_ok: boolean | null;
  data_problem?: string;
  peer_state_at_end: string | null;
  stream: number | null;
  verdict: string | null;
  findings: string[];
  /** HTTP jobs: each request's frozen spec (replays its exact bytes) and what came back. */
  http?: Array<{ spec: string; status: number | null; error: string | null; malformed: string | null; first_byte_ms: number | null }>;
}

/**
 * Frames the harness relayed between a foreign stack's TAP and the lab's TAP (every frame of the
 * run, readiness and health probes included), and every place a frame could have been lost,
 * from the kernel's and the relay's own counters. All zero drops: run.pcap holds every frame.
 */
export interface RelaySection {
  /** Frames the stack sent, passed on to the kernel; frames passed to the stack. */
  from_stack: number;
  to_stack: number;
  /** The kernel dropped these towards the stack (its TAP queue was full, or nobody read it). */
  dropped_towards_stack: number;
  /** The stack wrote these but the relay's packet socket never read them (its receive buffer overflowed). */
  missed_from_stack: number;
  /** The kernel dropped these towards the relay on the lab's TAP. */
  dropped_on_lab_tap: number;
}

/** The run section of report.json: how to replay the run, its settings, and what the run itself saw. */
export interface RunSection {
  /** The command that replays this run exactly (same seed; on sim also the same bytes). */
  command: string;
  target: string;
  target_kind: 'builtin' | 'kernel' | 'foreign';
  /** Where the jobs connected (`ip:port`). */
  server: string;
  bugs: Array<{ name: string; summary: string }>;
  link: 'tap' | 'sim';
  seed: number;
  /** Each random stream's seed, derived from `seed` by name. */
  seeds: Record<string, number>;
  fuzzer: 'netcat' | 'http';
  jobs: number;
  concurrency: number;
  timeout_ms: number;
  /** netcat jobs: what each sends, in words; null for HTTP jobs. */
  payload: string | null;
  half_close: boolean | null;
  http: { specs: string[]; mutate: number; statuses: Record<string, number>; variants: string[] | null } | null;
  faults: string | null;
  fault_stats: Record<string, number> | null;
  fault_touched_connections: number | null;
  /** Each fault the injector applied to a TCP frame, in order (at most 5,000; `fault_events_omitted` counts the rest). */
  fault_events: FaultEvent[];
  fault_events_omitted: number;
  interrupted: boolean;
  partial: boolean;
  jobs_not_started: number;
  duration_ms: number;
  job_outcomes: Record<string, number>;
  peer_sockets_at_end: { source: string; states: Record<string, number> };
  /** Our stack's TCP connections still alive at the end, by state (the target's, or the client's for a kernel-side server). */
  stack_connections_at_end: Record<string, number>;
  /** Which side our stack played: the target, the client (kernel-side targets), or none (a foreign stack). */
  stack_side: 'target' | 'client' | 'none';
  stack_tcp_counters: Record<string, number>;
  /** A kernel-side target that ended by itself during the run, in words. */
  target_exited: string | null;
  /** `tap:` targets: what the relay between the stack's TAP and the lab's moved and lost; null otherwise. */
  relay: RelaySection | null;
  /** How the harness itself kept up (`--link tap`; null on sim, where time is virtual). */
  harness: HarnessLoad | null;
  /** The lab namespace's TCP counters (/proc/net/snmp and netstat, as nstat) that moved during the jobs; null on sim. */
  kernel_tcp_counters: Record<string, number> | null;
  /** The run's files: the capture, the transition trace and the report files written beside them. */
  files: { pcap: string; frames: number; trace: string; trace_lines: number; report: string; junit: string; html: string };
  job_rows: JobRow[];
  job_rows_omitted: number;
}
