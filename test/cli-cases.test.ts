import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExpectations, listCases, loadCase } from '../harness/cases.js';

test('every shipped case loads and names a known shape', () => {
  const cases = listCases();
  assert.ok(cases.length >= 3);
  for (const c of cases) {
    // Any target kind a run takes (builtin:, exec:, tcp://, tap:).
    assert.match(c.run.target, /^(builtin:|exec:|tcp:\/\/|tap:)/);
    assert.ok(c.summary.length > 20, `${c.name} has a summary`);
  }
  assert.equal(loadCase('cases/minnesota-goodbye').name, 'minnesota-goodbye');
  assert.equal(loadCase('minnesota-goodbye-fixed').name, 'minnesota-goodbye-fixed');
  assert.throws(() => loadCase('no-such-case'), /no case 'no-such-case'/);
});

test('expectations: exact counts, absent findings and clean', () => {
  const tally = { findings: { 'missing-fin': 128 }, jobOutcomes: { timeout: 128 }, clientStates: { FIN_WAIT2: 128 } };
  assert.deepEqual(checkExpectations({ findings: { 'missing-fin': 128 }, clientStates: { FIN_WAIT2: 128 } }, tally), []);
  assert.deepEqual(checkExpectations({ findings: { 'missing-fin': 127 } }, tally), ['finding missing-fin: expected 127, got 128']);
  assert.deepEqual(checkExpectations({ absentFindings: ['missing-fin'] }, tally), ['finding missing-fin: expected none, got 128']);
  assert.equal(checkExpectations({ clean: true }, tally).length, 1);
  assert.deepEqual(checkExpectations({ clean: true, jobOutcomes: { eof: 0 } }, { findings: {}, jobOutcomes: {}, clientStates: {} }), []);
});
