import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDataFile } from './data-file.js';
import type { RunEvent, RunEventSink } from './events.js';
import { currentLab, labPrivilegeProblem, spawnInLab } from '../stack/lab/index.js';
import { EnvironmentError, UsageError, UserError } from '../stack/user-error.js';

/**
 * Running a piece of the harness inside the lab namespace. The parent (the `fuzz` command the
 * user started) enters the namespace once: it writes the request — a plan, plain data — to a
 * file, starts the lab child (`lab-child.ts`) inside a fresh `unshare --net` (or the named
 * namespace), and relays what the child reports on its channel: events while it runs, then the
 * outcome, or the one error that stopped it. The child never parses a flag: it reads the plan.
 */

/** What the parent asks the child to do. */
export interface LabRequest<P = unknown> {
  /** The body to run (lab-child.ts has one per kind). */
  kind: 'run' | 'serve';
  plan: P;
  logLevel: string | undefined;
}

/** One line on the channel, child → parent. */
export type LabMessage =
  | { type: 'event'; event: RunEvent }
  | { type: 'ready'; ready: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; kind: 'usage' | 'environment' | 'internal'; text: string; stack?: string };

/** A bug of ours that stopped the lab child: its message, and its stack for --log-level debug. */
export class LabChildInternalError extends Error {
  override readonly name = 'LabChildInternalError';
  constructor(
    message: string,
    readonly childStack: string | undefined,
  ) {
    super(message);
  }
}

/** The message the child sends for an error (a UserError keeps its kind and its exact text). */
export function errorMessage(e: unknown): LabMessage {
  if (e instanceof UserError) return { type: 'error', kind: e.kind, text: e.text() };
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'error', kind: 'internal', text: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}

function errorFrom(m: Extract<LabMessage, { type: 'error' }>): Error {
  if (m.kind === 'usage') return new UsageError(m.text);
  if (m.kind === 'environment') return new EnvironmentError(m.text);
  return new LabChildInternalError(m.text, m.stack);
}

const CHILD = fileURLToPath(new URL('./lab-child.js', import.meta.url));

/** True when this process is already inside a lab namespace (the lab child, or a benchmark). */
export function insideLab(): boolean {
  return currentLab() !== undefined;
}

/**
 * Runs `request` in the lab child and resolves with its result. The request is written to `file`
 * (a run keeps it in its folder as lab-request.json: the run's plan as data). Throws the child's own error (a
 * UsageError or EnvironmentError with its text, or a LabChildInternalError), and an
 * EnvironmentError when the lab cannot be entered or the child dies without a word.
 */
export async function inLabChild(request: LabRequest, file: string, opts: { netns?: string | undefined; events: RunEventSink; onReady?: (ready: unknown) => void }): Promise<unknown> {
  const problem = labPrivilegeProblem(opts.netns !== undefined ? { netns: opts.netns } : {});
  if (problem) throw new EnvironmentError(problem);
  mkdirSync(dirname(file), { recursive: true });
  writeDataFile(file, request);
  const child = spawnInLab([process.execPath, ...process.execArgv, CHILD, file], { netns: opts.netns });
  let result: { value: unknown } | undefined;
  let error: Error | undefined;
  child.onLine((line) => {
    let m: LabMessage;
    try {
      m = JSON.parse(line) as LabMessage;
    } catch {
      return;
    }
    if (m.type === 'event') opts.events(m.event);
    else if (m.type === 'ready') opts.onReady?.(m.ready);
    else if (m.type === 'result') result = { value: m.result };
    else error = errorFrom(m);
  });
  const { code, signal } = await child.exited;
  if (error) throw error;
  if (result) return result.value;
  const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
  throw new EnvironmentError(`the lab process ${how} before it finished (what it wrote so far is beside ${file})`);
}
