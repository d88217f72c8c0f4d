import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequests, parseResponse, SpecError } from '../fuzzers/http/spec/index.js';

function specError(f: () => unknown): SpecError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e;
  }
  assert.fail('expected a SpecError');
}

test('one sentence with the column, the spec, and a caret under the column', () => {
  const e = specError(() => parseRequests('get:/:b'));
  assert.equal(e.column, 8);
  assert.equal(e.line, 1);
  assert.equal(e.offset, 7);
  assert.equal(e.format(), `column 8: expected a value ('…', "…", @N, <file or a bare word), found end of spec\n  get:/:b\n         ^`);
});

test('the column is where parsing really stopped, not where the message began', () => {
  assert.equal(specError(() => parseRequests('get:/ connect:/')).column, 15);
  assert.equal(specError(() => parseRequests("get:/:h'foo'=x")).column, 14);
  assert.equal(specError(() => parseRequests('get:/:pz,1')).column, 8);
  assert.equal(specError(() => parseRequests('get:/:p0,x')).column, 10);
  assert.equal(specError(() => parseRequests('get:/:b@1,foo')).message.startsWith('expected a data type'), true);
  assert.match(specError(() => parseRequests("get:/:b'abc")).message, /^expected a closing ' for the literal at column 8/);
});

test('multi-line specs name the line, and the caret sits under the right line', () => {
  const e = specError(() => parseRequests('get:/\n  :b\'x\'\n  :zz'));
  assert.equal(e.line, 3);
  assert.equal(e.column, 4);
  assert.equal(e.format().split('\n')[0], 'line 3, column 4: expected a component (h c u r s b x p d i), found \'z\'');
  assert.equal(e.format().split('\n')[1], '    :zz');
  assert.equal(e.format().split('\n')[2], '     ^');
});

test('bad escapes, non-ASCII and duplicates are errors at their own column', () => {
  const esc = specError(() => parseRequests("get:/:b'ab\\x4'"));
  assert.equal(esc.column, 11);
  assert.match(esc.message, /\\x must be followed by two hex digits/);
  const nonAscii = specError(() => parseRequests('get:/\u00e9'));
  assert.equal(nonAscii.column, 6);
  assert.equal(nonAscii.message, 'Spec must be valid ASCII.');
  const dup = specError(() => parseRequests("get:/:b'x':r:b'y'"));
  assert.equal(dup.column, 14);
  assert.equal(dup.message, 'Message has multiple body clauses, but should only have one.');
});

test('an error inside a nested response points into the nested spec', () => {
  const e = specError(() => parseRequests("get:/:s'200:zz'"));
  assert.equal(e.column, 13);
  assert.match(e.message, /^in the nested response: expected a component \(h c l r m b p d i\), found 'z'/);
});

test('response errors list response components', () => {
  assert.match(specError(() => parseResponse('200:x3')).message, /a component \(h c l r m b p d i\)/);
  assert.match(specError(() => parseResponse('')).message, /^expected a status code \(or ws\), found end of spec/);
});
