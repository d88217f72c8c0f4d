import { flagFilter } from './filters.js';
import { capitalized, ofTotal, parties, roleName, seconds, tagSummary, who } from './grammar.js';
import { defineRule } from './rule.js';

/** A half-close nobody answered: the closer waits in FIN_WAIT1/2, the other side sits in CLOSE_WAIT (RFC 9293 §3.6). */
export const missingFin = defineRule({
  kind: 'missing-fin',
  severity: 'error',
  summary: 'One side closed (sent FIN) and the other sent no FIN of its own by the end of the capture (--fin-wait): its socket sits in CLOSE_WAIT.',

  detect({ conn, client: c, server: s, closing, endNs, thresholds: t }, add) {
    if (closing.verdict !== 'half-closed') return;
    const closer = conn.stats[c].finCount > 0 ? c : s;
    const d = conn.stats[closer];
    const waitedNs = endNs - d.firstFinNs;
    if (waitedNs < t.fin_wait_ms * 1e6) return;
    const silent = roleName((closer ^ 1) as 0 | 1, c);
    const acked = d.finAcked ? `acknowledged at frame ${d.finAckedFrame}` : 'never acknowledged';
    add({
      culprit: silent,
      frames: d.finAcked ? [d.firstFinFrame, d.finAckedFrame] : [d.firstFinFrame],
      tNs: d.firstFinNs,
      tEndNs: endNs,
      detail: `${roleName(closer, c)} FIN at frame ${d.firstFinFrame} ${acked}; no FIN from the ${silent} in the ${seconds(waitedNs)} s until the end of the capture`,
      tag: d.finAcked ? 'FIN_WAIT2' : 'FIN_WAIT1',
    });
  },

  title: (g, total) => `${who(g)} sent no FIN on ${ofTotal(g, total)}`,

  explain(g, t) {
    const { self, peer } = parties(g);
    return (
      `${capitalized(peer)} closed ${peer.its} side (sent FIN) and ${self.name} never sent ${self.its} own FIN by the end of the capture` +
      `${t.fin_wait_ms > 0 ? ` (${t.fin_wait_ms} ms or more later)` : ''}: ` +
      `${peer.name} wait${peer.s} in FIN_WAIT2 (FIN acknowledged) or FIN_WAIT1 (not even acknowledged) — here ${tagSummary(g)} — ` +
      `and where ${self.name} acknowledged the FIN, RFC 9293 puts ${self.possessive} sockets in CLOSE_WAIT (the capture shows the ACK; ` +
      `only a socket table shows the socket). An unacknowledged FIN is claimed only once its sender had time to resend it, or a socket ` +
      `table showed the state. An application that reads end-of-file and never calls close(), ` +
      `or a stack whose close is lost, does this; the half-open sockets pile up until a timeout (RFC 9293 §3.6).`
    );
  },

  show: (g, tot) => flagFilter(g, 'tcp[tcpflags] & tcp-fin != 0', 'tcp.flags.fin==1', tot.counts.fin),
});
