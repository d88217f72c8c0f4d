import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from '../command.js';
import { intFlag, parseFlags } from '../args.js';
import { UsageError } from '../errors.js';
import { checkBugs, checkWritableDir, defaultOutDir, parseFaultsFlag, resolveTarget } from '../run/config.js';
import { traceLine, wrapTargetLink } from '../run/engine.js';
import { LineFile } from '../run/line-file.js';
import { ipv4ToString, parseIpv4 } from '../../stack/addr.js';
import { RealClock } from '../../stack/clock.js';
import { createLogger } from '../../stack/log.js';
import { enterLabNamespace, LabError, labPrivilegeProblem, setupLab } from '../../stack/link/lab.js';
import { PcapWriter } from '../../stack/pcap/writer.js';
import { randomSeed } from '../../stack/rng.js';
import { Stack } from '../../stack/stack.js';

const RESOLVED_ENV = 'TCPFUZZ_SERVE_RESOLVED';

/** What a person types to reach the served target from a shell, for the `ready` line. */
function reachCommand(netns: string | undefined, ip: string, port: number, name: string): string {
  const client = name === 'goodbye' ? `echo "hi mom" | nc -N ${ip} ${port}` : `nc -N ${ip} ${port}`;
  return netns !== undefined ? `ip netns exec ${netns} sh -c '${client}'` : `nsenter --net=/proc/${process.pid}/ns/net sh -c '${client}'`;
}

export const serveCommand: Command = {
  usage: `usage: fuzz serve --target builtin:goodbye [--bug NAME]... [--netns NAME] [--pcap FILE]
                  [--trace FILE] [--faults SPEC] [--seed S] [--kernel-ip A] [--stack-ip A]

Brings up the lab (a network namespace with a TAP device: kernel side 10.77.0.1/24, our stack
10.77.0.2), serves the target on our stack, prints one 'ready' line saying where it listens and
the command to reach it, and serves until SIGINT/SIGTERM. Every frame crossing the TAP goes to
the pcap (default runs/<timestamp>/serve.pcap), complete and valid when it stops.
With --netns NAME other tools join the lab with 'ip netns exec NAME ...'. Needs root.`,
  async run(argv) {
    const { values } = parseFlags(
      argv,
      {
        target: { type: 'string' },
        bug: { type: 'string', multiple: true },
        netns: { type: 'string' },
        pcap: { type: 'string' },
        trace: { type: 'string' },
        faults: { type: 'string' },
        seed: { type: 'string' },
        'kernel-ip': { type: 'string' },
        'stack-ip': { type: 'string' },
        'log-level': { type: 'string' },
      },
      false,
    );
    const inherited = process.env[RESOLVED_ENV] ? (JSON.parse(process.env[RESOLVED_ENV]) as { pcap: string; seed: number }) : undefined;
    const resolved = resolveTarget(values.target ?? 'builtin:goodbye', values['kernel-ip'] ?? '10.77.0.1');
    if (resolved.kind !== 'builtin') throw new UsageError('fuzz serve serves built-in targets (builtin:NAME); kernel-side targets are served by themselves');
    const service = resolved.service;
    const bugs = checkBugs(values.bug ?? []);
    const faults = parseFaultsFlag(values.faults);
    const seed = inherited?.seed ?? (values.seed === undefined ? randomSeed() : intFlag('seed', values.seed, 0, 0, 0xffffffff));
    const kernelIp = parseIpv4(values['kernel-ip'] ?? '10.77.0.1');
    const stackIp = parseIpv4(values['stack-ip'] ?? '10.77.0.2');
    if (kernelIp === undefined || stackIp === undefined) throw new UsageError('--kernel-ip and --stack-ip must be IPv4 addresses');
    const pcapPath = inherited?.pcap ?? values.pcap ?? join(defaultOutDir(), 'serve.pcap');
    checkWritableDir(dirname(pcapPath));
    if (values.trace !== undefined) checkWritableDir(dirname(values.trace));
    const problem = labPrivilegeProblem(values.netns !== undefined ? { netns: values.netns } : {});
    if (problem) throw new UsageError(problem.replace('; --link sim works without them', ' (fuzz run --link sim works without them)'));

    process.env[RESOLVED_ENV] = JSON.stringify({ pcap: pcapPath, seed });
    let netns: string | undefined;
    try {
      netns = (await enterLabNamespace(values.netns !== undefined ? { netns: values.netns } : {})).netns;
    } catch (e) {
      if (e instanceof LabError) throw new UsageError(e.message);
      throw e;
    }

    const log = createLogger(values['log-level']);
    const clock = new RealClock();
    mkdirSync(dirname(pcapPath), { recursive: true });
    const lab = setupLab({ clock, kernelIp, stackIp, onError: (m) => log.warn(`tap: ${m}`) });
    const pcap = PcapWriter.open(pcapPath);
    const trace = values.trace !== undefined ? new LineFile(values.trace) : undefined;
    const { link } = wrapTargetLink(lab.link, pcap, { spec: faults, seed });
    const stack = new Stack({
      link,
      mac: lab.stackMac,
      ip: stackIp,
      prefixLen: lab.prefixLen,
      clock,
      log,
      seed,
      bugs,
      traceLimit: 0,
      ...(trace ? { onTransition: (r) => trace.write(traceLine(r)) } : {}),
    });
    service.serve(stack);
    const ip = ipv4ToString(stackIp);
    const where = netns !== undefined ? `namespace ${netns}` : `private namespace of pid ${process.pid}`;
    const bugText = bugs.length > 0 ? ` with bug ${bugs.join(', ')}` : '';
    process.stdout.write(
      `ready: builtin:${service.name}${bugText} listening on ${ip}:${service.port} (${where}, kernel side ${ipv4ToString(kernelIp)} on ${lab.ifname}); ` +
        `reach it with: ${reachCommand(netns, ip, service.port, service.name)}; pcap: ${pcapPath}\n`,
    );

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const stop = (s: NodeJS.Signals): void => resolve(s);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    stack.close();
    lab.close();
    trace?.close();
    pcap.close();
    process.stdout.write(`stopped (${signal}): ${pcap.frames} frames in ${pcapPath}\n`);
    return 0;
  },
};
