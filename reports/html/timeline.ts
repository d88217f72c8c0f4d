import type { ConnectionRecord, TimelineEntry } from '../report.js';
import { VERDICTS } from '../report.js';
import type { Report } from '../run-report.js';
import type { TimelineBar, TimelineData } from './client.js';
import type { Representatives } from './representatives.js';
import { VERDICT_COLORS } from './stevens.js';

/** Verdicts whose connection was still open at one end when the capture stopped: their bars run to its end. */
const OPEN_AT_END = new Set(['half-closed', 'undetermined', 'hang', 'open']);

/**
 * The timeline's data: a bar per connection the report keeps (its connection records, then the
 * timeline entries of connections without one), in start order, from the first segment to the
 * last — or to the capture's end for a connection still open at one end (half-closed,
 * undetermined, hung, open) — with its
 * retransmissions' times as ticks.
 */
export function timelineData(report: Report, reps: Representatives): TimelineData {
  const end = report.capture.duration_s;
  const seen = new Set<number>();
  const bars: TimelineBar[] = [];
  const verdictIndex = new Map<string, number>(VERDICTS.map((v, i) => [v, i]));
  const bar = (e: ConnectionRecord | TimelineEntry, verdict: string, label: string, retx: number[]): void => {
    seen.add(e.stream);
    const last = OPEN_AT_END.has(verdict) ? Math.max(end, e.t_last) : e.t_last;
    bars.push([e.stream, e.t_first, last, verdictIndex.get(verdict) ?? 0, e.findings.length > 0 ? 1 : 0, e.cluster ?? -1, label, retx]);
  };
  for (const r of report.connections) {
    const retx = r.anomalies.filter((a) => a.type.includes('retransmission')).map((a) => a.t);
    bar(r, r.close.verdict, `#${r.stream} ${r.client.ip}:${r.client.port} → ${r.server.ip}:${r.server.port}`, retx);
  }
  for (const e of report.timeline) if (!seen.has(e.stream)) bar(e, e.verdict, e.label, []);
  bars.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const ladders: Record<string, number> = {};
  for (const c of report.clusters) if (reps.clusterTrace(c)) ladders[String(c.id)] = c.representative;
  return { end, verdicts: [...VERDICTS], colors: VERDICTS.map((v) => VERDICT_COLORS[v]), bars, ladders };
}
