import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { ipv4ToString, type Ipv4 } from '../addr.js';

/**
 * The kernel's own view of its TCP sockets: /proc/net/tcp of the current network namespace
 * (the file is per-namespace, so in the lab it lists only the run's sockets), as `ss` and
 * `netstat` read it.
 */

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
