import { ipv4ToString, type Ipv4 } from '../stack/addr.js';
import { TargetError } from './registry.js';

/**
 * `tap:PORT:'COMMAND'`: somebody else's TCP/IP stack (lwIP, a unikernel under solo5, a QEMU
 * guest, a smoltcp program) that opens a TAP device the run made for it. COMMAND runs in the lab
 * namespace; it is told the device and the addresses twice, as placeholders in the command and as
 * environment variables, so it can take them whichever way it was written for:
 *
 * | placeholder | variable             | value                                   |
 * |-------------|----------------------|-----------------------------------------|
 * | `{tap}`     | `TCPFUZZ_TAP`        | the TAP device to open (IFF_TAP, no PI) |
 * | `{ip}`      | `TCPFUZZ_STACK_IP`   | the stack's address (`--stack-ip`)      |
 * | `{gw}`      | `TCPFUZZ_KERNEL_IP`  | the kernel side's address               |
 * | `{prefix}`  | `TCPFUZZ_PREFIX_LEN` | the prefix length                       |
 *
 * The stack is the server on PORT; the jobs are kernel sockets, as for built-in targets.
 */
export interface ForeignTarget {
  readonly port: number;
  /** As typed, placeholders unexpanded (the replay command and cases keep it so). */
  readonly command: string;
}

/** What a foreign stack is told. */
export interface ForeignAttachment {
  readonly tap: string;
  readonly stackIp: Ipv4;
  readonly kernelIp: Ipv4;
  readonly prefixLen: number;
}

const PLACEHOLDERS = ['tap', 'ip', 'gw', 'prefix'] as const;

/** Parses `tap:PORT:COMMAND` (COMMAND may be quoted as a whole); undefined for other kinds. */
export function parseForeignTarget(target: string): ForeignTarget | undefined {
  if (!target.startsWith('tap:')) return undefined;
  const m = /^tap:([^:]*):(.*)$/s.exec(target);
  if (!m) throw new TargetError(`bad target '${target}' (expected tap:PORT:'COMMAND', e.g. tap:79:'examples/lwip/server')`);
  const port = /^\d{1,5}$/.test(m[1]!) ? Number(m[1]) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new TargetError(`bad port '${m[1]}' in target '${target}' (1..65535)`);
  let command = m[2]!.trim();
  const q = command[0];
  if ((q === "'" || q === '"') && command.length >= 2 && command.endsWith(q)) command = command.slice(1, -1);
  if (command.trim() === '') throw new TargetError(`target '${target}' has no command`);
  for (const name of command.matchAll(/\{([a-z]+)\}/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(name[1]!)) {
      throw new TargetError(`unknown placeholder {${name[1]}} in target '${target}' (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`);
    }
  }
  return { port, command };
}

function values(a: ForeignAttachment): Record<(typeof PLACEHOLDERS)[number], string> {
  return { tap: a.tap, ip: ipv4ToString(a.stackIp), gw: ipv4ToString(a.kernelIp), prefix: String(a.prefixLen) };
}

/**
 * COMMAND with its placeholders filled in, behind `wrap` (e.g. `valgrind --error-exitcode=99`)
 * when given. A wrapper is exec'd in place of the shell: stopping the target signals its whole
 * process group, and a shell that died of that signal would hide the checker's exit code.
 */
export function foreignCommand(t: ForeignTarget, a: ForeignAttachment, wrap: string | null): string {
  const v = values(a);
  const command = t.command.replace(/\{(tap|ip|gw|prefix)\}/g, (_m, k: keyof typeof v) => v[k]);
  return wrap ? `exec ${wrap} ${command}` : command;
}

/** The environment variables a foreign stack is given. */
export function foreignEnv(a: ForeignAttachment): Record<string, string> {
  const v = values(a);
  return { TCPFUZZ_TAP: v.tap, TCPFUZZ_STACK_IP: v.ip, TCPFUZZ_KERNEL_IP: v.gw, TCPFUZZ_PREFIX_LEN: v.prefix };
}
