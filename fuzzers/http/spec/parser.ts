import type { Offset, RequestSpec, ResponseSpec, Token, Value } from './ast.js';
import { SpecError } from './errors.js';
import { EscapeError, decodeEscapes, isNakedChar } from './escapes.js';
import { DATATYPE_NAMES, UNITS, type Unit } from './generated.js';
import { USER_AGENTS } from './user-agents.js';

/**
 * The spec grammar of pathod 6.0.2, by recursive descent. pathod's grammar is pyparsing, whose
 * MatchFirst/And/ZeroOrMore are ordered choice without backtracking into a choice once made,
 * i.e. a PEG; this parser tries the same alternatives in the same order, so it accepts the same
 * specs and reads them the same way, quirks included (whitespace may precede any token, the `:`
 * separator is optional, keywords match as prefixes: `get:/foo bar` has body `ar`).
 *
 * Differences, all documented in docs/pathoc.md: a backslash escapes a quote inside a quoted
 * literal (the docs promise it; pathod ended the literal there); errors are one sentence at the
 * farthest point any alternative reached, not a grammar dump.
 */

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];
const WHITESPACE = ' \t\n\r';

/** `x` copies are materialised as array entries; more than this on one connection is a typo. */
export const MAX_REPEAT = 1_000_000;

/** pathod's names for clauses a message may hold once (its class names, lower-cased). */
const UNIQUE: Partial<Record<Token['type'], string>> = {
  ws: 'ws',
  method: 'method',
  path: 'path',
  status: 'statuscode',
  raw: 'raw',
  reason: 'reason',
  body: 'body',
  times: 'times',
  nested: 'nestedresponse',
  disconnect: 'disconnectat',
};

const REQUEST_COMPONENTS = 'a component (h c u r s b x p d i)';
const RESPONSE_COMPONENTS = 'a component (h c l r m b p d i)';
const A_VALUE = 'a value (\'…\', "…", @N, <file or a bare word)';
const A_QUOTED_VALUE = 'a value (\'…\', "…", @N or <file)';
const AN_OFFSET = 'an offset (a number, r or a)';

interface Item {
  readonly tok: Token;
  readonly at: number;
}

class Parser {
  pos = 0;
  private far = -1;
  private expected: string[] = [];

  constructor(readonly src: string) {}

  // ---- failure bookkeeping: the farthest position any alternative reached, and what it wanted

  private expect(at: number, what: string): null {
    if (at > this.far) {
      this.far = at;
      this.expected = [what];
    } else if (at === this.far && !this.expected.includes(what)) {
      this.expected.push(what);
    }
    return null;
  }

  failure(): SpecError {
    const at = Math.max(this.far, 0);
    const found = at >= this.src.length ? 'end of spec' : `'${this.src[at]}'`;
    const wants = this.expected.length <= 1 ? (this.expected[0] ?? 'nothing') : `${this.expected.slice(0, -1).join(', ')} or ${this.expected.at(-1)}`;
    return new SpecError(`expected ${wants}, found ${found}`, this.src, at);
  }

  /** Notes what was wanted where the next token starts, without moving. */
  private wanted(what: string): null {
    const start = this.pos;
    this.expect(this.skip(), what);
    this.pos = start;
    return null;
  }

  private hard(message: string, at: number): never {
    throw new SpecError(message, this.src, at);
  }

  // ---- primitives: each skips leading whitespace (as pyparsing does) and restores on failure

  private skip(): number {
    while (this.pos < this.src.length && WHITESPACE.includes(this.src[this.pos]!)) this.pos++;
    return this.pos;
  }

  private literal(text: string, caseless = false): boolean {
    const start = this.pos;
    const at = this.skip();
    const got = this.src.slice(at, at + text.length);
    if (got === text || (caseless && got.toLowerCase() === text.toLowerCase())) {
      this.pos = at + text.length;
      return true;
    }
    this.pos = start;
    return false;
  }

  /** A run of one or more characters that satisfy `ok` (pyparsing's Word). */
  private word(ok: (ch: string) => boolean): { raw: string; at: number } | null {
    const start = this.pos;
    const at = this.skip();
    let end = at;
    while (end < this.src.length && ok(this.src[end]!)) end++;
    if (end === at) {
      this.pos = start;
      return null;
    }
    this.pos = end;
    return { raw: this.src.slice(at, end), at };
  }

