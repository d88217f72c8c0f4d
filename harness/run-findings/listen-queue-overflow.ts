import type { RunRule } from './rule.js';
import { listenOverflows, OVERFLOW_COUNTERS, showsListenOverflow } from '../not-charged.js';

/**
 * The kernel-side server's listen queue overflowed: its backlog (listen(2)'s argument, capped by
 * net.core.somaxconn) is smaller than the run's concurrency. Read from the lab namespace's TCP
 * counters before and after the run, as `nstat` does; the connections it explains are set apart
 * from the capture's findings (no client is blamed for resending an unanswered SYN).
 */
export const listenQueueOverflow: RunRule = {
  kind: 'listen-queue-overflow',
  severity: 'warning',
  summary: "The kernel-side server's listen queue overflowed (the lab's TcpExt ListenOverflows/ListenDrops/SyncookiesFailed counters grew): its backlog is too small for the run's concurrency.",
  detect(ctx) {
    const n = listenOverflows(ctx.plan, ctx.raw);
    if (n === 0) return undefined;
    const k = ctx.raw.kernelTcp ?? {};
    const counters = OVERFLOW_COUNTERS.filter((c) => (k[c] ?? 0) > 0).map((c) => `${c.replace('TcpExt.', '')} ${k[c]}`);
    const jobs = ctx.jobs.filter((j) => j.conn !== undefined && showsListenOverflow(j.conn)).map((j) => j.job.id);
    return {
      title: `the server's listen queue overflowed (${n} times; its backlog is too small for ${ctx.plan.jobs.concurrency} connections at once): ${jobs.length}/${ctx.raw.jobs.length} connections show it`,
      explanation:
        `The kernel counted ${counters.join(', ')} in the lab namespace during the run. A full accept queue makes Linux drop the ` +
        `client's SYN or its handshake ACK (so the client resends its SYN and the server its SYN/ACK) and reset what a SYN cookie ` +
        `can no longer admit. Those resends, slow handshakes and resets are this one server behaviour, not the clients': raise the ` +
        `server's listen backlog (and net.core.somaxconn) or lower -c.`,
      jobs,
    };
  },
};
