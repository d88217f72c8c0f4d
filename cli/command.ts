/** One `fuzz` subcommand. `run` gets the arguments after the command name and returns the exit code. */
export interface Command {
  readonly name: string;
  /** One line for `fuzz --help`. */
  readonly summary: string;
  /** Full usage text for `fuzz NAME --help`. */
  readonly usage: string;
  run(argv: string[]): Promise<number>;
}
