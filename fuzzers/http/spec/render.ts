import type { MessageSpec } from './ast.js';
import { ByteRun, SourceCursor, wholeRun } from './byte-source.js';
import { freezeResolved } from './freeze.js';
import { resolveMessage, type RenderOptions, type ResolvedMessage, type ResolvedToken } from './resolve.js';

/**
 * What to do on the wire, in order. `at` is how many bytes of this message have been sent when
 * the action runs (injected bytes included).
 */
export type PlanStep =
  | { readonly kind: 'bytes'; readonly data: ByteRun }
  | { readonly kind: 'pause'; readonly seconds: number | 'forever'; readonly at: number }
  | { readonly kind: 'disconnect'; readonly at: number };

export interface RenderedMessage {
  readonly plan: readonly PlanStep[];
  /** Bytes the plan sends (injections in, anything after a disconnect out). */
  readonly length: number;
  /** The base message's length: what action offsets index. */
  readonly baseLength: number;
  readonly disconnects: boolean;
  /** The frozen spec of exactly this rendering: parsing and rendering it sends the same bytes. */
  freeze(): string;
}

type Action = Extract<ResolvedToken, { type: 'pause' | 'disconnect' | 'inject' }>;

/**
 * The documented action semantics: an action at offset N runs before base byte N (after the
 * whole message when N is at or past the end); actions run in offset order, ties in spec order.
 * pathod's writer got this wrong when two actions fell in one value (writer.py offsets each
 * later cut from the previous one twice): `200:r:b'0123456789':i21,'X':i24,'Y'` sent
 * `01X2Y3456789` where the documented result, sent here, is `01X234Y56789`.
 */
export function planOf(resolved: ResolvedMessage): RenderedMessage {
  const actions = resolved.tokens.filter((t): t is Action => t.type === 'pause' || t.type === 'disconnect' || t.type === 'inject');
  actions.sort((a, b) => a.offset - b.offset);
  const cursor = new SourceCursor(resolved.segments);
  const plan: PlanStep[] = [];
  let consumed = 0;
  let sent = 0;
  const send = (run: ByteRun): void => {
    if (run.length === 0) return;
    plan.push({ kind: 'bytes', data: run });
    sent += run.length;
  };
  const done = (disconnects: boolean): RenderedMessage => ({
    plan,
    length: sent,
    baseLength: resolved.length,
    disconnects,
    freeze: () => freezeResolved(resolved),
  });
  for (const a of actions) {
    const to = Math.min(a.offset, resolved.length);
    if (to > consumed) {
      send(cursor.take(to - consumed));
      consumed = to;
    }
    if (a.type === 'pause') plan.push({ kind: 'pause', seconds: a.seconds, at: sent });
    else if (a.type === 'inject') send(wholeRun(a.value.data));
    else {
      plan.push({ kind: 'disconnect', at: sent });
      return done(true);
    }
  }
  send(cursor.take(resolved.length - consumed));
  return done(false);
}

/** Resolves a parsed request or response (drawing its random parts) and plans its bytes. */
export function renderMessage(msg: MessageSpec, opts: RenderOptions): RenderedMessage {
  return planOf(resolveMessage(msg, opts));
}

/** Every byte the plan sends, in one array (for small messages: tests, logs). */
export function sentBytes(r: RenderedMessage, limit = 64 * 1024 * 1024): Uint8Array {
  if (r.length > limit) throw new RangeError(`${r.length} bytes is over the ${limit}-byte limit`);
  const out = new Uint8Array(r.length);
  let n = 0;
  for (const step of r.plan) {
    if (step.kind !== 'bytes') continue;
    for (const c of step.data.chunks()) {
      out.set(c, n);
      n += c.length;
    }
  }
  return out;
}
