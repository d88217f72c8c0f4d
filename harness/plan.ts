import { join } from 'node:path';
import { durationFlag, intFlag } from './flag-values.js';
import { ipv4ToString, parseIpv4, type Ipv4 } from '../stack/addr.js';
import { checkNetnsName } from '../stack/lab/namespace.js';
import { deriveSeed, Rng } from '../stack/rng.js';
import { validateBugs } from '../stack/tcp/bugs.js';
import { parseFaultSpec, type FaultSpec } from '../stack/link/faults.js';
import { inContext, UsageError } from '../stack/user-error.js';
import { parsePayload, type PayloadSource } from '../fuzzers/payload.js';
import { mutateVariants, type Expectation } from '../fuzzers/http/mutate.js';
import { parseRequests, type RequestSpec } from '../fuzzers/http/spec/index.js';
import { parseForeignTarget, type ForeignTarget } from '../targets/foreign.js';
import { parseKernelTarget, type KernelTarget } from '../targets/kernel.js';
import { resolveBuiltin } from '../targets/registry.js';
import type { BuiltinService } from '../targets/target.js';

/**
 * A run as data: `planRun(settings, env)` checks every setting and resolves it once — addresses
 * parsed, the target resolved, specs parsed and mutated, every random stream's seed derived by
 * name — into a `RunPlan` that is plain, serialisable data. The engine, the lab child (which
 * reads it from plan.json), the report and the replay command all work from the plan; nothing
 * downstream parses a flag again. Pure: the only inputs are the settings and `env`.
 */

export type LinkKind = 'tap' | 'sim';
export type FuzzerKind = 'netcat' | 'http';

/** Raw settings as flags or a case file give them (strings as typed, or numbers from JSON). */
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
  /** `tap:` targets: how long the stack may take to get ready. */
  readyTimeout?: string | number | undefined;
  /** `tap:` targets: a command the target runs under (`valgrind --error-exitcode=99`). */
  wrap?: string | undefined;
  /** A second target that plays the same jobs (same seed, same workload), for comparison. */
  versus?: string | undefined;
}

/**
 * What is fuzzed: a service on our stack (the clients are kernel sockets on tap, our client
 * stack on sim), a kernel-side server in the lab (the client is our stack, over the TAP), or
 * somebody else's stack on a TAP of its own (`tap:`; the clients are kernel sockets, and the
 * harness relays every frame between the two TAPs).
 */
export type TargetPlan =
  | { readonly kind: 'builtin'; readonly name: string; readonly port: number }
  | { readonly kind: 'kernel'; readonly kernel: KernelTarget; readonly port: number }
  | { readonly kind: 'foreign'; readonly foreign: ForeignTarget; readonly port: number; readonly readyTimeoutMs: number; readonly wrap: string | null };

/** What each job does: a netcat-like exchange, or a pathoc-style HTTP playlist. */
export type WorkloadPlan =
  | { readonly fuzzer: 'netcat'; readonly payload: PayloadSource; readonly payloadText: string; readonly halfClose: boolean }
  | {
      readonly fuzzer: 'http';
      /** The specs as given (`--spec`, repeatable; default get:/). */
      readonly specs: string[];
      readonly mutate: number;
      readonly readTimeoutMs: number;
      /** Job i plays `playlists[i % playlists.length]` (pathoc: every spec, in order), parsed once. */
      readonly playlists: RequestSpec[][];
      /** The spec strings each playlist came from (the mutated variants with --mutate). */
      readonly playlistSpecs: string[][];
      /** Per playlist, what its mutations allow the server to do without a finding (empty without --mutate). */
      readonly playlistExpects: Expectation[][];
    };

/** Seeds of the run's random streams, each derived from the run's seed by name (deriveSeed). */
export interface RunSeeds {
  /** The fault injector's choices. */
  readonly faults: number;
  /** `--mutate` variants. */
  readonly mutate: number;
  /** The target stack's ISNs and timestamps offsets (sim/TAP). */
  readonly targetStack: number;
  /** The client stack's (sim link, and kernel-side targets). */
  readonly clientStack: number;
  /** Per-job generators (generated payloads, pathoc `r` offsets and `@N` data). */
  readonly jobs: number;
}

