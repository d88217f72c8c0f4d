/**
 * The few browser interfaces the page's scripts use (client.ts). The project compiles for Node
 * without the DOM library, so the scripts are typed against this small surface; a name used
 * here that the browser lacks would show as a console error in the browser tests.
 */
export interface El {
  textContent: string | null;
  innerHTML: string;
  value: string;
  hidden: boolean;
  className: string;
  readonly dataset: Record<string, string | undefined>;
  readonly style: Record<string, string>;
  readonly classList: { add(c: string): void; remove(c: string): void; toggle(c: string, on?: boolean): void };
  readonly parentElement: El | null;
  readonly clientWidth: number;
  addEventListener(type: string, fn: (e: Ev) => void): void;
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  scrollIntoView(opts?: { block?: string; behavior?: string }): void;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
  closest(sel: string): El | null;
  setAttribute(name: string, value: string): void;
}

export interface Canvas extends El {
  width: number;
  height: number;
  getContext(kind: '2d'): Ctx2d | null;
}

export interface Ctx2d {
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  font: string;
  textAlign: string;
  globalAlpha: number;
  fillRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  setTransform(a: number, b: number, c: number, d: number, e: number, f: number): void;
}

export interface Ev {
  readonly clientX: number;
  readonly clientY: number;
  readonly target: El | null;
  preventDefault(): void;
}

export interface Doc {
  getElementById(id: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  createElement(tag: string): El;
}

export interface Win {
  readonly devicePixelRatio: number;
  readonly location: { hash: string };
  addEventListener(type: string, fn: (e: Ev) => void): void;
  requestAnimationFrame(fn: () => void): number;
}
