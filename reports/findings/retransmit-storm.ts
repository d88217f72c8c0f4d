import { DEFAULT_THRESHOLDS } from '../report.js';
import { ACK, FIN, SYN } from '../../stack/wire/tcp.js';
import { sentBy, streamFilter } from './filters.js';
import { connections, frameList, ofTotal, roleName, tagSummary, who } from './grammar.js';
import { defineRule } from './rule.js';

/** The client resent because the server, stuck before taking the handshake's ACK, acknowledged nothing. */
const SERVER_HELD_ACK = 'server-held-ack';

/** "SYN", "SYN/ACK", "FIN" or "data": what a retransmitted segment was. */
function segmentKind(flags: number): string {
  if (flags & SYN) return flags & ACK ? 'SYN/ACK' : 'SYN';
  return flags & FIN ? 'FIN' : 'data';
}

/** One segment sent again and again: its ACK never came, the retransmission timer kept firing (RFC 6298). */
export const retransmitStorm = defineRule({
  kind: 'retransmit-storm',
  severity: 'error',
  summary: `One segment was sent ${DEFAULT_THRESHOLDS.storm_count} times or more (--storm): the peer never acknowledged it.`,

  detect({ conn, client: c, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      // Resending a SYN nobody answered is what a client must do (RFC 9293 §3.8.1, RFC 6298 §5):
      // an unanswered or overflowing listener is the finding (unanswered-syn, the listen queue), never the client.
      const storm = conn.stats[k].worstStorm((e) => (e.tcpFlags & (SYN | ACK)) !== SYN);
      if (!storm || storm.sends < t.storm_count) continue;
      const who = roleName(k, c);
      const rel = (storm.seq - conn.analysis.sides[k].baseSeq) >>> 0;
      const heldAck =
        k === c &&
        conn.synAckAfterAck > 0 &&
        storm.firstNs >= conn.handshakeAckNs &&
        (conn.acceptAfterResendNs < 0 || storm.firstNs < conn.acceptAfterResendNs);
      add({
        culprit: who,
        frames: storm.frames,
        tNs: storm.firstNs,
        tEndNs: storm.lastNs,
        detail:
          `${who} sent the segment at relative seq ${rel} (${storm.len} byte${storm.len === 1 ? '' : 's'}) ${storm.sends} times; retransmissions in frames ${frameList(storm.frames)}` +
          (heldAck ? `; they began while the server had not taken the client's handshake ACK (it resent its SYN/ACK at frame ${conn.firstSynAckAfterAckFrame})` : ''),
        packets: conn.stats[k].rexmtPkts,
        tag: segmentKind(storm.tcpFlags),
        cause: heldAck ? SERVER_HELD_ACK : undefined,
      });
    }
  },

  title: (g, total, t) => `${who(g)} sent one segment ≥ ${t.storm_count} times on ${ofTotal(g, total)}`,

  explain(g, t) {
    const held = g.causes.get(SERVER_HELD_ACK) ?? 0;
    return (
      `A segment is sent again when its acknowledgement does not arrive before the retransmission timer fires ` +
      `(RFC 6298), and the timer doubles each time. Sending one segment ${t.storm_count} or more times (${tagSummary(g)}) ` +
      `means the peer never acknowledged it: the packets are lost on the way, or the peer ignores them — ` +
      `e.g. a server resending SYN/ACK because it never processed the client's ACK.` +
      (held > 0
        ? ` On ${connections(held)} the resending began while the server had not yet taken the client's handshake ACK ` +
          `(it resent its SYN/ACK afterwards): a server stuck before ESTABLISHED acknowledges nothing, so here the server ` +
          `held back its ACK, not the network.`
        : '')
    );
  },

  show: (g, tot) => streamFilter(g, tot, ` && ${sentBy(g.server, g.culprit).tshark} && tcp.analysis.retransmission`),
});
