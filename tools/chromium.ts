import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: fd 3 carries our commands, fd 4 its answers, each message JSON
 * ended by a NUL). No driver package, no browser download, no port: a throwaway profile, and
 * nothing that reaches the network. Every wait is bounded.
 */
export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--no-first-run',
  '--no-default-browser-check',
  '--mute-audio',
  '--hide-scrollbars',
  '--remote-debugging-pipe',
];

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

type Listener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners = new Map<string, Listener[]>();
  private buffer = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const out = child.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (d: string) => {
      this.buffer += d;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, end)) as Message;
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(msg);
      }
    });
    child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}`));
      this.pending.clear();
    });
  }

  static async launch(): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), 'tcpfuzz-chromium-'));
    const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    const b = new Browser(child, profile);
    await b.send('Browser.getVersion', {}, undefined, 30_000);
    return b;
  }

  private dispatch(msg: Message): void {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    for (const l of this.listeners.get(msg.method ?? '') ?? []) l(msg.params ?? {}, msg.sessionId);
  }

  /** One protocol command; rejects after `timeoutMs`. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      (this.child.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  on(method: string, l: Listener): void {
    this.listeners.set(method, [...(this.listeners.get(method) ?? []), l]);
  }

  /** A new tab of `width`×`height` CSS pixels, with its console errors and exceptions collected. */
  async newPage(width = 1280, height = 1000): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId);
    this.on('Runtime.consoleAPICalled', (p, s) => {
      if (s !== sessionId || (p['type'] !== 'error' && p['type'] !== 'assert')) return;
      page.errors.push(`console.${String(p['type'])}: ${((p['args'] as Array<{ value?: unknown; description?: string }>) ?? []).map((a) => a.description ?? String(a.value)).join(' ')}`);
    });
    this.on('Runtime.exceptionThrown', (p, s) => {
      if (s !== sessionId) return;
      const d = p['exceptionDetails'] as { text: string; exception?: { description?: string } };
      page.errors.push(`exception: ${d.exception?.description ?? d.text}`);
    });
    this.on('Log.entryAdded', (p, s) => {
      const e = p['entry'] as { level: string; text: string; url?: string };
      if (s === sessionId && e.level === 'error') page.errors.push(`log: ${e.text}${e.url ? ` (${e.url})` : ''}`);
    });
    this.on('Page.loadEventFired', (_p, s) => {
      if (s === sessionId) page.loaded();
    });
    for (const m of ['Page.enable', 'Runtime.enable', 'Log.enable']) await this.send(m, {}, sessionId);
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    // A tab in the background is never painted: no first paint to measure, no pixels on a canvas.
    await this.send('Page.bringToFront', {}, sessionId);
    return page;
  }

  /** Closes the browser; kills it (by its own PID) when it does not exit within 5 s, and removes the profile. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    await this.send('Browser.close', {}, undefined, 5_000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  /** Console errors, uncaught exceptions and error log entries (failed loads) since the page opened. */
  readonly errors: string[] = [];
  private onLoad: (() => void) | undefined;

  constructor(
    private readonly browser: Browser,
    private readonly session: string,
  ) {}

  loaded(): void {
    this.onLoad?.();
  }

  send(method: string, params: Record<string, unknown> = {}, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.session, timeoutMs);
  }

  /** Navigates and waits for the load event (at most `timeoutMs`). */
  async goto(url: string, timeoutMs = 60_000): Promise<void> {
    const loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url}: no load event within ${timeoutMs} ms`)), timeoutMs);
      this.onLoad = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** Evaluates an expression in the page; its value comes back as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** A mouse click at page coordinates (CSS pixels of the viewport). */
  async click(x: number, y: number): Promise<void> {
    for (const type of ['mousePressed', 'mouseReleased']) await this.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 });
  }

  /** A PNG of the viewport (or of the whole page with `full`), written to `path`. */
  async screenshot(path: string, full = false): Promise<void> {
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: full }, 60_000)) as { data: string };
    writeFileSync(path, Buffer.from(data, 'base64'));
  }
}
