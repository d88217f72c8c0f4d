/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4; RFC 1982 serial numbers): comparisons
 * are made on the signed 32-bit difference, so they hold across wrap-around as long as the two
 * numbers are less than 2^31 apart. Wireshark's GT_SEQ/LT_SEQ are the same comparison. Every
 * sequence and acknowledgment number is a uint32 `number`. Pure: the TCP code and the capture
 * analysis share it.
 */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a − b as a signed distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** lo ≤ x < hi, modulo 2^32. */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
