/** "128 timeout, 3 eof" from counts, most first; "none" when nothing counted. */
export function countsText(h: Record<string, number>): string {
  const parts = Object.entries(h)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
