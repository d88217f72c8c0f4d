import { Capture, driveJobs, type Engine, type EngineContext, type EngineLoop, type ServedTarget } from './engine.js';
import type { RunPlan, TargetPlan } from './plan.js';
import { serveBuiltinOnTap } from './target-builtin.js';
import { serveKernelOnTap } from './target-kernel.js';
import { serveForeignOnTap } from './target-foreign.js';
import { LoadProbe } from './harness-load.js';
import { RealClock, type Clock } from '../stack/clock.js';
import { counterDelta, readTcpCounters, setupLab, type Lab } from '../stack/lab/index.js';

/** Brings a target of one kind up on the lab's TAP. */
type TapTargetKind = (plan: RunPlan, ctx: EngineContext, lab: Lab, capture: Capture, clock: Clock) => Promise<ServedTarget & { stop(): Promise<void> }>;

const TAP_TARGETS: Record<TargetPlan['kind'], TapTargetKind> = {
  builtin: serveBuiltinOnTap,
  kernel: serveKernelOnTap,
  foreign: serveForeignOnTap,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `--link tap`, inside the lab namespace (the lab session has entered it): the TAP device is the
 * one capture point whatever the target kind; the kind decides who plays which side.
 */
export const tapEngine: Engine = {
  link: 'tap',
  async run(plan, ctx) {
    const clock = new RealClock();
    const lab = setupLab({ clock, kernelIp: plan.lab.kernelIp, stackIp: plan.lab.stackIp, prefixLen: plan.lab.prefixLen, onError: (m) => ctx.log.warn(`tap: ${m}`) });
    const capture = Capture.forRun(plan);
    try {
      const served = await TAP_TARGETS[plan.target.kind](plan, ctx, lab, capture, clock);
      try {
        const loop: EngineLoop = { clock, drive: (p) => p, wait: sleep };
        const probe = new LoadProbe(capture.meter!, lab.link);
        const before = readTcpCounters();
        const raw = await driveJobs(plan, ctx, 'tap', loop, capture, served, probe);
        return { ...raw, kernelTcp: counterDelta(before, readTcpCounters()) };
      } finally {
        await served.stop();
      }
    } finally {
      lab.close();
      capture.close();
    }
  },
};
