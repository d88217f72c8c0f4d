import type { Canvas, Doc, El, Ev, Win } from './dom.js';

/*
 * The page's scripts. Each function runs in the browser, inlined as its own source text
 * (`String(fn)`), so it must reference nothing outside its body: no imports, no module constants.
 * They read their data from `<script type="application/json">` elements of the page.
 */
declare const document: Doc;
declare const window: Win;

/** One timeline bar: stream, start, drawn end (s), verdict index, flagged (0/1), cluster id (-1 none), label, retransmission times. */
export type TimelineBar = [number, number, number, number, 0 | 1, number, string, number[]];

export interface TimelineData {
  end: number;
  verdicts: string[];
  colors: string[];
  bars: TimelineBar[];
  /** Cluster id → the representative stream whose ladder the page shows. */
  ladders: Record<string, number>;
}

/**
 * The timeline on a canvas (10,000 bars draw in a few milliseconds): time on x, one row per
 * connection in start order; drag a rectangle to zoom into it, double-click to see all again;
 * hover for a bar's connection, click it to open its cluster's ladder.
 */
export function timelineClient(): void {
  const canvas = document.getElementById('tl') as Canvas | null;
  const src = document.getElementById('tl-data');
  const info = document.getElementById('tl-info');
  if (!canvas || !src || !info) return;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const d = JSON.parse(src.textContent ?? '{}') as TimelineData;
  const padL = 60;
  const padR = 12;
  const padT = 6;
  const padB = 24;
  const height = Math.max(140, Math.min(440, d.bars.length * 8 + padT + padB));
  const all = { t0: 0, t1: d.end > 0 ? d.end : 1, r0: 0, r1: Math.max(1, d.bars.length) };
  let view = { ...all };
  let drag: { x0: number; y0: number; x1: number; y1: number } | null = null;
  const width = (): number => Math.max(300, canvas.parentElement?.clientWidth ?? 900);
  const plotW = (): number => width() - padL - padR;
  const rowH = (): number => (height - padT - padB) / (view.r1 - view.r0);
  const xOf = (t: number): number => padL + ((t - view.t0) / (view.t1 - view.t0)) * plotW();
  const tOf = (x: number): number => view.t0 + ((x - padL) / plotW()) * (view.t1 - view.t0);
  const rOf = (y: number): number => view.r0 + (y - padT) / rowH();
  const step = (span: number): number => {
    const raw = span / 8;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  };

  function draw(): void {
    const w = width();
    const dpr = window.devicePixelRatio || 1;
    canvas!.width = Math.round(w * dpr);
    canvas!.height = Math.round(height * dpr);
    canvas!.style['width'] = `${w}px`;
    canvas!.style['height'] = `${height}px`;
    const c = ctx!;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, height);
    c.fillStyle = '#fafafa';
    c.fillRect(padL, padT, plotW(), height - padT - padB);
    c.font = '10px system-ui, sans-serif';
    c.textAlign = 'center';
    const s = step(view.t1 - view.t0);
    for (let t = Math.ceil(view.t0 / s) * s; t <= view.t1 + s * 1e-9; t += s) {
      const x = xOf(t);
      c.fillStyle = '#e0e0e0';
      c.fillRect(x, padT, 1, height - padT - padB);
      c.fillStyle = '#616161';
      c.fillText(String(Number(t.toPrecision(6))), x, height - padB + 13);
    }
    c.textAlign = 'right';
    c.fillText('time (s)', w - padR, height - 2);
    c.fillText(`${Math.ceil(view.r1 - view.r0)} conns`, padL - 4, padT + 10);
    const h = rowH();
    const barH = Math.max(1, h > 3 ? h - 1 : h);
    const first = Math.max(0, Math.floor(view.r0));
    const last = Math.min(d.bars.length, Math.ceil(view.r1));
    for (let i = first; i < last; i++) {
      const b = d.bars[i]!;
      const y = padT + (i - view.r0) * h;
      const x0 = Math.max(padL, xOf(b[1]));
      const x1 = Math.min(w - padR, Math.max(xOf(b[2]), xOf(b[1]) + 2));
      if (x1 < padL || x0 > w - padR) continue;
      c.fillStyle = d.colors[b[3]] ?? '#000';
      c.fillRect(x0, y, Math.max(1, x1 - x0), barH);
      if (b[7].length > 0) {
        c.fillStyle = '#212121';
        for (const t of b[7]) {
          const x = xOf(t);
          if (x >= padL && x <= w - padR) c.fillRect(x - 0.75, y - 1, 1.5, barH + 2);
        }
      }
    }
    if (drag) {
      c.strokeStyle = '#1565c0';
      c.lineWidth = 1;
      c.strokeRect(Math.min(drag.x0, drag.x1), Math.min(drag.y0, drag.y1), Math.abs(drag.x1 - drag.x0), Math.abs(drag.y1 - drag.y0));
    }
  }

  const local = (e: Ev): { x: number; y: number } => {
    const r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const barAt = (x: number, y: number): number => {
    const i = Math.floor(rOf(y));
    const b = d.bars[i];
    if (!b) return -1;
    const t = tOf(x);
    const slack = (view.t1 - view.t0) / 200;
    return t >= b[1] - slack && t <= b[2] + slack ? i : -1;
  };
  const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const describe = (i: number, open: boolean): void => {
    const b = d.bars[i];
    if (!b) return;
    const rep = d.ladders[String(b[5])];
    const link = rep === undefined ? '' : ` · <a href="#cluster-${b[5]}" data-open="cluster-${b[5]}">ladder${rep === b[0] ? '' : ` of #${rep}, the same shape`}</a>`;
    info.innerHTML = `${esc(b[6])} · <b>${esc(d.verdicts[b[3]] ?? '')}</b> · ${b[1]}–${b[2]} s${b[7].length > 0 ? ` · ${b[7].length} retransmissions` : ''}${link}`;
    if (open && rep !== undefined) {
      const target = document.getElementById(`cluster-${b[5]}`);
      if (target) {
        target.setAttribute('open', '');
        target.scrollIntoView({ block: 'start' });
      }
    }
  };

  canvas.addEventListener('mousedown', (e) => {
    const p = local(e);
    drag = { x0: p.x, y0: p.y, x1: p.x, y1: p.y };
    e.preventDefault();
  });
  canvas.addEventListener('mousemove', (e) => {
    const p = local(e);
    if (drag) {
      drag.x1 = p.x;
      drag.y1 = p.y;
      draw();
      return;
    }
    const i = barAt(p.x, p.y);
    canvas.style['cursor'] = i >= 0 ? 'pointer' : 'crosshair';
    if (i >= 0) describe(i, false);
  });
  window.addEventListener('mouseup', () => {
    if (!drag) return;
    const g = drag;
    drag = null;
    if (Math.abs(g.x1 - g.x0) < 4 && Math.abs(g.y1 - g.y0) < 4) {
      const i = barAt(g.x0, g.y0);
      if (i >= 0) describe(i, true);
      draw();
      return;
    }
    const t0 = tOf(Math.min(g.x0, g.x1));
    const t1 = tOf(Math.max(g.x0, g.x1));
    const r0 = Math.abs(g.y1 - g.y0) < 4 ? view.r0 : Math.max(0, rOf(Math.min(g.y0, g.y1)));
    const r1 = Math.abs(g.y1 - g.y0) < 4 ? view.r1 : Math.min(all.r1, rOf(Math.max(g.y0, g.y1)));
    if (t1 - t0 > 1e-7 && r1 - r0 > 0.5) view = { t0, t1, r0, r1 };
    draw();
  });
  canvas.addEventListener('dblclick', () => {
    view = { ...all };
    draw();
  });
  document.getElementById('tl-reset')?.addEventListener('click', () => {
    view = { ...all };
    draw();
  });
  window.addEventListener('resize', () => draw());
  draw();
}