  private digits(): { raw: string; at: number } | null {
    return this.word((ch) => ch >= '0' && ch <= '9');
  }

  private safeInteger(d: { raw: string; at: number }): number {
    const n = Number(d.raw);
    if (!Number.isSafeInteger(n)) this.hard(`number too large: ${d.raw}`, d.at);
    return n;
  }

  /**
   * A quoted literal's raw text (escapes not yet decoded). pathod's literal ended at the next
   * identical quote even after a backslash; here `\'` and `\"` stay inside, as the docs say.
   */
  private quoted(): { raw: string; at: number } | null {
    const start = this.pos;
    const at = this.skip();
    const q = this.src[at];
    if (q !== "'" && q !== '"') {
      this.pos = start;
      return null;
    }
    for (let i = at + 1; i < this.src.length; i++) {
      if (this.src[i] === '\\') i++;
      else if (this.src[i] === q) {
        this.pos = i + 1;
        return { raw: this.src.slice(at + 1, i), at: at + 1 };
      }
    }
    this.expect(this.src.length, `a closing ${q} for the literal at column ${at + 1}`);
    this.pos = start;
    return null;
  }

  private decode(text: { raw: string; at: number }): Uint8Array {
    try {
      return decodeEscapes(text.raw);
    } catch (e) {
      if (e instanceof EscapeError) this.hard(e.message, text.at + e.index);
      throw e;
    }
  }

  // ---- values

  private generated(): Value | null {
    const start = this.pos;
    if (!this.literal('@')) return null;
    const count = this.digits();
    if (!count) {
      this.wanted('a size after @');
      this.pos = start;
      return null;
    }
    // The unit follows the number directly: pyparsing's leaveWhitespace() on it.
    let unit: Unit = 'b';
    const u = this.src[this.pos];
    if (u !== undefined && u in UNITS) {
      unit = u as Unit;
      this.pos++;
    }
    let datatype: (typeof DATATYPE_NAMES)[number] = 'bytes';
    const beforeComma = this.pos;
    if (this.literal(',')) {
      const at = this.skip();
      const name = DATATYPE_NAMES.find((d) => this.src.startsWith(d, at));
      if (name) {
        datatype = name;
        this.pos = at + name.length;
      } else {
        this.expect(at, `a data type (${DATATYPE_NAMES.join(', ')})`);
        this.pos = beforeComma;
      }
    }
    const n = this.safeInteger(count);
    if (!Number.isSafeInteger(n * UNITS[unit])) this.hard(`@${count.raw}${unit} is too large`, count.at);
    return { kind: 'generated', count: n, unit, datatype };
  }

  private file(): Value | null {
    const start = this.pos;
    if (!this.literal('<')) return null;
    const name = this.quoted() ?? this.word(isNakedChar);
    if (!name) {
      this.wanted('a file name after <');
      this.pos = start;
      return null;
    }
    return { kind: 'file', path: name.raw };
  }

  private quotedValue(): Value | null {
    const q = this.quoted();
    return q && { kind: 'literal', bytes: this.decode(q), naked: false };
  }

  /** pathod's TokValue (quoted, generated, file) or, where bare words are allowed, TokNakedValue. */
  private value(what: string, bare: boolean): Value | null {
    const v = this.generated() ?? this.file() ?? this.quotedValue();
    if (v) return v;
    if (bare) {
      const w = this.word(isNakedChar);
      if (w) return { kind: 'literal', bytes: this.decode(w), naked: true };
    }
    return this.wanted(what);
  }

  private offset(): Offset | null {
    const d = this.digits();
    if (d) return this.safeInteger(d);
    if (this.literal('r')) return 'r';
    if (this.literal('a')) return 'a';
    return this.wanted(AN_OFFSET);
  }

  private comma(): boolean {
    if (this.literal(',')) return true;
    this.wanted("','");
    return false;
  }

  // ---- components

  private header(): Token | null {
    const key = this.value('a header name (a quoted, @N or <file value)', false);
    if (!key) return null;
    if (!this.literal('=')) return this.wanted("'='");
    const value = this.value('a header value (a quoted, @N or <file value)', false);
    return value && { type: 'header', form: 'h', key, value };
  }

