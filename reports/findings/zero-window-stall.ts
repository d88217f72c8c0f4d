import { DEFAULT_THRESHOLDS } from '../report.js';
import { flagFilter } from './filters.js';
import { ofTotal, parties, roleName, seconds, who } from './grammar.js';
import { defineRule } from './rule.js';

/** A receiver whose window stayed shut: its application stopped reading (RFC 9293 §3.8.6.1). */
export const zeroWindowStall = defineRule({
  kind: 'zero-window-stall',
  severity: 'warning',
  summary: `A receiver advertised a zero window for ${DEFAULT_THRESHOLDS.zero_window_ms} ms or more (--zero-window): its application stopped reading.`,

  detect({ conn, client: c, record, thresholds: t }, add) {
    for (const k of [0, 1] as const) {
      const longest = conn.stats[k].longestStall;
      if (!longest || longest.endNs - longest.startNs < t.zero_window_ms * 1e6) continue;
      const who = roleName(k, c);
      const open = (k === c ? record.c2s : record.s2c).zero_win_stall_ms.open_at_end;
      add({
        culprit: who,
        frames: [longest.startFrame, longest.endFrame],
        tNs: longest.startNs,
        tEndNs: longest.endNs,
        detail: `${who} advertised a zero window for ${seconds(longest.endNs - longest.startNs)} s from frame ${longest.startFrame}${open ? ', still closed at the end' : ` until frame ${longest.endFrame}`}`,
      });
    }
  },

  title: (g, total, t) => `${who(g)} held a zero window ≥ ${t.zero_window_ms} ms on ${ofTotal(g, total)}`,

  explain(g, t) {
    const { self } = parties(g);
    return (
      `A zero window means the receiver's buffer is full because its application is not reading. The sender must stop ` +
      `and probe (RFC 9293 §3.8.6.1) until the window opens; ${self.name} kept ${self.its} window closed for at least ${t.zero_window_ms} ms.`
    );
  },

  show: (g, tot) => flagFilter(g, 'tcp[14:2] = 0', 'tcp.window_size_value==0', tot.counts.zeroWindow),
});
