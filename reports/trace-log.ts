import { closeSync, openSync, readSync } from 'node:fs';
import type { Endpoint, SequenceTrace } from './report.js';

/**
 * One line of a run's trace.log (harness/engine.ts `traceLine`): a tick of our stack's state
 * machine for one connection, mirage's shape after our prefix:
 * `UNIX-SECONDS #CONN LOCAL-IP:PORT REMOTE-IP:PORT frames=N { From }  - Action ->  { To }`.
 */
export interface Transition {
  unixS: number;
  conn: number;
  local: string;
  remote: string;
  /** Frames captured before the tick: it happened after frame N and before frame N + 1. */
  framesBefore: number;
  from: string;
  action: string;
  to: string;
}

const LINE = /^(\d+(?:\.\d+)?) #(\d+) (\S+:\d+) (\S+:\d+) frames=(\d+) (\{ [^}]* \})  - (.+?) ->  (\{ [^}]* \})$/;

/** A trace.log line, or undefined for anything else (blank lines, a trace of an older format). */
export function parseTraceLine(line: string): Transition | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { unixS: Number(m[1]), conn: Number(m[2]), local: m[3]!, remote: m[4]!, framesBefore: Number(m[5]), from: m[6]!, action: m[7]!, to: m[8]! };
}

const key = (e: Endpoint): string => `${e.ip}:${e.port}`;
/** Both orders: our stack is the server for built-in targets and the client for kernel-side ones. */
const pairKey = (a: string, b: string): string => (a < b ? `${a} ${b}` : `${b} ${a}`);

/** A state without its sequence numbers, as the page prints it: `{ Syn_rcvd }`. */
export function bareState(state: string): string {
  return state.replace(/^\{ (\w+).*\}$/, '{ $1 }');
}

/** The action without its sequence number: `Recv_ack`. */
export function bareAction(action: string): string {
  return action.split(' ')[0]!;
}

/** A traced connection's ticks, matched to a trace of the capture. */
export interface LaneTransitions {
  stream: number;
  /** Which lane they go on: the side whose address is our stack's. */
  side: 'client' | 'server';
  transitions: Transition[];
}

const CHUNK = 1 << 20;

/** Calls `onLine` with every line of a file, read in 1 MiB chunks (a trace of many connections is not held whole). */
function forEachLine(path: string, onLine: (line: string) => void): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const text = rest + buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const l of lines) onLine(l);
    }
    if (rest) onLine(rest);
  } finally {
    closeSync(fd);
  }
}

/**
 * The stack's transitions for each trace (a cluster representative), read from a trace.log:
 * lines of the trace's 4-tuple, grouped by the stack's connection id (a 4-tuple can come back
 * in a long run), and the group whose first tick lies nearest the trace's first frame is its
 * connection. Traces whose 4-tuple has no line get no entry (the stack was not one of its ends).
 */
export function readLaneTransitions(path: string, traces: readonly SequenceTrace[]): LaneTransitions[] {
  const wanted = new Map(traces.map((t) => [pairKey(key(t.client), key(t.server)), t]));
  const byTuple = new Map<string, Map<number, Transition[]>>();
  forEachLine(path, (line) => {
    const tr = parseTraceLine(line);
    if (!tr) return;
    const k = pairKey(tr.local, tr.remote);
    if (!wanted.has(k)) return;
    let groups = byTuple.get(k);
    if (!groups) byTuple.set(k, (groups = new Map()));
    let g = groups.get(tr.conn);
    if (!g) groups.set(tr.conn, (g = []));
    g.push(tr);
  });
  const out: LaneTransitions[] = [];
  for (const t of traces) {
    const groups = byTuple.get(pairKey(key(t.client), key(t.server)));
    const first = t.points[0]?.[8];
    if (!groups || first === undefined) continue;
    let best: Transition[] | undefined;
    for (const g of groups.values()) {
      if (!best || Math.abs(g[0]!.framesBefore - first) < Math.abs(best[0]!.framesBefore - first)) best = g;
    }
    if (best) out.push({ stream: t.stream, side: best[0]!.local === key(t.server) ? 'server' : 'client', transitions: best });
  }
  return out;
}