  private shortcut(form: 'c' | 'l', name: string): Token | null {
    const value = this.value(A_VALUE, true);
    return value && { type: 'header', form, key: ascii(name), value };
  }

  private userAgent(): Token | null {
    const at = this.skip();
    const ua = USER_AGENTS.find((u) => this.src[at]?.toLowerCase() === u.letter);
    if (ua) {
      this.pos = at + 1;
      return { type: 'header', form: 'u', key: ascii('User-Agent'), value: ascii(ua.ua), agent: ua.letter };
    }
    const value = this.value(`a user-agent letter (${USER_AGENTS.map((u) => u.letter).join(' ')}) or ${A_QUOTED_VALUE}`, false);
    return value && { type: 'header', form: 'u', key: ascii('User-Agent'), value };
  }

  private pause(): Token | null {
    const offset = this.offset();
    if (offset === null || !this.comma()) return null;
    const d = this.digits();
    if (d) return { type: 'pause', offset, seconds: this.safeInteger(d) };
    if (this.literal('f')) return { type: 'pause', offset, seconds: 'forever' };
    return this.wanted('a number of seconds or f (forever)');
  }

  private inject(): Token | null {
    const offset = this.offset();
    if (offset === null || !this.comma()) return null;
    const value = this.value(A_QUOTED_VALUE, false);
    return value && { type: 'inject', offset, value };
  }

  private times(): Token | null {
    const d = this.digits();
    if (!d) return this.wanted('a repeat count');
    const count = this.safeInteger(d);
    if (count > MAX_REPEAT) this.hard(`x${count} is over the limit of ${MAX_REPEAT} repeats`, d.at);
    return { type: 'times', count };
  }

  private nested(): Token | null {
    const q = this.quoted();
    if (!q) return this.wanted('a quoted response spec');
    const text = this.decode(q);
    const inner = Buffer.from(text).toString('latin1');
    try {
      return { type: 'nested', text, response: parseResponse(inner) };
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      // Columns map one to one only when the literal had no escapes.
      const at = inner === q.raw ? q.at + e.offset : q.at - 1;
      this.hard(`in the nested response: ${e.message}`, at);
    }
  }

  private body(): Token | null {
    const value = this.value(A_VALUE, true);
    return value && { type: 'body', value };
  }

  private disconnect(): Token | null {
    const offset = this.offset();
    return offset === null ? null : { type: 'disconnect', offset };
  }

  private reason(): Token | null {
    const value = this.value(A_VALUE, true);
    return value && { type: 'reason', value };
  }

  /** Clauses by their (case-sensitive) letter; `r` is the one caseless keyword among them. */
  private readonly shared: Record<string, () => Token | null> = {
    h: () => this.header(),
    c: () => this.shortcut('c', 'Content-Type'),
    r: () => ({ type: 'raw' }),
    R: () => ({ type: 'raw' }),
    b: () => this.body(),
    p: () => this.pause(),
    d: () => this.disconnect(),
    i: () => this.inject(),
  };
  private readonly requestClauses = new Map(
    Object.entries({ ...this.shared, u: () => this.userAgent(), s: () => this.nested(), x: () => this.times() }),
  );
  private readonly responseClauses = new Map(
    Object.entries({ ...this.shared, l: () => this.shortcut('l', 'Location'), m: () => this.reason() }),
  );

  /**
   * One clause. pathod tries its clause parsers in turn, but each starts with its own letter, so
   * choosing by the letter is the same choice.
   */
  private atom(kind: 'request' | 'response'): Item | null {
    const at = this.skip();
    const clauses = kind === 'request' ? this.requestClauses : this.responseClauses;
    const parse = clauses.get(this.src[at] ?? '');
    if (!parse) return this.expect(at, kind === 'request' ? REQUEST_COMPONENTS : RESPONSE_COMPONENTS);
    const start = this.pos;
    this.pos = at + 1;
    const tok = parse();
    if (tok) return { tok, at };
    this.pos = start;
    return null;
  }

  /** `{[:]COMPONENT}`: stops (restoring any `:` it took) at the first thing that is not one. */
  private components(items: Item[], atom: () => Item | null): void {
    for (;;) {
      const start = this.pos;
      this.literal(':');
      const item = atom();
      if (!item) {
        this.pos = start;
        return;
      }
      items.push(item);
    }
  }

