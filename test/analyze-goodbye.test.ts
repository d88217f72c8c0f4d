/**
 * The seed's halfway Minnesota Goodbye on our own stack (sim wire, virtual time), captured at the
 * client and analysed from the file: the pause between the handshake and the first data is named
 * as slow-handshake, the client's resending is blamed on the server holding back its ACK, every
 * frame's analysis equals tshark's, and each finding's filters show the packets it says.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeCapture } from '../reports/analyzer.js';
import type { AnalysisReport, Finding, FindingKind } from '../reports/report.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { runSim } from '../stack/sim-driver.js';
import { countTcpdump, countTshark, frameDiff, ourFrames, tsharkFrames } from './analyze-support.js';
import { hasCommand } from './helpers/env.js';
import { SERVER_IP, twoStacks } from './helpers/two-stacks.js';

const CONNECTIONS = 6;
/** `fuzz run`'s default storm threshold (3 sends). */
const RUN_THRESHOLDS = { storm_count: 3 };
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-goodbye-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Clients send "hi mom\n" and half-close, the goodbye service writes its string and closes. */
async function capture(bugs: string[], file: string): Promise<void> {
  const writer = PcapWriter.open(file, { nanos: true });
  const { clock, client, server } = twoStacks({}, { bugs }, (a, b) => [new RecordingLink(a, writer), b]);
  server.listen(19, (s) => {
    s.write('I made a string!\n');
    s.end();
  });
  for (let i = 0; i < CONNECTIONS; i++) {
    const sock = client.connect(SERVER_IP, 19);
    sock.on('data', () => {});
    sock.write('hi mom\n');
    sock.end();
  }
  await runSim(clock, { untilMs: clock.now() + 15_000 });
  writer.close();
}

function finding(report: AnalysisReport, kind: FindingKind, culprit: 'server' | 'client'): Finding {
  const f = report.findings.find((x) => x.kind === kind && x.culprit === culprit);
  assert.ok(f, `expected ${kind} (${culprit}), got ${report.findings.map((x) => `${x.kind} (${x.culprit})`).join(', ') || 'none'}`);
  return f;
}

describe('minnesota-goodbye-halfway on our stack', () => {
  const halfway = join(dir, 'halfway.pcap');
  const fixed = join(dir, 'fixed.pcap');
  const captured = Promise.all([capture(['minnesota-goodbye-halfway'], halfway), capture([], fixed)]);

  it('names the pause after the handshake and blames the client storm on the held-back ACK', async () => {
    await captured;
    const report = await analyzeCapture(halfway, { thresholds: RUN_THRESHOLDS });
    assert.equal(report.totals.connections, CONNECTIONS);
    for (const r of report.connections) {
      assert.equal(r.handshake.synack_after_ack, 1);
      assert.ok(r.handshake.connect_ms! < 10, `the client's ACK went out at once (${r.handshake.connect_ms} ms)`);
      // The initial RTO of the halfway profile is 3 s (the seed's trace).
      assert.ok(r.handshake.server_accept_ms! >= 3000 && r.handshake.server_accept_ms! < 3010, `server accept ${r.handshake.server_accept_ms} ms`);
      assert.ok(r.s2c.first_payload_t! >= 3, 'no data from the server before the pause ended');
    }
    const slow = finding(report, 'slow-handshake', 'server');
    assert.equal(slow.connections, CONNECTIONS);
    assert.match(slow.title, new RegExp(`^server 10\\.77\\.0\\.2:19 paused 300\\d(–300\\d)? ms after the handshake on ${CONNECTIONS}/${CONNECTIONS} connections: it resent its SYN/ACK instead of taking the client's ACK$`));
    assert.match(slow.instances[0]!.detail, /^the server resent its SYN\/ACK \(frame \d+\) (299\d|300\d)(\.\d)? ms after the client's ACK \(frame \d+\) had completed the handshake: it had not processed that ACK/);
    const storm = finding(report, 'retransmit-storm', 'client');
    assert.match(storm.explanation, new RegExp(`On ${CONNECTIONS} connections the resending began while the server had not yet taken the client's handshake ACK`));
  });

  it('the fixed goodbye: the server takes the first ACK, no pause and no findings', async () => {
    await captured;
    const report = await analyzeCapture(fixed, { thresholds: RUN_THRESHOLDS });
    assert.equal(report.totals.connections, CONNECTIONS);
    for (const r of report.connections) {
      assert.equal(r.handshake.synack_after_ack, 0);
      assert.equal(r.handshake.server_accept_ms, r.handshake.connect_ms);
    }
    assert.deepEqual(report.findings, []);
  });

  const skip = hasCommand('tshark') && hasCommand('tcpdump') ? undefined : "needs 'tshark' and 'tcpdump' on PATH (.ci/run installs them)";
  it('every frame as tshark flags it; each finding filter shows the packets it counts', { skip }, async () => {
    await captured;
    const [{ frames, report }, theirs] = await Promise.all([ourFrames(halfway, { thresholds: RUN_THRESHOLDS }), tsharkFrames(halfway)]);
    assert.deepEqual(frameDiff(frames, theirs).slice(0, 10), []);
    for (const f of report.findings) {
      assert.equal(await countTcpdump(halfway, f.show.tcpdump), f.show.tcpdump_packets, `${f.kind}: tcpdump '${f.show.tcpdump}'`);
      assert.equal(await countTshark(halfway, f.show.tshark), f.show.tshark_packets, `${f.kind}: tshark '${f.show.tshark}'`);
    }
  });
});
