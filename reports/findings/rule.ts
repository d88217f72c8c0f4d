/**
 * The contract of a finding rule: one module per finding kind says when a connection shows it
 * (`detect`) and how a group of such connections is told (`title`, `explain`, `show`). The
 * registry lists the rules; the analyzer and the finding collector only loop over it.
 */
import type { Connection } from '../connection.js';
import type { ConnectionRecord, Endpoint, Finding, FindingInstance, ShowFilter, Thresholds, Verdict, WaitReason } from '../report.js';
import type { FindingKind } from './kinds.js';

export type Severity = Finding['severity'];

/** Who a finding is about: the server endpoint, or the clients of it. */
export type Culprit = 'server' | 'client';

/**
 * What a finding kind is, apart from how it is detected: the part that findings made elsewhere
 * (the run's own, e.g. wrong data) share with the capture's rules.
 */
export interface FindingRuleInfo<K extends string = string> {
  readonly kind: K;
  readonly severity: Severity;
  /** One plain sentence: what the finding means (`fuzz list --findings`, the README table). */
  readonly summary: string;
}

/** How a connection ended, as the verdict rules decided it. */
export interface Closing {
  verdict: Verdict;
  /** Why a connection nobody closed is still waiting (empty for the other verdicts). */
  waiting: WaitReason[];
  /** From the last payload (or the handshake, or the first packet) to the end. */
  idleNs: number;
}

/** What a rule's `detect` sees of one finalised connection. */
export interface FindingContext {
  readonly conn: Connection;
  /** The client's side (0/1) of `conn`; `server` is the other one. */
  readonly client: 0 | 1;
  readonly server: 0 | 1;
  readonly record: ConnectionRecord;
  readonly closing: Closing;
  /** The end of the capture, or of the connection when it was retired early after closing. */
  readonly endNs: number;
  readonly thresholds: Thresholds;
  /** The client socket's state at the end, when the caller read a socket table (a run). */
  readonly peerState: string | undefined;
}

/** One finding on one connection, as a rule reports it; the caller adds the kind and the connection. */
export interface FindingDraft {
  culprit: Culprit;
  frames: number[];
  /** When it began and ended (-1: it has no end), in the Connection's internal nanoseconds. */
  tNs: number;
  tEndNs: number;
  detail: string;
  /** Packets of this connection that the group's tshark filter shows (default 0). */
  packets?: number;
  /** A sub-case counted in the group's explanation (e.g. the closer's state, why a hang waits). */
  tag?: string;
  /** What caused it, when the connection shows it (counted in the group's explanation). */
  cause?: string;
  /** The finding's own duration (e.g. the pause after the handshake), for the group's title. */
  ms?: number;
}

export type AddFinding = (finding: FindingDraft) => void;

/** The findings of one kind, culprit and server endpoint over the whole capture. */
export interface FindingGroup {
  readonly culprit: Culprit;
  readonly server: Endpoint;
  readonly connections: number;
  /** The instances kept (the first ones; the rest are counted in `connections`). */
  readonly instances: readonly FindingInstance[];
  /** Per instance kept: packets its stream/frame filter shows. */
  readonly packets: readonly number[];
  readonly tags: ReadonlyMap<string, number>;
  readonly causes: ReadonlyMap<string, number>;
  /** Smallest and largest `ms` of the group's findings that have one. */
  readonly msRange: readonly [number, number] | null;
}

/** What tcpdump filters on one server endpoint match, per direction (c2s / s2c). */
export interface EndpointCounts {
  pkts: [number, number];
  fin: [number, number];
  rst: [number, number];
  syn: [number, number];
  synAck: [number, number];
  zeroWindow: [number, number];
}

/** One server endpoint's connections and packet counts, summed over the capture. */
export interface EndpointTotals {
  endpoint: Endpoint;
  connections: number;
  counts: EndpointCounts;
}

export interface FindingRule<K extends string = string> extends FindingRuleInfo<K> {
  /** Reports this kind's findings on one connection through `add`: none, one, or one per side. */
  detect(ctx: FindingContext, add: AddFinding): void;
  /** One line: "server 10.77.0.2:19 sent no FIN on 128/128 connections"; `total` counts the server's connections. */
  title(g: FindingGroup, total: number, t: Thresholds): string;
  /** What happened and what it means, for someone new to TCP. */
  explain(g: FindingGroup, t: Thresholds): string;
  /** The tcpdump/tshark filters that show the group's packets, with their counts. */
  show(g: FindingGroup, tot: EndpointTotals): ShowFilter;
}

/**
 * A rule about a server's connections taken together (their ISNs), not about one connection:
 * `start` gives a fresh check for one analysis, fed every finalised connection; it reports at
 * the end. Its kind is listed with the others (`fuzz list --findings`).
 */
export interface CaptureWideRule extends FindingRuleInfo {
  start(t: Thresholds): CaptureWideCheck;
}

export interface CaptureWideCheck {
  /** One finalised connection, its record, and which side is its client. */
  add(conn: Connection, record: ConnectionRecord, client: 0 | 1): void;
  findings(): Finding[];
}

/** Keeps a rule's kind as its literal type (a misspelt kind does not compile), for the registry's check. */
export const defineRule = <K extends FindingKind>(rule: FindingRule<K>): FindingRule<K> => rule;
