import type { Command } from '../command.js';

/** Every subcommand, in the order `fuzz --help` lists them. */
export const commands: Command[] = [];
