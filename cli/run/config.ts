import { existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { durationFlag, intFlag } from '../args.js';
import { parseIpv4 } from '../../stack/addr.js';
import { randomSeed } from '../../stack/rng.js';
import { BugProfileError, validateBugs } from '../../stack/tcp/bugs.js';
import { FaultSpecError, parseFaultSpec, type FaultSpec } from '../../stack/link/faults.js';
import { parsePayload, PayloadError, type PayloadSource } from '../../fuzzers/payload.js';
import { resolveBuiltin, TargetError } from '../../targets/registry.js';
import type { BuiltinService } from '../../targets/target.js';

export type LinkKind = 'tap' | 'sim';

/** Everything one `fuzz run` needs, validated: a bad value never reaches the lab. */
export interface RunConfig {
  target: string;
  service: BuiltinService;
  bugs: string[];
  jobs: number;
  concurrency: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** No job starts after this many ms from the run's start. */
  deadlineMs: number;
  seed: number;
  link: LinkKind;
  /** True when the link was chosen because none was asked for. */
  linkDefaulted: boolean;
  faults: FaultSpec | undefined;
  faultsText: string | undefined;
  payload: PayloadSource;
  payloadText: string;
  halfClose: boolean;
  outDir: string;
  netns: string | undefined;
  kernelIp: string;
  stackIp: string;
  /** Thresholds handed to the analysis. */
  hangMs: number;
  slowHandshakeMs: number;
  stormCount: number;
}

/** Raw settings as flags or a case file give them (strings as typed). */
export interface RunSettings {
  target?: string | undefined;
  bugs?: string[] | undefined;
  jobs?: string | number | undefined;
  concurrency?: string | number | undefined;
  timeout?: string | number | undefined;
  connectTimeout?: string | number | undefined;
  deadline?: string | number | undefined;
  seed?: string | number | undefined;
  link?: string | undefined;
  faults?: string | undefined;
  payload?: string | undefined;
  halfClose?: boolean | undefined;
  out?: string | undefined;
  netns?: string | undefined;
  kernelIp?: string | undefined;
  stackIp?: string | undefined;
  hang?: string | number | undefined;
  slowHandshake?: string | number | undefined;
  storm?: string | number | undefined;
}

const str = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/** The built-in service a `--target` names, or a UsageError listing the known ones. */
export function resolveTarget(target: string): BuiltinService {
  try {
    return resolveBuiltin(target);
  } catch (e) {
    if (e instanceof TargetError) throw new UsageError(e.message);
    throw e;
  }
}

/** Bug profile names, checked; a UsageError names the unknown one. */
export function checkBugs(names: string[]): string[] {
  try {
    validateBugs(names);
  } catch (e) {
    if (e instanceof BugProfileError) throw new UsageError(`${e.message} (fuzz list shows the bug profiles)`);
    throw e;
  }
  return names;
}

/** A `--faults` spec, parsed; a UsageError quotes the problem. */
export function parseFaultsFlag(text: string | undefined): FaultSpec | undefined {
  if (text === undefined) return undefined;
  try {
    return parseFaultSpec(text);
  } catch (e) {
    if (e instanceof FaultSpecError) throw new UsageError(`--faults: ${e.message}`);
    throw e;
  }
}

/** A timestamped run folder name, e.g. runs/2026-11-26T17-40-12. */
export function defaultOutDir(now = new Date()): string {
  return `runs/${now.toISOString().slice(0, 19).replace(/:/g, '-')}`;
}

/**
 * Fails unless `dir` exists and is writable, or could be created (its nearest existing parent
 * is). Probes by creating and removing a temporary folder, since permission bits say nothing
 * for root or on read-only mounts.
 */
export function checkWritableDir(dir: string): void {
  let p = resolve(dir);
  for (let i = 0; i < 64; i++) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory()) throw new UsageError(`--out ${dir}: ${p} is not a directory`);
      try {
        rmdirSync(mkdtempSync(join(p, '.tcpfuzz-probe-')));
      } catch {
        throw new UsageError(`--out ${dir}: ${p} is not writable`);
      }
      return;
    }
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  throw new UsageError(`--out ${dir}: no existing parent directory`);
}

export function resolveRunConfig(s: RunSettings, opts: { privileged: boolean }): RunConfig {
  const target = s.target ?? 'builtin:goodbye';
  const service = resolveTarget(target);
  const bugs = checkBugs(s.bugs ?? []);
  const jobs = intFlag('jobs', str(s.jobs), 128, 1, 1_000_000);
  const concurrency = intFlag('concurrency', str(s.concurrency), 128, 1, 100_000);
  const timeoutMs = durationFlag('timeout', str(s.timeout), 10_000, 10);
  const connectTimeoutMs = durationFlag('connect-timeout', str(s.connectTimeout), Math.min(timeoutMs, 5_000), 10);
  const deadlineMs = durationFlag('deadline', str(s.deadline), 15 * 60_000, 10);
  const seed = s.seed === undefined ? randomSeed() : intFlag('seed', str(s.seed), 0, 0, 0xffffffff);

  let link: LinkKind;
  const linkDefaulted = s.link === undefined;
  if (s.link === undefined) link = opts.privileged ? 'tap' : 'sim';
  else if (s.link === 'tap' || s.link === 'sim') link = s.link;
  else throw new UsageError(`--link must be tap or sim, got '${s.link}'`);

  const faults = parseFaultsFlag(s.faults);

  const payloadText = s.payload ?? service.defaultPayload;
  let payload: PayloadSource;
  try {
    payload = parsePayload(payloadText);
  } catch (e) {
    if (e instanceof PayloadError) throw new UsageError(`--payload: ${e.message}`);
    throw e;
  }

  const outDir = s.out ?? defaultOutDir();
  checkWritableDir(outDir);

  const kernelIp = s.kernelIp ?? '10.77.0.1';
  const stackIp = s.stackIp ?? '10.77.0.2';
  for (const [flag, v] of [['kernel-ip', kernelIp], ['stack-ip', stackIp]] as const) {
    if (parseIpv4(v) === undefined) throw new UsageError(`--${flag} must be an IPv4 address, got '${v}'`);
  }
  if (s.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(s.netns)) throw new UsageError(`--netns: '${s.netns}' is not a valid namespace name`);
  if (s.netns !== undefined && link !== 'tap') throw new UsageError('--netns only applies to --link tap');

  return {
    target,
    service,
    bugs,
    jobs,
    concurrency,
    timeoutMs,
    connectTimeoutMs,
    deadlineMs,
    seed,
    link,
    linkDefaulted,
    faults,
    faultsText: s.faults,
    payload,
    payloadText,
    halfClose: s.halfClose ?? true,
    outDir,
    netns: s.netns,
    kernelIp,
    stackIp,
    hangMs: durationFlag('hang', str(s.hang), Math.min(3_000, timeoutMs), 1),
    slowHandshakeMs: durationFlag('slow-handshake', str(s.slowHandshake), 1_000, 1),
    stormCount: intFlag('storm', str(s.storm), 3, 2, 1_000_000),
  };
}
