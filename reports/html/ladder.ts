import { escapeXml as esc } from '../escape.js';
import type { SequenceTrace, ShapeStep } from '../report.js';
import type { FaultEvent } from '../run-report.js';
import { A_ANY_RETRANSMISSION, A_DUPLICATE_ACK, A_OUT_OF_ORDER, A_ZERO_WINDOW, A_ZERO_WINDOW_PROBE } from '../tcp-analysis.js';
import { bareAction, bareState, type LaneTransitions, type Transition } from '../trace-log.js';
import { stepText } from '../shape.js';
import { ACK } from '../../stack/wire/tcp.js';

/** Segments drawn per ladder: the first LADDER_HEAD and the last LADDER_TAIL; one row says how many lie between. */
const LADDER_HEAD = 100;
const LADDER_TAIL = 50;
/** A pause this long between two rows is drawn as a gap with its length. */
const GAP_S = 0.2;

const W = 980;
const LANE_X = { client: 290, server: 730 } as const;
const SEG_H = 30;
const TICK_H = 20;
const GAP_H = 20;
const TOP = 58;

/** Wireshark's flag names, lowest bit first, as `tshark -z flow,tcp` prints them ("PSH, ACK"). */
const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'] as const;

export function flowFlags(flags: number): string {
  return FLAG_NAMES.filter((_, i) => flags & (1 << i)).join(', ');
}

/** What the analysis says of a segment, in words, with the mark's class: retransmissions, dup ACKs, zero windows. */
function marks(analysis: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (analysis & A_ANY_RETRANSMISSION) out.push(['retx', 'retransmission']);
  else if (analysis & A_OUT_OF_ORDER) out.push(['retx', 'out of order']);
  if (analysis & A_DUPLICATE_ACK) out.push(['dup', 'dup ACK']);
  if (analysis & A_ZERO_WINDOW) out.push(['zw', 'zero window']);
  if (analysis & A_ZERO_WINDOW_PROBE) out.push(['zw', 'zero-window probe']);
  return out;
}

/** The ladders' style: the page carries it once; a standalone .svg file carries its own copy. */
export const LADDER_STYLE =
  '.ld text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#212121}.ld .hd{font-weight:700;font-size:12px}' +
  '.ld .lane{stroke:#9e9e9e;stroke-width:1.5}.ld .t{fill:#616161}.ld .c2s{stroke:#1565c0;fill:#1565c0}.ld .s2c{stroke:#00897b;fill:#00897b}' +
  '.ld .retx{stroke:#d32f2f;fill:#d32f2f}.ld .dup{stroke:#ef6c00;fill:#ef6c00}.ld .zw{stroke:#6a1b9a;fill:#6a1b9a}' +
  '.ld .fault{stroke:#c2185b;fill:#c2185b}.ld text.fault{stroke:none}' +
  '.ld text.retx,.ld text.dup,.ld text.zw,.ld text.fault{stroke:none;font-weight:700}.ld line.arrow{stroke-width:1.6}' +
  '.ld .lst rect{fill:#fff8e1;stroke:#f9a825}.ld .lst text{fill:#5d4037}.ld .lst.after rect{fill:#f5f5f5;stroke:#bdbdbd}.ld .lst.after text{fill:#9e9e9e}' +
  '.ld .lst.late rect{fill:#ffebee;stroke:#c62828}.ld text.late{fill:#c62828;font-weight:700}' +
  '.ld .gap{stroke:#bdbdbd;stroke-dasharray:4 3}.ld .gaptext{fill:#757575;font-style:italic}';

type Row =
  | { kind: 'seg'; p: SequenceTrace['points'][number]; faults: string[] }
  | { kind: 'fault'; e: FaultEvent; t: number }
  | { kind: 'tick'; tr: Transition; t: number; after: boolean; late: string }
  | { kind: 'gap'; seconds: number }
  | { kind: 'omitted'; segments: number };

