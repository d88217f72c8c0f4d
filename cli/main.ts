#!/usr/bin/env node
import { commands } from './commands/index.js';
import { EXIT_INTERNAL, EXIT_USAGE } from './errors.js';
import { LabChildInternalError } from '../harness/index.js';
import { UsageError, UserError } from '../stack/user-error.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'usage: fuzz COMMAND [options]   (fuzz COMMAND --help for one command)',
    '',
    'tcpfuzz finds connection-lifecycle bugs in TCP stacks and HTTP servers.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 clean, 1 findings, 2 usage or environment error, 70 a bug of ours',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? EXIT_USAGE : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command '${name}' (fuzz --help lists them)`);
  const body = await cmd.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(body.usage + '\n');
    return 0;
  }
  return body.run(rest);
}

/** Whether the user asked for debug logs (then an internal error shows its stack). */
function debugRequested(argv: string[]): boolean {
  const i = argv.findIndex((a) => a === '--log-level' || a.startsWith('--log-level='));
  const level = i < 0 ? process.env.TCPFUZZ_LOG : argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1];
  return level === 'debug' || level === 'trace';
}

/**
 * The one error boundary: a UserError (usage or environment) is one line and exit 2; anything
 * else is a bug of ours — one line naming it as an internal error, exit 70, and the stack only
 * with --log-level debug.
 */
function report(err: unknown, argv: string[]): number {
  if (err instanceof UserError) {
    process.stderr.write(`fuzz: ${err.text()}\n`);
    return EXIT_USAGE;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`fuzz: internal error: ${e.message.split('\n')[0]} (a bug in tcpfuzz; --log-level debug shows where)\n`);
  if (debugRequested(argv)) process.stderr.write(`${e instanceof LabChildInternalError ? (e.childStack ?? e.stack) : e.stack}\n`);
  return EXIT_INTERNAL;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err, argv);
  },
);
