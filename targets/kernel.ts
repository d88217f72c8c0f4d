import { readFile } from 'node:fs/promises';
import { ipv4ToString, parseIpv4, type Ipv4 } from '../stack/addr.js';
import { readKernelSockets } from '../stack/lab/proc-net-tcp.js';
import { TargetError, TargetStartError } from './registry.js';
import { exitWords, startTargetProcess, type StartProcessOptions, type TargetProcess } from './target-process.js';

/**
 * Kernel-side targets: servers run by the kernel's TCP in the lab namespace, fuzzed by our
 * stack as the client over the TAP device. The TAP stays the single capture point: every frame
 * between our stack (10.77.0.2) and the server (the kernel side, 10.77.0.1) crosses it, and
 * the link records it. A server must therefore listen on the kernel side's address or on all
 * addresses; one on 127.0.0.1 cannot be reached from the stack.
 *
 * Target syntax:
 * - `tcp://HOST:PORT`: something already listening (e.g. in a named `--netns` the user set up);
 *   HOST must be the kernel side's address.
 * - `exec:PORT:COMMAND`: the run starts COMMAND (through `sh -c`, in the lab namespace), waits
 *   until it listens on PORT, and stops it at the end. COMMAND may be quoted as a whole,
 *   `exec:8080:'nginx -c /tmp/t/nginx.conf'`, so the target reads as one shell word. The port is
 *   part of the target so a replay command or a case file carries everything.
 */
export type KernelTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'exec'; readonly port: number; readonly command: string };

function parsePort(text: string, target: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new TargetError(`bad port '${text}' in target '${target}' (1..65535)`);
  return port;
}

/**
 * Parses `tcp://HOST:PORT` or `exec:PORT:COMMAND`; undefined for any other kind of target (a
 * `builtin:` one). `kernelIp` is the kernel side's address in the lab: the only address the
 * stack can reach a kernel-side server at.
 */
export function parseKernelTarget(target: string, kernelIp: Ipv4): KernelTarget | undefined {
  if (target.startsWith('tcp://')) {
    const m = /^tcp:\/\/([^:/]+):([^:/]+)$/.exec(target);
    if (!m) throw new TargetError(`bad target '${target}' (expected tcp://HOST:PORT, e.g. tcp://${ipv4ToString(kernelIp)}:80)`);
    const ip = parseIpv4(m[1]!);
    if (ip === undefined) throw new TargetError(`bad host '${m[1]}' in target '${target}' (an IPv4 address: the lab has no names)`);
    if (ip !== kernelIp) {
      throw new TargetError(`target '${target}' cannot be reached from the stack: in the lab the kernel side is ${ipv4ToString(kernelIp)} (tcp://${ipv4ToString(kernelIp)}:${m[2]})`);
    }
    return { kind: 'tcp', host: m[1]!, port: parsePort(m[2]!, target) };
  }
  if (target.startsWith('exec:')) {
    const m = /^exec:([^:]*):(.*)$/s.exec(target);
    if (!m) throw new TargetError(`bad target '${target}' (expected exec:PORT:'COMMAND', e.g. exec:8080:'nginx -c /path/nginx.conf')`);
    const port = parsePort(m[1]!, target);
    let command = m[2]!.trim();
    const q = command[0];
    if ((q === "'" || q === '"') && command.length >= 2 && command.endsWith(q)) command = command.slice(1, -1);
    if (command.trim() === '') throw new TargetError(`target '${target}' has no command`);
    return { kind: 'exec', port, command };
  }
  return undefined;
}

export interface StartExecOptions extends StartProcessOptions {
  /** The address the stack reaches it at (the kernel side); listening on all addresses also does. */
  kernelIp: Ipv4;
  /** How long it may take to listen (default 10 s). */
  readyTimeoutMs?: number;
}

/**
 * Starts an `exec:` target's COMMAND (target-process.ts) and resolves once it listens on
 * `port` at the kernel side's address; rejects with a TargetStartError that quotes the end of
 * its log if it exits or does not listen in time. Nothing is left running when it rejects.
 */
export async function startExecTarget(command: string, port: number, opts: StartExecOptions): Promise<TargetProcess> {
  const target = await startTargetProcess(command, opts);
  try {
    await waitListening(port, { kernelIp: opts.kernelIp, timeoutMs: opts.readyTimeoutMs ?? 10_000, gone: () => target.exit() !== undefined });
  } catch (e) {
    await target.stop(500);
    const exit = target.exit();
    const tail = target.logTail();
    const how = exit && exit.beforeStop ? `${exitWords(exit)} before listening` : (e as Error).message;
    throw new TargetStartError(`exec target '${command}': ${how}; log ${opts.log}${tail ? `: ${tail}` : ''}`);
  }
  return target;
}

/** Ports with an IPv6 listener on all addresses (`::`), which on Linux also takes IPv4 unless v6only. */
async function listeningOnAllV6(): Promise<Set<number>> {
  let text: string;
  try {
    text = await readFile('/proc/net/tcp6', 'utf8');
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address is 32 hex digits and the port; state 0A is LISTEN.
    const m = /^0{32}:([0-9A-Fa-f]{4})$/.exec(f[1] ?? '');
    if (m && f[3] === '0A') ports.add(parseInt(m[1]!, 16));
  }
  return ports;
}

/**
 * Polls the namespace's socket table until something listens on `port` where the stack can
 * reach it (the kernel side's address, 0.0.0.0, or `::`). Bounded by `timeoutMs`; gives up at
 * once when `gone()` says the server has exited. Rejects with a TargetStartError that says why,
 * naming the address it listens on when that is one the stack cannot reach.
 */
export async function waitListening(port: number, opts: { kernelIp: Ipv4; timeoutMs: number; intervalMs?: number; gone?: () => boolean }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let elsewhere: string | undefined;
  for (;;) {
    const listeners = (await readKernelSockets()).filter((s) => s.state === 'LISTEN' && s.localPort === port);
    if (listeners.some((s) => s.localIp === opts.kernelIp || s.localIp === 0) || (await listeningOnAllV6()).has(port)) return;
    elsewhere = listeners[0]?.localAddress;
    if (opts.gone?.()) throw new TargetStartError('exited before listening');
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  const where = ipv4ToString(opts.kernelIp);
  if (elsewhere !== undefined) {
    throw new TargetStartError(`listens on ${elsewhere}:${port} only, which the stack cannot reach: listen on ${where}:${port} or 0.0.0.0:${port}`);
  }
  throw new TargetStartError(`nothing listens on ${where}:${port} after ${opts.timeoutMs} ms`);
}
