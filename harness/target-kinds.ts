import type { TargetPlan } from './plan.js';

/** The kinds of `--target`, as `fuzz list` shows them (one file per kind serves each on the TAP). */
export const TARGET_KINDS: ReadonlyArray<{ kind: TargetPlan['kind']; syntax: string; summary: string }> = [
  { kind: 'builtin', syntax: 'builtin:NAME', summary: 'a service on our own stack (above); the jobs are kernel sockets (tap) or our client stack (sim)' },
  { kind: 'kernel', syntax: "exec:PORT:'COMMAND'", summary: "a kernel-side server started in the lab and waited for; our stack is the client (tap)" },
  { kind: 'kernel', syntax: 'tcp://10.77.0.1:PORT', summary: 'a kernel-side server already listening in the lab namespace (tap)' },
  {
    kind: 'foreign',
    syntax: "tap:PORT:'COMMAND'",
    summary: 'somebody else\'s stack on a TAP of its own ({tap} {ip} {gw} {prefix}, TCPFUZZ_* variables); every frame relayed through the harness (tap)',
  },
];

/** The kind a target text names, by its prefix (as planTarget resolves it). */
export function targetKindOf(target: string): TargetPlan['kind'] {
  if (target.startsWith('tap:')) return 'foreign';
  if (target.startsWith('exec:') || target.startsWith('tcp://')) return 'kernel';
  return 'builtin';
}
