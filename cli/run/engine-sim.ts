import type { RunConfig } from './config.js';
import type { RawRun } from './raw-run.js';
import { FaultLedger } from './fault-ledger.js';
import { driveJobs, jobsInProcess, RunFiles, wrapTargetLink, type EngineContext } from './engine.js';
import { linuxStateName } from './peer-states.js';
import { parseIpv4 } from '../../stack/addr.js';
import { VirtualClock } from '../../stack/clock.js';
import { createSimWire } from '../../stack/link/sim.js';
import { runSim } from '../../stack/sim-driver.js';
import { Stack } from '../../stack/stack.js';
import type { Dialer } from '../../fuzzers/netcat/job.js';

/** Virtual time starts at a fixed instant so the same seed gives the same pcap bytes. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);
const CLIENT_MAC = 0x02_77_00_00_00_01;
const TARGET_MAC = 0x02_77_00_00_00_02;

/**
 * `--link sim`: our own client stack (playing the kernel's part at the kernel address) and the
 * target stack on one sim wire, on a virtual clock. No privileges, deterministic to the byte.
 */
export async function runOnSim(cfg: RunConfig, ctx: EngineContext): Promise<RawRun> {
  const clock = new VirtualClock(SIM_EPOCH_MS);
  const files = new RunFiles(cfg.outDir);
  const [clientEnd, targetEnd] = createSimWire(clock, { latencyMs: 0.05 });
  const kernelIp = parseIpv4(cfg.kernelIp)!;
  const stackIp = parseIpv4(cfg.stackIp)!;
  const ledger = new FaultLedger(stackIp);
  const { link, recorder, faults } = wrapTargetLink(targetEnd, files.pcap, { spec: cfg.faults, seed: cfg.seed, ledger });
  const target = new Stack({
    link,
    mac: TARGET_MAC,
    ip: stackIp,
    clock,
    log: ctx.log,
    seed: cfg.seed,
    bugs: cfg.bugs,
    traceLimit: 0,
    onTransition: files.traceHook(),
  });
  // The client stack's timers are Linux's defaults where they shape what the target sees (RTO
  // floor 200 ms, FIN_WAIT2 60 s), so a sim run tells the same story a kernel client would.
  const client = new Stack({
    link: clientEnd,
    mac: CLIENT_MAC,
    ip: kernelIp,
    clock,
    log: ctx.log,
    seed: (cfg.seed ^ 0x5bd1e995) >>> 0,
    traceLimit: 0,
    tcp: { minRto: 200, initialRto: 1000, finWait2Timeout: 60_000 },
  });
  try {
    if (cfg.resolved.kind !== 'builtin') throw new Error('the sim link serves built-in targets only');
    cfg.resolved.service.serve(target);
    const dialer: Dialer = { clock, dial: (host, port) => client.connect(parseIpv4(host)!, port) };
    return await driveJobs(cfg, ctx, {
      clock,
      jobs: jobsInProcess(cfg, dialer),
      target,
      files,
      faults,
      ledger,
      recorder,
      link: 'sim',
      peerSocketSource: "the client stack's own connections (sim wire)",
      drive: async (p) => {
        let done = false;
        void p.then(
          () => (done = true),
          () => (done = true),
        );
        // Bounded: virtual time cannot pass the run's deadline plus one job timeout.
        await runSim(clock, { until: () => done, untilMs: clock.now() + cfg.deadlineMs + cfg.timeoutMs + 1000, maxSteps: 50_000_000 });
        return p;
      },
      wait: async (ms) => void (await runSim(clock, { untilMs: clock.now() + ms, maxSteps: 1_000_000 })),
      peerSockets: async () =>
        new Map(
          client.tcp
            .connections()
            .filter((t) => t.remoteIp === stackIp)
            .map((t) => [`${cfg.kernelIp}:${t.localPort}`, linuxStateName(t.state.name)]),
        ),
    });
  } finally {
    client.close();
    target.close();
    files.close();
  }
}
