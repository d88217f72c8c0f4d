/**
 * A mistake the user can fix (bad flag, bad spec, bad pcap, missing privilege, unknown target).
 * The CLI prints its message as one line and exits 2; never a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit codes, as the README documents them. */
export const EXIT_CLEAN = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
