import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSettings } from './plan.js';
import { UsageError } from '../stack/user-error.js';
import type { Report } from '../reports/run-report.js';

/**
 * A bug case: a run's settings plus what that run must (or must not) produce. Cases are data
 * (cases/NAME.json) so a nightly job, a bisect or a user reproduces a bug with one command.
 */
export interface CaseExpectation {
  /** Finding kind → number of connections it must name (exact). */
  findings?: Record<string, number>;
  /** Finding kinds that must not appear at all. */
  absentFindings?: string[];
  /** No finding of any kind. */
  clean?: boolean;
  /** Job outcome → exact count. */
  jobOutcomes?: Record<string, number>;
  /** Peer socket state at the end (kernel sockets on tap, our client stack on sim) → exact count. */
  clientStates?: Record<string, number>;
}

export interface BugCase {
  name: string;
  summary: string;
  source: string;
  run: {
    target: string;
    bugs: string[];
    jobs: number;
    concurrency: number;
    seed: number;
    link: 'tap' | 'sim';
    timeoutMs: number;
    payload?: string;
    halfClose?: boolean;
    faults?: string;
  };
  expect: CaseExpectation;
  /** Where it was read from. */
  path: string;
}

/** The repository's own cases/ folder (next to dist/ when built). */
export function casesDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return resolve(here, '..', '..', 'cases');
}

/** Resolves `cases/NAME`, `NAME`, or a path to a .json file. */
export function resolveCasePath(ref: string): string {
  const candidates = [ref, `${ref}.json`, join(casesDir(), basename(ref)), join(casesDir(), `${basename(ref).replace(/\.json$/, '')}.json`)];
  for (const c of candidates) if (existsSync(c) && c.endsWith('.json')) return c;
  throw new UsageError(`no case '${ref}' (fuzz list shows the cases)`);
}

function isRecordOfNumbers(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'number');
}

export function loadCase(ref: string): BugCase {
  const path = resolveCasePath(ref);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const c = data as Partial<BugCase>;
  const bad = (what: string): never => {
    throw new UsageError(`${path}: ${what}`);
  };
  if (typeof c.name !== 'string') bad('missing "name"');
  if (typeof c.run !== 'object' || c.run === null) bad('missing "run"');
  if (typeof c.expect !== 'object' || c.expect === null) bad('missing "expect"');
  const run = c.run!;
  if (typeof run.target !== 'string') bad('run.target must be a string');
  if (!Array.isArray(run.bugs)) bad('run.bugs must be a list');
  const e = c.expect!;
  for (const k of ['findings', 'jobOutcomes', 'clientStates'] as const) {
    if (e[k] !== undefined && !isRecordOfNumbers(e[k])) bad(`expect.${k} must map names to counts`);
  }
  return { ...(c as BugCase), summary: c.summary ?? '', source: c.source ?? '', path };
}

export function listCases(): BugCase[] {
  const dir = casesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loadCase(join(dir, f)));
}

/** The run settings a case stands for; `overrides` (from the command line) win. */
export function caseSettings(c: BugCase, overrides: Partial<RunSettings> = {}): RunSettings {
  return {
    target: c.run.target,
    bugs: c.run.bugs,
    jobs: c.run.jobs,
    concurrency: c.run.concurrency,
    seed: c.run.seed,
    link: c.run.link,
    timeout: c.run.timeoutMs,
    payload: c.run.payload,
    halfClose: c.run.halfClose,
    faults: c.run.faults,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}

/** What a finished run showed, in the terms expectations use. */
export interface RunTally {
  findings: Record<string, number>;
  jobOutcomes: Record<string, number>;
  clientStates: Record<string, number>;
}

/** A run report's tally: standing findings by kind, job outcomes, peer socket states. */
export function tallyOf(report: Report): RunTally {
  return { findings: report.verdict.by_kind, jobOutcomes: report.run?.job_outcomes ?? {}, clientStates: report.run?.peer_sockets_at_end.states ?? {} };
}

/** Every expectation that did not hold, one line each (empty when the case reproduced). */
export function checkExpectations(e: CaseExpectation, t: RunTally): string[] {
  const fails: string[] = [];
  const cmp = (what: string, want: Record<string, number> | undefined, got: Record<string, number>): void => {
    for (const [k, n] of Object.entries(want ?? {})) {
      const g = got[k] ?? 0;
      if (g !== n) fails.push(`${what} ${k}: expected ${n}, got ${g}`);
    }
  };
  cmp('finding', e.findings, t.findings);
  cmp('job outcome', e.jobOutcomes, t.jobOutcomes);
  cmp('client state', e.clientStates, t.clientStates);
  for (const k of e.absentFindings ?? []) if ((t.findings[k] ?? 0) > 0) fails.push(`finding ${k}: expected none, got ${t.findings[k]}`);
  if (e.clean) {
    const any = Object.entries(t.findings).filter(([, n]) => n > 0);
    if (any.length > 0) fails.push(`expected a clean run, got findings: ${any.map(([k, n]) => `${k}×${n}`).join(', ')}`);
  }
  return fails;
}
