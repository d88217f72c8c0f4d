import { connect } from 'node:net';
import type { RunConfig } from './config.js';
import type { RawRun } from './raw-run.js';
import { FaultLedger } from './fault-ledger.js';
import { driveJobs, RunFiles, wrapTargetLink, type EngineContext } from './engine.js';
import { parseIpv4 } from '../../stack/addr.js';
import { RealClock } from '../../stack/clock.js';
import { readKernelSockets, setupLab } from '../../stack/link/lab.js';
import { Stack } from '../../stack/stack.js';
import type { Dialer } from '../../fuzzers/netcat/job.js';

/**
 * `--link tap`, inside the lab namespace (the caller has entered it): kernel sockets
 * (node:net) connect over the TAP device to the target on our stack, as the seed's 128 `nc`
 * jobs did against the unikernel. The kernel's own socket table is read at the end.
 */
export async function runOnTap(cfg: RunConfig, ctx: EngineContext): Promise<RawRun> {
  const clock = new RealClock();
  const stackIp = parseIpv4(cfg.stackIp)!;
  const lab = setupLab({
    clock,
    kernelIp: parseIpv4(cfg.kernelIp)!,
    stackIp,
    onError: (m) => ctx.log.warn(`tap: ${m}`),
  });
  const files = new RunFiles(cfg.outDir);
  const start = clock.now();
  const ledger = new FaultLedger(stackIp);
  const { link, recorder, faults } = wrapTargetLink(lab.link, files.pcap, { spec: cfg.faults, seed: cfg.seed, ledger });
  const target = new Stack({
    link,
    mac: lab.stackMac,
    ip: stackIp,
    prefixLen: lab.prefixLen,
    clock,
    log: ctx.log,
    seed: cfg.seed,
    bugs: cfg.bugs,
    traceLimit: 0,
    onTransition: files.traceHook(clock, start),
  });
  try {
    cfg.service.serve(target);
    const dialer: Dialer = { clock, dial: (host, port) => connect({ host, port, allowHalfOpen: true }) };
    return await driveJobs(cfg, ctx, {
      dialer,
      target,
      files,
      faults,
      ledger,
      recorder,
      link: 'tap',
      peerSocketSource: "the kernel's socket table (/proc/net/tcp in the lab namespace)",
      drive: (p) => p,
      peerSockets: async () =>
        new Map(
          (await readKernelSockets())
            .filter((s) => s.remoteIp === stackIp && s.remotePort === cfg.service.port)
            .map((s) => [`${s.localAddress}:${s.localPort}`, s.state]),
        ),
    });
  } finally {
    target.close();
    lab.close();
    files.close();
  }
}
