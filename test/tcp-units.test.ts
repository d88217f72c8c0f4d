import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../stack/clock.js';
import { IsnGenerator, siphash24, sipKey } from '../stack/tcp/isn.js';
import { Reassembly } from '../stack/tcp/reassembly.js';
import { RtoEstimator } from '../stack/tcp/rto.js';
import { SendBuffer } from '../stack/tcp/send-buffer.js';
import { seqAdd, seqGt, seqInRange, seqLt } from '../stack/wire/seq.js';
import { CLOSED, formatTransition, transition, type Action, type State } from '../stack/tcp/state.js';
import { TransitionTrace } from '../stack/tcp/trace.js';
import { silentLogger } from '../stack/log.js';
import { validateBugs, BugProfileError, bugSwitches } from '../stack/tcp/bugs.js';

test('sequence comparisons hold across the 2^32 wrap', () => {
  const top = 0xfffffff0;
  const wrapped = seqAdd(top, 0x20);
  assert.equal(wrapped, 0x10);
  assert.ok(seqLt(top, wrapped));
  assert.ok(seqGt(wrapped, top));
  assert.ok(seqInRange(0x2, top, wrapped));
  assert.ok(!seqInRange(wrapped, top, wrapped));
});

test('transition function reproduces the seed traces line for line', () => {
  const run = (actions: Action[], start: State = CLOSED): string[] => {
    const lines: string[] = [];
    let s = start;
    for (const a of actions) {
      const to = transition(s, a);
      lines.push(formatTransition(s, a, to));
      s = to;
    }
    return lines;
  };
  // The seed's unikernel-client trace (minnesota-goodbye.txt).
  assert.deepEqual(
    run([
      { kind: 'Send_syn', seq: 466432097 },
      { kind: 'Recv_synack', seq: 466432098 },
      { kind: 'Send_fin', seq: 466432120 },
      { kind: 'Recv_ack', seq: 466432120 },
      { kind: 'Recv_ack', seq: 466432121 },
      { kind: 'Recv_fin' },
    ]),
    [
      '{ Closed }  - Send_syn 466432097 ->  { Syn_sent 466432097 }',
      '{ Syn_sent 466432097 }  - Recv_synack 466432098 ->  { Established }',
      '{ Established }  - Send_fin 466432120 ->  { Fin_wait_1 466432120 }',
      '{ Fin_wait_1 466432120 }  - Recv_ack 466432120 ->  { Fin_wait_1 466432120 }',
      '{ Fin_wait_1 466432120 }  - Recv_ack 466432121 ->  { Fin_wait_2 0 }',
      '{ Fin_wait_2 0 }  - Recv_fin ->  { Time_wait }',
    ],
  );
  // The seed's server trace (halfway fix), transitions only.
  assert.deepEqual(
    run([
      { kind: 'Passive_open' },
      { kind: 'Send_synack', seq: 452873839 },
      { kind: 'Recv_ack', seq: 452873840 },
      { kind: 'Send_fin', seq: 452873864 },
      { kind: 'Recv_ack', seq: 452873840 },
    ]),
    [
      '{ Closed }  - Passive_open ->  { Listen }',
      '{ Listen }  - Send_synack 452873839 ->  { Syn_rcvd 452873839 }',
      '{ Syn_rcvd 452873839 }  - Recv_ack 452873840 ->  { Established }',
      '{ Established }  - Send_fin 452873864 ->  { Fin_wait_1 452873864 }',
      '{ Fin_wait_1 452873864 }  - Recv_ack 452873840 ->  { Fin_wait_1 452873864 }',
    ],
  );
});

test('transition table: RFC 9293 paths the 2014 table lacked', () => {
  const synRcvdPassive: State = { name: 'Syn_rcvd', seq: 100, passive: true };
  const synRcvdActive: State = { name: 'Syn_rcvd', seq: 100, passive: false };
  const cases: Array<[State, Action, string]> = [
    [synRcvdPassive, { kind: 'Send_fin', seq: 101 }, 'Fin_wait_1'], // §3.10.4 close in SYN-RECEIVED
    [synRcvdPassive, { kind: 'Recv_rst' }, 'Listen'], // §3.10.7.4 passive open reset
    [synRcvdActive, { kind: 'Recv_rst' }, 'Closed'],
    [synRcvdPassive, { kind: 'Recv_ack', seq: 100 }, 'Syn_rcvd'], // offset 0 is not the handshake
    [synRcvdPassive, { kind: 'Recv_ack', seq: 102 }, 'Syn_rcvd'], // nor offset 2
    [{ name: 'Syn_sent', seq: 5 }, { kind: 'Recv_syn', seq: 77 }, 'Syn_rcvd'], // simultaneous open
    [{ name: 'Closing', seq: 9 }, { kind: 'Recv_ack', seq: 10 }, 'Time_wait'],
    [{ name: 'Last_ack', seq: 9 }, { kind: 'Recv_ack', seq: 10 }, 'Closed'],
    [{ name: 'Time_wait' }, { kind: 'Timeout' }, 'Closed'],
    [{ name: 'Time_wait' }, { kind: 'Recv_syn', seq: 77 }, 'Closed'], // RFC 1122 §4.2.2.13 new incarnation
    [{ name: 'Fin_wait_2', count: 3 }, { kind: 'Timeout' }, 'Closed'],
    [{ name: 'Listen' }, { kind: 'Recv_rst' }, 'Listen'],
  ];
  for (const [from, action, to] of cases) assert.equal(transition(from, action).name, to, formatTransition(from, action, transition(from, action)));
});

