import type { RawRun } from './raw-run.js';
import type { RunPlan } from './plan.js';
import { HARNESS_OVERLOADED, harnessFellBehind, OVERLOAD_BOUND_MS } from './harness-load.js';
import type { AnalyzeOptions } from '../reports/analyzer.js';
import type { ConnectionRecord } from '../reports/report.js';
import type { JobResult } from '../fuzzers/netcat/job.js';
import { expectsOf } from './run-findings/rule.js';

/**
 * Which findings a run does not charge to its target, decided per connection before the capture's
 * findings are grouped (report.set_apart): what the harness itself caused, and what the server's
 * listen queue overflow explains (that one is reported once, as a run finding of its own).
 */
export const LISTEN_QUEUE_OVERFLOW = 'listen-queue-overflow';
export const ABANDONED_BY_HARNESS = 'abandoned-by-harness';
export const EXPECTED_BY_MUTATION = 'expected-by-mutation';

/** The kernel's counters of a full listen queue (per namespace; ListenDrops also counts the overflows). */
export const OVERFLOW_COUNTERS = ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops', 'TcpExt.SyncookiesFailed', 'TcpExt.TCPReqQFullDrop'] as const;

/**
 * How many times the kernel-side server's listen queue overflowed during the run (0 when
 * unknown): the accept queue's drops (ListenDrops counts ListenOverflows and more) and the SYN
 * queue's; a SYN cookie that failed (the ACK came for a queue still full) counts when nothing
 * else did.
 */
export function listenOverflows(plan: RunPlan, raw: RawRun): number {
  if (plan.target.kind !== 'kernel' || !raw.kernelTcp) return 0;
  const k = raw.kernelTcp;
  const drops = Math.max(k['TcpExt.ListenOverflows'] ?? 0, k['TcpExt.ListenDrops'] ?? 0) + (k['TcpExt.TCPReqQFullDrop'] ?? 0);
  return drops > 0 ? drops : (k['TcpExt.SyncookiesFailed'] ?? 0);
}

/**
 * What a full listen queue does to a connection (RFC 9293 §3.10.7.2 leaves the queue to the
 * implementation; Linux drops the SYN or the handshake's ACK, then resets what a SYN cookie can
 * no longer admit): the client resent its SYN, the server resent its SYN/ACK, or the server reset
 * the connection before it sent any data.
 */
export function showsListenOverflow(r: ConnectionRecord): boolean {
  return r.handshake.syn_count > 1 || r.handshake.synack_count > 1 || (r.s2c.rst.count > 0 && r.s2c.data_pkts === 0);
}

const EXPLANATIONS: Record<string, string> = {
  [HARNESS_OVERLOADED]:
    `The harness read these connections' frames more than ${OVERLOAD_BOUND_MS} ms later than their senders' timestamps say they left (run.harness): ` +
    `the peer's retransmissions and their stale echoes are the harness's delay, not the target's behaviour.`,
  [LISTEN_QUEUE_OVERFLOW]:
    `The server's listen queue overflowed (the kernel's counters in the listen-queue-overflow finding): resent SYNs, resent SYN/ACKs, ` +
    `slow handshakes and resets on these connections are what a full queue does, reported once as that finding.`,
  [EXPECTED_BY_MUTATION]:
    `The job's mutated request asked for it: a server that rejects a broken request and closes while we keep sending ` +
    `resets the connection (RFC 9112 §9.6), and a request that pauses, or that the server stopped reading, leaves our ` +
    `client's data standing still: the behaviour the mutation tests, not a fault.`,
  [ABANDONED_BY_HARNESS]:
    `The job timed out and the harness gave up on the connection (aborted it, or kept it open to read the peer's socket state): ` +
    `what its client side did from then on is the harness's doing.`,
};

/** The analysis option that sets those connections' findings apart. */
export function notCharged(plan: RunPlan, raw: RawRun): NonNullable<AnalyzeOptions['setApart']> {
  const overflowed = listenOverflows(plan, raw) > 0;
  const clientOf = (j: JobResult): string => `${(j.localAddress ?? '').replace(/^::ffff:/, '')}:${j.localPort}`;
  const abandoned = new Set(raw.jobs.filter((j) => j.abandoned && j.localPort !== undefined).map(clientOf));
  const expecting = (e: 'reset' | 'no-reply'): Set<string> => new Set(raw.jobs.filter((j) => j.localPort !== undefined && expectsOf(plan, j.id).includes(e)).map(clientOf));
  const resetExpected = expecting('reset');
  const waitExpected = expecting('no-reply');
  return {
    reasonOf(r, culprit, kind, startUnixS) {
      const client = `${r.client.ip}:${r.client.port}`;
      const span = [(startUnixS + r.t_first) * 1000, (startUnixS + r.t_last) * 1000] as const;
      if (kind === 'reset' && culprit === 'server' && resetExpected.has(client)) return EXPECTED_BY_MUTATION;
      // Our own data standing still while the request pauses, or while a server that rejected it stops reading.
      if (kind === 'stall' && culprit === 'client' && waitExpected.has(client)) return EXPECTED_BY_MUTATION;
      if (raw.harness && harnessFellBehind(raw.harness, client, `${r.server.ip}:${r.server.port}`, span[0], span[1])) return HARNESS_OVERLOADED;
      if (overflowed && showsListenOverflow(r)) return LISTEN_QUEUE_OVERFLOW;
      if (culprit === 'client' && abandoned.has(client)) return ABANDONED_BY_HARNESS;
      return undefined;
    },
    explain: (reason) => EXPLANATIONS[reason] ?? reason,
  };
}
