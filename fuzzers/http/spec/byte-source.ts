/**
 * Bytes that may be too large to hold: a spec's `@100g` body is sized without being made, and
 * is produced block by block only while it is sent.
 */
export interface ByteSource {
  readonly length: number;
  /** Bytes [start, end) as chunks of at most `max` bytes; the same bytes on every call. */
  read(start: number, end: number, max: number): Iterable<Uint8Array>;
}

/** Default chunk size when a plan's bytes are streamed. */
export const CHUNK = 16 * 1024;

export function literalSource(bytes: Uint8Array): ByteSource {
  return {
    length: bytes.length,
    *read(start, end, max) {
      for (let i = start; i < end; i += max) yield bytes.subarray(i, Math.min(i + max, end));
    },
  };
}

export function asciiSource(text: string): ByteSource {
  return literalSource(Uint8Array.from(text, (c) => c.charCodeAt(0)));
}

/** All of a source's bytes in one array; `limit` guards against materialising a `@100g`. */
export function readAll(src: ByteSource, limit: number): Uint8Array {
  if (src.length > limit) throw new RangeError(`${src.length} bytes is over the ${limit}-byte limit`);
  const out = new Uint8Array(src.length);
  let n = 0;
  for (const c of src.read(0, src.length, CHUNK)) {
    out.set(c, n);
    n += c.length;
  }
  return out;
}

interface Piece {
  readonly src: ByteSource;
  readonly start: number;
  readonly end: number;
}

/**
 * A run of bytes to send without interruption: slices of several sources, read lazily. Small
 * pieces (a header line's key, ": ", value, CRLF) are coalesced so a socket gets few writes.
 */
export class ByteRun {
  readonly length: number;

  constructor(private readonly pieces: readonly Piece[]) {
    this.length = pieces.reduce((n, p) => n + p.end - p.start, 0);
  }

  *chunks(max = CHUNK): Iterable<Uint8Array> {
    let held: Uint8Array[] = [];
    let heldLen = 0;
    const flush = (): Uint8Array => {
      const out = held.length === 1 ? held[0]! : Buffer.concat(held, heldLen);
      held = [];
      heldLen = 0;
      return out;
    };
    for (const p of this.pieces) {
      for (const c of p.src.read(p.start, p.end, max)) {
        if (heldLen + c.length > max) yield flush();
        held.push(c);
        heldLen += c.length;
      }
    }
    if (heldLen > 0) yield flush();
  }
}

/**
 * The concatenation of sources, cut at byte offsets: `take(n)` returns the next `n` bytes as a
 * ByteRun without reading any of them.
 */
export class SourceCursor {
  private index = 0;
  private within = 0;
  readonly length: number;

  constructor(private readonly sources: readonly ByteSource[]) {
    this.length = sources.reduce((n, s) => n + s.length, 0);
  }

  take(n: number): ByteRun {
    const pieces: Piece[] = [];
    while (n > 0 && this.index < this.sources.length) {
      const src = this.sources[this.index]!;
      const k = Math.min(n, src.length - this.within);
      if (k > 0) pieces.push({ src, start: this.within, end: this.within + k });
      this.within += k;
      n -= k;
      if (this.within === src.length) {
        this.index++;
        this.within = 0;
      }
    }
    return new ByteRun(pieces);
  }
}

/** A single source as a run (an injected value). */
export function wholeRun(src: ByteSource): ByteRun {
  return new ByteRun([{ src, start: 0, end: src.length }]);
}
