import type { RelaySection } from './run-report.js';
/** "128 timeout, 3 eof" from counts, most first; "none" when nothing counted. */
export function countsText(h: Record<string, number>): string {
  const parts = Object.entries(h)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** The relay's counts in one line: frames each way, then every drop (or that there were none). */
export function relayText(r: RelaySection): string {
  const drops = [
    [r.dropped_towards_stack, 'dropped by the kernel towards the stack'],
    [r.missed_from_stack, "sent by the stack but missed by the relay's socket"],
    [r.dropped_on_lab_tap, "dropped on the lab's TAP"],
  ] as const;
  const lost = drops.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return `${r.from_stack} frames from the stack, ${r.to_stack} to it; ${lost.length > 0 ? lost.join(', ') : 'no frame lost on the way'}`;
}
