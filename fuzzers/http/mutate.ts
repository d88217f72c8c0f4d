import { Rng } from '../../stack/rng.js';
import { parseRequests, renderMessage, RenderError, specString, type RequestSpec, type Token, type Value } from './spec/index.js';

/**
 * `--mutate N`: variants of the user's request specs, drawn from the run's seed. Each variant is
 * itself a spec string, so it is replayable, readable in the report, and renders through the
 * same code as any spec. One message of a seed spec (an `xN` group counts as one) gets one to
 * three of the mutations below; the others are kept as written.
 */

type Mutation = (tokens: Token[], rng: Rng) => Token[] | undefined;

function literal(text: string): Value {
  return { kind: 'literal', bytes: Buffer.from(text, 'latin1'), naked: false };
}

function generated(count: number, unit: 'b' | 'k' | 'm', datatype: 'bytes' | 'ascii_letters' | 'ascii_uppercase'): Value {
  return { kind: 'generated', count, unit, datatype };
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function header(key: Value, value: Value): Token {
  return { type: 'header', form: 'h', key, value };
}

/**
 * The base message's length (what action offsets index), or undefined when it cannot be
 * rendered here (a `<file` value): generated values are sized by the spec, so any seed gives it.
 */
function baseLength(tokens: Token[]): number | undefined {
  try {
    return renderMessage({ kind: 'request', tokens }, { rng: new Rng(0) }).baseLength;
  } catch (e) {
    if (e instanceof RenderError) return undefined;
    throw e;
  }
}

/** An action offset: a byte of the base message or just past it (`r` when the length is unknown). */
function offset(tokens: Token[], rng: Rng): number | 'r' {
  const n = baseLength(tokens);
  return n === undefined ? 'r' : rng.int(n + 1);
}

/** Line-ending damage and stray separators (RFC 9112 §2.2: CRLF, never a lone CR). */
const BAD_BYTES = ['\r', '\n', '\r\n', '\n\r', '\r\r\n', '\r\n\r\n', '\x00', ' ', '\t', ':', ' HTTP/1.1\r\n', '\r\n '];

const ODD_METHODS = ['PROPFIND', 'BREW', 'M-SEARCH', 'PRI', 'PATCH', 'get', 'G ET', 'GET\x00', 'GE\rT', '', 'TRACE', 'CONNECT', 'OPTIONS'];

/** Framing headers a server must reject or handle exactly (RFC 9112 §6.1–6.3). */
const BAD_FRAMING: ReadonlyArray<[string, string]> = [
  ['Content-Length', '-1'],
  ['Content-Length', 'abc'],
  ['Content-Length', '18446744073709551616'],
  ['Content-Length', '5, 6'],
  ['Content-Length', '0x10'],
  ['Content-Length', ' 1'],
  ['Transfer-Encoding', 'chunked'],
  ['Transfer-Encoding', 'chunked, identity'],
  ['Transfer-Encoding', 'xchunked'],
  ['Transfer-Encoding', ' chunked'],
];

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  disconnect: (t, rng) => (t.some((x) => x.type === 'disconnect') ? undefined : [...t, { type: 'disconnect', offset: offset(t, rng) }]),
  inject: (t, rng) => {
    const value = rng.chance(0.25) ? generated(1 + rng.int(64), 'b', 'bytes') : literal(pick(rng, BAD_BYTES));
    return [...t, { type: 'inject', offset: offset(t, rng), value }];
  },
  pause: (t, rng) => [...t, { type: 'pause', offset: offset(t, rng), seconds: 1 + rng.int(3) }],
  oversizedHeader: (t, rng) => [...t, header(literal(`X-Fuzz-${rng.int(1000)}`), generated(8 + rng.int(57), 'k', 'ascii_letters'))],
  garbledHeader: (t, rng) => [...t, header(generated(1 + rng.int(32), 'b', 'bytes'), generated(1 + rng.int(128), 'b', 'bytes'))],
  manyHeaders: (t, rng) => {
    const n = 64 + rng.int(193);
    return [...t, ...Array.from({ length: n }, (_, i) => header(literal(`X-H${i}`), literal('x')))];
  },
  oddMethod: (t, rng) => {
    const value = rng.chance(0.2) ? generated(1 + rng.int(64), 'b', 'ascii_uppercase') : literal(pick(rng, ODD_METHODS));
    const at = t.findIndex((x) => x.type === 'method');
    if (at === -1) return [t[0]!, { type: 'method', value }, ...t.slice(1)];
    return t.map((x, i) => (i === at ? { type: 'method', value } : x));
  },
  hugeBody: (t, rng) => [...t.filter((x) => x.type !== 'body'), { type: 'body', value: generated(pick(rng, [256, 1024, 4096, 16384]), 'k', 'bytes') }],
  badFraming: (t, rng) => {
    const [k, v] = pick(rng, BAD_FRAMING);
    return [...t, header(literal(k), literal(v))];
  },
};

