import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchResult, type BenchResult } from './result.js';
import { planRun, runPlan } from '../harness/index.js';
import { Browser } from '../tools/chromium.js';

/**
 * report.html of a 10,000-connection run (the seed's bug on the sim link, 1,000 at once; the
 * issue's budget: under 5 MB, first paint under 1 s), opened in headless Chromium over the
 * DevTools protocol:
 *   report.page_mb        — the page's size, vs the run's report.json (the data it is drawn from);
 *   report.first_paint_ms — first contentful paint after navigation (median of RUNS), vs the same
 *                           browser showing that report.json as text (what one reads without the page);
 *   report.load_ms        — until the load event (scripts run, timeline drawn), vs the same for report.json.
 */
const JOBS = 10_000;
const RUNS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timings(browser: Browser, file: string): Promise<{ paint: number; load: number }> {
  const paint: number[] = [];
  const load: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage();
    await page.goto(`file://${file}`, 120_000);
    // The paint entry is recorded once the frame is presented: wait for it (at most 10 s).
    const t = await page.evaluate<{ paint: number; load: number }>(
      `new Promise((resolve) => {
        const load = () => performance.getEntriesByType('navigation')[0].loadEventEnd;
        new PerformanceObserver((list) => {
          const e = list.getEntries().find((x) => x.name === 'first-contentful-paint');
          if (e) resolve({ paint: e.startTime, load: load() });
        }).observe({ type: 'paint', buffered: true });
        setTimeout(() => resolve({ paint: -1, load: load() }), 10000);
      })`,
    );
    if (page.errors.length > 0) throw new Error(`console errors on ${file}: ${page.errors.join('; ')}`);
    if (t.paint < 0) throw new Error(`${file}: no first contentful paint`);
    paint.push(t.paint);
    load.push(t.load);
    await page.send('Page.close').catch(() => undefined);
  }
  return { paint: median(paint), load: median(load) };
}

export async function benchReport(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-bench-report-'));
  const browser = await Browser.launch();
  try {
    const plan = planRun(
      { target: 'builtin:goodbye', bugs: ['minnesota-goodbye'], jobs: JOBS, concurrency: 1000, seed: 1, link: 'sim', out: dir, timeout: 10_000 },
      { privileged: false, readFile: () => new Uint8Array(0), now: new Date(), randomSeed: () => 1 },
    );
    const report = await runPlan(plan, { logLevel: 'silent', events: () => {} });
    if (report.totals.connections !== JOBS) throw new Error(`the run had ${report.totals.connections} connections, not ${JOBS}`);
    const html = join(dir, 'report.html');
    const json = join(dir, 'report.json');
    const page = await timings(browser, html);
    const raw = await timings(browser, json);
    return [
      benchResult('report.page_mb', statSync(html).size / 1e6, 'MB', `report.json of the same ${JOBS}-connection run (budget: page < 5 MB)`, statSync(json).size / 1e6),
      benchResult('report.first_paint_ms', page.paint, 'ms', 'Chromium painting that report.json as text (budget: page < 1000 ms)', raw.paint),
      benchResult('report.load_ms', page.load, 'ms', 'Chromium loading that report.json as text', raw.load),
    ];
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
