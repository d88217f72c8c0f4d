#!/usr/bin/env node
import { commands } from './commands/index.js';
import { EXIT_USAGE, UsageError } from './errors.js';

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
    'exit codes: 0 clean, 1 findings, 2 usage or environment error',
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`fuzz: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    process.stderr.write(`fuzz: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
