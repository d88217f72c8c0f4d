import { join } from 'node:path';
import { stackRetransmitting, type Capture, type EngineContext, type ServedTarget } from './engine.js';
import { jobsInProcess } from './jobs.js';
import type { RunPlan } from './plan.js';
import { kernelSockets, stackOnTap } from './target-builtin.js';
import type { Lab } from '../stack/lab/index.js';
import type { Clock } from '../stack/clock.js';
import { startExecTarget, waitListening } from '../targets/kernel.js';
import { exitWords, type TargetProcess } from '../targets/target-process.js';
import type { Dialer } from '../fuzzers/netcat/job.js';

/**
 * `exec:PORT:'COMMAND'` and `tcp://HOST:PORT`: a server run by the kernel's TCP in the lab
 * namespace. Our stack is the client over the TAP, so the TAP stays the one capture point and the
 * harness controls every segment the server sees; the kernel's socket table shows the server side.
 */
export async function serveKernelOnTap(plan: RunPlan, ctx: EngineContext, lab: Lab, capture: Capture, clock: Clock): Promise<ServedTarget & { stop(): Promise<void> }> {
  if (plan.target.kind !== 'kernel') throw new Error(`not a kernel-side target: ${plan.target.kind}`);
  const kernel = plan.target.kernel;
  const stack = stackOnTap(plan, ctx, lab, capture, clock, []);
  let exec: TargetProcess | undefined;
  try {
    if (kernel.kind === 'exec') {
      exec = await startExecTarget(kernel.command, kernel.port, { log: join(plan.outDir, 'target.log'), kernelIp: lab.kernelIp, cwd: process.cwd() });
    } else {
      await waitListening(kernel.port, { kernelIp: lab.kernelIp, timeoutMs: 5_000 });
    }
  } catch (e) {
    stack.close();
    throw e;
  }
  // Our stack is the client here, so its jobs run in this thread, beside it.
  const dialer: Dialer = { clock, dial: (_host, port) => stack.connect(lab.kernelIp, port) };
  return {
    stack,
    retransmitting: stackRetransmitting(stack),
    jobs: jobsInProcess(plan, dialer),
    peerSocketSource: "the kernel-side server's sockets (/proc/net/tcp in the lab namespace)",
    peerSockets: () => kernelSockets(lab, plan.server.port, 'server'),
    exited: () => {
      const exit = exec?.exit();
      return exit?.beforeStop ? `${exec!.command} ${exitWords(exit)} during the run; see target.log` : undefined;
    },
    stop: async () => {
      await exec?.stop();
      stack.close();
    },
  };
}
