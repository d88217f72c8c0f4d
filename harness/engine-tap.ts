import { Capture, driveJobs, type Engine, type EngineContext, type EngineLoop, type ServedTarget } from './engine.js';
import type { RunPlan, TargetPlan } from './plan.js';
import { serveBuiltinOnTap } from './target-builtin.js';
import { serveKernelOnTap } from './target-kernel.js';
import { serveForeignOnTap } from './target-foreign.js';
import { LoadProbe } from './harness-load.js';
import { RealClock, type Clock } from '../stack/clock.js';
import { counterDelta, histogram, readKernelSockets, readTcpCounters, setupLab, type Lab } from '../stack/lab/index.js';
import { ipv4ToString } from '../stack/addr.js';

/** Brings a target of one kind up on the lab's TAP. */
type TapTargetKind = (plan: RunPlan, ctx: EngineContext, lab: Lab, capture: Capture, clock: Clock) => Promise<ServedTarget & { stop(): Promise<void> }>;

const TAP_TARGETS: Record<TargetPlan['kind'], TapTargetKind> = {
  builtin: serveBuiltinOnTap,
  kernel: serveKernelOnTap,
  foreign: serveForeignOnTap,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A reused --netns can still hold sockets of an earlier run toward the target (TIME_WAIT,
 * FIN_WAIT2, orphans): new client ports that collide with them get challenge ACKs and resets
 * (RFC 5961 §4) that are no fault of the target. Said once, before the run.
 */
async function warnLeftovers(plan: RunPlan, ctx: EngineContext, netns: string): Promise<void> {
  const server = ipv4ToString(plan.server.ip);
  const left = (await readKernelSockets()).filter(
    (s) => s.state !== 'LISTEN' && ((s.remoteAddress === server && s.remotePort === plan.server.port) || (s.localAddress === server && s.localPort === plan.server.port)),
  );
  if (left.length === 0) return;
  const states = [...histogram(left)].map(([k, n]) => `${n} ${k}`).join(', ');
  ctx.events({ type: 'notice', level: 'warn', message: `--netns ${netns} already holds ${left.length} socket${left.length === 1 ? '' : 's'} toward ${server}:${plan.server.port} (${states}) from an earlier run: colliding client ports get challenge ACKs and resets; use a fresh namespace` });
}

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
    if (lab.netns !== undefined) await warnLeftovers(plan, ctx, lab.netns);
    try {
      const served = await TAP_TARGETS[plan.target.kind](plan, ctx, lab, capture, clock);
      try {
        const loop: EngineLoop = { clock, drive: (p) => p, wait: sleep };
        const probe = new LoadProbe(capture.meter!, lab.link, clock);
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
