import type { MessageSpec, Token, Value } from './ast.js';
import { nakedLiteral, quoteLiteral } from './escapes.js';

/** A value as pathod's `spec()` prints it. */
export function valueSpec(v: Value): string {
  switch (v.kind) {
    case 'literal':
      return v.naked ? nakedLiteral(v.bytes) : quoteLiteral(v.bytes);
    case 'generated':
      return `@${v.count}${v.unit === 'b' ? '' : v.unit}${v.datatype === 'bytes' ? '' : ',' + v.datatype}`;
    case 'file':
      return v.path.includes("'") ? `<"${v.path}"` : `<'${v.path}'`;
  }
}

/**
 * One clause as pathod's `spec()` prints it, given how to print its values. Built-in methods
 * come out quoted (`'GET'`), as in pathod. A `u` literal stays a literal (`u'a'`); pathod printed
 * it as `ua`, the Android shortcut.
 */
export function tokenSpec<V, O>(t: Token<V, O>, value: (v: V) => string): string {
  switch (t.type) {
    case 'ws':
      return 'ws';
    case 'method':
    case 'path':
      return value(t.value);
    case 'status':
      return t.code;
    case 'header':
      if (t.form === 'h') return `h${value(t.key)}=${value(t.value)}`;
      return t.form + (t.agent ?? value(t.value));
    case 'raw':
      return 'r';
    case 'reason':
      return 'm' + value(t.value);
    case 'body':
      return 'b' + value(t.value);
    case 'times':
      return `x${t.count}`;
    case 'nested':
      return 's' + quoteLiteral(t.text);
    case 'pause':
      return `p${String(t.offset)},${t.seconds === 'forever' ? 'f' : t.seconds}`;
    case 'disconnect':
      return `d${String(t.offset)}`;
    case 'inject':
      return `i${String(t.offset)},${value(t.value)}`;
  }
}

/** The canonical spec string of a parsed message (pathod's `Message.spec()`). */
export function specString(msg: MessageSpec): string {
  return msg.tokens.map((t) => tokenSpec(t, valueSpec)).join(':');
}