  private method(): Item | null {
    const at = this.skip();
    const name = METHODS.find((m) => this.src.slice(at, at + m.length).toUpperCase() === m);
    if (name) {
      this.pos = at + name.length;
      return { tok: { type: 'method', value: ascii(name) }, at };
    }
    const value = this.value('a method (get, head, post, put, delete, options, trace, connect or a quoted value)', false);
    return value && { tok: { type: 'method', value }, at };
  }

  /** `[ws[:]]METHOD[:]PATH{[:]COMPONENT}` or `ws[:]PATH{…}`. */
  request(): RequestSpec | null {
    const start = this.pos;
    const items: Item[] = [];
    const wsAt = this.skip();
    if (this.literal('ws', true)) {
      items.push({ tok: { type: 'ws' }, at: wsAt });
      const save = this.pos;
      this.literal(':');
      const m = this.method();
      if (m) items.push(m);
      else this.pos = save;
    } else {
      const m = this.method();
      if (!m) {
        this.pos = start;
        return null;
      }
      items.push(m);
    }
    this.literal(':');
    const pathAt = this.skip();
    const path = this.value('a path', true);
    if (!path) {
      this.pos = start;
      return null;
    }
    items.push({ tok: { type: 'path', value: path }, at: pathAt });
    this.components(items, () => this.atom('request'));
    return { kind: 'request', tokens: this.unique(items) };
  }

  /** `CODE{[:]COMPONENT}` or `ws[[:]CODE]{…}`. */
  response(): ResponseSpec | null {
    const items: Item[] = [];
    const status = (): Item | null => {
      const d = this.digits();
      return d && { tok: { type: 'status', code: d.raw }, at: d.at };
    };
    const wsAt = this.skip();
    if (this.literal('ws', true)) {
      items.push({ tok: { type: 'ws' }, at: wsAt });
      const save = this.pos;
      this.literal(':');
      const s = status();
      if (s) items.push(s);
      else this.pos = save;
    } else {
      const s = status();
      if (!s) return this.wanted('a status code (or ws)');
      items.push(s);
    }
    this.components(items, () => this.atom('response'));
    return { kind: 'response', tokens: this.unique(items) };
  }

  private unique(items: Item[]): Token[] {
    const seen = new Set<string>();
    for (const { tok, at } of items) {
      const name = UNIQUE[tok.type];
      if (name === undefined) continue;
      if (seen.has(name)) this.hard(`Message has multiple ${name} clauses, but should only have one.`, at);
      seen.add(name);
    }
    return items.map((i) => i.tok);
  }

  /** True at the end of the spec (after trailing whitespace); otherwise notes that it wanted it. */
  atEnd(): boolean {
    const start = this.pos;
    if (this.skip() === this.src.length) return true;
    this.pos = start;
    this.wanted('end of spec');
    return false;
  }
}

function ascii(text: string): Value {
  return { kind: 'literal', bytes: Uint8Array.from(text, (c) => c.charCodeAt(0)), naked: false };
}

function checkAscii(spec: string): void {
  const bad = [...spec].findIndex((c) => c.charCodeAt(0) > 0x7f);
  if (bad >= 0) throw new SpecError('Spec must be valid ASCII.', spec, bad);
}

/**
 * Every request in a pathoc spec string (several may follow one another, separated by
 * whitespace), with `xN` expanded into N copies (the copies share one object; each render
 * draws its random parts anew).
 */
export function parseRequests(spec: string): RequestSpec[] {
  checkAscii(spec);
  const p = new Parser(spec);
  const out: RequestSpec[] = [];
  for (let r = p.request(); r; r = p.request()) out.push(r);
  if (out.length === 0 || !p.atEnd()) throw p.failure();
  return out.flatMap((r) => {
    const times = r.tokens.find((t) => t.type === 'times');
    if (!times) return [r];
    const copy: RequestSpec = { kind: 'request', tokens: r.tokens.filter((t) => t !== times) };
    return new Array<RequestSpec>(times.count).fill(copy);
  });
}

/** One pathod response spec. */
export function parseResponse(spec: string): ResponseSpec {
  checkAscii(spec);
  const p = new Parser(spec);
  const r = p.response();
  if (!r || !p.atEnd()) throw p.failure();
  return r;
}
