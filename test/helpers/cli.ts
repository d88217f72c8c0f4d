import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from './env.js';

/** The built CLI entry point (dist/cli/main.js). */
export const FUZZ = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** The value of `--out DIR` / `--out=DIR` in `args`, if any. */
function outDir(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--out' || a.startsWith('--out='));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice('--out='.length) : args[i + 1];
}

/**
 * Runs `fuzz ARGS...` as a user would (a child process), bounded. For every `fuzz run` that
 * wrote a report, the report's verdict must give the exit code the process gave.
 */
export async function fuzz(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const started = Date.now();
  const r = await run(process.execPath, [FUZZ, ...args], { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  const out = outDir(args);
  if (args[0] === 'run' && out !== undefined) {
    const file = join(out, 'report.json');
    let fresh = false;
    try {
      fresh = statSync(file).mtimeMs >= started - 1000;
    } catch {
      fresh = false;
    }
    if (fresh) {
      const verdict = (JSON.parse(readFileSync(file, 'utf8')) as { verdict: { exit_code: number } }).verdict;
      assert.equal(verdict.exit_code, r.code, `report.json's verdict.exit_code is the process's exit code (fuzz ${args.join(' ')})`);
    }
  }
  return r;
}