export interface LadderContext {
  /** Unix time of the capture's first record: trace.log's times become capture times. */
  startUnixS: number | null;
  /** The capture's end (s) and its frames: a tick at or past the end with every frame before it is the clean-up once the capture stopped. */
  captureEndS: number;
  captureFrames: number;
  /** A file of its own: the SVG carries its style (the page has it once for all). */
  standalone: boolean;
  /** The injector's faults on this connection (`--faults`), and which lane is our stack's (it sends through the injector). */
  faults: readonly FaultEvent[];
  stackSide: 'client' | 'server';
}

/** A fault in words. */
const FAULT_WORDS: Record<string, string> = {
  dropped: 'dropped',
  duplicated: 'duplicated',
  reordered: 'held back (reordered)',
  corrupted: 'corrupted',
  delayed: 'delayed',
  oversize: 'dropped (oversize)',
  rateLimited: 'dropped (rate limit)',
};
const faultWords = (kind: string): string => `${FAULT_WORDS[kind] ?? kind} by the injector`;

/** The rows in order: segments as captured, each tick after the frames captured before it, pauses as gaps. */
function rows(trace: SequenceTrace, lane: LaneTransitions | undefined, ctx: LadderContext): Row[] {
  const ticks = (lane?.transitions ?? []).map((tr) => {
    const t = ctx.startUnixS === null ? 0 : Math.round((tr.unixS - ctx.startUnixS) * 1e6) / 1e6;
    return { kind: 'tick' as const, tr, t, after: t >= ctx.captureEndS - 1e-6 && tr.framesBefore >= ctx.captureFrames, late: '' };
  });
  markLateHandshakeAck(ticks, trace, lane);
  const rel = (unixS: number): number => (ctx.startUnixS === null ? 0 : Math.round((unixS - ctx.startUnixS) * 1e6) / 1e6);
  // A frame received for our stack was captured before the injector hit it: its arrow carries the fault.
  const onFrame = new Map<number, string[]>();
  for (const e of ctx.faults) if (e.frame !== null) onFrame.set(e.frame, [...(onFrame.get(e.frame) ?? []), faultWords(e.kind)]);
  // One our stack sent was hit before the capture point: a row of its own, at its time.
  const unseen = ctx.faults.filter((e) => e.frame === null).map((e) => ({ kind: 'fault' as const, e, t: rel(e.unix_s) }));
  let u = 0;
  const pts = trace.points;
  const omittedMiddle = pts.length > LADDER_HEAD + LADDER_TAIL ? pts.length - LADDER_HEAD - LADDER_TAIL : 0;
  const out: Row[] = [];
  let k = 0;
  let lastT: number | null = null;
  const put = (r: Row, t: number): void => {
    if (lastT !== null && t - lastT >= GAP_S) out.push({ kind: 'gap', seconds: Math.round((t - lastT) * 1e6) / 1e6 });
    lastT = t;
    out.push(r);
  };
  pts.forEach((p, i) => {
    while (u < unseen.length && unseen[u]!.t < p[0]) put(unseen[u]!, unseen[u++]!.t);
    while (k < ticks.length && ticks[k]!.tr.framesBefore < p[8]) {
      if (!ticks[k]!.after) put(ticks[k]!, ticks[k]!.t);
      k++;
    }
    if (omittedMiddle > 0 && i >= LADDER_HEAD && i < pts.length - LADDER_TAIL) {
      if (i === LADDER_HEAD) out.push({ kind: 'omitted', segments: omittedMiddle + trace.points_omitted });
      lastT = p[0];
      return;
    }
    if (i === LADDER_HEAD && trace.points_omitted > 0 && omittedMiddle === 0) out.push({ kind: 'omitted', segments: trace.points_omitted });
    put({ kind: 'seg', p, faults: onFrame.get(p[8]) ?? [] }, p[0]);
  });
  for (; u < unseen.length; u++) put(unseen[u]!, unseen[u]!.t);
  for (; k < ticks.length; k++) {
    if (ticks[k]!.after) out.push(ticks[k]!);
    else put(ticks[k]!, ticks[k]!.t);
  }
  return out;
}

