import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { TargetStartError } from './registry.js';

/**
 * A target's own process (an `exec:` server, a `tap:` stack): started through `sh -c` in the
 * current network namespace (the lab's), its output appended to a log, watched for an exit of
 * its own, and stopped with everything it started. Every kind of target that runs a command
 * uses this one module, so containment and clean-up are the same for all of them.
 */

/** How a target's process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It exited by itself before `stop()` (a crash, or a server that gave up). */
  beforeStop: boolean;
}

export interface TargetProcess {
  readonly pid: number;
  readonly command: string;
  /** Where its stdout and stderr go. */
  readonly log: string;
  /** Set once the process has exited (by itself or by `stop()`). */
  exit(): ProcessExit | undefined;
  /** Resolves when it has exited (by itself or by `stop()`). */
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM to everything it started, SIGKILL after `graceMs` (default 3 s); resolves once it is gone. */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** The last lines of its log, on one line, for a message. */
  logTail(): string;
}

export interface StartProcessOptions {
  /** File that receives the command's stdout and stderr (appended). */
  log: string;
  cwd?: string;
  /** Added to the environment it inherits. */
  env?: Record<string, string>;
}

/**
 * Starts COMMAND (via `sh -c`) in a process group of its own, so that stopping it also stops
 * whatever it forked (nginx workers, a shell's children). Rejects with a TargetStartError when
 * it cannot be started at all.
 */
export async function startTargetProcess(command: string, opts: StartProcessOptions): Promise<TargetProcess> {
  const fd = openSync(opts.log, 'a');
  let child;
  try {
    child = spawn('sh', ['-c', command], { cwd: opts.cwd, stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, ...opts.env } });
  } finally {
    closeSync(fd);
  }
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (e) => reject(new TargetStartError(`cannot start '${command}': ${e.message}`)));
  });
  let exit: ProcessExit | undefined;
  let stopping = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal, beforeStop: !stopping };
      resolve(exit);
    });
  });
  // The group's id is our child's pid (detached: setsid), so signals reach only what it started.
  const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-spawned, sig);
      return true;
    } catch {
      return false;
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    pid: spawned,
    command,
    log: opts.log,
    exit: () => exit,
    exited,
    stop: async (graceMs = 3000) => {
      stopping = true;
      const until = Date.now() + graceMs;
      signalGroup('SIGTERM');
      await Promise.race([exited, sleep(graceMs)]);
      // What the shell forked may outlive it by a moment (nginx finishing its shutdown).
      while (signalGroup(0) && Date.now() < until) await sleep(20);
      signalGroup('SIGKILL');
      return exited;
    },
    logTail: () => logTail(opts.log),
  };
}

/** The last lines of a log, on one line, for an error message. */
function logTail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return lines.slice(-3).join(' | ').slice(-400);
  } catch {
    return '';
  }
}

/** "exited (code 1)" / "exited (SIGSEGV)": how a process ended, in words. */
export function exitWords(e: ProcessExit): string {
  return `exited (${e.signal ?? `code ${e.code}`})`;
}
