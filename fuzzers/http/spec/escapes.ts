/**
 * The escape rules of spec literals: Python's `codecs.escape_decode` (which pathod applies to
 * every literal, quoted or bare) and its inverse, the body of Python's `repr(bytes)` (which
 * pathod's `spec()` uses to print literals back).
 */

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
};

const OCTAL = /[0-7]/;
const HEX2 = /^[0-9a-fA-F]{2}$/;

/** Where an escape is malformed, relative to the start of the decoded text. */
export class EscapeError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * Decodes `\n \t \r \\ \' \" \a \b \f \v \xHH \ooo` and backslash-newline (a line
 * continuation: nothing). Unknown escapes such as `\q` stay as they are, as in Python. Input is
 * the ASCII spec text, so every character is one byte.
 */
export function decodeEscapes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      out[n++] = ch.charCodeAt(0);
      continue;
    }
    if (i + 1 >= text.length) throw new EscapeError('a literal cannot end in a lone backslash', i);
    const e = text[++i]!;
    if (e === '\n') continue;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out[n++] = simple;
    } else if (OCTAL.test(e)) {
      let v = 0;
      let digits = 0;
      while (digits < 3 && i < text.length && OCTAL.test(text[i]!)) {
        v = v * 8 + Number(text[i]);
        i++;
        digits++;
      }
      i--;
      // CPython stores the low byte of an octal escape above \377.
      out[n++] = v & 0xff;
    } else if (e === 'x') {
      const hex = text.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) throw new EscapeError('\\x must be followed by two hex digits', i - 1);
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else {
      out[n++] = 0x5c;
      out[n++] = e.charCodeAt(0);
    }
  }
  return out.slice(0, n);
}

/**
 * Python's `repr(bytes)` body: `\\`, `\t`, `\n`, `\r`, printable ASCII as is, everything else
 * `\xhh`. A single quote is `'` or, with `escapeQuote`, `\'`.
 */
export function escapeBytes(bytes: Uint8Array, escapeQuote: boolean): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0x5c) s += '\\\\';
    else if (b === 0x27) s += escapeQuote ? "\\'" : "'";
    else if (b === 0x09) s += '\\t';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x0d) s += '\\r';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += '\\x' + b.toString(16).padStart(2, '0');
  }
  return s;
}

/** pathod's canonical quoted literal: single quotes, and a quote inside written `\x27`. */
export function quoteLiteral(bytes: Uint8Array): string {
  return "'" + escapeBytes(bytes, false).replaceAll("'", '\\x27') + "'";
}

/** Characters a bare word may hold: printable ASCII but `, : @ ' "` (pathod's `v_naked_literal`). */
export function isNakedChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return c > 0x20 && c < 0x7f && !',:@\'"'.includes(ch);
}

/**
 * A bare literal printed back. pathod prints it bare whatever it holds, so `/a\x3ab` came back
 * as `/a:b` and re-parsed as something else; we print it bare only when it re-parses as the same
 * bare word, and quoted otherwise.
 */
export function nakedLiteral(bytes: Uint8Array): string {
  const s = escapeBytes(bytes, true);
  const bare = s.length > 0 && [...s].every(isNakedChar) && (s[0] !== '<' || s.length === 1);
  return bare ? s : quoteLiteral(bytes);
}