const fmtT = (t: number): string => t.toFixed(6);

/**
 * The handshake's ACK taken late (the Minnesota Goodbye): when the tick that moves SYN-RECEIVED
 * on (RFC 9293 §3.10.7.4) comes after further segments of the peer had arrived, it says which —
 * the data and the FIN that reached the stack before it had processed the ACK that opened the
 * connection.
 */
function markLateHandshakeAck(ticks: Array<{ tr: Transition; late: string }>, trace: SequenceTrace, lane: LaneTransitions | undefined): void {
  if (!lane) return;
  const peerDir = lane.side === 'server' ? 0 : 1;
  for (const tk of ticks) {
    if (bareState(tk.tr.from) !== '{ Syn_rcvd }' || bareAction(tk.tr.action) !== 'Recv_ack') continue;
    // The handshake's ACK: the peer's first segment after our SYN/ACK that acknowledges it (relative ack 1).
    const peer = trace.points.filter((p) => p[1] === peerDir && (p[4] & ACK) !== 0 && p[6] === 1 && p[8] <= tk.tr.framesBefore);
    const later = peer.slice(1).map((p) => `#${p[8]}`);
    if (peer.length > 0 && later.length > 0) tk.late = `ACK #${peer[0]![8]} not taken before ${later.join(', ')}`;
  }
}

/**
 * A ladder (sequence) diagram of one connection: the client's and the server's lanes, one arrow
 * per segment (flags as tshark's flow graph names them, relative seq/ack, length, window, time
 * since the capture's first frame and the frame number), retransmissions, duplicate ACKs and zero
 * windows marked in colour and words; our stack's state transitions from trace.log on its lane,
 * each after the frames captured before it, so a tick that came late shows where it came.
 * With `standalone`, it carries its own style and is a .svg file of its own.
 */
