/** One `fuzz` subcommand's body. `run` gets the arguments after the command name and returns the exit code. */
export interface Command {
  /** Full usage text for `fuzz NAME --help`. */
  readonly usage: string;
  run(argv: string[]): Promise<number>;
}

/** A subcommand as `fuzz --help` lists it; its module is loaded only when it runs. */
export interface CommandEntry {
  readonly name: string;
  /** One line for `fuzz --help`. */
  readonly summary: string;
  load(): Promise<Command>;
}