export interface JobsPlan {
  readonly count: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** No job starts after this many ms from the run's start. */
  readonly deadlineMs: number;
}

export interface LabAddresses {
  readonly kernelIp: Ipv4;
  readonly stackIp: Ipv4;
  readonly prefixLen: number;
}

/**
 * Everything one `fuzz run` needs, checked: a bad value never reaches the lab. Absent values are
 * null, never undefined, so the plan reads back from JSON exactly as it was.
 */
export interface RunPlan {
  /** The target as typed (`builtin:goodbye`, `exec:8080:'…'`): for the report and the replay. */
  readonly targetText: string;
  readonly target: TargetPlan;
  readonly link: LinkKind;
  /** True when the link was chosen because none was asked for. */
  readonly linkDefaulted: boolean;
  readonly lab: LabAddresses;
  /** Where the jobs connect: the stack's address for built-in targets, the kernel's for kernel ones. */
  readonly server: { readonly ip: Ipv4; readonly port: number };
  /** A named namespace to use (or create and remove) for the TAP lab. */
  readonly netns: string | null;
  readonly bugs: string[];
  readonly jobs: JobsPlan;
  readonly workload: WorkloadPlan;
  readonly seed: number;
  readonly seeds: RunSeeds;
  readonly faults: { readonly spec: FaultSpec; readonly text: string } | null;
  /** The longest the capture goes on after the last job while our stack still retransmits. */
  readonly lingerMs: number;
  /** Thresholds handed to the analysis. */
  readonly thresholds: { readonly hangMs: number; readonly slowHandshakeMs: number; readonly stormCount: number };
  readonly outDir: string;
  /** `--versus TARGET`: the same run against a reference target (its report in OUT/versus), or null. */
  readonly versus: RunPlan | null;
}

/** What planning may look at besides the settings (injected, so `planRun` stays pure). */
export interface PlanEnv {
  /** Whether the TAP lab is possible here (it is the default link then). */
  privileged: boolean;
  /** Reads a `--payload @FILE`. */
  readFile(path: string): Uint8Array;
  /** The run's start, for the default output folder. */
  now: Date;
  /** A seed for a run that was not given one. */
  randomSeed(): number;
}

const str = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/** `--kernel-ip` and `--stack-ip`, parsed; the lab checks they share the /24. */
export function planAddresses(kernelIp: string | undefined, stackIp: string | undefined): LabAddresses {
  const parse = (flag: string, text: string): Ipv4 => {
    const ip = parseIpv4(text);
    if (ip === undefined) throw new UsageError(`--${flag} must be an IPv4 address, got '${text}'`);
    return ip;
  };
  return { kernelIp: parse('kernel-ip', kernelIp ?? '10.77.0.1'), stackIp: parse('stack-ip', stackIp ?? '10.77.0.2'), prefixLen: 24 };
}

/**
 * A `--target`: a foreign stack (`tap:`), kernel-side (`tcp://`, `exec:`) or built-in; a
 * TargetError lists the known ones. `--ready-timeout` and `--wrap` belong to `tap:` targets.
 */
export function planTarget(text: string, lab: LabAddresses, s: Pick<RunSettings, 'readyTimeout' | 'wrap'> = {}): TargetPlan {
  const foreign = parseForeignTarget(text);
  if (foreign) {
    const readyTimeoutMs = durationFlag('ready-timeout', str(s.readyTimeout), 10_000, 100);
    const wrap = s.wrap?.trim() ? s.wrap.trim() : null;
    return { kind: 'foreign', foreign, port: foreign.port, readyTimeoutMs, wrap };
  }
  if (s.readyTimeout !== undefined || s.wrap !== undefined) throw new UsageError(`--ready-timeout and --wrap go with a tap:PORT:'COMMAND' target, not '${text}'`);
  const kernel = parseKernelTarget(text, lab.kernelIp);
  if (kernel) return { kind: 'kernel', kernel, port: kernel.port };
  const service = resolveBuiltin(text);
  return { kind: 'builtin', name: service.name, port: service.port };
}

