import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyLink } from '../stack/link/faults.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import type { Link } from '../stack/link/link.js';
import { Rng } from '../stack/rng.js';
import { runSim } from '../stack/sim-driver.js';
import { SERVER_IP, twoStacks } from './helpers/two-stacks.js';

const SPEC = { drop: 0.1, duplicate: 0.02, reorder: 0.02, corrupt: 0.01, delayMs: 0, jitterMs: 0 };

/**
 * `conns` clients each send `size` pseudo-random bytes to an echo server over a sim wire with
 * 10% drop, duplication, reordering and 1% corruption, half-close, and read the echo to EOF.
 * With `pcap`, every frame at the client's end (both directions) is recorded into it.
 */
async function echoRun(seed: number, conns: number, size: number, concurrency: number, pcap?: PcapWriter) {
  // One FaultyLink at the client's end: it applies the spec to both directions.
  const faulty = (a: Link, b: Link): [Link, Link] => {
    const client = new FaultyLink(a, SPEC, new Rng(seed));
    return [pcap ? new RecordingLink(client, pcap) : client, b];
  };
  const tcp = { minRto: 200, initialRto: 200, msl: 1000, delayedAckMs: 40 };
  const { clock, client, server } = twoStacks({ seed, tcp, traceLimit: 0 }, { seed: seed + 1, tcp, traceLimit: 0 }, faulty);
  server.listen(7, (s) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
  });
  let done = 0;
  let ok = 0;
  let started = 0;
  const failures: string[] = [];
  const start = (): void => {
    const i = started++;
    const payload = Buffer.from(new Rng(seed * 7919 + i).fill(new Uint8Array(size)));
    const sock = client.connect(SERVER_IP, 7);
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('reset', (r: string) => failures.push(`conn ${i}: reset ${r}`));
    sock.on('close', () => {
      done++;
      if (Buffer.concat(got).equals(payload)) ok++;
      else failures.push(`conn ${i}: got ${Buffer.concat(got).length} of ${size} bytes`);
      if (started < conns) start();
    });
    sock.end(payload);
  };
  for (let i = 0; i < Math.min(concurrency, conns); i++) start();
  await runSim(clock, { until: () => done === conns, untilMs: clock.now() + 3_600_000, maxSteps: 50_000_000 });
  // Let TIME-WAITs expire, then both sides must be empty.
  await runSim(clock, { untilMs: clock.now() + 10_000 });
  return { done, ok, failures, left: [client.tcp.countByState(), server.tcp.countByState()], clientStats: client.tcp.stats, serverStats: server.tcp.stats };
}

test('1,000 connections echo 64 KiB each over 10% drop + dup + reorder + 1% corruption, all close cleanly', async () => {
  const t0 = Date.now();
  const r = await echoRun(42, 1000, 64 * 1024, 100);
  console.log(`lossy echo: ${Date.now() - t0} ms wall, retransmits ${r.clientStats.retransmits}/${r.serverStats.retransmits}, bad segments ${r.clientStats.badSegments + r.serverStats.badSegments}`);
  assert.deepEqual(r.failures.slice(0, 5), []);
  assert.equal(r.ok, 1000);
  assert.deepEqual(r.left, [{}, {}], 'nothing left but CLOSED');
  assert.ok(r.clientStats.badSegments + r.serverStats.badSegments > 0, 'corruption was detected by checksums');
});

test('same seed ⇒ the same pcap bytes (20 lossy 64 KiB echoes, recorded twice)', async () => {
  const pcaps = [PcapWriter.memory(), PcapWriter.memory(), PcapWriter.memory()];
  const a = await echoRun(7, 20, 64 * 1024, 20, pcaps[0]);
  const b = await echoRun(7, 20, 64 * 1024, 20, pcaps[1]);
  const c = await echoRun(8, 20, 64 * 1024, 20, pcaps[2]);
  assert.equal(a.ok, 20);
  assert.equal(b.ok, 20);
  assert.equal(c.ok, 20);
  const [pa, pb, pc] = pcaps.map((p) => Buffer.from(p.bytes()));
  assert.ok(pa!.length > 20 * 2 * 64 * 1024, `recorded ${pa!.length} bytes`);
  assert.ok(pa!.equals(pb!), 'same seed, same bytes');
  assert.ok(!pa!.equals(pc!), 'another seed, other bytes');
});
