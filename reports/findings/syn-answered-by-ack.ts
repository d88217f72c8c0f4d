import { frameFilter } from './filters.js';
import { endpointKey, ofTotal } from './grammar.js';
import { defineRule } from './rule.js';

/**
 * A SYN answered by a bare ACK and never by a SYN/ACK: the server still holds an earlier
 * connection on this 4-tuple (TIME_WAIT answers an old-looking SYN with an ACK, RFC 9293
 * §3.10.7.4) or it sent a challenge ACK (RFC 5961 §4). Neither unanswered nor refused.
 */
export const synAnsweredByAck = defineRule({
  kind: 'syn-answered-by-ack',
  severity: 'warning',
  summary: 'The SYN got a bare ACK and never a SYN/ACK: the server still held an earlier connection on the 4-tuple (TIME_WAIT) or sent a challenge ACK (RFC 5961).',

  detect({ conn, record, closing }, add) {
    if (closing.verdict !== 'answered-by-ack') return;
    const rst = conn.handshakeRsts > 0 ? `; the client answered with RST ${conn.handshakeRsts} time(s), as a SYN-SENT must (RFC 9293 §3.10.7.3)` : '';
    add({
      culprit: 'server',
      frames: [conn.ackToSynFrame],
      tNs: conn.ackToSynNs,
      tEndNs: -1,
      detail: `${record.handshake.syn_count} SYN(s) answered by ${conn.ackToSyn} bare ACK(s) from frame ${conn.ackToSynFrame}, no SYN/ACK${rst}`,
    });
  },

  title: (g, total) => `${endpointKey(g.server)} answered the SYN with a bare ACK on ${ofTotal(g, total)}`,

  explain: () =>
    `The client's SYN got an ACK without SYN: the server still had a connection on the same 4-tuple (in TIME_WAIT it acknowledges ` +
    `an old-looking SYN instead of accepting it, RFC 9293 §3.10.7.4) or it sent a challenge ACK (RFC 5961 §4). The client resets ` +
    `and tries again; if no SYN/ACK ever comes, a client port was reused too soon or the server's TIME_WAIT handling refuses new connections.`,

  show: frameFilter,
});
