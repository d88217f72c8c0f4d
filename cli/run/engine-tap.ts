import { join } from 'node:path';
import type { RunConfig } from './config.js';
import type { RawRun } from './raw-run.js';
import { FaultLedger } from './fault-ledger.js';
import { driveJobs, jobsInProcess, RunFiles, wrapTargetLink, type EngineContext } from './engine.js';
import { runJobsInWorker, type WorkerPlan } from './job-worker.js';
import { parseIpv4, type Ipv4 } from '../../stack/addr.js';
import { RealClock } from '../../stack/clock.js';
import { readKernelSockets, setupLab, type Lab } from '../../stack/link/lab.js';
import { Stack } from '../../stack/stack.js';
import { startExecTarget, waitListening, type ExecTarget } from '../../targets/kernel.js';
import type { Dialer } from '../../fuzzers/netcat/job.js';

/**
 * `--link tap`, inside the lab namespace (the caller has entered it); the TAP is the one capture
 * point either way:
 * - a built-in target: kernel sockets (node:net) connect over the TAP to the target on our
 *   stack, as the seed's 128 `nc` jobs did against the unikernel; the kernel's own socket table
 *   is the client side's view at the end;
 * - a kernel-side target (`exec:` or `tcp://`): our stack is the client, the server is the
 *   kernel's, and the kernel's socket table is the server side's view at the end.
 */
export async function runOnTap(cfg: RunConfig, ctx: EngineContext): Promise<RawRun> {
  const clock = new RealClock();
  const kernelIp = parseIpv4(cfg.kernelIp)!;
  const stackIp = parseIpv4(cfg.stackIp)!;
  const lab = setupLab({ clock, kernelIp, stackIp, onError: (m) => ctx.log.warn(`tap: ${m}`) });
  const files = new RunFiles(cfg.outDir);
  try {
    return cfg.resolved.kind === 'builtin' ? await builtinOnTap(cfg, ctx, lab, files, clock) : await kernelOnTap(cfg, ctx, lab, files, clock);
  } finally {
    lab.close();
    files.close();
  }
}

/** Our stack on the TAP, recorded, with the run's faults between the capture point and it. */
function stackOnTap(cfg: RunConfig, ctx: EngineContext, lab: Lab, files: RunFiles, clock: RealClock, bugs: string[]) {
  // Faults and the ledger key connections by the far side of the server: for a kernel-side
  // server that is our stack, for a built-in one the kernel clients.
  const ledger = new FaultLedger(parseIpv4(cfg.serverIp)!);
  const { link, recorder, faults } = wrapTargetLink(lab.link, files.pcap, { spec: cfg.faults, seed: cfg.seed, ledger });
  const stack = new Stack({
    link,
    mac: lab.stackMac,
    ip: lab.stackIp,
    prefixLen: lab.prefixLen,
    clock,
    log: ctx.log,
    seed: cfg.seed,
    bugs,
    traceLimit: 0,
    onTransition: files.traceHook(),
  });
  return { stack, ledger, recorder, faults };
}

/**
 * The jobs over the TAP, with what both cases share. The kernel is the `client` side (built-in
 * targets) or the `server` side (kernel-side targets); its socket table shows that side at the end.
 */
function driveOnTap(
  cfg: RunConfig,
  ctx: EngineContext,
  lab: Lab,
  files: RunFiles,
  clock: RealClock,
  onTap: ReturnType<typeof stackOnTap>,
  jobs: Parameters<typeof driveJobs>[2]['jobs'],
  kernelIs: 'client' | 'server',
): Promise<RawRun> {
  return driveJobs(cfg, ctx, {
    clock,
    jobs,
    target: onTap.stack,
    files,
    faults: onTap.faults,
    ledger: onTap.ledger,
    recorder: onTap.recorder,
    link: 'tap',
    peerSocketSource: kernelIs === 'client' ? "the kernel's socket table (/proc/net/tcp in the lab namespace)" : "the kernel-side server's sockets (/proc/net/tcp in the lab namespace)",
    drive: (p) => p,
    wait: sleep,
    peerSockets: () => kernelSockets(lab.stackIp, cfg.port, kernelIs === 'client' ? 'remote' : 'local'),
  });
}

async function builtinOnTap(cfg: RunConfig, ctx: EngineContext, lab: Lab, files: RunFiles, clock: RealClock): Promise<RawRun> {
  if (cfg.resolved.kind !== 'builtin') throw new Error('not a built-in target');
  const onTap = stackOnTap(cfg, ctx, lab, files, clock, cfg.bugs);
  const stack = onTap.stack;
  try {
    cfg.resolved.service.serve(stack);
    // Kernel sockets run in a worker thread: the load must not starve the stack under test.
    return await driveOnTap(cfg, ctx, lab, files, clock, onTap, (opts) => runJobsInWorker(workerPlan(cfg), opts), 'client');
  } finally {
    stack.close();
  }
}

async function kernelOnTap(cfg: RunConfig, ctx: EngineContext, lab: Lab, files: RunFiles, clock: RealClock): Promise<RawRun> {
  if (cfg.resolved.kind !== 'kernel') throw new Error('not a kernel-side target');
  const kernel = cfg.resolved.kernel;
  const onTap = stackOnTap(cfg, ctx, lab, files, clock, []);
  const stack = onTap.stack;
  let exec: ExecTarget | undefined;
  try {
    if (kernel.kind === 'exec') {
      exec = await startExecTarget(kernel.command, kernel.port, { log: join(cfg.outDir, 'target.log'), kernelIp: lab.kernelIp, cwd: process.cwd() });
    } else {
      await waitListening(kernel.port, { kernelIp: lab.kernelIp, timeoutMs: 5_000 });
    }
    // Our stack is the client here, so its jobs run in this thread, beside it.
    const dialer: Dialer = { clock, dial: (_host, port) => stack.connect(lab.kernelIp, port) };
    const raw = await driveOnTap(cfg, ctx, lab, files, clock, onTap, jobsInProcess(cfg, dialer), 'server');
    const exit = exec?.exit();
    if (exit?.beforeStop) raw.targetExited = `${exec!.command} exited during the run (code ${exit.code ?? '-'}, signal ${exit.signal ?? '-'}); see target.log`;
    return raw;
  } finally {
    await exec?.stop();
    stack.close();
  }
}

/** The jobs' part of the config, as plain data for the worker. */
function workerPlan(cfg: RunConfig): WorkerPlan {
  const { fuzzer, serverIp, port, jobs, concurrency, timeoutMs, connectTimeoutMs, deadlineMs, seed, payload, halfClose } = cfg;
  const http = cfg.http ? { playlistSpecs: cfg.http.playlistSpecs, readTimeoutMs: cfg.http.readTimeoutMs } : undefined;
  return { fuzzer, serverIp, port, jobs, concurrency, timeoutMs, connectTimeoutMs, deadlineMs, seed, payload, halfClose, http };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The namespace's TCP sockets of this run, keyed by the client side (`ip:port`, as capture
 * records name it): the kernel is the client (its sockets' remote end is the stack and the
 * target port) or the server (their local port is the target's).
 */
async function kernelSockets(stackIp: Ipv4, port: number, side: 'remote' | 'local'): Promise<Map<string, string>> {
  const all = await readKernelSockets();
  if (side === 'remote') return new Map(all.filter((s) => s.remoteIp === stackIp && s.remotePort === port).map((s) => [`${s.localAddress}:${s.localPort}`, s.state]));
  return new Map(all.filter((s) => s.localPort === port && s.remoteIp === stackIp).map((s) => [`${s.remoteAddress}:${s.remotePort}`, s.state]));
}
