import { packets, showCommands } from '../commands.js';
import { countsText } from '../counts-text.js';
import { escapeXml as esc } from '../escape.js';
import { VERDICTS, type ConnectionCluster, type Finding, type SequenceTrace } from '../report.js';
import type { Report } from '../run-report.js';
import type { LaneTransitions } from '../trace-log.js';
import { jobsClient, openLinksClient, timelineClient } from './client.js';
import { ladderSvg, miniLadderSvg, type LadderContext } from './ladder.js';
import { Representatives } from './representatives.js';
import { runSectionHtml, jobsSectionHtml } from './run-section.js';
import { stevensSvg, VERDICT_COLORS } from './stevens.js';
import { scriptJson } from './script-json.js';
import { PAGE_STYLE } from './style.js';
import { timelineData } from './timeline.js';

/** Instances listed per finding. */
const MAX_ROWS = 25;
/** Clusters listed; the rest are counted. */
const MAX_CLUSTER_ROWS = 50;
/** Clusters whose ladder and time–sequence graph the page draws (the page stays small: see bench/report.ts). */
const MAX_CLUSTER_DIAGRAMS = 8;
/** Member streams listed in a cluster's row. */
const MAX_MEMBERS_SHOWN = 60;

/** What the page knows besides the report: our stack's transitions from trace.log, matched to the kept traces. */
export interface PageInputs {
  lanes: LaneTransitions[];
}

/** The ladder of one kept trace, with our stack's lane when trace.log had it. */
export function traceLadder(report: Report, inputs: PageInputs, trace: SequenceTrace, standalone: boolean): string {
  const lane = inputs.lanes.find((l) => l.stream === trace.stream);
  const client = `${trace.client.ip}:${trace.client.port}`;
  const ctx: LadderContext = {
    startUnixS: report.capture.start_unix_s,
    captureEndS: report.capture.duration_s,
    captureFrames: report.capture.records,
    standalone,
    faults: (report.run?.fault_events ?? []).filter((e) => e.client === client),
    stackSide: lane?.side ?? (report.run?.stack_side === 'client' ? 'client' : 'server'),
  };
  return ladderSvg(trace, lane, ctx);
}

/**
 * report.html: one self-contained page (inline style, script and SVG; nothing fetched), a
 * diagnosis first: the verdict in words and numbers, then each finding with its explanation,
 * the commands that show it and the ladder of a representative connection; then the connections
 * clustered by shape, the timeline of every connection, the run's settings and how to replay it,
 * and the jobs as a searchable table. A pure function of the report (and trace.log's lanes).
 */
export function formatHtml(report: Report, inputs: PageInputs = { lanes: [] }): string {
  const reps = new Representatives(report);
  const shownLadders = new Set<number>();
  const body: string[] = [];
  body.push(header(report), banner(report));

  body.push('<h2 id="findings">Findings</h2>');
  if (report.findings.length === 0) {
    body.push('<p class="ok">No findings.</p>');
    const typical = report.clusters.find((c) => reps.clusterTrace(c));
    const tr = typical && reps.clusterTrace(typical);
    if (typical && tr) {
      body.push(`<h3>A typical connection: #${tr.stream}, one of ${typical.connections} of its shape</h3>`, `<div class="ladder-wrap" id="ladder-${tr.stream}">${traceLadder(report, inputs, tr, false)}</div>`);
      shownLadders.add(tr.stream);
    }
  }
  for (const f of report.findings) body.push(findingHtml(report, inputs, reps, f, shownLadders));
  for (const f of report.verdict.explained_by_faults) body.push(findingHtml(report, inputs, reps, f, shownLadders, true));

  body.push(clustersHtml(report, inputs, reps, shownLadders));
  body.push(timelineHtml(report, reps));
  if (report.run) body.push(runSectionHtml(report, report.run));
  body.push(`<h2>Thresholds</h2><table>${Object.entries(report.options.thresholds)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td class="num">${v}</td></tr>`)
    .join('')}${report.options.server ? `<tr><th>server</th><td>${esc(report.options.server)}</td></tr>` : ''}</table>`);
  if (report.run) body.push(jobsSectionHtml(report.run));

  const title = report.run ? `tcpfuzz run: ${report.run.target}` : `tcpfuzz analyze: ${report.capture.file ?? 'capture'}`;
  const scripts = [timelineClient, jobsClient, openLinksClient].map((fn) => `(${String(fn)})();`).join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${PAGE_STYLE}</style></head><body><div id="page">`,
    ...body,
    `</div><script>${scripts}</script></body></html>`,
    '',
  ].join('\n');
}

