/**
 * Big-endian byte arithmetic shared by every header in `stack/wire/`. Plain index arithmetic on
 * a Uint8Array: no DataView per packet, no allocation, and V8 inlines these small functions.
 */

export function readU16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/**
 * Copies `src` to `buf` at `off`, unless `src` already is that very region: an encapsulating
 * header emitted in front of a payload that was emitted in place costs no copy. `.buffer` is
 * read last and only when needed: on a small fresh typed array V8 keeps the bytes on the heap,
 * and reading `.buffer` forces an ArrayBuffer into existence (measured: 7x slower emits).
 */
export function placeBytes(buf: Uint8Array, off: number, src: Uint8Array): void {
  if (src.length === 0) return;
  if (src.byteOffset === buf.byteOffset + off && src.buffer === buf.buffer) return;
  buf.set(src, off);
}

/** Four lowercase hex digits, for error details ("bad checksum 0x1c46"). */
export function hex16(v: number): string {
  return v.toString(16).padStart(4, '0');
}

// Fresh typed arrays are costly when the bytes live off the V8 heap (over 64 bytes): measured
// here, new Uint8Array(1500) manages ~0.4 M/s, under the 200k frames/s the stack must emit with
// three emits per frame. Emitters carve their output from a shared slab instead, as Node's
// Buffer pool does; a region is handed out once and never reused, so it starts zeroed.
const SLAB_SIZE = 128 * 1024;
const SLAB_MAX_ALLOC = 16 * 1024;
let slab = new Uint8Array(0);
let slabPos = 0;

/**
 * A zeroed byte array of length `n` for an emitter's output. Small ones are views into a shared
 * slab (mind byteOffset when reaching for `.buffer`); large ones get their own buffer.
 */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_ALLOC) return new Uint8Array(n);
  if (slabPos + n > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabPos = 0;
  }
  const out = slab.subarray(slabPos, slabPos + n);
  slabPos = (slabPos + n + 7) & ~7;
  return out;
}
