import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * What the lab needs of this machine, and one line naming what is missing: TUNSETIFF and
 * addresses need CAP_NET_ADMIN, a new network namespace needs CAP_SYS_ADMIN, and the lab runs
 * `ip` (and `unshare` for a private namespace).
 */

/** What the lab needs from this machine; `diagnoseLabPrivileges` turns them into one line. */
export interface LabFacts {
  /** Effective capability set (CapEff of /proc/self/status). */
  capEff: bigint;
  tunExists: boolean;
  /** Commands found on PATH. */
  commands: ReadonlySet<string>;
  /** Whether a named namespace is asked for (then `unshare` is not needed). */
  named: boolean;
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/**
 * One line naming what is missing for the lab, or undefined when nothing is. TUNSETIFF and
 * addresses need CAP_NET_ADMIN; a new network namespace needs CAP_SYS_ADMIN.
 */
export function diagnoseLabPrivileges(f: LabFacts): string | undefined {
  const missing: string[] = [];
  const caps = [
    [CAP_NET_ADMIN, 'CAP_NET_ADMIN'],
    [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN'],
  ] as const;
  const lacking = caps.filter(([bit]) => ((f.capEff >> bit) & 1n) === 0n).map(([, name]) => name);
  if (lacking.length > 0) missing.push(`root (${lacking.join(' and ')})`);
  if (!f.tunExists) missing.push('/dev/net/tun');
  for (const c of f.named ? ['ip'] : ['ip', 'unshare']) if (!f.commands.has(c)) missing.push(`the '${c}' command`);
  if (missing.length === 0) return undefined;
  return `the TAP lab needs ${missing.join(', ')}; --link sim works without them`;
}

/** `diagnoseLabPrivileges` for this process on this machine. */
export function labPrivilegeProblem(opts: { netns?: string } = {}): string | undefined {
  const status = readFileSync('/proc/self/status', 'utf8');
  const capHex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  const commands = new Set(['ip', 'unshare'].filter(onPath));
  return diagnoseLabPrivileges({ capEff: BigInt(`0x${capHex}`), tunExists: existsSync('/dev/net/tun'), commands, named: opts.netns !== undefined });
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), fsConstants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}
