/**
 * The one base of every error a user can cause and fix. Each module's own error class (a bad
 * fault spec, an unknown bug profile, a pcap that is not one, a lab that cannot be built…)
 * extends one of the two kinds below, so the command line has a single boundary that prints
 * `text()` as one line and exits 2 — and anything that is not a UserError is a bug of ours.
 *
 * - `usage`: what was typed or written is wrong (a flag, a spec, a case file, a capture file).
 * - `environment`: the machine or the target is not as the run needs it (no privilege, a disk
 *   full, a target that never listens, a namespace left over by a crashed run).
 */
export type UserErrorKind = 'usage' | 'environment';

export abstract class UserError extends Error {
  abstract readonly kind: UserErrorKind;
  /** Where the bad input came from (e.g. `--faults: `), set by `inContext`; empty by default. */
  context = '';

  /** What the user reads: the context and the message; a class may show more (a caret). */
  text(): string {
    return `${this.context}${this.detail()}`;
  }

  /** The message itself; SpecError adds the spec line and a caret. */
  protected detail(): string {
    return this.message;
  }
}

/** Something typed or written is wrong. */
export class UsageError extends UserError {
  override readonly name: string = 'UsageError';
  readonly kind = 'usage' as const;
}

/** The machine or the target is not as the run needs it. */
export class EnvironmentError extends UserError {
  override readonly name: string = 'EnvironmentError';
  readonly kind = 'environment' as const;
}

/**
 * Runs `fn`; a UserError it throws gets `prefix` in front of its message (e.g. `--faults: `),
 * so a parser's message says where the bad text came from without each caller converting it.
 */
export function inContext<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UserError) e.context = `${prefix}${e.context}`;
    throw e;
  }
}