test('RTO estimator follows RFC 6298: first sample, smoothing, floor, ×2 back-off, ceiling', () => {
  const r = new RtoEstimator({ initial: 1000, min: 1000, max: 60_000, granularity: 1 });
  assert.equal(r.rto, 1000);
  r.sample(100); // SRTT=100, RTTVAR=50 → 300 → floor 1000
  assert.equal(r.srtt, 100);
  assert.equal(r.rttvar, 50);
  assert.equal(r.rto, 1000);
  const low = new RtoEstimator({ initial: 1000, min: 10, max: 60_000, granularity: 1 });
  low.sample(100);
  assert.equal(low.rto, 300);
  low.sample(200); // RTTVAR = .75*50 + .25*100 = 62.5; SRTT = 112.5 → 112.5 + 250
  assert.equal(low.rto, 362.5);
  low.backoff();
  low.backoff();
  assert.equal(low.rto, 1450);
  for (let i = 0; i < 20; i++) low.backoff();
  assert.equal(low.rto, 60_000);
  low.resetBackoff();
  assert.equal(low.rto, 362.5);
});

test('reassembly keeps held bytes, fills gaps, and is bounded in blocks', () => {
  const r = new Reassembly(5);
  const bytes = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
  r.insert(110, bytes(110, 10)); // [110,120)
  r.insert(130, bytes(130, 10)); // [130,140)
  r.insert(105, bytes(105, 40)); // fills [105,110), [120,130), [140,145)
  assert.equal(r.bytes, 40);
  assert.equal(r.size, 5);
  r.insert(200, bytes(200, 5)); // a 6th block: dropped
  assert.equal(r.size, 5);
  assert.equal(r.bytes, 40);
  assert.deepEqual(r.takeFrom(100), []); // gap at 100..105
  const out = r.takeFrom(105);
  const joined = Buffer.concat(out.map((c) => Buffer.from(c)));
  assert.deepEqual([...joined], [...bytes(105, 40)]);
  assert.equal(r.bytes, 0);
});

test('send buffer cuts segments at any offset and consumes from the front', () => {
  const b = new SendBuffer();
  b.append(Uint8Array.of(1, 2, 3));
  b.append(Uint8Array.of(4, 5));
  b.append(Uint8Array.of(6, 7, 8, 9));
  assert.equal(b.length, 9);
  assert.deepEqual([...b.read(2, 4)], [3, 4, 5, 6]);
  b.consume(4);
  assert.deepEqual([...b.read(0, 5)], [5, 6, 7, 8, 9]);
  assert.equal(b.length, 5);
});

test('trace ring buffer keeps the newest records, hook sees all', () => {
  const seen: string[] = [];
  const t = new TransitionTrace(silentLogger, { limit: 2, onTransition: (r) => seen.push(r.line) });
  const conn = { id: 1, localIp: 0x0a4d0002, localPort: 19, remoteIp: 0x0a4d0001, remotePort: 40000 };
  t.record(0, conn, CLOSED, { kind: 'Passive_open' }, { name: 'Listen' });
  t.record(1, conn, { name: 'Listen' }, { kind: 'Send_synack', seq: 7 }, { name: 'Syn_rcvd', seq: 7, passive: true });
  t.record(2, conn, { name: 'Syn_rcvd', seq: 7, passive: true }, { kind: 'Recv_ack', seq: 8 }, { name: 'Established' });
  assert.equal(seen.length, 3);
  assert.deepEqual(
    t.list().map((r) => r.line),
    ['{ Listen }  - Send_synack 7 ->  { Syn_rcvd 7 }', '{ Syn_rcvd 7 }  - Recv_ack 8 ->  { Established }'],
  );
  assert.equal(t.dropped, 1);
});

test('bug profiles: known names, one-line error for unknown, stages exclusive', () => {
  assert.deepEqual(bugSwitches(validateBugs([])), { callbackBeforeHandshakeAck: false, closeInSynRcvd: 'rfc' });
  assert.deepEqual(bugSwitches(validateBugs(['minnesota-goodbye'])), { callbackBeforeHandshakeAck: true, closeInSynRcvd: 'noop' });
  assert.deepEqual(validateBugs(['minnesota-goodbye-halfway'])[0]!.defaults, { initialRto: 3000 });
  assert.throws(() => validateBugs(['nope']), (e: Error) => e instanceof BugProfileError && /unknown bug profile 'nope'/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => validateBugs(['minnesota-goodbye', 'minnesota-goodbye-halfway']), BugProfileError);
});

test('ISN function: SipHash-2-4 matches the paper\'s vectors; ISNs differ per tuple and follow the 4 µs clock', () => {
  const key = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
  const hex = (n: number): string => {
    const [lo, hi] = siphash24(key, Uint8Array.from({ length: n }, (_, i) => i));
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  };
  assert.equal(hex(0), '726fdb47dd0e0e31');
  assert.equal(hex(15), 'a129ca6149be45e5');
  const clock = new VirtualClock(0);
  const isn = new IsnGenerator(clock, 1);
  const a = isn.next(1, 80, 2, 40000);
  assert.notEqual(isn.next(1, 80, 2, 40001), a);
  assert.equal(new IsnGenerator(clock, 1).next(1, 80, 2, 40000), a, 'same seed, same ISN');
  assert.notEqual(new IsnGenerator(clock, 2).next(1, 80, 2, 40000), a, 'another key');
  clock.advance(1);
  assert.equal(isn.next(1, 80, 2, 40000), (a + 250) >>> 0, 'M ticks every 4 µs');
});
