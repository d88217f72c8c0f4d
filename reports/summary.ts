import { packets, showCommands } from './commands.js';
import { VERDICTS, type AnalysisReport, type ConnectionRecord, type Finding } from './report.js';
import { countsText, relayText } from './counts-text.js';
import { shapeEnding } from './shape.js';
import type { Report } from './run-report.js';

export interface SummaryOptions {
  /** ANSI colours (a TTY). */
  color?: boolean;
  /** Finding groups printed in full (the rest are listed by title). */
  maxFindings?: number;
  /** Worst connections listed. */
  maxWorst?: number;
  /** Connection shapes listed (the largest). */
  maxShapes?: number;
}

const CODES = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1 } as const;

/** The retransmission-like counters worth a glance, per direction. */
const GLANCE = [
  ['rexmt_pkts', 'retransmissions'],
  ['dup_acks', 'dup ACKs'],
  ['zero_win_adverts', 'zero windows'],
  ['lost_segment', 'not captured'],
] as const;

/**
 * The terminal summary, readable in ten seconds: what was analysed, connections by verdict,
 * each finding with its one-line title, a plain explanation, an example connection and the
 * tcpdump/tshark command that shows it, then the worst connections and the run's context.
 */
export function formatSummary(report: AnalysisReport, opts: SummaryOptions = {}): string {
  const paint = (code: keyof typeof CODES, s: string): string => (opts.color ? `\x1b[${CODES[code]}m${s}\x1b[0m` : s);
  const out: string[] = [];
  const cap = report.capture;
  const t = report.totals;
  out.push(
    `${paint('bold', 'tcpfuzz analyze')} ${cap.file ?? '(in memory)'}: ${cap.records} frames, ${cap.tcp_segments} TCP, ` +
      `${t.connections} connection${t.connections === 1 ? '' : 's'}, ${cap.duration_s.toFixed(3)} s`,
  );
  if (cap.error) out.push(paint('yellow', `partial: ${cap.error}; analysed what was read before it`));
  const verdicts = VERDICTS.filter((v) => t.by_verdict[v] > 0).map((v) => `${v} ${t.by_verdict[v]}`);
  out.push(`verdicts: ${verdicts.length > 0 ? verdicts.join(' · ') : 'no TCP connections'}`);
  const glance = GLANCE.map(([k, name]) => `${name} ${t.c2s[k]}/${t.s2c[k]}`).join(' · ');
  out.push(paint('dim', `client→server/server→client: ${glance}`));
  out.push('');

  if (report.findings.length === 0) {
    out.push(paint('green', '✓ no findings'));
  } else {
    const errors = report.findings.filter((f) => f.severity === 'error').length;
    out.push(paint('bold', `FINDINGS: ${report.findings.length} (${errors} error${errors === 1 ? '' : 's'})`));
    const shown = report.findings.slice(0, opts.maxFindings ?? 8);
    for (const f of shown) out.push(...findingLines(report, f, paint));
    const rest = report.findings.slice(shown.length);
    for (const f of rest) out.push(`  ${mark(f, paint)} ${f.kind}: ${f.title}`);
  }

  out.push('', ...shapeLines(report, opts.maxShapes ?? 5));

  const worst = worstConnections(report.connections, opts.maxWorst ?? 5);
  if (worst.length > 0) {
    out.push('', paint('bold', 'worst connections:'));
    for (const r of worst) {
      const rex = r.c2s.rexmt_pkts + r.s2c.rexmt_pkts;
      out.push(
        `  #${r.stream} ${r.client.ip}:${r.client.port} → ${r.server.ip}:${r.server.port}  ${r.close.verdict}  ` +
          `${r.findings.join(', ')}  (${r.frames.count} pkts, ${rex} retransmitted, client ${r.close.state_guess.client} / server ${r.close.state_guess.server})`,
      );
    }
  }
  return out.join('\n') + '\n';
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The connections by shape: "1 shape, 128 connections: → SYN ← SYN/ACK … ← ACK … no FIN from the
 * server", or one line per shape, largest first, with its count, verdict and findings.
 */
function shapeLines(report: AnalysisReport, max: number): string[] {
  const cs = report.clusters;
  if (cs.length === 0) return [];
  const n = report.totals.connections;
  const line = (c: (typeof cs)[number]): string => `${c.signature} … ${shapeEnding(c.shape, c.verdict)}`;
  const head = `${plural(cs.length, 'shape')}, ${plural(n, 'connection')}`;
  if (cs.length === 1) return [`${head}: ${line(cs[0]!)}`];
  const out = [`${head}:`];
  for (const c of cs.slice(0, max)) out.push(`  ${c.connections} × ${line(c)}  (${c.verdict}${c.findings.length > 0 ? `: ${c.findings.join(', ')}` : ''})`);
  if (cs.length > max) out.push(`  … and ${plural(cs.length - max, 'more shape')} (report.html lists them)`);
  if (report.unclustered_connections > 0) out.push(`  ${plural(report.unclustered_connections, 'connection')} of further shapes not grouped`);
  return out;
}


/**
 * The terminal summary of a run: what ran, how the jobs ended, what the peers' sockets and our
 * stack hold at the end, then the capture analysis' summary (findings with the tcpdump/tshark
 * filter that shows each, the run's own findings among them), then where the files are.
 */
export function formatRunSummary(report: Report, opts: SummaryOptions = {}): string {
  const run = report.run;
  if (!run) return formatSummary(report, opts);
  const bug = run.bugs.length > 0 ? ` with bug ${run.bugs.map((b) => b.name).join(', ')}` : '';
  const faults = run.faults ? `, faults ${run.faults}` : '';
  const ran = run.jobs - run.jobs_not_started;
  const lines = [`fuzz run: ${run.target}${bug}: ${plural(ran, 'job')} (${run.concurrency} at once) over ${run.link}, seed ${run.seed}${faults}`];
  if (run.partial) lines.push(`PARTIAL RUN: ${run.interrupted ? 'interrupted; ' : ''}${run.jobs_not_started} of ${run.jobs} jobs never started`);
  lines.push(`jobs ended: ${countsText(run.job_outcomes)}`);
  if (run.http) {
    const specs = `spec${run.http.specs.length > 1 ? 's' : ''} ${run.http.specs.join(' ')}${run.http.mutate > 0 ? `, ${run.http.mutate} mutated variants` : ''}`;
    lines.push(`HTTP responses: ${countsText(run.http.statuses)}  (${specs})`);
  }
  lines.push(`peer sockets at the end: ${countsText(run.peer_sockets_at_end.states)}  (${run.peer_sockets_at_end.source})`);
  if (run.stack_side !== 'none') lines.push(`${run.stack_side === 'client' ? 'our client stack' : 'target stack'} connections at the end: ${countsText(run.stack_connections_at_end)}`);
  if (run.target_exited) lines.push(`target: ${run.target_exited}`);
  if (run.relay) lines.push(`relay: ${relayText(run.relay)}`);
  if (run.harness?.overloaded) lines.push(run.harness.summary);
  for (const a of report.set_apart) {
    if (a.findings.length === 0) continue;
    lines.push(`  not charged to the target (${a.reason}): ${a.findings.map((f) => `${f.kind} on ${f.connections}`).join(', ')} of ${plural(a.connections, 'connection')}`);
  }
  if (run.fault_stats) {
    lines.push(`injected faults: ${countsText(run.fault_stats)} on ${run.fault_touched_connections ?? 0} connections`);
    for (const e of report.verdict.explained_by_faults) {
      lines.push(`  explained by the injected faults (not counted): ${e.kind} on ${e.connections} connection${e.connections === 1 ? '' : 's'}, every one of them hit by the injector`);
    }
  }
  lines.push('', formatSummary(report, opts), '');
  const v = report.versus;
  if (v) {
    const list = (k: string[]): string => (k.length > 0 ? k.join(', ') : 'none');
    lines.push(`versus ${v.target} (same jobs, seed ${run.seed}): ${v.summary}`);
    lines.push(`  the target's alone: ${list(v.target_only)} · both: ${list(v.shared)} · the reference's alone: ${list(v.versus_only)}  (${v.report})`, '');
  }
  lines.push(`files: ${[run.files.pcap, run.files.trace, run.files.report, run.files.junit, run.files.html].join('  ')}`);
  lines.push(`replay: ${run.command}`);
  return lines.join('\n');
}

function mark(f: Finding, paint: (c: keyof typeof CODES, s: string) => string): string {
  return f.severity === 'error' ? paint('red', '✗') : paint('yellow', '!');
}

function findingLines(report: AnalysisReport, f: Finding, paint: (c: keyof typeof CODES, s: string) => string): string[] {
  const cmd = showCommands(report, f);
  const lines = [`${mark(f, paint)} ${paint('bold', f.kind)}  ${f.title}`];
  for (const l of wrap(f.explanation, 96)) lines.push(`    ${l}`);
  const ex = f.instances[0];
  if (ex) lines.push(`    e.g. #${ex.stream} ${ex.client.ip}:${ex.client.port} → ${ex.server.ip}:${ex.server.port}: ${ex.detail}`);
  lines.push(paint('dim', `    show: ${cmd.tcpdump}  (${packets(f.show.tcpdump_packets)})`));
  lines.push(paint('dim', `          ${cmd.tshark}  (${packets(f.show.tshark_packets)})`));
  return lines;
}

/** Flagged connections, most finding kinds first, then most retransmissions. */
function worstConnections(records: ConnectionRecord[], n: number): ConnectionRecord[] {
  const score = (r: ConnectionRecord): number => r.findings.length * 1e9 + r.c2s.rexmt_pkts + r.s2c.rexmt_pkts;
  return records
    .filter((r) => r.findings.length > 0)
    .sort((a, b) => score(b) - score(a) || a.stream - b.stream)
    .slice(0, n);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
