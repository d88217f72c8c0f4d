import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealClock, VirtualClock } from '../stack/clock.js';
import { FaultSpecError, FaultyLink, NO_FAULTS, formatFaultSpec, parseFaultSpec, type FaultSpec } from '../stack/link/faults.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { createSimWire } from '../stack/link/sim.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { Rng } from '../stack/rng.js';

function spec(partial: Partial<FaultSpec>): FaultSpec {
  return { ...NO_FAULTS, ...partial };
}

/** Frame `id`: 64 bytes, the id in the first 4 and a fixed pattern after. */
function frame(id: number, size = 64): Uint8Array {
  const f = new Uint8Array(size);
  new DataView(f.buffer).setUint32(0, id);
  for (let i = 4; i < size; i++) f[i] = (i * 7) & 0xff;
  return f;
}
const idOf = (f: Uint8Array): number => new DataView(f.buffer, f.byteOffset).getUint32(0);

/** Sends `n` frames through a FaultyLink on a sim wire, one every `gapMs`; returns what arrived and when. */
function pump(s: FaultSpec, n: number, opts: { seed?: number; gapMs?: number; size?: number } = {}) {
  const clock = new VirtualClock();
  const [a, b] = createSimWire(clock, { maxFrame: 9000 });
  const faulty = new FaultyLink(a, s, new Rng(opts.seed ?? 1));
  const got: Array<{ at: number; frame: Uint8Array }> = [];
  b.onFrame((f) => got.push({ at: clock.now(), frame: f }));
  for (let i = 0; i < n; i++) {
    faulty.send(frame(i, opts.size));
    clock.advance(opts.gapMs ?? 0);
  }
  clock.runUntilIdle();
  return { got, stats: faulty.stats };
}

/** |observed − expected| within 5 standard deviations of a binomial count. */
function assertRate(observed: number, n: number, p: number, what: string): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 5 * sigma + 1, `${what}: ${observed} of ${n}, expected about ${n * p}`);
}

const N = 20_000;

test('drop happens at its rate, and only drop', () => {
  const { got, stats } = pump(spec({ drop: 0.05 }), N);
  assertRate(N - got.length, N, 0.05, 'dropped');
  assert.equal(stats.dropped, N - got.length);
  assert.deepEqual(
    got.map((g) => idOf(g.frame)),
    [...got.map((g) => idOf(g.frame))].sort((x, y) => x - y),
    'order kept',
  );
});

test('duplicate: the frame arrives twice, back to back, at its rate', () => {
  const { got, stats } = pump(spec({ duplicate: 0.03 }), N);
  let pairs = 0;
  for (let i = 1; i < got.length; i++) if (idOf(got[i]!.frame) === idOf(got[i - 1]!.frame)) pairs++;
  assert.equal(got.length, N + pairs);
  assert.equal(stats.duplicated, pairs);
  assertRate(pairs, N, 0.03, 'duplicated');
});

test('corrupt: exactly one bit flipped in a copy, at its rate', () => {
  const { got, stats } = pump(spec({ corrupt: 0.02 }), N);
  assert.equal(got.length, N);
  let corrupted = 0;
  got.forEach((g, i) => {
    const want = frame(i);
    let bits = 0;
    for (let k = 0; k < want.length; k++) bits += [...(want[k]! ^ g.frame[k]!).toString(2)].filter((c) => c === '1').length;
    assert.ok(bits <= 1, `frame ${i}: ${bits} bits changed`);
    corrupted += bits;
  });
  assert.equal(stats.corrupted, corrupted);
  assertRate(corrupted, N, 0.02, 'corrupted');
});

test('reorder: a held frame is overtaken by exactly the next one, at its rate', () => {
  const p = 0.04;
  const { got, stats } = pump(spec({ reorder: p }), N);
  assert.equal(got.length, N, 'nothing lost');
  let inversions = 0;
  for (let i = 1; i < got.length; i++) if (idOf(got[i]!.frame) < idOf(got[i - 1]!.frame)) inversions++;
  assert.equal(inversions, stats.reordered);
  // A frame can be held only when none is held already: rate p / (1 + p).
  assertRate(inversions, N, p / (1 + p), 'reordered');
});

