import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../stack/clock.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { createSimWire } from '../stack/link/sim.js';
import { parsePcapBuffer } from '../stack/pcap/reader.js';
import { PcapWriter } from '../stack/pcap/writer.js';

test('sim wire: delivery after the latency, in order, both directions, only when the clock moves', () => {
  const clock = new VirtualClock(1000);
  const [a, b] = createSimWire(clock, { latencyMs: 5 });
  const atB: Array<[number, number]> = [];
  const atA: Array<[number, number]> = [];
  b.onFrame((f) => atB.push([clock.now(), f[0]!]));
  a.onFrame((f) => atA.push([clock.now(), f[0]!]));
  for (let i = 0; i < 5; i++) a.send(Uint8Array.of(i, ...new Uint8Array(59)));
  clock.advance(2);
  b.send(Uint8Array.of(99, ...new Uint8Array(59)));
  assert.deepEqual(atB, [], 'nothing arrives before the latency has passed');
  clock.advance(3);
  assert.deepEqual(atB, [0, 1, 2, 3, 4].map((i) => [1005, i]));
  assert.deepEqual(atA, []);
  clock.advance(10);
  assert.deepEqual(atA, [[1007, 99]]);
  assert.deepEqual(a.stats, { sent: 5, delivered: 1, droppedOversize: 0, droppedUndeliverable: 0 });
});

test('sim wire: zero latency still delivers after the sender returns (no re-entrancy), oversize and closed ends counted', () => {
  const clock = new VirtualClock();
  const [a, b] = createSimWire(clock, { maxFrame: 100 });
  assert.equal(a.maxFrame, 100);
  let got = 0;
  b.onFrame(() => got++);
  a.send(new Uint8Array(100));
  assert.equal(got, 0);
  clock.runUntilIdle();
  assert.equal(got, 1);
  a.send(new Uint8Array(101));
  b.close();
  a.send(new Uint8Array(60));
  clock.runUntilIdle();
  assert.equal(got, 1);
  assert.equal(a.stats.droppedOversize, 1);
  assert.equal(b.stats.droppedUndeliverable, 1);
  assert.throws(() => createSimWire(clock, { latencyMs: -1 }), /latency/);
});

test('RecordingLink: both directions, timestamped with the link clock', () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const [a, b] = createSimWire(clock, { latencyMs: 1.5 });
  const w = PcapWriter.memory({ nanos: true });
  const rec = new RecordingLink(a, w);
  let received = 0;
  rec.onFrame(() => received++);
  b.onFrame((f) => b.send(Uint8Array.of(2, ...f.subarray(1))));
  rec.send(Uint8Array.of(1, ...new Uint8Array(59)));
  clock.runUntilIdle();
  assert.equal(received, 1);
  const { records } = parsePcapBuffer(w.bytes());
  assert.deepEqual(
    records.map((r) => [r.tsSec, r.tsNsec, r.data[0]]),
    [
      [1_700_000_000, 0, 1],
      [1_700_000_000, 3_000_000, 2],
    ],
  );
  rec.close();
  assert.equal(w.frames, 2);
});
