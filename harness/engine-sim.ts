import { driveJobs, Capture, stackRetransmitting, type Engine, type EngineLoop } from './engine.js';
import { jobsInProcess } from './jobs.js';
import { builtinService } from './plan.js';
import { VirtualClock } from '../stack/clock.js';
import { createSimWire } from '../stack/link/sim.js';
import { runSim } from '../stack/sim-driver.js';
import { Stack } from '../stack/stack.js';
import { linuxStateName } from '../stack/tcp/state-names.js';
import { ipv4ToString } from '../stack/addr.js';
import type { Dialer } from '../fuzzers/netcat/job.js';

/** Virtual time starts at a fixed instant so the same seed gives the same pcap bytes. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);
const CLIENT_MAC = 0x02_77_00_00_00_01;
const TARGET_MAC = 0x02_77_00_00_00_02;

/**
 * `--link sim`: our own client stack (playing the kernel's part at the kernel address) and the
 * target stack on one sim wire, on a virtual clock. No privileges, deterministic to the byte.
 * Serves built-in targets only (the plan refuses the others).
 */
export const simEngine: Engine = {
  link: 'sim',
  async run(plan, ctx) {
    if (plan.target.kind !== 'builtin') throw new Error('the sim link serves built-in targets only');
    const clock = new VirtualClock(SIM_EPOCH_MS);
    const capture = Capture.forRun(plan);
    const [clientEnd, targetEnd] = createSimWire(clock, { latencyMs: 0.05 });
    const { kernelIp, stackIp } = plan.lab;
    const target = new Stack({
      link: capture.wrap(targetEnd),
      mac: TARGET_MAC,
      ip: stackIp,
      clock,
      log: ctx.log,
      seed: plan.seeds.targetStack,
      bugs: plan.bugs,
      traceLimit: 0,
      onTransition: capture.traceHook,
    });
    // The client stack's timers are Linux's defaults where they shape what the target sees (RTO
    // floor 200 ms, FIN_WAIT2 60 s), so a sim run tells the same story a kernel client would.
    const client = new Stack({
      link: clientEnd,
      mac: CLIENT_MAC,
      ip: kernelIp,
      clock,
      log: ctx.log,
      seed: plan.seeds.clientStack,
      traceLimit: 0,
      tcp: { minRto: 200, initialRto: 1000, finWait2Timeout: 60_000 },
    });
    try {
      builtinService(plan.target).serve(target);
      const dialer: Dialer = { clock, dial: (_host, port) => client.connect(plan.server.ip, port) };
      const loop: EngineLoop = {
        clock,
        drive: async (p) => {
          let done = false;
          void p.then(
            () => (done = true),
            () => (done = true),
          );
          // Bounded: virtual time cannot pass the run's deadline plus one job timeout.
          await runSim(clock, { until: () => done, untilMs: clock.now() + plan.jobs.deadlineMs + plan.jobs.timeoutMs + 1000, maxSteps: 50_000_000 });
          return p;
        },
        wait: async (ms) => void (await runSim(clock, { untilMs: clock.now() + ms, maxSteps: 1_000_000 })),
      };
      const kernelHost = ipv4ToString(kernelIp);
      return await driveJobs(plan, ctx, 'sim', loop, capture, {
        stack: target,
        retransmitting: stackRetransmitting(target),
        jobs: jobsInProcess(plan, dialer),
        peerSocketSource: "the client stack's own connections (sim wire)",
        peerSockets: async () =>
          new Map(
            client.tcp
              .connections()
              .filter((t) => t.remoteIp === stackIp)
              .map((t) => [`${kernelHost}:${t.localPort}`, linuxStateName(t.state.name)]),
          ),
      });
    } finally {
      client.close();
      target.close();
      capture.close();
    }
  },
};
