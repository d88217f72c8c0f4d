import { DEFAULT_THRESHOLDS } from '../report.js';
import { frameFilter } from './filters.js';
import { frameList, ofTotal, parties, roleName, tagSummary, who } from './grammar.js';
import { defineRule } from './rule.js';

/**
 * Retransmissions after the peer's FIN acknowledged everything, or after a RST: a correct stack
 * has nothing left to resend (Connection.observe counts them).
 */
export const retransmitAfterClose = defineRule({
  kind: 'retransmit-after-close',
  severity: 'error',
  summary: `A side retransmitted ${DEFAULT_THRESHOLDS.after_close_count} times or more (--after-close) after the peer's FIN had acknowledged everything or a RST had ended the connection.`,

  detect({ conn, client: c, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      const d = conn.stats[k];
      if (d.afterCloseCount < t.after_close_count) continue;
      const who = roleName(k, c);
      const peer = roleName((k ^ 1) as 0 | 1, c);
      const synAck = d.synAckAfterPeerClose > 0 ? ` (${d.synAckAfterPeerClose} of them SYN/ACK)` : '';
      add({
        culprit: who,
        frames: d.afterClose,
        tNs: d.afterCloseFirstNs,
        tEndNs: d.afterCloseLastNs,
        detail: `${who} retransmitted ${d.afterCloseCount} times${synAck} after the ${peer}'s FIN/RST had acknowledged or ended it; frames ${frameList(d.afterClose)}`,
        packets: d.afterClose.length,
        tag: d.synAckAfterPeerClose > 0 ? 'SYN/ACK' : 'data',
      });
    }
  },

  title: (g, total) => `${who(g)} retransmitted after the connection was closed on ${ofTotal(g, total)}`,

  explain: (g, t) =>
    `After the peer's FIN acknowledged everything, or after a RST ended the connection, there is nothing left to resend; ` +
    `yet ${parties(g).self.name} retransmitted at least ${t.after_close_count} times (${tagSummary(g)}). A state machine that missed the ACK ` +
    `or the close does this — e.g. a SYN/ACK resent after the client's FIN is the mark of a listener that handed the connection ` +
    `to the application before processing the handshake's final ACK. (One such packet can be an ACK lost after the capture point.)`,

  show: frameFilter,
});
