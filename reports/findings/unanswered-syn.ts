import { sentBy } from './filters.js';
import { endpointKey, ofTotal, seconds } from './grammar.js';
import { defineRule } from './rule.js';

/** SYNs into silence: no SYN/ACK, no RST. */
export const unansweredSyn = defineRule({
  kind: 'unanswered-syn',
  severity: 'error',
  summary: "The client's SYN and its retransmissions got neither SYN/ACK nor RST: the server is down, unreachable, overloaded or filtered.",

  detect({ conn, record, closing, endNs }, add) {
    if (closing.verdict !== 'unanswered') return;
    add({
      culprit: 'server',
      frames: [conn.firstFrame],
      tNs: conn.firstSynNs,
      tEndNs: conn.lastNs,
      detail: `${record.handshake.syn_count} SYN(s), no SYN/ACK and no RST in ${seconds(endNs - conn.firstSynNs)} s`,
    });
  },

  title: (g, total) => `${endpointKey(g.server)} answered no SYN on ${ofTotal(g, total)}`,

  explain: () =>
    `The client's SYN and its retransmissions got neither SYN/ACK nor RST: the server is down or unreachable, ` +
    `its listen queue is full, or a filter drops the packets.`,

  show(g, tot) {
    const by = sentBy(g.server, 'client');
    const syns = tot.counts.syn[0];
    return {
      tcpdump: `${by.tcpdump} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn`,
      tcpdump_packets: syns,
      tshark: `${by.tshark} && tcp.flags.syn==1 && tcp.flags.ack==0`,
      tshark_packets: syns,
    };
  },
});
