import { readFileSync } from 'node:fs';

/**
 * The namespace's TCP counters, as `nstat` reads them: /proc/net/snmp (the MIB's Tcp group) and
 * /proc/net/netstat (Linux's TcpExt), each a header line of names and a line of values per
 * group. Keys are "Group.Name" (e.g. "TcpExt.ListenOverflows"). Counters are per network
 * namespace, so inside the lab they count only the run's own traffic.
 */
export type TcpCounters = Record<string, number>;

const SOURCES = ['/proc/net/snmp', '/proc/net/netstat'];
/** The groups kept: TCP's and the IP-level ones its drops can show in. */
const GROUPS = new Set(['Tcp', 'TcpExt']);

/** Parses one /proc/net/{snmp,netstat} text: pairs of "Group: names…" / "Group: values…" lines. */
export function parseNetstat(text: string): TcpCounters {
  const out: TcpCounters = {};
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const group = names[0]?.replace(/:$/, '') ?? '';
    if (!GROUPS.has(group) || values[0] !== names[0]) continue;
    for (let k = 1; k < names.length && k < values.length; k++) {
      const v = Number(values[k]);
      if (Number.isFinite(v)) out[`${group}.${names[k]}`] = v;
    }
  }
  return out;
}

/** The current namespace's TCP counters. */
export function readTcpCounters(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): TcpCounters {
  return Object.assign({}, ...SOURCES.map((p) => parseNetstat(read(p)))) as TcpCounters;
}

/** What grew between two readings (counters that did not move are left out). */
export function counterDelta(before: TcpCounters, after: TcpCounters): TcpCounters {
  const out: TcpCounters = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
