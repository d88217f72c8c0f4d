/**
 * Sequence-number arithmetic modulo 2^32 (RFC 793 §3.3, RFC 1982 serial numbers): `a` is
 * "less than" `b` when the signed 32-bit difference a - b is negative. Wireshark's GT_SEQ/LT_SEQ
 * are the same comparison, so these decide exactly as packet-tcp.c does across wrap-around.
 */

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** a + n as an unsigned 32-bit sequence number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Unsigned distance from `from` forward to `to` (to - from mod 2^32). */
export function seqDiff(to: number, from: number): number {
  return (to - from) >>> 0;
}