/** A jobs table: search over every cell, 50 rows a page. Rows come as arrays of cell texts. */
export function jobsClient(): void {
  const src = document.getElementById('jobs-data');
  const body = document.getElementById('jobs-body');
  const q = document.getElementById('jobs-q');
  const count = document.getElementById('jobs-count');
  if (!src || !body || !q || !count) return;
  const rows = JSON.parse(src.textContent ?? '[]') as string[][];
  const text = rows.map((r) => r.join(' ').toLowerCase());
  const perPage = 50;
  let page = 0;
  let shown: number[] = rows.map((_, i) => i);
  const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  function render(): void {
    const pages = Math.max(1, Math.ceil(shown.length / perPage));
    page = Math.min(page, pages - 1);
    const slice = shown.slice(page * perPage, (page + 1) * perPage);
    body!.innerHTML = slice.map((i) => `<tr>${rows[i]!.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
    count!.textContent = `${shown.length} of ${rows.length} jobs · page ${page + 1} of ${pages}`;
  }
  q.addEventListener('input', () => {
    const needle = q.value.trim().toLowerCase();
    shown = [];
    for (let i = 0; i < rows.length; i++) if (needle === '' || text[i]!.includes(needle)) shown.push(i);
    page = 0;
    render();
  });
  const turn = (id: string, by: number): void =>
    document.getElementById(id)?.addEventListener('click', () => {
      page = Math.max(0, page + by);
      render();
    });
  turn('jobs-prev', -1);
  turn('jobs-next', 1);
  render();
}

/** Links into a closed <details> (a cluster's ladder) open it. */
export function openLinksClient(): void {
  document.getElementById('page')?.addEventListener('click', (e: Ev) => {
    const a: El | null = e.target?.closest('a[data-open]') ?? null;
    const id = a?.dataset['open'];
    if (id) document.getElementById(id)?.setAttribute('open', '');
  });
}
