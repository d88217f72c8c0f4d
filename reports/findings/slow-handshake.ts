import { DEFAULT_THRESHOLDS } from '../report.js';
import { msec } from '../time.js';
import { sentBy } from './filters.js';
import { connections, endpointKey, msRange, ofTotal, who } from './grammar.js';
import { defineRule } from './rule.js';

/** The sub-case where the server resent its SYN/ACK after the client's ACK: a pause after the handshake. */
const PAUSE_TAG = 'SYN/ACK resent after the ACK';

/**
 * A slow three-way handshake (RFC 9293 §3.5), or one that completed on the wire while the server
 * had not processed its final ACK and paused until its SYN/ACK timer fired.
 */
export const slowHandshake = defineRule({
  kind: 'slow-handshake',
  severity: 'warning',
  summary: `The handshake took ${DEFAULT_THRESHOLDS.slow_handshake_ms} ms or more (--slow-handshake), or the server paused that long after it because it had not taken the client's ACK.`,

  detect({ conn, server: s, record, thresholds: t }, add) {
    const hs = record.handshake;
    const pauseNs = conn.synAckAfterAck > 0 && conn.acceptAfterResendNs >= 0 ? conn.acceptAfterResendNs - conn.handshakeAckNs : -1;
    const paused = pauseNs >= 0 && msec(pauseNs) >= t.slow_handshake_ms;
    if (!paused && Math.max(hs.syn_to_synack_ms ?? 0, hs.connect_ms ?? 0, hs.server_accept_ms ?? 0) < t.slow_handshake_ms) return;
    const accepted = hs.server_accept_ms !== null && hs.server_accept_ms !== hs.connect_ms ? `, SYN→server accept ${hs.server_accept_ms} ms` : '';
    const timing = `SYN→SYN/ACK ${hs.syn_to_synack_ms ?? '–'} ms, SYN→ACK ${hs.connect_ms ?? '–'} ms${accepted}`;
    if (!paused) {
      add({
        culprit: 'server',
        frames: [conn.firstFrame],
        tNs: conn.firstSynNs,
        tEndNs: Math.max(conn.serverAcceptNs, conn.handshakeAckNs, conn.firstSynAckNs),
        detail: `${timing} (${hs.syn_count} SYN, ${hs.synack_count} SYN/ACK)`,
      });
      return;
    }
    // The handshake as the server saw it ended when it took an ACK, not when the first ACK passed.
    const ss = conn.stats[s];
    const firstData = ss.firstPayloadNs >= 0 ? ss.firstPayloadNs : conn.serverSpokeNs;
    const what = ss.firstPayloadNs >= 0 ? 'data' : 'segment';
    const resentNs = conn.firstSynAckAfterAckNs - conn.handshakeAckNs;
    add({
      culprit: 'server',
      frames: [conn.handshakeAckFrame, conn.firstSynAckAfterAckFrame, conn.acceptAfterResendFrame],
      tNs: conn.handshakeAckNs,
      tEndNs: conn.acceptAfterResendNs,
      detail:
        `the server resent its SYN/ACK (frame ${conn.firstSynAckAfterAckFrame}) ${msec(resentNs)} ms after the client's ACK (frame ${conn.handshakeAckFrame}) ` +
        `had completed the handshake: it had not processed that ACK. ` +
        (conn.acceptAnswered
          ? `It took the client's answer at frame ${conn.acceptAfterResendFrame}, `
          : `The client's answer was not captured; the server's next segment (frame ${conn.acceptAfterResendFrame}) shows it took one, `) +
        `and its first ${what} came ${msec(firstData - conn.handshakeAckNs)} ms after the handshake (${timing})`,
      tag: PAUSE_TAG,
      ms: msec(pauseNs),
    });
  },

  title(g, total, t) {
    const n = ofTotal(g, total);
    const paused = g.tags.get(PAUSE_TAG) ?? 0;
    const pause = `paused ${msRange(g)} ms after the handshake`;
    const why = `it resent its SYN/ACK instead of taking the client's ACK`;
    if (paused === g.connections) return `${who(g)} ${pause} on ${n}: ${why}`;
    return `${n} to ${endpointKey(g.server)} took ≥ ${t.slow_handshake_ms} ms to connect${paused > 0 ? `; on ${paused} the server ${pause}: ${why}` : ''}`;
  },

  explain(g, t) {
    const paused = g.tags.get(PAUSE_TAG) ?? 0;
    const slow =
      `SYN → SYN/ACK measures how fast the server's stack answers; SYN → ACK adds the client's side. Over ${t.slow_handshake_ms} ms ` +
      `usually means a SYN or SYN/ACK was lost and resent after the 1 s initial timeout (RFC 6298 §2), or an overloaded listener.`;
    const pause =
      `A connection opens with three segments: the client's SYN, the server's SYN/ACK and the client's ACK (RFC 9293 §3.5). ` +
      `The client's ACK completed the handshake on the wire and the client went on to send, yet the server resent its SYN/ACK ` +
      `as if that ACK had never come: it had not processed it (or the ACK was lost after the capture point). Until then the server ` +
      `held the connection half-open (SYN-RECEIVED): it acknowledged nothing and sent nothing, and waited for its retransmission ` +
      `timer. Only the client's answer to the resent SYN/ACK let the connection in, ${msRange(g)} ms after the handshake: ` +
      `a connection that opens at once and then sits silent before any data. A listener that hands the new connection to the ` +
      `application before it processes the handshake's final ACK does this.`;
    if (paused === 0) return slow;
    if (paused === g.connections) return pause;
    return `${slow} On ${connections(paused)} the server paused after the handshake instead: ${pause}`;
  },

  show(g, tot) {
    const c = tot.counts;
    const all = sentBy(g.server, 'both');
    const syns = c.syn[0] + c.syn[1] + c.synAck[0] + c.synAck[1];
    return { tcpdump: `(${all.tcpdump}) and tcp[tcpflags] & tcp-syn != 0`, tcpdump_packets: syns, tshark: `(${all.tshark}) && tcp.flags.syn==1`, tshark_packets: syns };
  },
});
