import { existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { durationFlag, intFlag } from '../args.js';
import { parseIpv4 } from '../../stack/addr.js';
import { randomSeed } from '../../stack/rng.js';
import { BugProfileError, validateBugs } from '../../stack/tcp/bugs.js';
import { FaultSpecError, parseFaultSpec, type FaultSpec } from '../../stack/link/faults.js';
import { parsePayload, PayloadError, type PayloadSource } from '../../fuzzers/payload.js';
import { mutateSpecs } from '../../fuzzers/http/mutate.js';
import { parseRequests, SpecError, type RequestSpec } from '../../fuzzers/http/spec/index.js';
import { Rng } from '../../stack/rng.js';
import { parseKernelTarget, type KernelTarget } from '../../targets/kernel.js';
import { resolveBuiltin, TargetError } from '../../targets/registry.js';
import type { BuiltinService } from '../../targets/target.js';

export type LinkKind = 'tap' | 'sim';
export type FuzzerKind = 'netcat' | 'http';

/**
 * What is fuzzed: a service on our stack (the clients are kernel sockets on tap, our client
 * stack on sim), or a kernel-side server in the lab (the client is our stack, over the TAP).
 */
export type ResolvedTarget =
  | { readonly kind: 'builtin'; readonly service: BuiltinService; readonly port: number }
  | { readonly kind: 'kernel'; readonly kernel: KernelTarget; readonly port: number };

/** The HTTP playlists: job i plays `playlists[i % playlists.length]` (pathoc: every spec, in order). */
export interface HttpSettings {
  specs: string[];
  playlists: RequestSpec[][];
  /** The spec strings each playlist came from (the mutated variants with --mutate). */
  playlistSpecs: string[][];
  mutate: number;
  readTimeoutMs: number;
}

/** Everything one `fuzz run` needs, validated: a bad value never reaches the lab. */
export interface RunConfig {
  target: string;
  resolved: ResolvedTarget;
  /** Where the jobs connect: the stack's address for built-in targets, the kernel's for kernel ones. */
  serverIp: string;
  port: number;
  fuzzer: FuzzerKind;
  http: HttpSettings | undefined;
  bugs: string[];
  jobs: number;
  concurrency: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** No job starts after this many ms from the run's start. */
  deadlineMs: number;
  /** The longest the capture goes on after the last job while our stack still retransmits. */
  lingerMs: number;
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
  linger?: string | number | undefined;
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
  fuzzer?: string | undefined;
  specs?: string[] | undefined;
  mutate?: string | number | undefined;
  readTimeout?: string | number | undefined;
}

const str = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/** A `--target`: kernel-side (`tcp://`, `exec:`) or built-in; a UsageError lists the known ones. */
export function resolveTarget(target: string, kernelIp: string): ResolvedTarget {
  try {
    const kernel = parseKernelTarget(target, parseIpv4(kernelIp)!);
    if (kernel) return { kind: 'kernel', kernel, port: kernel.port };
    const service = resolveBuiltin(target);
    return { kind: 'builtin', service, port: service.port };
  } catch (e) {
    if (e instanceof TargetError) throw new UsageError(`${e.message}; kernel-side targets: tcp://${kernelIp}:PORT or exec:PORT:'COMMAND'`);
    throw e;
  }
}

/** The HTTP fuzzer's playlists from `--spec` (repeatable) and `--mutate N`. */
function resolveHttp(s: RunSettings, seed: number): HttpSettings {
  const specs = s.specs && s.specs.length > 0 ? s.specs : ['get:/'];
  const parse = (spec: string): RequestSpec[] => {
    try {
      return parseRequests(spec);
    } catch (e) {
      if (e instanceof SpecError) throw new UsageError(`--spec: ${e.format()}`);
      throw e;
    }
  };
  const mutate = intFlag('mutate', str(s.mutate), 0, 0, 1_000_000);
  const readTimeoutMs = durationFlag('read-timeout', str(s.readTimeout), 5_000, 10);
  if (mutate === 0) return { specs, playlists: [specs.flatMap(parse)], playlistSpecs: [specs], mutate, readTimeoutMs };
  // Each variant is a spec string derived from the seed, so every job shows (and replays) what it sent.
  const variants = mutateSpecs(specs, new Rng(seed).fork(), mutate);
  return { specs, playlists: variants.map(parse), playlistSpecs: variants.map((v) => [v]), mutate, readTimeoutMs };
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
  const kernelIp = s.kernelIp ?? '10.77.0.1';
  const stackIp = s.stackIp ?? '10.77.0.2';
  for (const [flag, v] of [['kernel-ip', kernelIp], ['stack-ip', stackIp]] as const) {
    if (parseIpv4(v) === undefined) throw new UsageError(`--${flag} must be an IPv4 address, got '${v}'`);
  }
  const resolved = resolveTarget(target, kernelIp);
  const bugs = checkBugs(s.bugs ?? []);
  if (resolved.kind === 'kernel' && bugs.length > 0) throw new UsageError('--bug switches bugs in our stack, which is the client for a kernel-side target: use a builtin: target');
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
  if (resolved.kind === 'kernel' && link !== 'tap') throw new UsageError(`kernel-side target '${target}' needs --link tap (the lab's kernel side is the server)`);

  let fuzzer: FuzzerKind;
  if (s.fuzzer === undefined) fuzzer = (s.specs?.length ?? 0) > 0 || (resolved.kind === 'builtin' && resolved.service.name === 'http') ? 'http' : 'netcat';
  else if (s.fuzzer === 'netcat' || s.fuzzer === 'http') fuzzer = s.fuzzer;
  else throw new UsageError(`--fuzzer must be netcat or http, got '${s.fuzzer}'`);
  if (fuzzer === 'netcat' && (s.specs?.length ?? 0) > 0) throw new UsageError('--spec goes with --fuzzer http');
  if (fuzzer === 'http' && s.payload !== undefined) throw new UsageError('--payload goes with --fuzzer netcat (HTTP jobs send their --spec)');

  const faults = parseFaultsFlag(s.faults);

  const payloadText = s.payload ?? (resolved.kind === 'builtin' ? resolved.service.defaultPayload : 'hi mom\\n');
  let payload: PayloadSource;
  try {
    payload = parsePayload(payloadText);
  } catch (e) {
    if (e instanceof PayloadError) throw new UsageError(`--payload: ${e.message}`);
    throw e;
  }

  const outDir = s.out ?? defaultOutDir();
  checkWritableDir(outDir);

  if (s.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(s.netns)) throw new UsageError(`--netns: '${s.netns}' is not a valid namespace name`);
  if (s.netns !== undefined && link !== 'tap') throw new UsageError('--netns only applies to --link tap');

  return {
    target,
    resolved,
    serverIp: resolved.kind === 'kernel' ? kernelIp : stackIp,
    port: resolved.port,
    fuzzer,
    http: fuzzer === 'http' ? resolveHttp(s, seed) : undefined,
    bugs,
    jobs,
    concurrency,
    timeoutMs,
    connectTimeoutMs,
    deadlineMs,
    lingerMs: durationFlag('linger', str(s.linger), 15_000, 0),
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
