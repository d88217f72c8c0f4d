import { escapeXml } from '../escape.js';
import type { SequenceTrace, Verdict } from '../report.js';
import { A_ANY_RETRANSMISSION, A_OUT_OF_ORDER, A_ZERO_WINDOW } from '../tcp-analysis.js';
import { FIN, RST, SYN } from '../../stack/wire/tcp.js';

export const VERDICT_COLORS: Record<Verdict, string> = {
  complete: '#2e7d32',
  reset: '#c62828',
  refused: '#8e24aa',
  unanswered: '#6d4c41',
  'half-closed': '#ef6c00',
  undetermined: '#9e9e9e',
  'answered-by-ack': '#8d6e63',
  hang: '#d81b60',
  open: '#1565c0',
};

const DIR_COLORS = ['#1565c0', '#00897b'] as const;
const DIR_NAMES = ['client → server', 'server → client'] as const;

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 6): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

interface Frame {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  sx: (v: number) => number;
  sy: (v: number) => number;
}

function axes(parts: string[], f: Frame, tLo: number, tHi: number, yRange: [number, number] | null, yLabel: string): void {
  parts.push(`<rect x="${f.x0}" y="${f.y0}" width="${f.x1 - f.x0}" height="${f.y1 - f.y0}" class="plot"/>`);
  for (const v of ticks(tLo, tHi)) {
    const x = fmt(f.sx(v));
    parts.push(`<line x1="${x}" x2="${x}" y1="${f.y0}" y2="${f.y1}" class="grid"/><text x="${x}" y="${f.y1 + 14}" class="tick" text-anchor="middle">${v}</text>`);
  }
  for (const v of yRange ? ticks(yRange[0], yRange[1], 4) : []) {
    const y = fmt(f.sy(v));
    parts.push(`<line x1="${f.x0}" x2="${f.x1}" y1="${y}" y2="${y}" class="grid"/><text x="${f.x0 - 4}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${v}</text>`);
  }
  parts.push(`<text x="${f.x1}" y="${f.y1 + 28}" class="axis" text-anchor="end">time (s)</text>`);
  parts.push(`<text x="${f.x0}" y="${f.y0 - 6}" class="axis">${escapeXml(yLabel)}</text>`);
}

/** A step line through (x, y) points, held to `xEnd`. */
function stepPath(points: Array<[number, number]>, xEnd: number, cls: string, title: string): string {
  let d = '';
  for (const [x, y] of points) d += d === '' ? `M${fmt(x)},${fmt(y)}` : `H${fmt(x)}V${fmt(y)}`;
  return `<path d="${d}H${xEnd}" class="${cls}"><title>${escapeXml(title)}</title></path>`;
}

/** Relative sequence numbers past 2^31 are below the ISN (e.g. a keep-alive's ISN-1). */
const signed = (rel: number): number => (rel >= 2 ** 31 ? rel - 2 ** 32 : rel);

/**
 * A time–sequence graph per direction (Stevens/tcptrace style): each data segment is a vertical
 * bar from its first to its last sequence number at the time it was sent; retransmissions are red,
 * SYN/FIN/RST are lettered marks, the grey step line is the peer's cumulative ACK and the yellow
 * one the right edge of its receive window (they meet while the window is zero).
 */
export function stevensSvg(trace: SequenceTrace): string {
  const width = 920;
  const panelH = 200;
  const parts: string[] = [];
  const tVals = trace.points.map((p) => p[0]);
  const tLo = Math.min(...tVals);
  const tHi = Math.max(...tVals, tLo + 0.001);
  const height = 2 * (panelH + 50) + 10;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="stevens" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-stream="${trace.stream}">`);
  for (const dir of [0, 1] as const) {
    const mine = trace.points.filter((p) => p[1] === dir);
    const acks = trace.points.filter((p) => p[1] !== dir && p[4] & 0x10);
    const ys = [...mine.flatMap((p) => [signed(p[2]), signed(p[2]) + p[3]]), ...acks.map((p) => signed(p[6]))];
    // The window line is drawn where it fits the data's scale (a 6 MB window over 10 bytes would flatten everything).
    const dataTop = Math.max(1, ...ys);
    const windows = acks.filter((p) => signed(p[7]) <= dataTop * 1.5);
    const yLo = Math.min(0, ...ys);
    const yHi = Math.max(yLo + 1, ...ys, ...windows.map((p) => signed(p[7])));
    const top = 30 + dir * (panelH + 50);
    const f: Frame = {
      x0: 70,
      x1: width - 20,
      y0: top,
      y1: top + panelH,
      sx: (t) => 70 + ((t - tLo) / (tHi - tLo)) * (width - 90),
      sy: (s) => top + panelH - ((s - yLo) / (yHi - yLo)) * panelH,
    };
    axes(parts, f, tLo, tHi, [yLo, yHi], `${DIR_NAMES[dir]}: relative sequence number`);
    if (acks.length > 0) {
      parts.push(stepPath(acks.map((p) => [f.sx(p[0]), f.sy(signed(p[6]))]), f.x1, 'ackline', 'ACKs from the peer'));
    }
    if (windows.length > 0) parts.push(stepPath(windows.map((p) => [f.sx(p[0]), f.sy(signed(p[7]))]), f.x1, 'winline', 'the peer\'s receive window (ACK + window)'));
    for (const p of mine) {
      const [t, , seq, len, flags, analysis] = p;
      const x = fmt(f.sx(t));
      const rel = signed(seq);
      const retx = (analysis & (A_ANY_RETRANSMISSION | A_OUT_OF_ORDER)) !== 0;
      const tip = `t=${t}s seq=${rel} len=${len}${retx ? ' retransmission' : ''}${analysis & A_ZERO_WINDOW ? ' zero window' : ''}`;
      if (len > 0) {
        parts.push(
          `<line x1="${x}" x2="${x}" y1="${fmt(f.sy(rel))}" y2="${fmt(f.sy(rel + len))}" stroke="${retx ? '#d32f2f' : DIR_COLORS[dir]}" class="${retx ? 'seg retx' : 'seg'}"><title>${escapeXml(tip)}</title></line>`,
        );
      }
      const letter = flags & RST ? 'R' : flags & SYN ? 'S' : flags & FIN ? 'F' : '';
      if (letter) {
        parts.push(
          `<text x="${x}" y="${fmt(f.sy(rel + len) - 3)}" class="mark mark-${letter}${retx ? ' retx' : ''}" text-anchor="middle">${letter}<title>${escapeXml(`${letter === 'S' ? 'SYN' : letter === 'F' ? 'FIN' : 'RST'} ${tip}`)}</title></text>`,
        );
      } else if (len === 0 && retx) {
        parts.push(`<circle cx="${x}" cy="${fmt(f.sy(rel))}" r="3" class="retx-dot"><title>${escapeXml(tip)}</title></circle>`);
      }
    }
  }
  parts.push('</svg>');
  return parts.join('');
}
