/**
 * report.html as a person opens it, in headless Chromium (Debian's, over the DevTools protocol):
 * real runs on the sim link — the seed (minnesota-goodbye), its fixed twin, an HTTP run, a run
 * under injected faults, 10,000 connections — and the analyze-only page of a capture tcpdump
 * made. Every page loads with no console error; the seed's shows the verdict and the ladder of a
 * goodbye connection above the fold, with the handshake's ACK taken after the client's data and
 * FIN. Screenshots are kept as artifacts (the folder is printed as a diagnostic).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kernelCapture } from './analyze-support.js';
import { testBrowser, type Page } from './helpers/chromium.js';
import { fuzz } from './helpers/cli.js';
import { hasCommand, kernelSkipReason } from './helpers/env.js';

const skip = hasCommand('chromium') ? undefined : "needs 'chromium' on PATH (.ci/run installs it)";
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-report-browser-'));
// The screenshots stay as the test's artifacts; the runs' folders go.
const browser = testBrowser(skip, () => {
  for (const e of readdirSync(dir)) if (!e.endsWith('.png')) rmSync(join(dir, e), { recursive: true, force: true });
});

/** Runs `fuzz run ARGS --link sim --out DIR/name` and opens its report.html; fails on any console error. */
async function runAndOpen(name: string, args: string[], expectCode: number, height = 1000): Promise<Page> {
  const out = join(dir, name);
  const r = await fuzz(['run', ...args, '--link', 'sim', '--out', out], { timeoutMs: 300_000 });
  assert.equal(r.code, expectCode, r.stdout + r.stderr);
  return open(join(out, 'report.html'), height);
}

async function open(file: string, height = 1000): Promise<Page> {
  const page = await browser().newPage(1280, height);
  await page.goto(`file://${file}`);
  // Two frames: the scripts have drawn the canvas.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  assert.deepEqual(page.errors, [], `console errors on ${file}`);
  return page;
}

const text = (page: Page, sel: string): Promise<string> => page.evaluate(`document.querySelector(${JSON.stringify(sel)})?.innerText ?? ''`);

/** Non-white pixels of the timeline's canvas: something was drawn. */
const canvasInk = (page: Page): Promise<number> =>
  page.evaluate(`(() => { const c = document.getElementById('tl'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++; return n; })()`);

