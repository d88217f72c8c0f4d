/** The wording the finding rules share: who did it, how many, which sub-cases. */
import type { Endpoint } from '../report.js';
import type { Culprit, FindingGroup } from './rule.js';

/** Grammar for "the server" (one endpoint) versus "the clients" (many). */
export interface Party {
  name: string;
  /** "its" / "their" */
  its: string;
  /** "waits" / "wait" */
  s: string;
  possessive: string;
}

export const SERVER: Party = { name: 'the server', its: 'its', s: 's', possessive: "the server's" };
export const CLIENTS: Party = { name: 'the clients', its: 'their', s: '', possessive: "the clients'" };

/** The group's culprit (`self`) and the other side (`peer`). */
export function parties(g: FindingGroup): { self: Party; peer: Party } {
  return g.culprit === 'server' ? { self: SERVER, peer: CLIENTS } : { self: CLIENTS, peer: SERVER };
}

/** "The server" / "The clients", to open a sentence. */
export const capitalized = (p: Party): string => p.name[0]!.toUpperCase() + p.name.slice(1);

export const endpointKey = (e: Endpoint): string => `${e.ip}:${e.port}`;

/** "server 10.77.0.2:19" or "clients of 10.77.0.2:19". */
export function who(g: FindingGroup): string {
  const ep = endpointKey(g.server);
  return g.culprit === 'server' ? `server ${ep}` : `clients of ${ep}`;
}

/** "3/128 connections": the group's connections of all its server's. */
export const ofTotal = (g: FindingGroup, total: number): string => `${g.connections}/${total} connections`;

/** "1 connection", "3 connections". */
export const connections = (n: number): string => `${n} connection${n === 1 ? '' : 's'}`;

/** "3000" or "2990–3010" (rounded ms). */
export function msRange(g: FindingGroup): string {
  const [lo, hi] = (g.msRange ?? [0, 0]).map(Math.round) as [number, number];
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

/** "FIN_WAIT2 on 128 connections, FIN_WAIT1 on 3" from a group's tag counts. */
export function tagSummary(g: FindingGroup): string {
  return [...g.tags.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([tag, n], i) => `${tag} on ${i === 0 ? connections(n) : n}`)
    .join(', ');
}

/** Whether side `k` of a connection whose client side is `c` is the client or the server. */
export const roleName = (k: 0 | 1, c: 0 | 1): Culprit => (k === c ? 'client' : 'server');

/** Frames as "3, 5, 9" (at most `max`, then "…"). */
export function frameList(frames: number[], max = 8): string {
  return frames.length > max ? `${frames.slice(0, max).join(', ')}, …` : frames.join(', ');
}

/** A duration in internal nanoseconds as seconds with three decimals ("5.000"). */
export const seconds = (ns: number): string => (ns / 1e9).toFixed(3);
