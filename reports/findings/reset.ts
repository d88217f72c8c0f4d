import { flagFilter } from './filters.js';
import { capitalized, ofTotal, parties, roleName, who } from './grammar.js';
import { defineRule } from './rule.js';

/** An open connection aborted by RST: unread data is discarded (RFC 9293 §3.5.2). */
export const reset = defineRule({
  kind: 'reset',
  severity: 'warning',
  summary: 'A RST aborted the connection before both sides had closed it.',

  detect({ conn, client: c, server: s, record, closing }, add) {
    if (closing.verdict !== 'reset') return;
    const cs = conn.stats[c];
    const ss = conn.stats[s];
    // The first side to send RST.
    const k = cs.firstRstNs >= 0 && (ss.firstRstNs < 0 || cs.firstRstNs <= ss.firstRstNs) ? c : s;
    const d = conn.stats[k];
    // Both sides had closed (sent FIN) before it: nothing open was aborted. A socket closed with
    // input it never read answers with RST (RFC 2525 §2.17, RFC 9293 §3.6), after its own FIN
    // when the application shut down its side first — the connection is over either way.
    const closedBefore = (x: typeof d): boolean => x.firstFinNs >= 0 && x.firstFinNs <= d.firstRstNs;
    if (closedBefore(cs) && closedBefore(ss)) return;
    const afterFin = record.close.rst_after_fin ? ' after a FIN (abortive close)' : '';
    add({
      culprit: roleName(k, c),
      frames: [d.firstRstFrame],
      tNs: d.firstRstNs,
      tEndNs: -1,
      detail: `${roleName(k, c)} sent RST at frame ${d.firstRstFrame}${afterFin}`,
      tag: afterFin ? 'after-fin' : '',
    });
  },

  title: (g, total) => `${who(g)} reset ${ofTotal(g, total)}`,

  explain(g) {
    const afterFin = g.tags.get('after-fin');
    return (
      `A RST aborts a connection at once and discards unread data (RFC 9293 §3.5.2). ${capitalized(parties(g).self)} sent it` +
      `${afterFin !== undefined ? ` (after a FIN on ${afterFin}: an abortive close)` : ''}. ` +
      `Servers do this when they close with unread input or crash, clients when they abort; check that it was meant.`
    );
  },

  show: (g, tot) => flagFilter(g, 'tcp[tcpflags] & tcp-rst != 0', 'tcp.flags.reset==1', tot.counts.rst),
});
