import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { BUILTIN_SERVICES } from '../../targets/registry.js';
import { BUG_PROFILES } from '../../stack/tcp/bugs.js';
import { listCases } from '../../harness/cases.js';

/** `fuzz list`: targets, bug profiles and cases, one line each. */
export const listCommand: Command = {
  usage: 'usage: fuzz list [--json]\n\nLists the built-in targets, the stack\'s bug profiles and the bug cases, one line each.',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' } }, false);
    const targets = BUILTIN_SERVICES.map((s) => ({ name: `builtin:${s.name}`, summary: s.summary }));
    const bugs = BUG_PROFILES.map((b) => ({ name: b.name, summary: b.summary, source: b.source }));
    const cases = listCases().map((c) => ({ name: `cases/${c.name}`, summary: c.summary }));
    if (values.json) {
      process.stdout.write(JSON.stringify({ targets, bugs, cases }, null, 2) + '\n');
      return 0;
    }
    const section = (title: string, rows: Array<{ name: string; summary: string }>): string[] => {
      const w = Math.max(...rows.map((r) => r.name.length), 0);
      return [title, ...rows.map((r) => `  ${r.name.padEnd(w)}  ${r.summary}`), ''];
    };
    const lines = [
      ...section('targets (--target):', targets),
      ...section('bug profiles (--bug):', bugs),
      ...section('cases (fuzz reproduce CASE):', cases),
    ];
    process.stdout.write(lines.join('\n'));
    return 0;
  },
};