/** Bug profile names, checked (a BugProfileError names the unknown one). */
export function planBugs(names: readonly string[]): string[] {
  return validateBugs(names).map((p) => p.name);
}

/** A `--faults` spec, parsed (a FaultSpecError quotes the problem). */
export function planFaults(text: string | undefined): RunPlan['faults'] {
  return text === undefined ? null : { spec: inContext('--faults: ', () => parseFaultSpec(text)), text };
}

/** A timestamped run folder name, e.g. runs/2026-11-26T17-40-12. */
export function defaultOutDir(now: Date): string {
  return `runs/${now.toISOString().slice(0, 19).replace(/:/g, '-')}`;
}

/** The seeds of every random stream of a run with seed `seed`. */
export function runSeeds(seed: number): RunSeeds {
  return {
    faults: deriveSeed(seed, 'faults'),
    mutate: deriveSeed(seed, 'mutate'),
    targetStack: deriveSeed(seed, 'target-stack'),
    clientStack: deriveSeed(seed, 'client-stack'),
    jobs: deriveSeed(seed, 'jobs'),
  };
}

/** The HTTP playlists from `--spec` (repeatable) and `--mutate N`. */
function planHttp(s: RunSettings, seeds: RunSeeds): WorkloadPlan {
  const specs = s.specs && s.specs.length > 0 ? s.specs : ['get:/'];
  const parse = (spec: string): RequestSpec[] => inContext('--spec: ', () => parseRequests(spec));
  const mutate = intFlag('mutate', str(s.mutate), 0, 0, 1_000_000);
  const readTimeoutMs = durationFlag('read-timeout', str(s.readTimeout), 5_000, 10);
  if (mutate === 0) return { fuzzer: 'http', specs, mutate, readTimeoutMs, playlists: [specs.flatMap(parse)], playlistSpecs: [specs], playlistExpects: [[]] };
  // Each variant is a spec string derived from the seed, so every job shows (and replays) what it sent.
  const variants = mutateVariants(specs, new Rng(seeds.mutate), mutate);
  return {
    fuzzer: 'http',
    specs,
    mutate,
    readTimeoutMs,
    playlists: variants.map((v) => parse(v.spec)),
    playlistSpecs: variants.map((v) => [v.spec]),
    playlistExpects: variants.map((v) => v.expects),
  };
}

