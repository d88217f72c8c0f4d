import { countsText, relayText } from '../counts-text.js';
import { escapeXml as esc } from '../escape.js';
import type { JobRow, Report, RunSection } from '../run-report.js';
import { scriptJson } from './script-json.js';

/** The run's settings and what it saw, as a table, and the command that replays it. */
export function runSectionHtml(report: Report, run: RunSection): string {
  const rows: Array<[string, string]> = [
    ['target', `${run.target} (${run.target_kind}, ${run.server})`],
    ['bug profiles', run.bugs.map((b) => `${b.name}: ${b.summary}`).join('; ') || 'none'],
    ['link', run.link],
    ['seed', `${run.seed} (${Object.entries(run.seeds).map(([k, v]) => `${k} ${v}`).join(', ')})`],
    ['jobs', `${run.jobs} (${run.concurrency} at once, ${run.timeout_ms} ms each)${run.jobs_not_started > 0 ? `, ${run.jobs_not_started} never started` : ''}`],
    ['fuzzer', run.fuzzer === 'http' && run.http ? `http: ${run.http.specs.join(' ')}${run.http.mutate > 0 ? ` (${run.http.mutate} mutated variants)` : ''}` : `netcat: ${run.payload ?? ''}${run.half_close ? ', half-close' : ''}`],
    ['faults', run.faults ? `${run.faults}${run.fault_stats ? `: ${countsText(run.fault_stats)} on ${run.fault_touched_connections ?? 0} connections` : ''}` : 'none'],
    ['duration', `${run.duration_ms} ms${run.interrupted ? ' (interrupted)' : ''}${run.partial ? ', partial' : ''}`],
    ['jobs ended', countsText(run.job_outcomes)],
    ['HTTP responses', run.http ? countsText(run.http.statuses) : ''],
    ['peer sockets at the end', `${countsText(run.peer_sockets_at_end.states)} (${run.peer_sockets_at_end.source})`],
    [run.stack_side === 'client' ? 'our client stack at the end' : 'target stack at the end', run.stack_side === 'none' ? '' : countsText(run.stack_connections_at_end)],
    ['our stack\'s TCP counters', run.stack_side === 'none' ? '' : countsText(run.stack_tcp_counters)],
    ['target exited', run.target_exited ?? ''],
    ['relay', run.relay ? relayText(run.relay) : ''],
    ['versus', report.versus ? `${report.versus.target}: ${report.versus.summary} — the target's alone: ${report.versus.target_only.join(', ') || 'none'}; both: ${report.versus.shared.join(', ') || 'none'}; the reference's alone: ${report.versus.versus_only.join(', ') || 'none'} (${report.versus.report})` : ''],
    ['files', [run.files.pcap, run.files.trace, run.files.report, run.files.junit, run.files.html].join('  ')],
  ];
  return [
    '<h2 id="run">Run</h2><table>',
    ...rows.filter(([, v]) => v !== '').map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`),
    '</table>',
    `<h3>Replay</h3><pre>${esc(run.command)}</pre>`,
    `<p class="sub">Same seed: the same jobs${run.link === 'sim' ? ' and, on the sim link, the same pcap bytes' : ''}. ${esc(`fuzz report ${dirOf(run.files.report)}`)} redraws this page from the run's folder.</p>`,
    report.verdict.explained_by_faults.length > 0 ? `<p class="sub">Explained by the injected faults (not counted): ${esc(report.verdict.explained_by_faults.map((f) => `${f.kind} on ${f.connections}`).join(', '))}.</p>` : '',
  ].join('\n');
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i > 0 ? path.slice(0, i) : '.';
}

const JOB_COLUMNS = ['job', 'outcome', 'client', 'connect ms', 'first byte ms', 'bytes out', 'bytes in', 'data', 'peer socket', 'stream', 'verdict', 'findings'] as const;

function jobCells(r: JobRow): string[] {
  const num = (v: number | null): string => (v === null ? '' : String(Math.round(v * 1000) / 1000));
  const http = r.http ? ` ${r.http.map((h) => `${h.status ?? h.error ?? '?'}${h.malformed ? ' malformed' : ''}`).join(' ')}` : '';
  return [
    String(r.job),
    `${r.outcome}${r.detail ? ` (${r.detail})` : ''}${http}`,
    r.client ?? '',
    num(r.connect_ms),
    num(r.first_byte_ms),
    String(r.bytes_out),
    String(r.bytes_in),
    r.data_ok === null ? '' : r.data_ok ? 'ok' : `wrong${r.data_problem ? `: ${r.data_problem}` : ''}`,
    r.peer_state_at_end ?? '',
    r.stream === null ? '' : `#${r.stream}`,
    r.verdict ?? '',
    r.findings.join(', '),
  ];
}

/** The jobs as a searchable table, 50 rows a page (the page's script renders it from the rows' data). */
export function jobsSectionHtml(run: RunSection): string {
  return [
    `<h2 id="jobs">Jobs: ${run.job_rows.length}${run.job_rows_omitted > 0 ? ` (and ${run.job_rows_omitted} not kept)` : ''}</h2>`,
    '<p><input id="jobs-q" type="search" placeholder="search: timeout, FIN_WAIT2, #12, 10.77.0.1:40000 …"> <button id="jobs-prev" type="button">‹ previous</button> <button id="jobs-next" type="button">next ›</button> <span id="jobs-count" class="sub"></span></p>',
    `<table id="jobs-table"><thead><tr>${JOB_COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody id="jobs-body"></tbody></table>`,
    '<noscript><p class="sub">The jobs table needs JavaScript; report.json has every row.</p></noscript>',
    scriptJson('jobs-data', run.job_rows.map(jobCells)),
  ].join('\n');
}
