import { DEFAULT_THRESHOLDS } from '../report.js';
import { frameFilter } from './filters.js';
import { frameList, ofTotal, parties, roleName, who } from './grammar.js';
import { defineRule } from './rule.js';

/**
 * Data or a FIN resent after the peer's FIN, although the capture saw the ACK that covered it:
 * the sender never took that ACK (its TSecr never echoed it, or the segments carry no
 * timestamps), so the ACK was lost between the capture point and the sender's TCP — in the
 * receiver's own stack, a queue or a firewall. Not a state-machine bug, hence a warning.
 */
export const ackLostAfterCapture = defineRule({
  kind: 'ack-lost-after-capture',
  severity: 'warning',
  summary: `A side resent data or its FIN ${DEFAULT_THRESHOLDS.after_close_count} times or more (--after-close) after the peer's FIN, although the capture saw the ACK that covered it: that ACK was lost after the capture point.`,

  detect({ conn, client: c, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      const d = conn.stats[k];
      if (d.ackLostAfterCaptureCount < t.after_close_count) continue;
      const who = roleName(k, c);
      const peer = roleName((k ^ 1) as 0 | 1, c);
      add({
        culprit: who,
        frames: d.ackLostAfterCapture,
        tNs: d.ackLostFirstNs,
        tEndNs: d.ackLostLastNs,
        detail: `${who} resent ${d.ackLostAfterCaptureCount} times what the ${peer}'s captured ACK had covered, never echoing that ACK; frames ${frameList(d.ackLostAfterCapture)}`,
        packets: d.ackLostAfterCapture.length,
      });
    }
  },

  title: (g, total) => `${who(g)} resent what a captured ACK had covered (the ACK was lost after the capture point) on ${ofTotal(g, total)}`,

  explain(g) {
    const { self, peer } = parties(g);
    return (
      `${peer.name} acknowledged the data or FIN, and the capture shows that ACK; yet ${self.name} resent it as if the ACK ` +
      `never came, and ${self.its} timestamp echo (RFC 7323 §4.3) shows ${self.name} had not taken it. The ACK was lost after ` +
      `the capture point (a drop in ${self.possessive} own input path, a full queue, a firewall), not ignored by a broken state machine.`
    );
  },

  show: frameFilter,
});
