import { ACK, FIN, RST, SYN } from '../stack/wire/tcp.js';
import { seqGe } from '../stack/wire/seq.js';
import type { ShapeStep, Verdict } from './report.js';
import { A_ANY_RETRANSMISSION, A_OUT_OF_ORDER } from './tcp-analysis.js';
import { rowSide } from './trace-arena.js';

/**
 * A connection's shape: who sent what, in order, so that connections that went the same way
 * read as one. Each segment is a step (`→ SYN`, `← data`, `→ FIN` …); a plain ACK is a step
 * only when it completes the handshake or acknowledges a FIN (RFC 9293 §3.5, §3.6) — the ACKs of
 * data come and go with timing and say nothing about the shape; a run of equal steps is one step
 * marked repeated, and so is a run of equal pairs (a request/response exchange, repeated).
 * `conn` gives its trace rows (TRACE_STRIDE numbers each, capture order); `client` is the client side.
 */
export function connectionShape(conn: { forEachTraceRow(visit: (slab: Float64Array, at: number) => void): void }, client: 0 | 1): ShapeStep[] {
  const raw: ShapeStep[] = [];
  // Per side: the sequence number just after its FIN (-1 before one), and whether its peer acknowledged it yet.
  const finEnd = [-1, -1];
  const finAcked = [false, false];
  let synAckSeen = false;
  let handshakeAcked = false;
  conn.forEachTraceRow((row, i) => {
    const side = rowSide(row[i + 1]!);
    const seq = row[i + 2]!;
    const len = row[i + 3]!;
    const flags = row[i + 4]!;
    const analysis = row[i + 5]!;
    const ack = row[i + 6]!;
    const window = row[i + 7]!;
    const peer = side ^ 1;
    let what: string | null;
    if (flags & RST) what = 'RST';
    else if (flags & SYN) {
      what = flags & ACK ? 'SYN/ACK' : 'SYN';
      if (flags & ACK) synAckSeen = true;
    } else if (flags & FIN) what = len > 0 ? 'data/FIN' : 'FIN';
    else if (len > 0) what = 'data';
    else if (window === 0) what = 'zero window';
    else what = null;
    if (flags & FIN && finEnd[side]! < 0) finEnd[side] = (seq + len + 1) >>> 0;
    if (flags & ACK && !(flags & RST)) {
      let counts = false;
      if (side === client && synAckSeen && !handshakeAcked) {
        handshakeAcked = true;
        counts = true;
      }
      if (finEnd[peer]! >= 0 && !finAcked[peer] && seqGe(ack, finEnd[peer]!)) {
        finAcked[peer] = true;
        counts = true;
      }
      if (what === null && counts) what = 'ACK';
    }
    if (what === null) return;
    const dir = side === client ? 'c2s' : 's2c';
    const again = (analysis & (A_ANY_RETRANSMISSION | A_OUT_OF_ORDER)) !== 0;
    const last = raw[raw.length - 1];
    // A run of equal steps is folded as it is read: one object per run, not per segment.
    if (last && last.dir === dir && last.what === what && last.again === again) last.repeat = 1;
    else raw.push({ dir, what, again, repeat: 0 });
  });
  return collapse(raw);
}

const same = (a: ShapeStep | undefined, b: ShapeStep | undefined): boolean =>
  a !== undefined && b !== undefined && a.dir === b.dir && a.what === b.what && a.again === b.again;

/**
 * Folds a run of equal pairs into one pair (repeat 2 on its second step): a request and a
 * response of one or more segments, three times over, is one pair. `raw` has its runs of equal
 * steps folded already (repeat 1; inside a repeated pair that mark gives way to the pair's).
 * Its objects are reused.
 */
function collapse(raw: ShapeStep[]): ShapeStep[] {
  const out: ShapeStep[] = [];
  let i = 0;
  while (i < raw.length) {
    const a = raw[i]!;
    const b = raw[i + 1];
    let k = i + 2;
    if (b) while (same(raw[k], a) && same(raw[k + 1], b)) k += 2;
    if (k > i + 2) {
      a.repeat = 0;
      b!.repeat = 2;
      out.push(a, b!);
      i = k;
      continue;
    }
    out.push(a);
    i++;
  }
  return out;
}

const ARROW = { c2s: '→', s2c: '←' } as const;
const WHATS = ['SYN', 'SYN/ACK', 'ACK', 'data', 'FIN', 'data/FIN', 'RST', 'zero window'];

/**
 * A shape as a short string, one character per step, to group connections by: cheap to build
 * and to hash for every connection of a large capture (the text is made once per cluster).
 */
export function shapeKey(steps: readonly ShapeStep[]): string {
  let key = '';
  for (const s of steps) key += String.fromCharCode(65 + WHATS.indexOf(s.what) * 12 + (s.dir === 'c2s' ? 0 : 6) + (s.again ? 3 : 0) + s.repeat);
  return key;
}

/** One step as text: `→ SYN/ACK`, `← data again`. */
export function stepText(s: ShapeStep): string {
  return `${ARROW[s.dir]} ${s.what}${s.again ? ' again' : ''}`;
}

/** The shape in one line: `→ SYN ← SYN/ACK → ACK (→ data ← data)+ → FIN`; a repeated step ends in `+`. */
export function shapeText(steps: readonly ShapeStep[]): string {
  const parts: string[] = [];
  for (const s of steps) {
    if (s.repeat === 2) parts.push(`(${parts.pop() ?? ''} ${stepText(s)})+`);
    else parts.push(stepText(s) + (s.repeat === 1 ? '+' : ''));
  }
  return parts.join(' ');
}

/** How a shape ends, in words: `no FIN from the server`, `closed both ways`, `reset` … */
export function shapeEnding(steps: readonly ShapeStep[], verdict: Verdict): string {
  const fin = (dir: ShapeStep['dir']): boolean => steps.some((s) => s.dir === dir && s.what.endsWith('FIN'));
  switch (verdict) {
    case 'half-closed':
      return fin('c2s') && !fin('s2c') ? 'no FIN from the server' : 'no FIN from the client';
    case 'complete':
      return 'closed both ways';
    case 'reset':
      return 'reset';
    case 'refused':
      return 'refused';
    case 'unanswered':
      return 'no answer to the SYN';
    case 'answered-by-ack':
      return 'the SYN answered by a bare ACK';
    case 'undetermined':
      return 'a FIN not answered yet: undetermined';
    case 'hang':
      return 'then nothing: hung';
    case 'open':
      return 'still open';
  }
}
