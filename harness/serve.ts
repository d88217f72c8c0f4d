import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunEventSink } from './events.js';
import { Capture } from './engine.js';
import { builtinService, planAddresses, planBugs, planFaults, planTarget, runSeeds, type LabAddresses, type RunPlan } from './plan.js';
import { ipv4ToString } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { setupLab } from '../stack/lab/index.js';
import type { Logger } from '../stack/log.js';
import { Stack } from '../stack/stack.js';
import { UsageError } from '../stack/user-error.js';

/**
 * `fuzz serve` as a plan and a body: a built-in target on our stack over the lab's TAP, every
 * frame recorded, until SIGINT/SIGTERM. The same settings checks as a run (one function each in
 * plan.ts); the body runs in the lab child.
 */
export interface ServeSettings {
  target?: string | undefined;
  bugs?: string[] | undefined;
  netns?: string | undefined;
  pcap: string;
  trace?: string | undefined;
  faults?: string | undefined;
  seed: number;
  kernelIp?: string | undefined;
  stackIp?: string | undefined;
}

export interface ServePlan {
  targetText: string;
  target: Extract<RunPlan['target'], { kind: 'builtin' }>;
  bugs: string[];
  lab: LabAddresses;
  netns: string | null;
  pcap: string;
  trace: string | null;
  faults: RunPlan['faults'];
  seed: number;
}

export function planServe(s: ServeSettings): ServePlan {
  const lab = planAddresses(s.kernelIp, s.stackIp);
  const targetText = s.target ?? 'builtin:goodbye';
  const target = planTarget(targetText, lab);
  if (target.kind !== 'builtin') throw new UsageError('fuzz serve serves built-in targets (builtin:NAME); kernel-side targets are served by themselves');
  return { targetText, target, bugs: planBugs(s.bugs ?? []), lab, netns: s.netns ?? null, pcap: s.pcap, trace: s.trace ?? null, faults: planFaults(s.faults), seed: s.seed };
}

/** What `fuzz serve` prints once it listens. */
export interface ServeReady {
  ifname: string;
  stackIp: string;
  kernelIp: string;
  port: number;
  /** The process whose namespace other tools join when it is private. */
  pid: number;
}

/**
 * Serves until SIGINT/SIGTERM, in the lab namespace: `ready` once it listens, then resolves
 * with the frames recorded (the pcap is complete and valid when it resolves).
 */
export async function serveInLab(plan: ServePlan, opts: { log: Logger; events: RunEventSink; ready(r: ServeReady): void }): Promise<{ frames: number; signal: string }> {
  const clock = new RealClock();
  mkdirSync(dirname(plan.pcap), { recursive: true });
  const lab = setupLab({ clock, kernelIp: plan.lab.kernelIp, stackIp: plan.lab.stackIp, prefixLen: plan.lab.prefixLen, onError: (m) => opts.log.warn(`tap: ${m}`) });
  const seeds = runSeeds(plan.seed);
  const capture = new Capture({ pcap: plan.pcap, trace: plan.trace ?? undefined }, plan.faults ? { spec: plan.faults.spec, seed: seeds.faults } : undefined, lab.stackIp);
  const service = builtinService(plan.target);
  const stack = new Stack({
    link: capture.wrap(lab.link),
    mac: lab.stackMac,
    ip: lab.stackIp,
    prefixLen: lab.prefixLen,
    clock,
    log: opts.log,
    seed: seeds.targetStack,
    bugs: plan.bugs,
    traceLimit: 0,
    onTransition: capture.traceHook,
  });
  service.serve(stack);
  opts.ready({ ifname: lab.ifname, stackIp: ipv4ToString(lab.stackIp), kernelIp: ipv4ToString(lab.kernelIp), port: service.port, pid: process.pid });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals): void => resolve(s);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  stack.close();
  lab.close();
  capture.close();
  return { frames: capture.pcap.frames, signal };
}
