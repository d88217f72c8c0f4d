/**
 * The bytes written by the application and not yet acknowledged, starting at SND.UNA (after
 * the SYN). Segments are cut from it at any offset; an ACK consumes from the front.
 * Chunks are copied on append because the writer's callback runs at once and Node lets the
 * writer reuse its buffer after that.
 */
export class SendBuffer {
  private chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already consumed. */
  private skip = 0;
  length = 0;

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data.slice());
    this.length += data.length;
  }

  /** `len` bytes from `offset` (relative to SND.UNA); a view when they lie in one chunk. */
  read(offset: number, len: number): Uint8Array {
    let off = offset + this.skip;
    let i = 0;
    while (i < this.chunks.length && off >= this.chunks[i]!.length) off -= this.chunks[i++]!.length;
    const first = this.chunks[i];
    if (!first) return new Uint8Array(0);
    if (off + len <= first.length) return first.subarray(off, off + len);
    const out = new Uint8Array(len);
    let filled = 0;
    while (filled < len && i < this.chunks.length) {
      const c = this.chunks[i++]!;
      const n = Math.min(c.length - off, len - filled);
      out.set(c.subarray(off, off + n), filled);
      filled += n;
      off = 0;
    }
    return filled === len ? out : out.subarray(0, filled);
  }

  /** Drops `n` acknowledged bytes from the front. */
  consume(n: number): void {
    let left = Math.min(n, this.length);
    this.length -= left;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.skip;
      if (left < avail) {
        this.skip += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.skip = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.skip = 0;
    this.length = 0;
  }
}
