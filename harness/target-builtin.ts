import { stackRetransmitting, type Capture, type EngineContext, type ServedTarget } from './engine.js';
import { jobsInWorker } from './job-worker.js';
import { builtinService, type RunPlan } from './plan.js';
import { readKernelSockets, type Lab } from '../stack/lab/index.js';
import type { Clock } from '../stack/clock.js';
import { Stack } from '../stack/stack.js';

/**
 * `builtin:NAME`: a service on our own stack. On the TAP the clients are kernel sockets
 * (node:net) over the TAP, as the seed's 128 `nc` jobs were against the unikernel; the kernel's
 * own socket table shows the client side at the end.
 */

/** Our stack on the lab's TAP, recorded, with the run's faults between the capture point and it. */
export function stackOnTap(plan: RunPlan, ctx: EngineContext, lab: Lab, capture: Capture, clock: Clock, bugs: string[]): Stack {
  return new Stack({
    link: capture.wrap(lab.link),
    mac: lab.stackMac,
    ip: lab.stackIp,
    prefixLen: lab.prefixLen,
    clock,
    log: ctx.log,
    seed: plan.target.kind === 'builtin' ? plan.seeds.targetStack : plan.seeds.clientStack,
    bugs,
    traceLimit: 0,
    onTransition: capture.traceHook,
  });
}

/**
 * The kernel's sockets of this run, keyed by the client side (`ip:port`, as capture records
 * name it): the kernel is the client (its sockets' remote end is the stack and the target port)
 * or the server (their local port is the target's).
 */
export async function kernelSockets(lab: Lab, port: number, kernelIs: 'client' | 'server'): Promise<Map<string, string>> {
  const all = await readKernelSockets();
  if (kernelIs === 'client') return new Map(all.filter((s) => s.remoteIp === lab.stackIp && s.remotePort === port).map((s) => [`${s.localAddress}:${s.localPort}`, s.state]));
  return new Map(all.filter((s) => s.localPort === port && s.remoteIp === lab.stackIp).map((s) => [`${s.remoteAddress}:${s.remotePort}`, s.state]));
}

export async function serveBuiltinOnTap(plan: RunPlan, ctx: EngineContext, lab: Lab, capture: Capture, clock: Clock): Promise<ServedTarget & { stop(): Promise<void> }> {
  const stack = stackOnTap(plan, ctx, lab, capture, clock, plan.bugs);
  builtinService(plan.target).serve(stack);
  return {
    stack,
    retransmitting: stackRetransmitting(stack),
    // Kernel sockets run in a worker thread: the load must not starve the stack under test.
    jobs: jobsInWorker(plan),
    peerSocketSource: "the kernel's socket table (/proc/net/tcp in the lab namespace)",
    peerSockets: () => kernelSockets(lab, plan.server.port, 'client'),
    stop: async () => stack.close(),
  };
}
