import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FaultyLink } from '../stack/link/faults.js';
import type { Link } from '../stack/link/link.js';
import { Rng } from '../stack/rng.js';
import { runSim } from '../stack/sim-driver.js';
import { DUT_IP, twoStacks } from './helpers/tcp-peer.js';

const SPEC = { drop: 0.1, duplicate: 0.02, reorder: 0.02, corrupt: 0.01, delayMs: 0, jitterMs: 0 };

/**
 * `conns` clients each send `size` pseudo-random bytes to an echo server over a sim wire with
 * 10% drop, duplication, reordering and 1% corruption, half-close, and read the echo to EOF.
 * Returns a digest of every frame on the wire (time + bytes) and the outcome.
 */
async function echoRun(seed: number, conns: number, size: number, concurrency: number) {
  const wire = createHash('sha256');
  const faulty = (a: Link, b: Link): [Link, Link] => {
    const rng = new Rng(seed);
    const wrap = (l: Link): Link => {
      const f = new FaultyLink(l, SPEC, rng.fork());
      const send = f.send.bind(f);
      f.send = (frame: Uint8Array) => {
        wire.update(String(l.clock.now())).update(frame);
        send(frame);
      };
      return f;
    };
    return [wrap(a), wrap(b)];
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
    const sock = client.connect(DUT_IP, 7);
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
  return { digest: wire.digest('hex'), done, ok, failures, left: [client.tcp.countByState(), server.tcp.countByState()], clientStats: client.tcp.stats, serverStats: server.tcp.stats };
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

test('same seed, same bytes on the wire', async () => {
  const a = await echoRun(7, 20, 64 * 1024, 20);
  const b = await echoRun(7, 20, 64 * 1024, 20);
  const c = await echoRun(8, 20, 64 * 1024, 20);
  assert.equal(a.ok, 20);
  assert.equal(a.digest, b.digest);
  assert.notEqual(a.digest, c.digest);
});