describe('report.html in headless Chromium', { skip, concurrency: false }, () => {
  it('the seed: the banner, the ladder with the late handshake ACK above the fold, one shape of 128', async (t) => {
    const page = await runAndOpen('seed', ['--target', 'builtin:goodbye', '--bug', 'minnesota-goodbye', '--seed', '19'], 1);
    const banner = await text(page, '#verdict');
    assert.match(banner, /server 10\.77\.0\.2:19 sent no FIN on 128\/128 connections/);
    assert.match(banner, /128 FIN_WAIT2/);
    assert.match(banner, /128 CLOSE_WAIT/);
    // The ladder of one goodbye connection: the client's data and FIN came before our stack took the handshake's ACK.
    const order = await page.evaluate<string[]>(`[...document.querySelector('.finding[data-kind="missing-fin"] svg.ladder').querySelectorAll('g.lseg, g.lst')]
      .map((g) => g.classList.contains('lseg') ? g.dataset.dir + ' ' + g.dataset.flags : g.dataset.action + ' ' + g.dataset.to)`);
    const at = (s: string): number => order.indexOf(s);
    assert.ok(at('c2s PSH, ACK') >= 0 && at('c2s FIN, ACK') >= 0 && at('Recv_ack { Established }') >= 0, order.join(' | '));
    assert.ok(at('c2s PSH, ACK') < at('Recv_ack { Established }'), `the data arrives before the handshake's ACK is taken: ${order.join(' | ')}`);
    assert.ok(at('c2s FIN, ACK') < at('Recv_ack { Established }'), `and so does the FIN: ${order.join(' | ')}`);
    assert.match(await page.evaluate<string>(`document.querySelector('.finding[data-kind="missing-fin"] g.lst.late').textContent`), /ACK #\d+ not taken before #\d+, #\d+/);
    // Above the fold: the banner and the transition on the server's lane are within the first screen.
    const bottom = await page.evaluate<number>(`document.querySelector('.finding[data-kind="missing-fin"] g.lst.late').getBoundingClientRect().bottom`);
    assert.ok(bottom < 1000, `the late ACK's tick is at ${bottom} px`);
    // One cluster of 128.
    assert.deepEqual(await page.evaluate(`[...document.querySelectorAll('tr[data-cluster]')].map((r) => r.cells[0].innerText)`), ['128']);
    assert.match(await text(page, 'tr[data-cluster] .members'), /^#0 #1 #2 .* and 68 more$/);
    const png = join(dir, 'seed-report.png');
    await page.screenshot(png);
    assert.ok(statSync(png).size > 40_000, 'a screenshot with text and a diagram');
    t.diagnostic(`screenshots: ${dir}`);
    // The timeline: every connection drawn; a click on a bar opens its shape's ladder.
    assert.ok((await canvasInk(page)) > 10_000, 'bars on the canvas');
    const box = await page.evaluate<{ x: number; y: number }>(`(() => { const c = document.getElementById('tl'); c.scrollIntoView(); const r = c.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + 40 }; })()`);
    await page.click(box.x, box.y);
    assert.equal(await page.evaluate('document.getElementById("cluster-0").open'), true, 'the click opened the cluster of the bar');
    assert.match(await text(page, '#tl-info'), /half-closed/);
    // Jobs: searchable and paged.
    assert.match(await text(page, '#jobs-count'), /^128 of 128 jobs · page 1 of 3$/);
    await page.evaluate(`(() => { const q = document.getElementById('jobs-q'); q.value = '#7'; q.dispatchEvent(new Event('input')); })()`);
    assert.match(await text(page, '#jobs-count'), /^\d+ of 128 jobs · page 1 of 1$/);
    assert.deepEqual(page.errors, []);
  });

  it('the fixed twin: a clean banner and a typical connection', async () => {
    const page = await runAndOpen('fixed', ['--target', 'builtin:goodbye', '--seed', '19'], 0);
    assert.match(await text(page, '#verdict'), /no findings on 128 connections/);
    assert.equal(await page.evaluate('document.querySelectorAll("svg.ladder").length >= 1'), true);
    await page.screenshot(join(dir, 'fixed-report.png'));
  });

  it('an HTTP run', async () => {
    const page = await runAndOpen('http', ['--target', 'builtin:http', '--spec', 'get:/', '-n', '40', '--seed', '3'], 0);
    assert.match(await text(page, '#run'), /Run/);
    assert.match(await text(page, '#jobs-count'), /^40 of 40 jobs/);
    await page.screenshot(join(dir, 'http-report.png'));
  });

  it('a run under injected faults', async () => {
    const out = join(dir, 'faults');
    const r = await fuzz(['run', '--target', 'builtin:echo', '--faults', 'drop=5%', '--payload', 'gen:20000', '-n', '40', '--seed', '5', '--link', 'sim', '--out', out], { timeoutMs: 300_000 });
    assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
    const page = await open(join(out, 'report.html'));
    assert.ok((await page.evaluate<number>('document.querySelectorAll("svg.ladder .retx").length')) > 0, 'retransmissions marked on a ladder');
    assert.ok((await page.evaluate<number>('document.querySelectorAll("svg.ladder .fault").length')) > 0, 'injected faults marked on a ladder');
    await page.screenshot(join(dir, 'faults-report.png'));
  });

  it('the analyze-only page of a capture tcpdump made (no trace lane)', { skip: kernelSkipReason('tcpdump') }, async () => {
    const k = await kernelCapture('browser');
    try {
      await k.start('server', 7101, 'echo');
      await k.start('client', 7101, 'send', '5');
      const { file } = await k.finish(500);
      const html = join(dir, 'tcpdump.html');
      const r = await fuzz(['analyze', file, '--html', html]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const page = await open(html);
      assert.match(await text(page, '#verdict'), /no findings on 5 connections/);
      assert.equal(await page.evaluate('document.querySelectorAll("g.lst").length'), 0, 'no stack lane without trace.log');
      await page.screenshot(join(dir, 'tcpdump-report.png'));
    } finally {
      await k.close();
    }
  });

  it('10,000 connections: under 5 MB, every connection on the timeline', async () => {
    const out = join(dir, 'big');
    const r = await fuzz(['run', '--target', 'builtin:goodbye', '--bug', 'minnesota-goodbye', '-n', '10000', '-c', '1000', '--seed', '1', '--link', 'sim', '--out', out], { timeoutMs: 300_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const file = join(out, 'report.html');
    assert.ok(statSync(file).size < 5e6, `report.html is ${statSync(file).size} bytes`);
    const page = await open(file);
    assert.equal(await page.evaluate('JSON.parse(document.getElementById("tl-data").textContent).bars.length'), 10_000);
    assert.ok((await canvasInk(page)) > 10_000, 'bars on the canvas');
    assert.match(await text(page, '#jobs-count'), /^10000 of 10000 jobs · page 1 of 200$/);
    await page.screenshot(join(dir, 'big-report.png'));
  });
});
