import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { UsageError } from '../../stack/user-error.js';
import { readJson } from '../../reports/json.js';
import { formatRunSummary } from '../../reports/summary.js';
import { reportFilePaths, writePage } from '../../reports/write.js';

export const reportCommand: Command = {
  usage: `usage: fuzz report DIR

Redraws report.html (and the findings' ladder-<finding>.svg beside it) from a run's folder —
its report.json and, for our stack's states on the ladders, its trace.log — and prints the
run's summary. Nothing is run or analysed again. Exit 0 when the report is clean, 1 when it has
findings, 2 when DIR holds no readable report.json.`,
  async run(argv) {
    const { positionals } = parseFlags(argv, {});
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'report needs a run folder: fuzz report DIR' : `report takes one folder, got ${positionals.length}`);
    const dir = positionals[0]!;
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new UsageError(`${dir}: no such folder`);
    }
    if (!isDir) throw new UsageError(`${dir}: not a folder (fuzz report takes a run's folder; fuzz analyze takes a capture)`);
    const files = reportFilePaths(dir);
    const report = readJson(files.json);
    const ladders = writePage(report, files.html, join(dir, 'trace.log'));
    process.stdout.write(formatRunSummary(report, { color: process.stdout.isTTY === true && !process.env['NO_COLOR'] }) + '\n');
    process.stderr.write(`fuzz report: wrote ${[files.html, ...ladders].join('  ')}\n`);
    return report.verdict.exit_code;
  },
};