function header(report: Report): string {
  const cap = report.capture;
  const t = report.totals;
  const run = report.run;
  const what = run
    ? `${esc(run.target)}${run.bugs.length > 0 ? ` with bug ${esc(run.bugs.map((b) => b.name).join(', '))}` : ''} · ${run.jobs} jobs over ${run.link} · seed ${run.seed}${run.faults ? ` · faults ${esc(run.faults)}` : ''}`
    : esc(cap.file ?? '(in memory)');
  const parts = [
    `<h1>tcpfuzz ${run ? 'run' : 'analyze'}: ${what}</h1>`,
    `<p class="sub">${cap.records} frames · ${cap.tcp_segments} TCP segments · ${t.connections} connections · ${cap.duration_s.toFixed(3)} s` +
      `${cap.start_unix_s !== null ? ` · started ${esc(new Date(cap.start_unix_s * 1000).toISOString())}` : ''}` +
      ` · <a href="#clusters">shapes</a> · <a href="#timeline">timeline</a>${run ? ' · <a href="#run">settings</a> · <a href="#jobs">jobs</a>' : ''}</p>`,
  ];
  if (cap.error) parts.push(`<p class="finding warning">Partial analysis: ${esc(cap.error)}</p>`);
  return parts.join('\n');
}

/** The verdict in words, then in numbers: connections by verdict, the sockets at the end, the shapes. */
function banner(report: Report): string {
  const t = report.totals;
  const verdicts = VERDICTS.filter((v) => t.by_verdict[v] > 0).map((v) => `${t.by_verdict[v]} ${v}`);
  const nums = [`${t.connections} connection${t.connections === 1 ? '' : 's'}: ${verdicts.join(', ') || 'none'}`];
  const run = report.run;
  if (run) {
    nums.push(`peer sockets at the end: ${countsText(run.peer_sockets_at_end.states)}`);
    if (run.stack_side !== 'none') nums.push(`${run.stack_side === 'client' ? 'our client stack' : 'target stack'} at the end: ${countsText(run.stack_connections_at_end)}`);
    nums.push(`jobs: ${countsText(run.job_outcomes)}`);
  }
  const shapes = report.clusters.length;
  nums.push(`${shapes} shape${shapes === 1 ? '' : 's'}`);
  const clean = report.verdict.exit_code === 0;
  return [
    `<div class="banner${clean ? ' clean' : ''}" id="verdict">`,
    `<div class="head">${clean ? '✓ ' : '✗ '}${esc(report.verdict.summary)}</div>`,
    `<div class="nums">${esc(nums.join(' · '))}</div>`,
    '</div>',
  ].join('');
}

function findingHtml(report: Report, inputs: PageInputs, reps: Representatives, f: Finding, shown: Set<number>, explained = false): string {
  const cmd = showCommands(report, f);
  const cluster = reps.forFinding(f);
  const trace = cluster && reps.clusterTrace(cluster);
  const parts = [
    `<div class="finding ${explained ? 'explained' : f.severity}" data-kind="${esc(f.kind)}">`,
    `<h3>${f.severity === 'error' ? '✗' : '!'} ${esc(f.kind)}: ${esc(f.title)}${explained ? ' — explained by the injected faults' : ''}</h3>`,
    `<p>${esc(f.explanation)}</p>`,
  ];
  if (cluster && trace) {
    const same = cluster.connections > 1 ? `, one of ${cluster.connections} connections of this shape (<a href="#cluster-${cluster.id}" data-open="cluster-${cluster.id}">its cluster</a>)` : '';
    parts.push(`<p class="sub">Ladder of #${trace.stream}${same}:</p>`);
    if (shown.has(trace.stream)) parts.push(`<p class="sub"><a href="#ladder-${trace.stream}">the same connection's ladder is above</a></p>`);
    else {
      shown.add(trace.stream);
      parts.push(`<div class="ladder-wrap" id="ladder-${trace.stream}">${traceLadder(report, inputs, trace, false)}</div>`);
    }
  }
  parts.push(`<pre>${esc(cmd.tcpdump)}   # ${packets(f.show.tcpdump_packets)}\n${esc(cmd.tshark)}   # ${packets(f.show.tshark_packets)}</pre>`);
  const rows = f.instances.slice(0, MAX_ROWS).map((i) => `<tr><td>#${i.stream}</td><td>${esc(`${i.client.ip}:${i.client.port}`)}</td><td class="num">${i.t}</td><td>${esc(i.detail)}</td></tr>`);
  const more = f.connections - rows.length;
  parts.push(
    `<details><summary>${f.connections} connection${f.connections === 1 ? '' : 's'}${f.jobs ? `, jobs ${esc(f.jobs.slice(0, 20).join(', '))}${f.jobs.length > 20 ? ' …' : ''}` : ''}</summary>`,
    rows.length > 0 ? `<table><tr><th>stream</th><th>client</th><th>t (s)</th><th>what happened</th></tr>${rows.join('')}</table>` : '',
    more > 0 && rows.length > 0 ? `<p class="sub">… and ${more} more.</p>` : '',
    '</details></div>',
  );
  return parts.join('\n');
}

