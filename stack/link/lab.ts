import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { constants as osConstants, endianness } from 'node:os';
import { delimiter, join } from 'node:path';
import { ipv4ToString, parseMac, type Ipv4, type Mac } from '../addr.js';
import type { Clock } from '../clock.js';
import { iproute, linkAddress, TapLink } from './tap.js';

/**
 * The lab: a network namespace of its own per run, with a TAP device whose kernel side has
 * 10.77.0.1/24 and whose other side is our stack at 10.77.0.2. Nothing routes out of the
 * namespace, so no frame of a run can leave the machine or reach the host's interfaces.
 *
 * Entering it re-executes the current command inside the namespace (`enterLabNamespace`):
 * under `unshare --net` by default, so the namespace and the TAP vanish with the process
 * even on SIGKILL; or under `ip netns exec NAME` for a named namespace that other tools can
 * join while the run is on.
 */

/** Set in the re-executed child: `private` or `netns:NAME`. Tells the child it is inside. */
const LAB_ENV = 'TCPFUZZ_LAB';
/** The fd on which the child watches for its parent's death (EOF). */
const LAB_PARENT_FD_ENV = 'TCPFUZZ_LAB_PARENT_FD';
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** A lab problem the user can fix (bad namespace name, missing tool): one line, exit 2. */
export class LabError extends Error {
  override readonly name = 'LabError';
}

export interface LabNamespace {
  /** The named namespace, or undefined for a private one. */
  netns: string | undefined;
}

/**
 * Makes sure the process runs inside a lab namespace. Inside (the re-executed child) it
 * resolves at once. Outside, it re-executes this same command (node, its flags, the script
 * and arguments) inside the namespace with inherited stdio and NEVER resolves: the parent
 * only forwards SIGINT/SIGTERM/SIGHUP to the child, deletes a named namespace it created
 * once the child is gone, and exits with the child's exit code (or dies by its signal).
 * Rejects with a LabError when the namespace cannot be entered.
 */
