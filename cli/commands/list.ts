import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { UsageError } from '../../stack/user-error.js';
import { BUILTIN_SERVICES } from '../../targets/registry.js';
import { BUG_PROFILES } from '../../stack/tcp/bugs.js';
import { ALL_FINDING_RULES } from '../../harness/run-findings/registry.js';
import { findingsTable } from '../../reports/findings/table.js';
import { listCases } from '../../harness/cases.js';
import { TARGET_KINDS, targetKindOf } from '../../harness/target-kinds.js';

/** `fuzz list`: targets, bug profiles and cases, one line each; `--findings`: the finding kinds. */
export const listCommand: Command = {
  usage:
    'usage: fuzz list [--json]\n       fuzz list --findings [--json | --markdown]\n\n' +
    "Lists the built-in targets, the stack's bug profiles and the bug cases, one line each.\n" +
    'With --findings, the finding kinds a run reports (from the capture, or from the run itself):\nkind, severity, where it is found and what each means\n' +
    "(--markdown: as the README's table).",
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' }, findings: { type: 'boolean' }, markdown: { type: 'boolean' } }, false);
    if (values.markdown && !values.findings) throw new UsageError('--markdown goes with --findings');
    if (values.markdown && values.json) throw new UsageError('--markdown and --json exclude each other');
    const section = (title: string, rows: Array<{ name: string; summary: string }>): string[] => {
      const w = Math.max(...rows.map((r) => r.name.length), 0);
      return [title, ...rows.map((r) => `  ${r.name.padEnd(w)}  ${r.summary}`), ''];
    };
    if (values.findings) {
      const findings = ALL_FINDING_RULES.map((r) => ({ kind: r.kind, source: r.source, severity: r.severity, summary: r.summary }));
      if (values.json) process.stdout.write(JSON.stringify({ findings }, null, 2) + '\n');
      else if (values.markdown) process.stdout.write(findingsTable(ALL_FINDING_RULES));
      else {
        const rows = findings.map((f) => ({ name: f.kind, summary: `${f.severity.padEnd(7)}  ${f.source.padEnd(7)}  ${f.summary}` }));
        process.stdout.write(section('findings (fuzz analyze, fuzz run):', rows).join('\n'));
      }
      return 0;
    }
    const targets = BUILTIN_SERVICES.map((s) => ({ name: `builtin:${s.name}`, summary: s.summary }));
    const kinds = TARGET_KINDS.map((k) => ({ name: k.syntax, kind: k.kind, summary: k.summary }));
    const bugs = BUG_PROFILES.map((b) => ({ name: b.name, summary: b.summary, source: b.source }));
    const cases = listCases().map((c) => ({ name: `cases/${c.name}`, kind: targetKindOf(c.run.target), summary: `[${targetKindOf(c.run.target)}] ${c.summary}` }));
    if (values.json) {
      process.stdout.write(JSON.stringify({ targets, target_kinds: kinds, bugs, cases }, null, 2) + '\n');
      return 0;
    }
    const lines = [
      ...section('targets (--target):', targets),
      ...section('target kinds (--target):', kinds),
      ...section('bug profiles (--bug):', bugs),
      ...section('cases (fuzz reproduce CASE):', cases),
    ];
    process.stdout.write(lines.join('\n'));
    return 0;
  },
};
