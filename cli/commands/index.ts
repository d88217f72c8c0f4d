import type { Command } from '../command.js';
import { runCommand } from './run.js';
import { reproduceCommand } from './reproduce.js';
import { listCommand } from './list.js';
import { serveCommand } from './serve.js';
import { specCommand } from './spec.js';
import { analyzeCommand } from './analyze.js';

/** Every subcommand, in the order `fuzz --help` lists them. */
export const commands: Command[] = [runCommand, reproduceCommand, serveCommand, listCommand, specCommand, analyzeCommand];
