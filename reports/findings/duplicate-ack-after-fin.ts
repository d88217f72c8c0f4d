import { DEFAULT_THRESHOLDS } from '../report.js';
import { frameFilter } from './filters.js';
import { frameList, ofTotal, parties, roleName, SERVER, who } from './grammar.js';
import { defineRule } from './rule.js';

/** After FIN, the same ACK again and again, each answering a resend of acknowledged data: the resender ignores ACKs. */
export const duplicateAckAfterFin = defineRule({
  kind: 'duplicate-ack-after-fin',
  severity: 'error',
  summary: `After FIN, a side kept resending what the peer had acknowledged, and the peer repeated its ACK ${DEFAULT_THRESHOLDS.dup_ack_after_fin_count} times or more (--dup-ack-after-fin): the resending side ignores ACKs.`,

  // The culprit is the side that kept resending (the ACKs are the evidence, RFC 9293 §3.10.7.4
  // requires each of them), so the title, the detail and the explanation all name the same side.
  detect({ conn, client: c, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      const d = conn.stats[k];
      if (d.dupAckAfterFinCount < t.dup_ack_after_fin_count) continue;
      const acker = roleName(k, c);
      const resender = roleName((k ^ 1) as 0 | 1, c);
      add({
        culprit: resender,
        frames: d.dupAckAfterFin,
        tNs: d.dupAckAfterFinFirstNs,
        tEndNs: d.dupAckAfterFinLastNs,
        detail: `${resender} kept resending what the ${acker} had acknowledged after FIN, having taken that ACK; the ${acker} answered with ${d.dupAckAfterFinCount} duplicate ACKs; frames ${frameList(d.dupAckAfterFin)}`,
        packets: d.dupAckAfterFin.length,
      });
    }
  },

  title: (g, total) => `${who(g)} kept resending acknowledged data after FIN (answered by duplicate ACKs) on ${ofTotal(g, total)}`,

  explain(g) {
    const { self, peer } = parties(g);
    return (
      `After FIN, ${self.name} kept resending data or SYN/ACK that ${peer.name} had already acknowledged — and ${self.name} ` +
      `had taken that ACK (its timestamp echo shows it) or was resending its handshake — so ${peer.name} repeated the same ` +
      `acknowledgement each time: ${self.name} ${self === SERVER ? 'is' : 'are'} not processing ACKs.`
    );
  },

  show: frameFilter,
});