export function ladderSvg(trace: SequenceTrace, lane: LaneTransitions | undefined, ctx: LadderContext): string {
  const rs = rows(trace, lane, ctx);
  const height = TOP + rs.reduce((h, r) => h + (r.kind === 'seg' || r.kind === 'fault' ? SEG_H : r.kind === 'tick' ? TICK_H : GAP_H), 0) + 16;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="ld ladder" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" data-stream="${trace.stream}">`,
    ctx.standalone ? `<style>${LADDER_STYLE}</style>` : '',
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
  );
  const who = (side: 'client' | 'server'): string => (lane?.side === side ? ' — our stack, states from trace.log' : '');
  parts.push(
    `<text x="8" y="18" class="hd">${esc(trace.label)}</text>`,
    `<text x="8" y="44" class="t">time (s)  frame</text>`,
    `<text x="${LANE_X.client}" y="44" class="hd" text-anchor="middle">client ${esc(`${trace.client.ip}:${trace.client.port}`)}${esc(who('client'))}</text>`,
    `<text x="${LANE_X.server}" y="44" class="hd" text-anchor="middle">server ${esc(`${trace.server.ip}:${trace.server.port}`)}${esc(who('server'))}</text>`,
  );
  for (const x of Object.values(LANE_X)) parts.push(`<line x1="${x}" x2="${x}" y1="${TOP - 8}" y2="${height - 8}" class="lane"/>`);
  let y = TOP;
  let afterDrawn = false;
  for (const r of rs) {
    if (r.kind === 'seg') {
      parts.push(segment(r.p, r.faults, y));
      y += SEG_H;
    } else if (r.kind === 'fault') {
      parts.push(unseenFault(r.e, r.t, ctx.stackSide, y));
      y += SEG_H;
    } else if (r.kind === 'tick') {
      if (r.after && !afterDrawn) {
        afterDrawn = true;
        parts.push(`<line x1="8" x2="${W - 8}" y1="${y + 2}" y2="${y + 2}" class="gap"/>`);
      }
      parts.push(tick(r, lane!.side, y));
      y += TICK_H;
    } else {
      const text = r.kind === 'gap' ? `${r.seconds} s later` : `${r.segments} segments not drawn`;
      parts.push(`<line x1="${LANE_X.client}" x2="${LANE_X.server}" y1="${y + 10}" y2="${y + 10}" class="gap"/>`, `<text x="${(LANE_X.client + LANE_X.server) / 2}" y="${y + 7}" class="gaptext" text-anchor="middle">${text}</text>`);
      y += GAP_H;
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

function segment(p: SequenceTrace['points'][number], faults: string[], y: number): string {
  const [t, dir, seq, len, flags, analysis, ack, edge, frame] = p;
  const from = dir === 0 ? LANE_X.client : LANE_X.server;
  const to = dir === 0 ? LANE_X.server : LANE_X.client;
  const ms: Array<[string, string]> = [...faults.map((f): [string, string] => ['fault', f]), ...marks(analysis)];
  const cls = ms[0]?.[0] ?? (dir === 0 ? 'c2s' : 's2c');
  const hasAck = (flags & ACK) !== 0;
  const win = (edge - ack) >>> 0;
  const label = `${flowFlags(flags)}${len > 0 ? ` len=${len}` : ''}  seq=${seq}${hasAck ? ` ack=${ack}` : ''} win=${win}`;
  const y0 = y + 14;
  const y1 = y + 24;
  const dx = to > from ? -8 : 8;
  const tip = `frame ${frame} at ${fmtT(t)} s: ${label}${ms.map((m) => `; ${m[1]}`).join('')}`;
  return [
    `<g class="lseg" data-frame="${frame}" data-t="${t}" data-dir="${dir === 0 ? 'c2s' : 's2c'}" data-flags="${flowFlags(flags)}" data-seq="${seq}"${hasAck ? ` data-ack="${ack}"` : ''} data-len="${len}"><title>${esc(tip)}</title>`,
    `<text x="8" y="${y1}" class="t">${fmtT(t)}  #${frame}</text>`,
    `<line x1="${from}" y1="${y0}" x2="${to}" y2="${y1}" class="arrow ${cls}"/>`,
    `<polygon points="${to},${y1} ${to + dx},${y1 - 5} ${to + dx},${y1 + 3}" class="${cls}"/>`,
    `<text x="${(from + to) / 2}" y="${y0 - 2}" text-anchor="middle">${esc(label)}</text>`,
    ms.length > 0 ? `<text x="${to + (to > from ? 10 : -10)}" y="${y1 + 4}" text-anchor="${to > from ? 'start' : 'end'}" class="${ms[0]![0]}">${esc(ms.map((m) => m[1]).join(', '))}</text>` : '',
    '</g>',
  ].join('');
}

/** A segment our stack sent that the injector hit before the capture point: a dashed arrow that ends in a cross. */
function unseenFault(e: FaultEvent, t: number, stackSide: 'client' | 'server', y: number): string {
  const from = LANE_X[stackSide];
  const to = stackSide === 'server' ? LANE_X.client : LANE_X.server;
  const mid = (from + to) / 2;
  const y0 = y + 14;
  const y1 = y + 19;
  const label = `${flowFlags(e.tcp_flags)}${e.len > 0 ? ` len=${e.len}` : ''}: ${faultWords(e.kind)} before the capture point`;
  return [
    `<g class="lfault" data-kind="${esc(e.kind)}"><title>${esc(`${fmtT(t)} s: a segment ${stackSide === 'server' ? 'the server' : 'the client'} sent (${label}); not in the capture as sent`)}</title>`,
    `<text x="8" y="${y1 + 4}" class="t">${fmtT(t)}</text>`,
    `<line x1="${from}" y1="${y0}" x2="${mid}" y2="${y1}" class="arrow fault" stroke-dasharray="5 3"/>`,
    `<text x="${mid}" y="${y1 + 4}" text-anchor="middle" class="fault">✕</text>`,
    `<text x="${mid}" y="${y0 - 2}" text-anchor="middle" class="fault">${esc(label)}</text>`,
    '</g>',
  ].join('');
}

function tick(r: { tr: Transition; t: number; after: boolean; late: string }, side: 'client' | 'server', y: number): string {
  const { tr, t, after, late } = r;
  const x = LANE_X[side];
  const text = `${bareState(tr.from)} - ${bareAction(tr.action)} -> ${bareState(tr.to)}${after ? '  (after the capture stopped)' : ''}`;
  const width = text.length * 6.7 + 12;
  // The text runs inward, between the lanes, where no arrow label sits on a tick's row.
  const x0 = side === 'server' ? x - width + 6 : x - 6;
  return [
    `<g class="lst${after ? ' after' : ''}${late ? ' late' : ''}" data-frames-before="${tr.framesBefore}" data-action="${esc(bareAction(tr.action))}" data-to="${esc(bareState(tr.to))}">`,
    `<title>${esc(`${fmtT(t)} s, after frame ${tr.framesBefore}: #${tr.conn} ${tr.from}  - ${tr.action} ->  ${tr.to}${late ? `; the handshake's ${late}: the stack left SYN-RECEIVED only after later segments of the peer had arrived` : ''}`)}</title>`,
    `<text x="8" y="${y + 14}" class="t">${fmtT(t)}</text>`,
    `<rect x="${x0}" y="${y + 2}" width="${width}" height="16" rx="4"/>`,
    `<text x="${side === 'server' ? x - 6 : x + 6}" y="${y + 14}" text-anchor="${side === 'server' ? 'end' : 'start'}">${esc(text)}</text>`,
    late ? `<text x="${side === 'server' ? x + 8 : x - 8}" y="${y + 14}" text-anchor="${side === 'server' ? 'start' : 'end'}" class="late">${esc(late)}</text>` : '',
    '</g>',
  ].join('');
}

/** Steps drawn in a mini ladder; the rest are counted. */
const MINI_STEPS = 24;

/** A cluster's shape as a small ladder: one arrow per step, a repeated step or pair marked `+`. */
export function miniLadderSvg(shape: readonly ShapeStep[]): string {
  const steps = shape.slice(0, MINI_STEPS);
  const w = 230;
  const rowH = 13;
  const h = 8 + steps.length * rowH + (shape.length > steps.length ? rowH : 0);
  const [cx, sx] = [40, 190];
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="ld mini" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`];
  parts.push(`<line x1="${cx}" x2="${cx}" y1="2" y2="${h - 2}" class="lane"/><line x1="${sx}" x2="${sx}" y1="2" y2="${h - 2}" class="lane"/>`);
  steps.forEach((s, i) => {
    const y = 10 + i * rowH;
    const [from, to] = s.dir === 'c2s' ? [cx, sx] : [sx, cx];
    const cls = s.again ? 'retx' : s.dir;
    const dx = to > from ? -6 : 6;
    parts.push(
      `<g><title>${esc(stepText(s))}${s.repeat ? ' (repeated)' : ''}</title>`,
      `<line x1="${from}" y1="${y}" x2="${to}" y2="${y}" class="arrow ${cls}"/><polygon points="${to},${y} ${to + dx},${y - 3} ${to + dx},${y + 3}" class="${cls}"/>`,
      `<text x="${(cx + sx) / 2}" y="${y - 2}" text-anchor="middle" style="font-size:9px">${esc(s.what + (s.again ? ' again' : ''))}</text>`,
      s.repeat ? `<text x="${s.dir === 'c2s' ? sx + 6 : cx - 14}" y="${y + 3}" class="hd" style="font-size:10px">${s.repeat === 2 ? '⟲' : '+'}</text>` : '',
      '</g>',
    );
  });
  if (shape.length > steps.length) parts.push(`<text x="${(cx + sx) / 2}" y="${h - 3}" text-anchor="middle" class="gaptext" style="font-size:9px">… ${shape.length - steps.length} more steps</text>`);
  parts.push('</svg>');
  return parts.join('');
}
