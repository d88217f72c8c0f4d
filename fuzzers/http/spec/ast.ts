import type { DataType, Unit } from './generated.js';

/** A VALUE as written: a literal (quoted or bare), generated data, or a file. */
export type Value =
  | { readonly kind: 'literal'; readonly bytes: Uint8Array; readonly naked: boolean }
  | { readonly kind: 'generated'; readonly count: number; readonly unit: Unit; readonly datatype: DataType }
  | { readonly kind: 'file'; readonly path: string };

/** An action's place: a base-message byte index, `r` (random) or `a` (after the end). */
export type Offset = number | 'r' | 'a';

/**
 * One clause of a message, in spec order. `V` and `O` are the value and offset types: as
 * written (`Value`, `Offset`) in a parsed spec, bound to bytes and numbers once resolved.
 * Header forms: `h` (key=value), `c` Content-Type, `l` Location, `u` User-Agent (with `agent`
 * set when a shortcut letter was used). A status code keeps its digits as written: pathod sends
 * `0200` as `0200`.
 */
export type Token<V = Value, O = Offset> =
  | { readonly type: 'ws' }
  | { readonly type: 'method'; readonly value: V }
  | { readonly type: 'path'; readonly value: V }
  | { readonly type: 'status'; readonly code: string }
  | { readonly type: 'header'; readonly form: 'h' | 'c' | 'l' | 'u'; readonly key: V; readonly value: V; readonly agent?: string }
  | { readonly type: 'raw' }
  | { readonly type: 'reason'; readonly value: V }
  | { readonly type: 'body'; readonly value: V }
  | { readonly type: 'times'; readonly count: number }
  | { readonly type: 'nested'; readonly text: Uint8Array; readonly response: ResponseSpec }
  | { readonly type: 'pause'; readonly offset: O; readonly seconds: number | 'forever' }
  | { readonly type: 'disconnect'; readonly offset: O }
  | { readonly type: 'inject'; readonly offset: O; readonly value: V };

export interface RequestSpec {
  readonly kind: 'request';
  readonly tokens: readonly Token[];
}

export interface ResponseSpec {
  readonly kind: 'response';
  readonly tokens: readonly Token[];
}

export type MessageSpec = RequestSpec | ResponseSpec;