function clustersHtml(report: Report, inputs: PageInputs, reps: Representatives, shown: Set<number>): string {
  const cs = report.clusters;
  const parts = [
    `<h2 id="clusters">Connections by shape: ${cs.length} shape${cs.length === 1 ? '' : 's'}</h2>`,
    '<p class="sub">A shape is who sent what, in order (→ client to server, ← server to client; plain ACKs of data left out; <code>+</code>: repeated), with the verdict and the findings. ' +
      'Each shape\'s first connection stands for it; open a row for its ladder and its time–sequence graph.</p>',
  ];
  if (report.unclustered_connections > 0) parts.push(`<p class="sub">${report.unclustered_connections} connections of further shapes are not listed.</p>`);
  parts.push('<table class="clusters"><tr><th class="num">connections</th><th>shape</th><th>mini ladder</th><th>members</th></tr>');
  let diagrams = 0;
  for (const c of cs.slice(0, MAX_CLUSTER_ROWS)) {
    const trace = reps.clusterTrace(c);
    const draw = trace !== undefined && diagrams < MAX_CLUSTER_DIAGRAMS;
    if (draw) diagrams++;
    parts.push(
      `<tr data-cluster="${c.id}"><td class="num"><b>${c.connections}</b></td>`,
      `<td class="sig"><span class="badge" style="background:${VERDICT_COLORS[c.verdict]}">${c.verdict}</span>${esc(c.findings.join(', ') || 'no findings')}<br>${esc(c.signature)}`,
      draw ? clusterDiagrams(report, inputs, c, trace, shown) : '',
      '</td>',
      `<td>${miniLadderSvg(c.shape)}</td>`,
      `<td class="members">${membersText(c)}</td></tr>`,
    );
  }
  parts.push('</table>');
  if (cs.length > MAX_CLUSTER_ROWS) parts.push(`<p class="sub">… and ${cs.length - MAX_CLUSTER_ROWS} more shapes (report.json has them all).</p>`);
  return parts.join('\n');
}

function clusterDiagrams(report: Report, inputs: PageInputs, c: ConnectionCluster, trace: SequenceTrace, shown: Set<number>): string {
  const ladder = shown.has(trace.stream)
    ? `<p class="sub"><a href="#ladder-${trace.stream}">its ladder is above</a></p>`
    : `<div class="ladder-wrap">${traceLadder(report, inputs, trace, false)}</div>`;
  const omitted = trace.points_omitted > 0 ? ` (middle ${trace.points_omitted} segments not drawn)` : '';
  return [
    `<details id="cluster-${c.id}"><summary>ladder and time–sequence graph of #${trace.stream}</summary>`,
    ladder,
    `<p class="sub">Time–sequence graph${omitted}: each bar a data segment from its first to its last sequence number; red: retransmission; S/F/R: SYN, FIN, RST; grey: the peer's cumulative ACK; yellow: the right edge of its receive window.</p>`,
    stevensSvg(trace),
    '</details>',
  ].join('');
}

function membersText(c: ConnectionCluster): string {
  const shown = c.members.slice(0, MAX_MEMBERS_SHOWN).map((s) => `#${s}`);
  const rest = c.connections - shown.length;
  return `${shown.join(' ')}${rest > 0 ? ` … and ${rest} more` : ''}`;
}

function timelineHtml(report: Report, reps: Representatives): string {
  const data = timelineData(report, reps);
  const missing = report.totals.connections - data.bars.length;
  return [
    `<h2 id="timeline">Timeline: ${data.bars.length} connection${data.bars.length === 1 ? '' : 's'} over ${report.capture.duration_s.toFixed(3)} s</h2>`,
    '<p class="legend">' +
      VERDICTS.filter((v) => report.totals.by_verdict[v] > 0)
        .map((v) => `<span><i style="background:${VERDICT_COLORS[v]}"></i>${v}</span>`)
        .join('') +
      '<span><i style="background:#212121;width:3px"></i>retransmission</span></p>',
    '<p class="sub">One bar per connection, in the order they started, from its first segment to its last; a connection still open at one end (half-closed, hung, open) runs to the end of the capture. Drag a rectangle to zoom, double-click to see all; click a bar for its ladder. <button id="tl-reset" type="button">show all</button></p>',
    missing > 0 ? `<p class="sub">${missing} connections are not drawn (report.json keeps ${data.bars.length} of them).</p>` : '',
    '<div id="tl-box"><canvas id="tl" width="980" height="200"></canvas></div><div id="tl-info"></div>',
    scriptJson('tl-data', data),
  ].join('\n');
}