test('delay ± jitter: every frame arrives within the window, mean at the delay; fixed delay keeps order', () => {
  const jittered = pump(spec({ delayMs: 20, jitterMs: 5 }), 2000, { gapMs: 1 });
  const lat = jittered.got.map((g) => g.at - idOf(g.frame));
  assert.ok(
    lat.every((l) => l >= 15 && l <= 25),
    'within delay ± jitter',
  );
  const mean = lat.reduce((x, y) => x + y, 0) / lat.length;
  assert.ok(Math.abs(mean - 20) < 0.5, `mean latency ${mean}`);
  assert.ok(Math.max(...lat) - Math.min(...lat) > 8, 'jitter spreads the latency');
  const fixed = pump(spec({ delayMs: 7 }), 100, { gapMs: 0.5 });
  assert.deepEqual(
    fixed.got.map((g) => [g.at - idOf(g.frame) * 0.5, idOf(g.frame)]),
    Array.from({ length: 100 }, (_, i) => [7, i]),
  );
  assert.equal(fixed.stats.delayed, 100);
});

test('size limit drops exactly the larger frames', () => {
  const clock = new VirtualClock();
  const [a, b] = createSimWire(clock, { maxFrame: 9000 });
  const f = new FaultyLink(a, spec({ maxFrame: 1000 }), new Rng(1));
  const sizes: number[] = [];
  b.onFrame((fr) => sizes.push(fr.length));
  for (const n of [60, 1000, 1001, 1514, 999]) f.send(new Uint8Array(n));
  clock.runUntilIdle();
  assert.deepEqual(sizes, [60, 1000, 999]);
  assert.equal(f.stats.oversize, 2);
});

test('rate limit: token buckets in packets/s and bits/s pass the configured rate (plus a 10 ms burst)', () => {
  // 10 000 frames/s offered for 1 s.
  const pps = pump(spec({ ratePps: 2000 }), 10_000, { gapMs: 0.1 });
  assert.ok(Math.abs(pps.got.length - 2000) <= 25, `pps: ${pps.got.length} passed`);
  assert.equal(pps.stats.rateLimited, 10_000 - pps.got.length);
  // 1000-byte frames, 8000 bits each, 1 Mbit/s: 125 frames/s, plus a first burst of one
  // maximum-size frame's bits (the 9000-byte link: 9 frames of 1000 bytes).
  const bits = pump(spec({ rateBps: 1e6 }), 2000, { gapMs: 0.5, size: 1000 });
  assert.ok(Math.abs(bits.got.length - 134) <= 2, `bit/s: ${bits.got.length} passed`);
});

/** A two-way exchange over faulty links on both ends; returns the pcap recorded at b. */
function faultyExchange(seed: number, s: FaultSpec): Uint8Array {
  const clock = new VirtualClock(1_700_000_000_000);
  const [a, b] = createSimWire(clock, { latencyMs: 0.5 });
  const rng = new Rng(seed);
  const fa = new FaultyLink(a, s, rng.fork());
  const w = PcapWriter.memory({ nanos: true });
  const fb = new FaultyLink(new RecordingLink(b, w), s, rng.fork());
  fb.onFrame((f) => fb.send(Uint8Array.of(0xee, ...f.subarray(1))));
  fa.onFrame(() => {});
  for (let i = 0; i < 500; i++) {
    fa.send(frame(i, 60 + (i % 100)));
    clock.advance(0.3);
  }
  clock.runUntilIdle();
  return w.bytes();
}

test('same seed ⇒ byte-identical pcap; different seed ⇒ different faults', () => {
  const s = parseFaultSpec('drop=5%,dup=2%,reorder=3%,corrupt=1%,delay=2ms±1ms,rate=3000pps');
  const one = faultyExchange(7, s);
  assert.deepEqual(faultyExchange(7, s), one);
  assert.notDeepEqual(faultyExchange(8, s), one);
  assert.notDeepEqual(faultyExchange(7, NO_FAULTS), one);
});

test('both directions are faulted; an inbound spec can differ', () => {
  const clock = new VirtualClock();
  const [a, b] = createSimWire(clock);
  const f = new FaultyLink(a, spec({ drop: 1 }), new Rng(3), { inbound: spec({}) });
  let inbound = 0;
  let outbound = 0;
  f.onFrame(() => inbound++);
  b.onFrame(() => outbound++);
  for (let i = 0; i < 10; i++) {
    f.send(frame(i));
    b.send(frame(i));
  }
  clock.runUntilIdle();
  assert.deepEqual([outbound, inbound], [0, 10]);
  // Without an inbound spec, received frames get the same faults.
  const [c, d] = createSimWire(clock);
  const g = new FaultyLink(c, spec({ drop: 1 }), new Rng(3));
  let got = 0;
  g.onFrame(() => got++);
  d.send(frame(1));
  clock.runUntilIdle();
  assert.equal(got, 0);
  assert.equal(g.stats.dropped, 1);
});

