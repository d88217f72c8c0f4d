/** Undefined when equal, else where the bytes first differ, in one line. */
export function firstDifference(expected: Uint8Array, actual: Uint8Array): string | undefined {
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) return `bytes differ at offset ${i} (expected 0x${expected[i]!.toString(16)}, got 0x${actual[i]!.toString(16)})`;
  }
  if (expected.length !== actual.length) return `expected ${expected.length} bytes back, got ${actual.length}`;
  return undefined;
}
