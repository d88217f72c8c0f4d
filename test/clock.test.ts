import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../stack/clock.js';
import { Rng } from '../stack/rng.js';

test('virtual clock fires timers in (time, creation) order and only when advanced', () => {
  const c = new VirtualClock();
  const fired: string[] = [];
  c.setTimer(20, () => fired.push('b'));
  c.setTimer(10, () => fired.push('a'));
  const h = c.setTimer(15, () => fired.push('cancelled'));
  c.setTimer(20, () => fired.push('c'));
  c.clearTimer(h);
  c.advance(9);
  assert.deepEqual(fired, []);
  c.advance(11);
  assert.deepEqual(fired, ['a', 'b', 'c']);
  assert.equal(c.now(), 20);
  assert.equal(c.pendingTimers(), 0);
});

test('virtual clock runs deferred work before timers and bounds runUntilIdle', () => {
  const c = new VirtualClock(1000);
  const order: string[] = [];
  c.setTimer(0, () => order.push('timer'));
  c.defer(() => order.push('deferred'));
  c.runUntilIdle();
  assert.deepEqual(order, ['deferred', 'timer']);
  // A self-rearming timer would loop forever; the event bound stops it.
  const rearm = (): void => void c.setTimer(1, rearm);
  rearm();
  assert.equal(c.runUntilIdle(1e9, 50), 50);
});

test('rng: same seed same stream, different seed different stream', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 8 }, () => a.u32());
  assert.deepEqual(sa, Array.from({ length: 8 }, () => b.u32()));
  assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.u32()));
  const r = new Rng(1);
  for (let i = 0; i < 1000; i++) {
    const x = r.int(7);
    assert.ok(x >= 0 && x < 7 && Number.isInteger(x));
  }
});