const NAMES = Object.keys(MUTATIONS);

/**
 * What a server may rightly do with a request a mutation broke, so that doing it is no finding:
 * - `bare-reply`: a request line that lost its version is HTTP/0.9 (RFC 9112 Appendix C.1), and a
 *   bare body without status line or headers is the valid answer to it;
 * - `no-reply`: a request left incomplete (cut, paused, or framed for more bytes than sent)
 *   makes a server wait for the rest, or close without answering;
 * - `reset`: a server that rejects the request (4xx) and closes while we are still sending
 *   resets the connection (RFC 9112 §9.6: closing with unread input).
 */
export type Expectation = 'bare-reply' | 'no-reply' | 'reset';

const EXPECTS: Readonly<Record<string, readonly Expectation[]>> = {
  disconnect: ['no-reply', 'reset'],
  inject: ['bare-reply', 'no-reply', 'reset'],
  pause: ['no-reply', 'reset'],
  oversizedHeader: ['no-reply', 'reset'],
  garbledHeader: ['no-reply', 'reset'],
  manyHeaders: ['no-reply', 'reset'],
  oddMethod: ['bare-reply', 'no-reply', 'reset'],
  hugeBody: ['no-reply', 'reset'],
  badFraming: ['no-reply', 'reset'],
};

/** A mutated variant: its spec string, and what its mutations allow the server to do. */
export interface Variant {
  spec: string;
  expects: Expectation[];
}

/** Messages with their repeat count: `xN` copies share one object (see parseRequests). */
function groups(requests: RequestSpec[]): Array<{ msg: RequestSpec; times: number }> {
  const out: Array<{ msg: RequestSpec; times: number }> = [];
  for (const r of requests) {
    const last = out[out.length - 1];
    if (last && last.msg === r) last.times++;
    else out.push({ msg: r, times: 1 });
  }
  return out;
}

/** One message mutated: one to three mutations, in order (a mutation that does not apply is skipped), and what they allow. */
function mutateMessage(msg: RequestSpec, rng: Rng, expects: Set<Expectation>): RequestSpec {
  let tokens = [...msg.tokens];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const name = pick(rng, NAMES);
    const next = MUTATIONS[name]!(tokens, rng);
    if (!next) continue;
    tokens = next;
    for (const e of EXPECTS[name]!) expects.add(e);
  }
  return { kind: 'request', tokens };
}

/**
 * `count` variants of `specs` (each a pathoc request spec string, already known to parse),
 * the same for the same `rng` state.
 */
export function mutateSpecs(specs: readonly string[], rng: Rng, count: number): string[] {
  return mutateVariants(specs, rng, count).map((v) => v.spec);
}

/** The variants of mutateSpecs with what each one's mutations allow the server to do. */
export function mutateVariants(specs: readonly string[], rng: Rng, count: number): Variant[] {
  if (specs.length === 0) return [];
  const parsed = specs.map((s) => groups(parseRequests(s)));
  const out: Variant[] = [];
  for (let v = 0; v < count; v++) {
    const seed = pick(rng, parsed);
    const target = rng.int(seed.length);
    const expects = new Set<Expectation>();
    const parts = seed.map(({ msg, times }, i) => {
      const m = i === target ? mutateMessage(msg, rng, expects) : msg;
      const tokens: Token[] = times > 1 ? [...m.tokens, { type: 'times', count: times }] : [...m.tokens];
      return specString({ kind: 'request', tokens });
    });
    out.push({ spec: parts.join(' '), expects: [...expects].sort() });
  }
  return out;
}
