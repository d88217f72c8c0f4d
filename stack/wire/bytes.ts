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
 * header emitted in front of a payload that was emitted in place costs no copy.
 */
export function placeBytes(buf: Uint8Array, off: number, src: Uint8Array): void {
  if (src.buffer === buf.buffer && src.byteOffset === buf.byteOffset + off) return;
  buf.set(src, off);
}

/** Four lowercase hex digits, for error details ("bad checksum 0x1c46"). */
export function hex16(v: number): string {
  return v.toString(16).padStart(4, '0');
}
