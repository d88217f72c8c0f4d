/** Exit codes, as the README documents them. */
export const EXIT_CLEAN = 0;
export const EXIT_FINDINGS = 1;
/** A usage or environment error (a UserError): one line on stderr. */
export const EXIT_USAGE = 2;
/** A bug of ours (not a UserError): one line naming it; the stack only with --log-level debug. */
export const EXIT_INTERNAL = 70;
