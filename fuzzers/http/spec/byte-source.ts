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

  /** The bytes in chunks of exactly `max` bytes (the last may be shorter). */
  *chunks(max = CHUNK): Iterable<Uint8Array> {
    let held: Uint8Array | undefined;
    let n = 0;
    for (const p of this.pieces) {
      // Top up a partly filled chunk first, so the rest of the piece is read in whole chunks
      // that go out as they are, uncopied.
      const topUp = n > 0 ? Math.min(p.end, p.start + max - n) : p.start;
      for (const c of concat(p.src.read(p.start, topUp, max), p.src.read(topUp, p.end, max))) {
        if (n === 0 && c.length === max) {
          yield c;
          continue;
        }
        held ??= new Uint8Array(max);
        held.set(c, n);
        n += c.length;
        if (n === max) {
          yield held;
          held = undefined;
          n = 0;
        }
      }
    }
    if (held && n > 0) yield held.subarray(0, n);
  }
}

function* concat<T>(...parts: Iterable<T>[]): Iterable<T> {
  for (const p of parts) yield* p;
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
