import { writeFileSync } from 'node:fs';
import { packets, showCommands } from './commands.js';
import { escapeXml as esc } from './escape.js';
import { FINDING_KINDS } from './findings/registry.js';
import { VERDICTS, type AnalysisReport, type Finding } from './report.js';
import { countsText, relayText } from './counts-text.js';
import type { Report, RunSection } from './run-report.js';
import { MAX_TIMELINE_ROWS, stevensSvg, timelineSvg, VERDICT_COLORS } from './svg-graphs.js';

/** Instances listed per finding in the page. */
const MAX_ROWS = 25;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:980px;color:#212121;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.sub{color:#616161}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#fafafa}.num{text-align:right}
.finding{border-left:4px solid #c62828;padding:4px 12px;margin:12px 0;background:#fff8f8}
.finding.warning{border-color:#ef6c00;background:#fffaf3}.finding.clean{border-color:#2e7d32;background:#f4fbf4}.ok{color:#2e7d32;font-weight:600}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:12px;margin-right:4px}
svg{display:block;margin:8px 0;max-width:100%;height:auto}
svg .plot{fill:#fff;stroke:#9e9e9e}svg .grid{stroke:#eeeeee}svg .tick{font-size:10px;fill:#616161}svg .axis{font-size:11px;fill:#424242}
svg .seg{stroke-width:2}svg .seg.retx{stroke-width:3}svg .ackline{fill:none;stroke:#9e9e9e;stroke-width:1.2}
svg .winline{fill:none;stroke:#f9a825;stroke-width:1.2}
svg .mark{font-size:11px;font-weight:700;fill:#6a1b9a}svg .mark-R{fill:#b71c1c}svg .mark.retx{fill:#d32f2f}
svg .retx-dot{fill:#d32f2f}svg .flag{fill:#d81b60}
.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
`;

/**
 * report.html: one self-contained page (inline CSS and SVG, nothing fetched), readable offline:
 * what was analysed, verdicts, each finding explained with the commands that show it, a
 * timeline of all connections and a time–sequence graph per flagged connection.
 */
export function formatHtml(report: Report): string {
  const cap = report.capture;
  const t = report.totals;
  const body: string[] = [];
  body.push(`<h1>tcpfuzz analyze: ${esc(cap.file ?? '(in memory)')}</h1>`);
  body.push(
    `<p class="sub">${cap.records} frames · ${cap.tcp_segments} TCP segments · ${t.connections} connections · ${cap.duration_s.toFixed(3)} s` +
      `${cap.start_unix_s !== null ? ` · started ${esc(new Date(cap.start_unix_s * 1000).toISOString())}` : ''}</p>`,
  );
  if (cap.error) body.push(`<p class="finding warning">Partial analysis: ${esc(cap.error)}</p>`);
  body.push(`<p class="finding ${report.verdict.exit_code === 0 ? 'clean' : 'error'}"><b>Verdict:</b> ${esc(report.verdict.summary)}</p>`);
  if (report.run) body.push(runHtml(report.run));

  body.push('<h2>Connections by verdict</h2><p>');
  for (const v of VERDICTS) {
    if (t.by_verdict[v] > 0) body.push(`<span class="badge" style="background:${VERDICT_COLORS[v]}">${v} ${t.by_verdict[v]}</span>`);
  }
  body.push('</p>');

  body.push('<h2>Findings</h2>');
  if (report.findings.length === 0) body.push('<p class="ok">No findings.</p>');
  else {
    body.push('<table><tr><th>finding</th><th class="num">connections</th></tr>');
    for (const k of FINDING_KINDS) if (t.findings[k] > 0) body.push(`<tr><td>${k}</td><td class="num">${t.findings[k]}</td></tr>`);
    body.push('</table>');
    for (const f of report.findings) body.push(findingHtml(report, f));
  }

  body.push('<h2>Timeline of all connections</h2>');
  body.push(
    '<p class="legend">' +
      VERDICTS.map((v) => `<span><i style="background:${VERDICT_COLORS[v]}"></i>${v}</span>`).join('') +
      '<span><i style="background:#d81b60;border-radius:6px"></i>finding</span></p>',
  );
  const drawn = Math.min(report.timeline.length, MAX_TIMELINE_ROWS);
  if (drawn < t.connections) {
    body.push(`<p class="sub">Drawn: ${drawn} of ${t.connections} connections (flagged ones first, then in stream order).</p>`);
  }
  body.push(timelineSvg(report.timeline, cap.duration_s));

  body.push('<h2>Time–sequence graphs of flagged connections</h2>');
  if (report.traces.length === 0) body.push('<p class="sub">No flagged connections.</p>');
  else {
    body.push(
      '<p class="sub">Each bar is a data segment from its first to its last sequence number at the time it was sent (Stevens graph); ' +
        'red: retransmission; S/F/R: SYN, FIN, RST; grey step line: the other side\'s cumulative ACK; yellow: the right edge of its ' +
        'receive window (it meets the grey line while the window is zero). Hover for details.</p>',
    );
    if (report.traces.length < t.flagged_connections) body.push(`<p class="sub">Graphs for the first ${report.traces.length} flagged connections.</p>`);
  }
  for (const tr of report.traces) {
    const omitted = tr.points_omitted > 0 ? ` (middle ${tr.points_omitted} segments not drawn)` : '';
    body.push(`<h3 id="stream-${tr.stream}">${esc(tr.label)} — ${esc(tr.findings.join(', '))}${omitted}</h3>`);
    body.push(stevensSvg(tr));
  }
  body.push(`<h2>Thresholds</h2><pre>${esc(JSON.stringify(report.options, null, 1))}</pre>`);

  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>tcpfuzz analyze: ${esc(cap.file ?? 'capture')}</title>`,
    `<style>${STYLE}</style></head><body>`,
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}

export function writeHtml(report: Report, path: string): void {
  writeFileSync(path, formatHtml(report));
}

function findingHtml(report: AnalysisReport, f: Finding): string {
  const cmd = showCommands(report, f);
  const rows = f.instances.slice(0, MAX_ROWS).map((i) => {
    const graph = report.traces.some((tr) => tr.stream === i.stream) ? `<a href="#stream-${i.stream}">#${i.stream}</a>` : `#${i.stream}`;
    return `<tr><td>${graph}</td><td>${esc(`${i.client.ip}:${i.client.port}`)}</td><td class="num">${i.t}</td><td>${esc(i.detail)}</td></tr>`;
  });
  const more = f.connections - rows.length;
  return [
    `<div class="finding ${f.severity}">`,
    `<h3>${esc(f.kind)}: ${esc(f.title)}</h3>`,
    `<p>${esc(f.explanation)}</p>`,
    `<pre>${esc(cmd.tcpdump)}   # ${packets(f.show.tcpdump_packets)}\n${esc(cmd.tshark)}   # ${packets(f.show.tshark_packets)}</pre>`,
    '<details><summary>connections</summary><table><tr><th>stream</th><th>client</th><th>t (s)</th><th>what happened</th></tr>',
    ...rows,
    '</table>',
    more > 0 ? `<p class="sub">… and ${more} more.</p>` : '',
    '</details></div>',
  ].join('\n');
}


/** The run's settings and what it saw, as a table (the job rows stay in report.json). */
function runHtml(run: RunSection): string {
  const rows: Array<[string, string]> = [
    ['target', run.target],
    ['bug profiles', run.bugs.map((b) => b.name).join(', ') || 'none'],
    ['link', run.link],
    ['seed', String(run.seed)],
    ['jobs', `${run.jobs} (${run.concurrency} at once, ${run.timeout_ms} ms each)${run.jobs_not_started > 0 ? `, ${run.jobs_not_started} never started` : ''}`],
    ['fuzzer', run.fuzzer === 'http' && run.http ? `http: ${run.http.specs.join(' ')}${run.http.mutate > 0 ? ` (${run.http.mutate} mutated variants)` : ''}` : `netcat: ${run.payload ?? ''}${run.half_close ? ', half-close' : ''}`],
    ['faults', run.faults ?? 'none'],
    ['duration', `${run.duration_ms} ms${run.interrupted ? ' (interrupted)' : ''}`],
    ['jobs ended', countsText(run.job_outcomes)],
    ['peer sockets at the end', `${countsText(run.peer_sockets_at_end.states)} (${run.peer_sockets_at_end.source})`],
    ['replay', run.command],
  ];
  if (run.stack_side !== 'none') rows.splice(-1, 0, [run.stack_side === 'client' ? 'our client stack at the end' : 'target stack at the end', countsText(run.stack_connections_at_end)]);
  if (run.target_exited) rows.push(['target', run.target_exited]);
  if (run.relay) rows.push(['relay', relayText(run.relay)]);
  return ['<h2>Run</h2><table>', ...rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${k === 'replay' ? `<code>${esc(v)}</code>` : esc(v)}</td></tr>`), '</table>'].join('\n');
}
