import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { durationFlag, intFlag } from '../../harness/flag-values.js';
import { UsageError } from '../../stack/user-error.js';
import { analyzeCapture, parseServerHint } from '../../reports/analyzer.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../reports/report.js';
import { formatSummary } from '../../reports/summary.js';
import { formatHtml } from '../../reports/html/index.js';
import { writeReportFiles } from '../../reports/write.js';
import { finalReport } from '../../reports/verdict.js';

const d = DEFAULT_THRESHOLDS;

export const ANALYZE_USAGE = `usage: fuzz analyze FILE [--server ADDR[:PORT]] [--json] [--out DIR] [--html FILE] [--partial] [thresholds]

Judges every TCP connection in a pcap or pcapng capture (tcpdump, Wireshark, fuzz run):
verdicts (complete, reset, refused, unanswered, half-closed, hang, open) and findings, each
with the tcpdump/tshark command that shows it. Per-frame analysis equals Wireshark's
(tcp.analysis.*). Exit 0 no findings, 1 findings, 2 unreadable input or bad flags.

  --server ADDR[:PORT]    which side is the server (default: the side that received the SYN)
  --json                  print report.json to stdout instead of the summary
  --out DIR               write report.json, junit.xml, report.html and the ladder SVGs into DIR
  --html FILE             write the page alone to FILE (the same report.html, one self-contained file)
  --partial               analyse what was readable from a truncated or corrupt file
thresholds (findings):
  --hang MS               no payload this long at the end, and a side waiting (default ${d.hang_ms} ms)
  --fin-wait MS           a FIN unanswered this long is a missing FIN (default ${d.fin_wait_ms} ms)
  --storm N               one segment sent N times is a retransmit storm (default ${d.storm_count})
  --slow-handshake MS     SYN→SYN/ACK or SYN→ACK slower than this (default ${d.slow_handshake_ms} ms)
  --zero-window MS        a zero window held this long (default ${d.zero_window_ms} ms)
  --after-close N         retransmissions after close (default ${d.after_close_count})
  --dup-ack-after-fin N   duplicate ACKs after FIN answering resent data (default ${d.dup_ack_after_fin_count})
  --stall MS              data outstanding and not moving this long is a stall (default ${d.stall_ms} ms)
  --isn-min N             judge a server's ISNs from N connections on (default ${d.isn_min_connections})`;

const FLAGS = {
  server: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  html: { type: 'string' },
  partial: { type: 'boolean' },
  hang: { type: 'string' },
  'fin-wait': { type: 'string' },
  storm: { type: 'string' },
  'slow-handshake': { type: 'string' },
  'zero-window': { type: 'string' },
  'after-close': { type: 'string' },
  'dup-ack-after-fin': { type: 'string' },
  stall: { type: 'string' },
  'isn-min': { type: 'string' },
} as const;

function thresholdsFrom(v: Record<string, string | boolean | undefined>): Thresholds {
  const s = (k: string): string | undefined => v[k] as string | undefined;
  return {
    hang_ms: durationFlag('hang', s('hang'), d.hang_ms),
    fin_wait_ms: durationFlag('fin-wait', s('fin-wait'), d.fin_wait_ms),
    storm_count: intFlag('storm', s('storm'), d.storm_count, 2, 1000),
    slow_handshake_ms: durationFlag('slow-handshake', s('slow-handshake'), d.slow_handshake_ms),
    zero_window_ms: durationFlag('zero-window', s('zero-window'), d.zero_window_ms),
    after_close_count: intFlag('after-close', s('after-close'), d.after_close_count, 1, 1000),
    dup_ack_after_fin_count: intFlag('dup-ack-after-fin', s('dup-ack-after-fin'), d.dup_ack_after_fin_count, 1, 1000),
    stall_ms: durationFlag('stall', s('stall'), d.stall_ms),
    isn_min_connections: intFlag('isn-min', s('isn-min'), d.isn_min_connections, 2, 1_000_000),
  };
}

/** The file must exist and be a readable regular file; anything else is one line, exit 2. */
function checkReadable(file: string): void {
  let st;
  try {
    st = statSync(file);
    accessSync(file, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`${file}: not a regular file`);
}

/** --html FILE: a path that cannot be written is the user's to fix (one line, exit 2). */
function writeHtmlFile(path: string, html: string): void {
  try {
    writeFileSync(path, html);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--html ${path}: ${code === 'ENOENT' ? 'no such folder' : code === 'EISDIR' ? 'is a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
}

export const analyzeCommand: Command = {
  usage: ANALYZE_USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'analyze needs a capture file: fuzz analyze FILE' : `analyze takes one file, got ${positionals.length}`);
    }
    const file = positionals[0]!;
    let server = null;
    if (values.server !== undefined) {
      server = parseServerHint(values.server) ?? null;
      if (!server) throw new UsageError(`--server must be ADDR or ADDR:PORT (IPv4), got '${values.server}'`);
    }
    const thresholds = thresholdsFrom(values);
    checkReadable(file);
    const analysis = await analyzeCapture(file, { server, thresholds, partial: values.partial === true });
    if (analysis.capture.error && analysis.capture.records === 0) {
      throw new UsageError(`${file}: ${analysis.capture.error} (no records read)`);
    }
    const report = finalReport(analysis, { findings: analysis.findings, explained: [], run: null });
    if (values.out !== undefined) writeReportFiles(report, values.out);
    if (values.html !== undefined) writeHtmlFile(values.html, formatHtml(report));
    if (values.json) process.stdout.write(JSON.stringify(report, null, 1) + '\n');
    else process.stdout.write(formatSummary(report, { color: process.stdout.isTTY === true && !process.env['NO_COLOR'] }));
    if (report.capture.error) process.stderr.write(`fuzz: ${file}: partial analysis: ${report.capture.error}\n`);
    return report.verdict.exit_code;
  },
};
