import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt } from '../stack/wire/seq.js';

test('sequence arithmetic wraps at 2^32 and compares on the signed difference', () => {
  const top = 0xffff_fff0;
  const wrapped = seqAdd(top, 0x20);
  assert.equal(wrapped, 0x10);
  assert.equal(seqAdd(5, -6), 0xffff_ffff, 'a negative step wraps below zero');
  assert.equal(seqDiff(wrapped, top), 0x20);
  assert.equal(seqDiff(top, wrapped), -0x20);
  assert.ok(seqLt(top, wrapped) && seqLe(top, wrapped) && !seqGe(top, wrapped));
  assert.ok(seqGt(wrapped, top) && seqGe(wrapped, top) && !seqLe(wrapped, top));
  assert.ok(seqLe(7, 7) && seqGe(7, 7) && !seqLt(7, 7) && !seqGt(7, 7));
  // Just under half the space apart the order holds; the numbers are then 2^31 - 1 apart.
  assert.ok(seqLt(0, 0x7fff_ffff) && seqGt(0x7fff_ffff, 0));
  // Further apart, the nearer way round wins: 0x8000_0001 is 2^31 - 1 *behind* 0.
  assert.ok(seqLt(0x8000_0001, 0) && seqGt(0, 0x8000_0001));
  assert.ok(seqInRange(0x2, top, wrapped));
  assert.ok(seqInRange(top, top, wrapped), 'the low end is inside');
  assert.ok(!seqInRange(wrapped, top, wrapped), 'the high end is outside');
  assert.ok(!seqInRange(seqAdd(top, -1), top, wrapped));
});
