import { flagFilter } from './filters.js';
import { endpointKey, ofTotal } from './grammar.js';
import { defineRule } from './rule.js';

/** A SYN answered by RST alone: a closed port (RFC 9293 §3.10.7.1). */
export const refused = defineRule({
  kind: 'refused',
  severity: 'warning',
  summary: 'The SYN was answered with RST and no SYN/ACK: nothing listened on the port, or a firewall rejected it.',

  detect({ conn, server: s, closing }, add) {
    if (closing.verdict !== 'refused') return;
    const d = conn.stats[s];
    add({
      culprit: 'server',
      frames: [d.firstRstFrame],
      tNs: d.firstRstNs,
      tEndNs: -1,
      detail: `the SYN was answered with RST at frame ${d.firstRstFrame}: nothing listens there`,
    });
  },

  title: (g, total) => `${endpointKey(g.server)} refused ${ofTotal(g, total)}`,

  explain: () => `The SYN was answered with RST and no SYN/ACK: nothing was listening on that port, or a firewall rejected the connection.`,

  show: (g, tot) => flagFilter(g, 'tcp[tcpflags] & tcp-rst != 0', 'tcp.flags.reset==1', tot.counts.rst),
});
