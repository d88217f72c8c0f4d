import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { iproute } from '../link/tap.js';
import { EnvironmentError } from '../user-error.js';

/**
 * The lab's network namespace: one of its own per run, so no frame of a run can leave the
 * machine or reach the host's interfaces. A process enters it by running a command inside it:
 * under `unshare --net` by default, so the namespace and its TAP vanish with the process even on
 * SIGKILL; or under `ip netns exec NAME` for a named namespace that other tools can join while
 * the run is on (created here when missing, and removed again when the child is gone).
 *
 * Parent and child share one channel, fd 3 of the child (a socket pair): the child writes lines
 * to it (`labChannel().send`), and sees EOF there when the parent dies, however it dies — then it
 * terminates itself with SIGTERM so its own clean-up runs and the namespace does not outlive the run.
 */

/** A lab problem the user can fix (bad namespace name, missing tool, busy device): one line, exit 2. */
export class LabError extends EnvironmentError {
  override readonly name = 'LabError';
}

/** Set in the child: `private` or `netns:NAME`. Tells the child it is inside. */
const LAB_ENV = 'TCPFUZZ_LAB';
/** The fd of the child's channel to its parent. */
const LAB_CHANNEL_FD_ENV = 'TCPFUZZ_LAB_CHANNEL_FD';
/** The parent's own network namespace (`net:[inode]`): the one the lab must not be built in. */
const HOST_NETNS_ENV = 'TCPFUZZ_HOST_NETNS';
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** How long the parent reads the channel after the child exited, at most. */
const CHANNEL_DRAIN_MS = 1000;

export interface LabNamespace {
  /** The named namespace, or undefined for a private one. */
  netns: string | undefined;
}

/** The lab namespace this process runs in, or undefined outside the lab. */
export function currentLab(): LabNamespace | undefined {
  const marker = process.env[LAB_ENV];
  if (marker === undefined) return undefined;
  return { netns: marker.startsWith('netns:') ? marker.slice('netns:'.length) : undefined };
}

/** Throws a LabError unless `name` can name a namespace (ip-netns(8) makes it a file name). */
export function checkNetnsName(name: string): void {
  if (!NETNS_NAME.test(name)) throw new LabError(`bad namespace name '${name}' (letters, digits, '_', '.', '-'; at most 64)`);
}

export interface LabChild {
  /** The child's process id (node itself: unshare and ip netns exec exec() it). */
  readonly pid: number;
  /** Calls `cb` with every line the child sends on its channel. */
  onLine(cb: (line: string) => void): void;
  /** Resolves when the child has exited (and a namespace created for it is gone). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `command` (argv) inside a lab namespace: a private one, or the named `netns` (created
 * when missing, and then deleted once the child is gone). The child inherits stdio, gets the
 * channel on fd 3, and runs in a process group of its own: a terminal's Ctrl-C reaches only this
 * process, which forwards SIGINT/SIGTERM/SIGHUP once (in one group the child would get every
 * terminal signal twice). Throws a LabError when the namespace cannot be made.
 */
export function spawnInLab(command: string[], opts: { netns?: string | undefined } = {}): LabChild {
  let removeNetns = (): void => {};
  let argv: string[];
  if (opts.netns === undefined) {
    argv = ['unshare', '--net', '--', ...command];
  } else {
    const name = opts.netns;
    checkNetnsName(name);
    if (!namedNetnsExists(name)) {
      try {
        iproute(['netns', 'add', name]);
      } catch (e) {
        throw new LabError((e as Error).message);
      }
      removeNetns = once(() => {
        try {
          iproute(['netns', 'delete', name]);
        } catch (e) {
          process.stderr.write(`warning: ${(e as Error).message}\n`);
        }
      });
      process.on('exit', removeNetns);
    }
    argv = ['ip', 'netns', 'exec', name, ...command];
  }
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      [LAB_ENV]: opts.netns === undefined ? 'private' : `netns:${opts.netns}`,
      [LAB_CHANNEL_FD_ENV]: '3',
      [HOST_NETNS_ENV]: readNetns('self') ?? '',
    },
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  const channel = child.stdio[3] as Readable;
  const lines = createInterface({ input: channel, crlfDelay: Infinity });
  const channelClosed = new Promise<void>((resolve) => lines.once('close', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      removeNetns();
      // What the child wrote before it exited is read to the end; a process it started may still
      // hold its end of the channel open, so the wait for EOF is bounded.
      const drained = new Promise<void>((r) => setTimeout(r, CHANNEL_DRAIN_MS).unref());
      void Promise.race([channelClosed, drained]).then(() => {
        channel.destroy();
        resolve({ code, signal });
      });
    };
    child.on('error', (e) => {
      process.stderr.write(`fuzz: cannot start '${argv[0]}' to enter the lab namespace: ${e.message}\n`);
      done(127, null);
    });
    child.on('exit', done);
  });
  return { pid: child.pid ?? -1, onLine: (cb) => lines.on('line', cb), exited };
}

