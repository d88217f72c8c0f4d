/**
 * The internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
 * the data as big-endian 16-bit words. Sums are kept unfolded in a double (exact up to 2^53, far
 * beyond any datagram) and folded once at the end — RFC 1071 §2(C), "deferred carries".
 */

/**
 * Adds bytes [start, end) of `b` as big-endian 16-bit words to `acc`. An odd final byte is
 * padded with a zero low byte (RFC 1071 §4.1), so only the last range of a chained sum may
 * have odd length.
 */
export function checksumSum(b: Uint8Array, start: number, end: number, acc = 0): number {
  let sum = acc;
  let i = start;
  const even = end - ((end - start) & 1);
  // Unrolled by four words: the checksum loop dominates emit and verify for full segments.
  const unrolled = start + ((even - start) & ~7);
  for (; i < unrolled; i += 8) {
    sum += ((b[i]! << 8) | b[i + 1]!) + ((b[i + 2]! << 8) | b[i + 3]!) + ((b[i + 4]! << 8) | b[i + 5]!) + ((b[i + 6]! << 8) | b[i + 7]!);
  }
  for (; i < even; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

/** Folds the carries of an unfolded sum into 16 bits and complements it: the checksum field value. */
export function checksumFinish(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The checksum of bytes [start, end) of `b`. Over a region that includes its checksum field, 0 means valid. */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  return checksumFinish(checksumSum(b, start, end));
}

/**
 * The unfolded sum of the IPv4 pseudo-header that TCP (RFC 9293 §3.1) and UDP prepend to the
 * checksum: source, destination, zero + protocol, and the segment length in bytes.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}
