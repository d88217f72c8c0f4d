import { fileURLToPath } from 'node:url';
import { run, type RunResult } from './env.js';

/** The built CLI entry point (dist/cli/main.js). */
export const FUZZ = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** Runs `fuzz ARGS...` as a user would (a child process), bounded. */
export function fuzz(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [FUZZ, ...args], { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
}