test('works on the real clock: a delayed frame arrives after the wall-clock delay; close cancels pending ones', async () => {
  const clock = new RealClock();
  const sent: number[] = [];
  const inner = { clock, maxFrame: 1514, send: () => sent.push(clock.now()), onFrame: () => {}, close: () => {} };
  const f = new FaultyLink(inner, spec({ delayMs: 30 }), new Rng(1));
  const t0 = clock.now();
  f.send(frame(1));
  f.send(frame(2));
  assert.equal(sent.length, 0);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(sent.length, 2);
  assert.ok(sent[0]! - t0 >= 29, `delay ${sent[0]! - t0}`);
  f.send(frame(3));
  f.close();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent.length, 2, 'closed: the pending frame is never sent');
});

test('fault spec: parse/format round trip (canonical and random specs) and one-line errors', () => {
  const cases: Array<[string, Partial<FaultSpec>]> = [
    ['drop=5%,dup=1%,reorder=2%,corrupt=0.1%,delay=20ms±5ms,rate=2000pps', { drop: 0.05, duplicate: 0.01, reorder: 0.02, corrupt: 0.001, delayMs: 20, jitterMs: 5, ratePps: 2000 }],
    ['delay=20ms+-5ms', { delayMs: 20, jitterMs: 5 }],
    ['size=1400,rate=10mbit', { maxFrame: 1400, rateBps: 10e6 }],
    ['drop=0.25, duplicate=1, delay=1.5s', { drop: 0.25, duplicate: 1, delayMs: 1500 }],
    ['delay=500us,rate=64kbit,rate=2kpps', { delayMs: 0.5, rateBps: 64_000, ratePps: 2000 }],
    ['none', {}],
    ['', {}],
  ];
  for (const [text, want] of cases) {
    const s = parseFaultSpec(text);
    assert.deepEqual(s, spec(want), text);
    assert.deepEqual(parseFaultSpec(formatFaultSpec(s)), s, `round trip of ${text}`);
  }
  assert.equal(formatFaultSpec(parseFaultSpec('rate=10mbit,drop=7%')), 'drop=7%,rate=10mbit');
  const rng = new Rng(99);
  for (let i = 0; i < 500; i++) {
    const s = spec({ drop: rng.float(), duplicate: rng.int(3) === 0 ? 0 : rng.float() / 10, corrupt: rng.int(1000) / 1000, delayMs: rng.float() * 100, jitterMs: rng.int(2) * rng.float() });
    if (rng.int(2)) s.maxFrame = 60 + rng.int(9000);
    if (rng.int(2)) s.ratePps = 1 + rng.int(1e6);
    if (rng.int(2)) s.rateBps = rng.float() * 1e10 + 1;
    assert.deepEqual(parseFaultSpec(formatFaultSpec(s)), s, formatFaultSpec(s));
  }
  for (const [bad, msg] of [
    ['drop=150%', /at most 100%/],
    ['drop=1.5', /at most 100%/],
    ['flap=1%', /unknown fault 'flap'/],
    ['rate=100', /give a unit/],
    ['rate=10mbps', /'bps' is ambiguous/],
    ['drop=1%,drop=2%', /given twice/],
    ['dup=1%,duplicate=2%', /given twice/],
    ['delay=abc', /not a number/],
    ['delay=1ms±2ms±3ms', /DELAY±JITTER/],
    ['size=10', /size=10/],
    ['drop', /not key=value/],
    ['rate=0pps', /above 0/],
  ] as const) {
    assert.throws(
      () => parseFaultSpec(bad),
      (e: unknown) => e instanceof FaultSpecError && msg.test(e.message) && !e.message.includes('\n'),
      bad,
    );
  }
});

test('onFault sees every fault with the frame it hit, matching the counters', () => {
  const clock = new VirtualClock();
  const [a, b] = createSimWire(clock, { maxFrame: 9000 });
  const seen = new Map<string, number[]>();
  const faulty = new FaultyLink(a, spec({ drop: 0.05, duplicate: 0.03, corrupt: 0.02, reorder: 0.02, delayMs: 1, maxFrame: 100 }), new Rng(9), {
    onFault: (kind, f) => seen.set(kind, [...(seen.get(kind) ?? []), idOf(f)]),
  });
  const arrived = new Set<number>();
  b.onFrame((f) => arrived.add(idOf(f)));
  for (let i = 0; i < 5000; i++) faulty.send(frame(i, i % 50 === 0 ? 200 : 64));
  clock.runUntilIdle();
  const { frames: _frames, ...counters } = faulty.stats;
  for (const [kind, n] of Object.entries(counters)) assert.equal(seen.get(kind)?.length ?? 0, n, kind);
  for (const id of [...(seen.get('dropped') ?? []), ...(seen.get('oversize') ?? [])]) assert.equal(arrived.has(id), false, `frame ${id} was dropped`);
  assert.ok((seen.get('oversize') ?? []).every((id) => id % 50 === 0));
});