/** One run's plan, without its --versus. */
function planOne(s: RunSettings, env: PlanEnv): RunPlan {
  const lab = planAddresses(s.kernelIp, s.stackIp);
  const targetText = s.target ?? 'builtin:goodbye';
  const target = planTarget(targetText, lab, s);
  const bugs = planBugs(s.bugs ?? []);
  if (target.kind === 'kernel' && bugs.length > 0) throw new UsageError('--bug switches bugs in our stack, which is the client for a kernel-side target: use a builtin: target');
  if (target.kind === 'foreign' && bugs.length > 0) throw new UsageError("--bug switches bugs in our stack, which a tap: target does not run: use a builtin: target");
  const count = intFlag('jobs', str(s.jobs), 128, 1, 1_000_000);
  const concurrency = intFlag('concurrency', str(s.concurrency), 128, 1, 100_000);
  const timeoutMs = durationFlag('timeout', str(s.timeout), 10_000, 10);
  const connectTimeoutMs = durationFlag('connect-timeout', str(s.connectTimeout), Math.min(timeoutMs, 5_000), 10);
  const deadlineMs = durationFlag('deadline', str(s.deadline), 15 * 60_000, 10);
  const seed = s.seed === undefined ? env.randomSeed() >>> 0 : intFlag('seed', str(s.seed), 0, 0, 0xffffffff);
  const seeds = runSeeds(seed);

  let link: LinkKind;
  if (s.link === undefined) link = env.privileged ? 'tap' : 'sim';
  else if (s.link === 'tap' || s.link === 'sim') link = s.link;
  else throw new UsageError(`--link must be tap or sim, got '${s.link}'`);
  if (target.kind === 'kernel' && link !== 'tap') throw new UsageError(`kernel-side target '${targetText}' needs --link tap (the lab's kernel side is the server)`);
  if (target.kind === 'foreign' && link !== 'tap') throw new UsageError(`tap: target '${targetText}' needs --link tap (its stack runs on a TAP device in the lab)`);

  let fuzzer: FuzzerKind;
  if (s.fuzzer === undefined) fuzzer = (s.specs?.length ?? 0) > 0 || (target.kind === 'builtin' && target.name === 'http') ? 'http' : 'netcat';
  else if (s.fuzzer === 'netcat' || s.fuzzer === 'http') fuzzer = s.fuzzer;
  else throw new UsageError(`--fuzzer must be netcat or http, got '${s.fuzzer}'`);
  if (fuzzer === 'netcat' && (s.specs?.length ?? 0) > 0) throw new UsageError('--spec goes with --fuzzer http');
  if (fuzzer === 'http' && s.payload !== undefined) throw new UsageError('--payload goes with --fuzzer netcat (HTTP jobs send their --spec)');

  let workload: WorkloadPlan;
  if (fuzzer === 'http') workload = planHttp(s, seeds);
  else {
    const payloadText = s.payload ?? (target.kind === 'builtin' ? resolveBuiltin(targetText).defaultPayload : 'hi mom\\n');
    const payload = inContext('--payload: ', () => parsePayload(payloadText, env.readFile));
    workload = { fuzzer: 'netcat', payload, payloadText, halfClose: s.halfClose ?? true };
  }

  if (s.netns !== undefined) {
    inContext('--netns: ', () => checkNetnsName(s.netns!));
    if (link !== 'tap') throw new UsageError('--netns only applies to --link tap');
  }

  return {
    targetText,
    target,
    link,
    linkDefaulted: s.link === undefined,
    lab,
    server: { ip: target.kind === 'kernel' ? lab.kernelIp : lab.stackIp, port: target.port },
    netns: s.netns ?? null,
    bugs,
    jobs: { count, concurrency, timeoutMs, connectTimeoutMs, deadlineMs },
    workload,
    seed,
    seeds,
    faults: planFaults(s.faults),
    lingerMs: durationFlag('linger', str(s.linger), 15_000, 0),
    thresholds: {
      hangMs: durationFlag('hang', str(s.hang), Math.min(3_000, timeoutMs), 1),
      slowHandshakeMs: durationFlag('slow-handshake', str(s.slowHandshake), 1_000, 1),
      stormCount: intFlag('storm', str(s.storm), 3, 2, 1_000_000),
    },
    outDir: s.out ?? defaultOutDir(env.now),
    versus: null,
  };
}

/**
 * The plan of a run; with `--versus TARGET` also the plan of the same run against TARGET — the same
 * seed, jobs and workload (the payload as the run resolved it, not TARGET's default), its files
 * in OUT/versus. Settings that belong to the run's own target (`--bug`, `--wrap`,
 * `--ready-timeout`) stay with it.
 */
export function planRun(s: RunSettings, env: PlanEnv): RunPlan {
  const plan = planOne(s, env);
  if (s.versus === undefined) return plan;
  const w = plan.workload;
  const versus = inContext('--versus: ', () =>
    planOne(
      {
        ...s,
        target: s.versus,
        versus: undefined,
        bugs: [],
        wrap: undefined,
        readyTimeout: undefined,
        seed: plan.seed,
        link: plan.link,
        payload: w.fuzzer === 'netcat' ? w.payloadText : undefined,
        out: join(plan.outDir, 'versus'),
      },
      env,
    ),
  );
  return { ...plan, versus };
}

/** The address the jobs dial, as text (node:net and the netcat jobs take strings). */
export function serverHost(plan: RunPlan): string {
  return ipv4ToString(plan.server.ip);
}

/** The service a built-in target plan names. */
export function builtinService(t: TargetPlan): BuiltinService {
  if (t.kind !== 'builtin') throw new Error(`not a built-in target: ${t.kind}`);
  return resolveBuiltin(`builtin:${t.name}`);
}
