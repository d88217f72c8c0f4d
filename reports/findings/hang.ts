import { DEFAULT_THRESHOLDS } from '../report.js';
import { streamFilter } from './filters.js';
import { endpointKey, ofTotal, seconds, tagSummary } from './grammar.js';
import { defineRule } from './rule.js';

/** Nobody closed, nothing moved, and a side still waits: stuck, not an idle keep-alive connection. */
export const hang = defineRule({
  kind: 'hang',
  severity: 'error',
  summary: `Nobody closed the connection, no payload moved for ${DEFAULT_THRESHOLDS.hang_ms / 1000} s (--hang) before the end, and one side still waits for an ACK, an open window or an answer.`,

  detect({ conn, closing, endNs }, add) {
    if (closing.verdict !== 'hang') return;
    const [a, b] = conn.stats;
    const last = Math.max(a.lastPayloadNs, b.lastPayloadNs);
    const lastFrame = a.lastPayloadNs >= b.lastPayloadNs ? a.lastPayloadFrame : b.lastPayloadFrame;
    const since = last >= 0 ? `last payload at frame ${lastFrame}` : 'no payload at all';
    add({
      culprit: 'server',
      frames: last >= 0 ? [lastFrame, conn.lastFrame] : [conn.firstFrame, conn.lastFrame],
      tNs: last >= 0 ? last : conn.firstNs,
      tEndNs: endNs,
      detail: `no payload for ${seconds(closing.idleNs)} s (${since}), nobody closed; waiting: ${closing.waiting.join(', ')}`,
      packets: conn.pkts,
      tag: closing.waiting.join('+'),
    });
  },

  title: (g, total, t) => `${ofTotal(g, total)} to ${endpointKey(g.server)} hang: no payload for ≥ ${t.hang_ms / 1000} s, nobody closed`,

  explain: (g, t) =>
    `Neither side sent FIN or RST, no payload moved for at least ${t.hang_ms / 1000} s before the capture ended, ` +
    `and one side is still waiting (${tagSummary(g)}): unacked-data = sent data nobody acknowledged, ` +
    `zero-window = a receiver stopped reading, no-response = the client's last message was never answered. ` +
    `Keep-alives and bare ACKs do not count as progress.`,

  show: (g, tot) => streamFilter(g, tot),
});