/**
 * Makes sure the process runs inside a lab namespace, by running this same command (node, its
 * flags, the script and arguments) inside one. Inside (the child) it resolves at once. Outside
 * it NEVER resolves: the parent waits for the child, then exits with the child's exit code (or
 * dies by its signal). Rejects with a LabError when the namespace cannot be entered.
 */
export function enterLabNamespace(opts: { netns?: string } = {}): Promise<LabNamespace> {
  const inside = currentLab();
  if (inside) {
    labChannel();
    return Promise.resolve(inside);
  }
  return new Promise((_resolve, reject) => {
    let child: LabChild;
    try {
      child = spawnInLab([process.execPath, ...process.execArgv, ...process.argv.slice(1)], opts);
    } catch (e) {
      reject(e);
      return;
    }
    void child.exited.then(({ code, signal }) => {
      if (signal !== null) {
        // Die the way the child died, so a caller sees the same status; if a listener of
        // someone else's keeps the signal from killing us, exit with the shell's 128 + n.
        process.kill(process.pid, signal);
        process.exit(128 + (osConstants.signals[signal] ?? 0));
      }
      process.exit(code ?? 1);
    });
  });
}

/** The child's end of the channel to its parent. */
export interface LabChannel {
  /** Sends one line (no newline in it) to the parent; nothing when there is no parent. */
  send(line: string): void;
}

let channel: LabChannel | undefined;

/**
 * In the child: the channel to the parent, opened once. When the parent dies (its end closes)
 * the child terminates itself with SIGTERM, so its own clean-up runs. Outside the lab (or in a
 * child started without a channel) `send` does nothing.
 */
export function labChannel(): LabChannel {
  if (channel) return channel;
  const fd = Number(process.env[LAB_CHANNEL_FD_ENV]);
  // Descendants (tools the run starts) must not take the channel for their own.
  delete process.env[LAB_CHANNEL_FD_ENV];
  let sock: Socket | undefined;
  if (Number.isInteger(fd) && fd >= 3) {
    try {
      sock = new Socket({ fd, readable: true, writable: true });
    } catch {
      sock = undefined;
    }
  }
  if (sock) {
    const parentGone = (): void => {
      process.kill(process.pid, 'SIGTERM');
    };
    sock.on('end', parentGone);
    sock.on('error', parentGone);
    sock.resume();
    sock.unref();
  }
  const s = sock;
  channel = { send: (line) => void s?.write(`${line}\n`) };
  return channel;
}

/**
 * The lab must not share a namespace with the process that started it (the user's shell or the
 * parent) nor with init. The parent names its own namespace in the child's environment, so the
 * check holds even when the parent is already gone (a child re-parented to init reads init's);
 * init's is compared too when readable (it often is not, even for root in a sandbox).
 */
export function assertNotHostNamespace(): void {
  const self = readNetns('self');
  const others = [process.env[HOST_NETNS_ENV] || undefined, readNetns('1')].filter((n) => n !== undefined);
  if (currentLab() === undefined) others.push(...[readNetns(String(process.ppid))].filter((n) => n !== undefined));
  if (self === undefined || others.length === 0) throw new LabError('cannot tell whether this is a separate network namespace (/proc/*/ns/net unreadable)');
  if (others.includes(self)) throw new LabError("refusing to build the lab in the starting process's network namespace (enter a lab namespace first)");
}

function readNetns(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

function namedNetnsExists(name: string): boolean {
  return iproute(['netns', 'list'])
    .split('\n')
    .some((line) => line.split(/\s+/)[0] === name);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
