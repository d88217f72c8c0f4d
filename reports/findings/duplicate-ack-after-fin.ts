import { DEFAULT_THRESHOLDS } from '../report.js';
import { frameFilter } from './filters.js';
import { frameList, ofTotal, parties, roleName, SERVER, who } from './grammar.js';
import { defineRule } from './rule.js';

/** After FIN, the same ACK again and again, each answering a resend of acknowledged data: the peer ignores ACKs. */
export const duplicateAckAfterFin = defineRule({
  kind: 'duplicate-ack-after-fin',
  severity: 'error',
  summary: `After FIN, a side repeated its ACK ${DEFAULT_THRESHOLDS.dup_ack_after_fin_count} times or more (--dup-ack-after-fin) because the peer kept resending what was already acknowledged.`,

  detect({ conn, client: c, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      const d = conn.stats[k];
      if (d.dupAckAfterFinCount < t.dup_ack_after_fin_count) continue;
      const who = roleName(k, c);
      add({
        culprit: who,
        frames: d.dupAckAfterFin,
        tNs: d.dupAckAfterFinFirstNs,
        tEndNs: d.dupAckAfterFinLastNs,
        detail: `${who} sent ${d.dupAckAfterFinCount} duplicate ACKs after FIN, each answering a retransmission of data it had already acknowledged; frames ${frameList(d.dupAckAfterFin)}`,
        packets: d.dupAckAfterFin.length,
      });
    }
  },

  title: (g, total) => `${who(g)} kept sending duplicate ACKs after FIN on ${ofTotal(g, total)}`,

  explain(g) {
    const { self, peer } = parties(g);
    return (
      `After FIN, ${self.name} kept repeating the same acknowledgement because ${peer.name} kept resending data or SYN/ACK ` +
      `that had already been acknowledged: ${peer.name} ${peer === SERVER ? 'is' : 'are'} not processing ACKs.`
    );
  },

  show: frameFilter,
});
