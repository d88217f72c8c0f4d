import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { intFlag } from '../../harness/flag-values.js';
import { planServe, runServe, type ServeReady } from '../../harness/index.js';
import { defaultOutDir } from '../../harness/plan.js';
import { createLogger } from '../../stack/log.js';
import { randomSeed } from '../../stack/rng.js';

/** What a person types to reach the served target from a shell, for the `ready` line. */
function reachCommand(netns: string | null, r: ServeReady, name: string): string {
  const client = name === 'goodbye' ? `echo "hi mom" | nc -N ${r.stackIp} ${r.port}` : `nc -N ${r.stackIp} ${r.port}`;
  return netns !== null ? `ip netns exec ${netns} sh -c '${client}'` : `nsenter --net=/proc/${r.pid}/ns/net sh -c '${client}'`;
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
    const plan = planServe({
      target: values.target,
      bugs: values.bug,
      netns: values.netns,
      pcap: values.pcap ?? join(defaultOutDir(new Date()), 'serve.pcap'),
      trace: values.trace,
      faults: values.faults,
      seed: values.seed === undefined ? randomSeed() : intFlag('seed', values.seed, 0, 0, 0xffffffff),
      kernelIp: values['kernel-ip'],
      stackIp: values['stack-ip'],
    });
    const log = createLogger(values['log-level']);
    const bugText = plan.bugs.length > 0 ? ` with bug ${plan.bugs.join(', ')}` : '';
    const done = await runServe(plan, {
      logLevel: values['log-level'],
      events: (e) => {
        if (e.type === 'notice') log[e.level](e.message);
      },
      onReady: (r) => {
        const where = plan.netns !== null ? `namespace ${plan.netns}` : `private namespace of pid ${r.pid}`;
        process.stdout.write(
          `ready: ${plan.targetText}${bugText} listening on ${r.stackIp}:${r.port} (${where}, kernel side ${r.kernelIp} on ${r.ifname}); ` +
            `reach it with: ${reachCommand(plan.netns, r, plan.target.name)}; pcap: ${plan.pcap}\n`,
        );
      },
    });
    process.stdout.write(`stopped (${done.signal}): ${done.frames} frames in ${plan.pcap}\n`);
    return 0;
  },
};