export function enterLabNamespace(opts: { netns?: string } = {}): Promise<LabNamespace> {
  const marker = process.env[LAB_ENV];
  if (marker !== undefined) {
    watchParent();
    return Promise.resolve({ netns: marker.startsWith('netns:') ? marker.slice('netns:'.length) : undefined });
  }
  return new Promise((_resolve, reject) => {
    let removeNetns = (): void => {};
    const command = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
    let argv: string[];
    if (opts.netns === undefined) {
      argv = ['unshare', '--net', '--', ...command];
    } else {
      const name = opts.netns;
      if (!NETNS_NAME.test(name)) throw new LabError(`bad namespace name '${name}' (letters, digits, '_', '.', '-'; at most 64)`);
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
    // Own process group: a terminal's Ctrl-C reaches only the parent, which forwards it once
    // (in one group the child would get every terminal signal twice). fd 3 is the parent's
    // lifeline: the child sees EOF there when the parent dies, however it dies.
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      detached: true,
      env: { ...process.env, [LAB_ENV]: opts.netns === undefined ? 'private' : `netns:${opts.netns}`, [LAB_PARENT_FD_ENV]: '3' },
    });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    const stopForwarding = (): void => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    };
    child.on('error', (e) => {
      stopForwarding();
      removeNetns();
      reject(new LabError(`cannot start '${argv[0]}' to enter the lab namespace: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      stopForwarding();
      removeNetns();
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

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function namedNetnsExists(name: string): boolean {
  return iproute(['netns', 'list'])
    .split('\n')
    .some((line) => line.split(/\s+/)[0] === name);
}

/**
 * In the child: when the parent dies (its end of fd 3 closes) the child terminates itself
 * with SIGTERM, so its own clean-up runs and the namespace does not outlive the run.
 */
function watchParent(): void {
  const fd = Number(process.env[LAB_PARENT_FD_ENV]);
  // Descendants (tools the run starts) must not take the lifeline for their own.
  delete process.env[LAB_PARENT_FD_ENV];
  if (!Number.isInteger(fd) || fd < 3) return;
  let lifeline: Socket;
  try {
    lifeline = new Socket({ fd, readable: true, writable: false });
  } catch {
    return;
  }
  const parentGone = (): void => {
    process.kill(process.pid, 'SIGTERM');
  };
  lifeline.on('end', parentGone);
  lifeline.on('error', parentGone);
  lifeline.resume();
  lifeline.unref();
}

/** What the lab needs from this machine; `diagnoseLabPrivileges` turns them into one line. */
export interface LabFacts {
  /** Effective capability set (CapEff of /proc/self/status). */
  capEff: bigint;
  tunExists: boolean;
  /** Commands found on PATH. */
  commands: ReadonlySet<string>;
  /** Whether a named namespace is asked for (then `unshare` is not needed). */
  named: boolean;
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/**
 * One line naming what is missing for the lab, or undefined when nothing is. TUNSETIFF and
 * addresses need CAP_NET_ADMIN; a new network namespace needs CAP_SYS_ADMIN.
 */
export function diagnoseLabPrivileges(f: LabFacts): string | undefined {
  const missing: string[] = [];
  const caps = [
    [CAP_NET_ADMIN, 'CAP_NET_ADMIN'],
    [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN'],
  ] as const;
  const lacking = caps.filter(([bit]) => ((f.capEff >> bit) & 1n) === 0n).map(([, name]) => name);
  if (lacking.length > 0) missing.push(`root (${lacking.join(' and ')})`);
  if (!f.tunExists) missing.push('/dev/net/tun');
  for (const c of f.named ? ['ip'] : ['ip', 'unshare']) if (!f.commands.has(c)) missing.push(`the '${c}' command`);
  if (missing.length === 0) return undefined;
  return `the TAP lab needs ${missing.join(', ')}; --link sim works without them`;
}

/** `diagnoseLabPrivileges` for this process on this machine. */
export function labPrivilegeProblem(opts: { netns?: string } = {}): string | undefined {
  const status = readFileSync('/proc/self/status', 'utf8');
  const capHex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  const commands = new Set(['ip', 'unshare'].filter(onPath));
  return diagnoseLabPrivileges({ capEff: BigInt(`0x${capHex}`), tunExists: existsSync('/dev/net/tun'), commands, named: opts.netns !== undefined });
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), fsConstants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export const LAB_KERNEL_IP: Ipv4 = 0x0a4d0001; // 10.77.0.1
export const LAB_STACK_IP: Ipv4 = 0x0a4d0002; // 10.77.0.2
export const LAB_PREFIX_LEN = 24;
/** Locally administered (bit 1 of the first octet), unicast. */
export const LAB_STACK_MAC: Mac = 0x02_77_00_00_00_02;
export const LAB_IFNAME = 'tcpfuzz0';

export interface LabOptions {
  clock: Clock;
  ifname?: string;
  kernelIp?: Ipv4;
  stackIp?: Ipv4;
  prefixLen?: number;
  stackMac?: Mac;
  mtu?: number;
  /** See TapOpenOptions.onError. */
  onError?: (message: string) => void;
}

export interface Lab {
  link: TapLink;
  ifname: string;
  kernelIp: Ipv4;
  /** The kernel side's MAC (the TAP device's own address). */
  kernelMac: Mac;
  stackIp: Ipv4;
  stackMac: Mac;
  prefixLen: number;
  /** The named namespace, undefined for a private one. */
  netns: string | undefined;
  /** Closes the TAP link; the device and its address vanish with it. */
  close(): void;
}

/**
 * Builds the lab inside the current namespace: `lo` up, the TAP device, IPv6 off on it (no
 * router solicitations or MLD reports in the capture), the kernel's address on it, link up.
 * Refuses to run in the host's namespace, so a forgotten `enterLabNamespace` cannot put a
 * 10.77.0.0/24 interface on the host. Every failure is a LabError.
 */
export function setupLab(opts: LabOptions): Lab {
  const kernelIp = opts.kernelIp ?? LAB_KERNEL_IP;
  const stackIp = opts.stackIp ?? LAB_STACK_IP;
  const prefixLen = opts.prefixLen ?? LAB_PREFIX_LEN;
  const stackMac = opts.stackMac ?? LAB_STACK_MAC;
  checkAddresses(kernelIp, stackIp, prefixLen);
  assertNotHostNamespace();
  let link: TapLink | undefined;
  try {
    iproute(['link', 'set', 'dev', 'lo', 'up']);
    link = TapLink.open({ name: opts.ifname ?? LAB_IFNAME, clock: opts.clock, mtu: opts.mtu, onError: opts.onError });
    const ifname = link.ifname;
    // Before the link goes up: IPv6 would otherwise send DAD, MLD and router solicitations.
    const v6 = `/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`;
    if (existsSync(v6)) writeFileSync(v6, '1');
    iproute(['addr', 'add', `${ipv4ToString(kernelIp)}/${prefixLen}`, 'dev', ifname]);
    // The TAP's queue toward our reader holds what the kernel sends while JS is busy; the default
    // (1000 frames) overflows when a thousand connections open at once, and a frame dropped there
    // is a frame the capture never saw. 10,000 frames is about 15 MB at most.
    iproute(['link', 'set', 'dev', ifname, 'txqueuelen', '10000']);
    iproute(['link', 'set', 'dev', ifname, 'up']);
    const kernelMac = parseMac(linkAddress(ifname));
    if (kernelMac === undefined) throw new Error(`${ifname}: unreadable hardware address`);
    const marker = process.env[LAB_ENV];
    const tap = link;
    return {
      link: tap,
      ifname,
      kernelIp,
      kernelMac,
      stackIp,
      stackMac,
      prefixLen,
      netns: marker?.startsWith('netns:') ? marker.slice('netns:'.length) : undefined,
      close: () => tap.close(),
    };
  } catch (e) {
    link?.close();
    // Whatever fails here is the machine's or the namespace's state (a name in use, no
    // privilege, a missing tool): the user's to fix, so one line and exit 2.
    throw new LabError(`cannot build the lab: ${(e as Error).message}`);
  }
}

function checkAddresses(kernelIp: Ipv4, stackIp: Ipv4, prefixLen: number): void {
  if (!Number.isInteger(prefixLen) || prefixLen < 1 || prefixLen > 30) throw new LabError(`bad prefix length /${prefixLen} (1..30)`);
  const mask = (0xffffffff << (32 - prefixLen)) >>> 0;
  if (kernelIp === stackIp) throw new LabError(`kernel and stack addresses are both ${ipv4ToString(kernelIp)}`);
  if (((kernelIp & mask) >>> 0) !== ((stackIp & mask) >>> 0)) {
    throw new LabError(`${ipv4ToString(stackIp)} is not in ${ipv4ToString(kernelIp)}/${prefixLen}`);
  }
}

/**
 * The lab must not share a namespace with the process that started us (the user's shell or
 * the re-exec parent) nor with init. Namespaces that cannot be read (init's often cannot,
 * even for root in a sandbox) are skipped, but at least one must be compared.
 */
function assertNotHostNamespace(): void {
  const self = readNetns('self');
  const others = [String(process.ppid), '1'].map(readNetns).filter((n) => n !== undefined);
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

// ---- the namespace's kernel sockets -------------------------------------------------------

/** TCP states by the numbers in include/net/tcp_states.h, named as /proc and `ss` name them. */
const TCP_STATES = [
  undefined,
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
] as const;

export type KernelTcpState = Exclude<(typeof TCP_STATES)[number], undefined>;

export interface KernelSocket {
  state: KernelTcpState;
  localIp: Ipv4;
  localAddress: string;
  localPort: number;
  remoteIp: Ipv4;
  remoteAddress: string;
  remotePort: number;
  /** Bytes queued to send (tx_queue) and received but unread (rx_queue). */
  txQueue: number;
  rxQueue: number;
  uid: number;
  /** 0 for sockets no process holds any more (orphans, TIME_WAIT). */
  inode: number;
}

/**
 * The kernel's IPv4 TCP sockets in this process's network namespace (/proc/net/tcp is
 * per-namespace). Sockets a process closed but the kernel still keeps (TIME_WAIT, and
 * FIN_WAIT2 of an orphan) are listed with the state they are in.
 */
export async function readKernelSockets(path = '/proc/net/tcp'): Promise<KernelSocket[]> {
  return parseProcNetTcp(await readFile(path, 'utf8'));
}

/**
 * Parses /proc/net/tcp text. Addresses are printed as the raw 32-bit word in host byte
 * order, so on little-endian machines the bytes are reversed; ports are big-endian hex.
 */
export function parseProcNetTcp(text: string): KernelSocket[] {
  const out: KernelSocket[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = parseEndpoint(f[1]!);
    const remote = parseEndpoint(f[2]!);
    const state = TCP_STATES[parseInt(f[3]!, 16)];
    const [tx, rx] = f[4]!.split(':');
    if (!local || !remote || !state || tx === undefined || rx === undefined) continue;
    out.push({
      state,
      localIp: local.ip,
      localAddress: ipv4ToString(local.ip),
      localPort: local.port,
      remoteIp: remote.ip,
      remoteAddress: ipv4ToString(remote.ip),
      remotePort: remote.port,
      txQueue: parseInt(tx, 16),
      rxQueue: parseInt(rx, 16),
      uid: Number(f[7]),
      inode: Number(f[9]),
    });
  }
  return out;
}

const LITTLE_ENDIAN = endianness() === 'LE';

function parseEndpoint(text: string): { ip: Ipv4; port: number } | undefined {
  const m = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return undefined;
  const word = parseInt(m[1]!, 16) >>> 0;
  const ip = LITTLE_ENDIAN ? byteSwap32(word) : word;
  return { ip, port: parseInt(m[2]!, 16) };
}

function byteSwap32(w: number): number {
  return (((w & 0xff) << 24) | (((w >>> 8) & 0xff) << 16) | (((w >>> 16) & 0xff) << 8) | (w >>> 24)) >>> 0;
}

/** Sockets per state, most frequent first (ties in the kernel's state order). */
export function histogram(sockets: Iterable<{ state: KernelTcpState }>): Map<KernelTcpState, number> {
  const counts = new Map<KernelTcpState, number>();
  for (const s of sockets) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const order = (s: KernelTcpState): number => TCP_STATES.indexOf(s);
  return new Map([...counts].sort((a, b) => b[1] - a[1] || order(a[0]) - order(b[0])));
}
