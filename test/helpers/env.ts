import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** True when running as root (CI is root; TAP and namespaces need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True when `name` is an executable on PATH. */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why a kernel test cannot run here, or undefined when it can. Tests pass this to node:test's
 * `skip` option so a skip always states its reason; CI (root, packages installed) runs them all.
 */
export function kernelSkipReason(...commands: string[]): string | undefined {
  if (!isRoot()) return 'needs root (network namespaces)';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  for (const c of ['ip', ...commands]) if (!hasCommand(c)) return `needs '${c}' on PATH (.ci/run installs it)`;
  return undefined;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with a hard timeout (every wait is bounded). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string | Uint8Array; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits before reading its stdin makes the write fail with EPIPE: not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

let netnsCounter = 0;

/**
 * A named network namespace made by a test (`ip netns add`), with `lo` up. `close()` kills the
 * processes this object started (by PID) and deletes the namespace; use it in `finally` or
 * `t.after`. Names carry the PID so parallel test files never collide.
 */
export class TestNetns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();

  private constructor(name: string) {
    this.name = name;
  }

  static async create(prefix = 'tcpfuzz-t'): Promise<TestNetns> {
    const name = `${prefix}-${process.pid}-${netnsCounter++}`;
    const r = await run('ip', ['netns', 'add', name]);
    if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
    const ns = new TestNetns(name);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace to completion. */
  exec(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string | Uint8Array } = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Starts a long-running command inside the namespace; close() stops it. */
  spawn(cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Stops one started process gracefully (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(child: ChildProcess, graceMs = 2000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }

  async close(): Promise<void> {
    for (const c of [...this.children]) await this.stop(c);
    await run('ip', ['netns', 'delete', this.name]);
  }
}
