/**
 * report.html renders in headless Chromium, offline: the page has the timeline and one
 * time–sequence graph per connection shape (its representative) as SVG, and a screenshot shows them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writePage } from '../reports/write.js';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, SYN } from '../stack/wire/tcp.js';
import { analyzeFrames, Conversation, type TimedFrame, asReport, sampleRunSection } from './analyze-support.js';
import { testBrowser } from './helpers/chromium.js';
import { hasCommand } from './helpers/env.js';

const skip = hasCommand('chromium') ? undefined : "needs 'chromium' on PATH (.ci/run installs it)";
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-html-'));
const browser = testBrowser(skip, () => rmSync(dir, { recursive: true, force: true }));

function sampleReport() {
  const frames: TimedFrame[] = [];
  const C = parseIpv4('10.77.0.1')!;
  const S = parseIpv4('10.77.0.2')!;
  // A stuck handshake: SYN/ACK resent after the client's data and FIN; the server never closes.
  const stuck = new Conversation(frames, [C, 40000], [S, 19], { isn: [100, 9000] });
  stuck.send(0, SYN).send(1, SYN | ACK).send(0, ACK).send(0, PSH | ACK, { len: 7 }).send(0, FIN | ACK, { dt: 1 });
  for (const dt of [2, 4]) stuck.send(1, SYN | ACK, { seq: 9000, ack: 101, dt: 0.0001 }).send(0, ACK, { dt });
  // A bulk transfer with losses and a zero-window pause.
  const bulk = new Conversation(frames, [C, 40001], [S, 80], { t: 1000.5 }).handshake();
  for (let i = 0; i < 60; i++) {
    bulk.send(0, PSH | ACK, { len: 1400, dt: 0.01 });
    if (i % 20 === 19) bulk.send(0, PSH | ACK, { len: 1400, seq: bulk.next(0) - 2800, dt: 0.01 });
    if (i % 4 === 3) bulk.send(1, ACK, { window: i === 31 ? 0 : 65535, dt: i === 31 ? 1.2 : 0.005 });
  }
  bulk.send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
  for (let i = 0; i < 30; i++) {
    new Conversation(frames, [C, 41000 + i], [S, 7], { t: 1000 + i * 0.2 }).handshake().send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK);
  }
  return analyzeFrames(frames, { thresholds: { storm_count: 3 } });
}

describe('report.html in headless Chromium', { skip }, () => {
  const report = asReport(sampleReport(), sampleRunSection({ seed: 42, faults: 'drop=5%', bugs: [{ name: 'minnesota-goodbye', summary: '' }] }));
  const page = join(dir, 'report.html');
  writePage(report, page, null);

  it('the DOM has the timeline and a Stevens graph per shape', async () => {
    // Three shapes: the stuck handshake, the bulk transfer, the 30 clean echo connections.
    assert.equal(report.clusters.length, 3);
    assert.equal(report.traces.length, 3);
    const tab = await browser().newPage();
    await tab.goto(`file://${page}`);
    assert.deepEqual(tab.errors, []);
    const dom = await tab.evaluate<string>('document.documentElement.outerHTML');
    assert.equal((dom.match(/<canvas id="tl"/g) ?? []).length, 1);
    assert.equal((dom.match(/<svg[^>]*class="stevens"/g) ?? []).length, 3);
    const bars = JSON.parse(/<script type="application\/json" id="tl-data">(.*?)<\/script>/.exec(dom)![1]!) as { bars: unknown[] };
    assert.equal(bars.bars.length, 32, 'a timeline bar per connection');
    assert.ok((dom.match(/class="seg retx"/g) ?? []).length >= 3, 'retransmissions are marked');
    assert.ok(dom.includes('class="mark mark-S retx"'), 'the resent SYN/ACK is marked');
    assert.ok(dom.includes('class="mark mark-F"'), 'FINs are marked');
    assert.ok(dom.includes('minnesota-goodbye'), 'the run section is rendered');
    assert.ok(dom.includes('retransmit-after-close'));
  });

  it('a screenshot shows the page', async () => {
    const png = join(dir, 'report.png');
    const tab = await browser().newPage(1200, 2400);
    await tab.goto(`file://${page}`);
    await tab.screenshot(png);
    // A blank page compresses to a few kilobytes; text and graphs do not.
    assert.ok(statSync(png).size > 40_000, `screenshot of ${statSync(png).size} bytes`);
  });
});
