import { DEFAULT_THRESHOLDS } from '../report.js';
import { streamFilter } from './filters.js';
import { ofTotal, parties, roleName, seconds, who } from './grammar.js';
import { defineRule } from './rule.js';

/**
 * Data outstanding and not moving: between two steps of progress (a new byte sent, or the ACK
 * moving forward over it) a sender waited longer than the bound. That is RTO backoff after a
 * loss (RFC 6298 §5.5 doubles the timer), or a retransmission lost again; a healthy exchange
 * moves within a few round trips.
 */
export const stall = defineRule({
  kind: 'stall',
  severity: 'warning',
  summary: `Data was outstanding and did not move (no new byte, no ACK advance) for ${DEFAULT_THRESHOLDS.stall_ms} ms or more (--stall): RTO backoff, or a lost retransmission.`,

  detect({ conn, client: c, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      const d = conn.stats[k];
      if (d.gapCount === 0) continue;
      const who = roleName(k, c);
      const gaps = d.gaps.map((g) => `${seconds(g.endNs - g.startNs)} s (frames ${g.startFrame}–${g.endFrame})`).join(', ');
      const more = d.gapCount > d.gaps.length ? ` and ${d.gapCount - d.gaps.length} more` : '';
      add({
        culprit: who,
        frames: d.gaps.flatMap((g) => [g.startFrame, g.endFrame]),
        tNs: d.gaps[0]!.startNs,
        tEndNs: d.gaps[d.gaps.length - 1]!.endNs,
        detail: `${who}'s data stood still ${d.gapCount} time(s) for more than ${t.stall_ms} ms while outstanding: ${gaps}${more}`,
        packets: conn.pkts,
        ms: d.maxGapNs / 1e6,
      });
    }
  },

  title: (g, total, t) => `${who(g)}'s data stalled ≥ ${t.stall_ms} ms while outstanding on ${ofTotal(g, total)}`,

  explain(g, t) {
    const { self } = parties(g);
    return (
      `${self.name[0]!.toUpperCase()}${self.name.slice(1)} had sent data the peer had not acknowledged, and for at least ${t.stall_ms} ms nothing moved: ` +
      `no new byte, no ACK advancing. A sender waits like that on its retransmission timer, which doubles after each loss ` +
      `(RFC 6298 §5.5), so a long gap means a segment, or its retransmission, was lost; the gaps are listed per connection.`
    );
  },

  show: (g, tot) => streamFilter(g, tot),
});
