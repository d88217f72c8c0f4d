import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { runWithProgress } from '../progress.js';
import { planRunHere } from '../../harness/index.js';
import { caseSettings, checkExpectations, loadCase, tallyOf } from '../../harness/cases.js';
import { UsageError } from '../../stack/user-error.js';
import { formatRunSummary } from '../../reports/summary.js';

export const reproduceCommand: Command = {
  usage: `usage: fuzz reproduce CASE [--link tap|sim] [--versus TARGET] [--out DIR] [--log-level L]

Runs the case (cases/NAME.json: target, bug profile, jobs, seed, expected findings) and says
whether every expectation held (exit 0) or not (exit 1, each failed expectation listed).
--link overrides the case's link (sim by default: deterministic, no privileges). --versus runs
the same jobs against a reference target too and names the findings that are the case's alone.`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { link: { type: 'string' }, out: { type: 'string' }, versus: { type: 'string' }, 'log-level': { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('fuzz reproduce takes exactly one CASE (fuzz list shows them)');
    const c = loadCase(positionals[0]!);
    const report = await runWithProgress(planRunHere(caseSettings(c, { link: values.link, out: values.out, versus: values.versus })), values['log-level']);
    process.stdout.write(formatRunSummary(report, { color: Boolean(process.stdout.isTTY) }) + '\n\n');
    const fails = checkExpectations(c.expect, tallyOf(report));
    if (fails.length === 0) {
      process.stdout.write(`case ${c.name}: reproduced — every expectation held\n`);
      return 0;
    }
    process.stdout.write(`case ${c.name}: NOT reproduced —\n${fails.map((f) => `  ${f}`).join('\n')}\n`);
    return 1;
  },
};
